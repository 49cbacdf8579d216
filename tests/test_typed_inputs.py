"""Inputs that fit the parameter (:mod:`jobs.testgen.engines.typed_inputs`): pure neighbours of a
known call from its parameters' annotations, and the differential engine pinning a change that
only a value of the parameter's own type reaches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jobs.testgen.engines import typed_inputs
from jobs.testgen.engines.callables import describe_callables
from tests.differential_support import assert_pins, differential_on_change

SOURCE = """import enum
from typing import Callable, Literal, Optional


class Mode(enum.Enum):
    FAST = 1
    SLOW = 2
    _hidden = 3


def f(x: int, key: Optional[str] = "k", mode: Mode = Mode.FAST, strict=False,
      cb: Callable[[int], int] = abs, how: Literal["a", "b"] = "a", size: int | None = 1):
    return x


class Store:
    def room(self, n: int, full: bool = False) -> int:
        return n
"""


def test_each_parameter_gets_values_of_its_own_type_one_at_a_time() -> None:
    item = {c.qualname: c for c in describe_callables(SOURCE)}["f"]
    found = typed_inputs.variants("f(3, 'z')", item, SOURCE)
    assert found[:7] == [
        "f(3, None)",  # Optional[str], given
        "f(3, 'z', mode=Mode.FAST)",  # an Enum of the module, left out: given by keyword
        "f(3, 'z', strict=True)",  # bool, from its default
        "f(3, 'z', cb=str)",  # a callable gets a callable
        "f(3, 'z', how='a')",
        "f(3, 'z', size=None)",  # X | None
        "f(3, 'z', mode=Mode.SLOW)",
    ]
    assert "Mode._hidden" not in " ".join(found)
    assert not any(call.startswith("f(None") for call in found)  # int: no table value
    assert len(found) <= typed_inputs.MAX_PER_CALL


def test_a_method_call_binds_its_arguments_after_the_receiver() -> None:
    item = {c.qualname: c for c in describe_callables(SOURCE)}["Store.room"]
    assert typed_inputs.variants("Store(3).room(4)", item, SOURCE) == [
        "Store(3).room(4, full=True)",
        "Store(3).room(4, full=False)",
    ]
    assert typed_inputs.variants("Store.room(Store(3), 4, True)", item, SOURCE) == [
        "Store.room(Store(3), 4, False)"
    ]


def test_no_values_where_the_call_cannot_be_bound() -> None:
    item = {c.qualname: c for c in describe_callables(SOURCE)}["f"]
    assert typed_inputs.variants("f(*xs)", item, SOURCE) == []
    assert typed_inputs.variants("not a call(", item, SOURCE) == []
    assert typed_inputs.variants("f(3)", None, SOURCE) == []


BASE = """from typing import Callable, Optional


def label(n: int, shout: Optional[Callable[[str], str]] = None) -> str:
    text = "n" * n
    if shout is not None:
        return shout(text)
    return text
"""
HEAD = BASE.replace("return shout(text)", 'return shout(text) + "!"')
TESTS = """from pkg.label import label


def test_label():
    assert label(2) == "nn"
"""


@pytest.mark.slow
async def test_a_value_of_the_parameters_type_pins_what_the_tests_calls_never_reach(
    tmp_path: Path,
) -> None:
    # The tests never pass `shout`; a callable of its type reaches the changed line.
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/label.py", BASE, HEAD, TESTS
    )
    assert outcome.written, outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    # (the tests' call is captured with its default written out: label(2, None))
    assert re.search(r"label\(2, (shout=)?str\) == 'nn!'", text), text
