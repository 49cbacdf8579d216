"""Differential tests of a change inside a decorator's wrapper that starts to check the
receiver's exact type: the wrapper runs only as the methods it decorates, and the change shows
only on an instance of a subclass, which the project's tests never build. A tiny real project
with a real git history and pytest in the local sandbox."""

from __future__ import annotations

from pathlib import Path

from jobs.testgen.engines import input_variants
from jobs.testgen.engines.differential_targets import plan
from tests.differential_support import assert_pins, differential_on_change

BASE = '''from functools import wraps


def _checked(operator):
    """Wrap a binary method in a type check."""

    @wraps(operator)
    def wrapper(self, other):
        if not isinstance(other, Box):
            return NotImplemented
        return operator(self, other)

    return wrapper


class Box:
    def __init__(self, size):
        self.size = size

    def __repr__(self):
        return f"Box({self.size!r})"

    @_checked
    def __eq__(self, other):
        return self.size == other.size

    @_checked
    def __lt__(self, other):
        return self.size < other.size

    def grow(self):
        return Box(self.size + 1)
'''
HEAD = BASE.replace("isinstance(other, Box)", "isinstance(other, type(self))")
# The tests run every line of the wrapper, on boxes only: nothing tells base and head apart.
TESTS = """from pkg.boxes import Box


def test_compare():
    assert Box(1) == Box(1)
    assert Box(1) < Box(2)
    assert Box(1) != 3
"""


def test_a_change_in_a_wrapper_is_compared_through_the_functions_it_decorates(
    tmp_path: Path,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "boxes.py").write_text(HEAD)
    found, _ = plan(tmp_path, {"pkg/boxes.py": {9}}, {"pkg/boxes.py": BASE}, {})
    assert [t.callable.qualname for t in found] == ["Box.__eq__", "Box.__lt__", "_checked"]


def test_subclass_variants_only_where_the_change_reads_an_exact_type() -> None:
    assert input_variants.exact_type_classes(BASE, HEAD) == ("Box",)
    assert input_variants.exact_type_classes(BASE, BASE.replace("Box)", "(Box, int))")) == ()
    # A message that names the type: a subclass changes it on both sides alike.
    named = BASE.replace("return NotImplemented", "raise TypeError(type(other).__name__)")
    assert input_variants.exact_type_classes(BASE, named) == ()
    calls = input_variants.variants("Box(1).__eq__(Box(1))", (), subclassed=("Box",))
    # The subclasses come first, one object at a time, in the order the call names them.
    assert calls[0] == "BoxSubclass(1).__eq__(Box(1))"
    assert calls.index("Box(1).__eq__(BoxSubclass(1))") < calls.index("Box(1).__eq__(Box(0))")
    assert not any("Subclass" in c for c in input_variants.variants("Box(1).grow()", ()))


async def test_an_exact_type_check_in_a_wrapper_is_pinned_with_a_subclass(
    tmp_path: Path,
) -> None:
    """On the base a subclass's box equals a box; on the head its `__eq__` leaves the
    comparison to the other side. The test defines the subclass itself and calls what the
    engine compared."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/boxes.py", BASE, HEAD, TESTS
    )
    assert outcome.written == ["tests/test_pkg_boxes_differential_tandem.py"], outcome.notes
    text = (repo / outcome.written[0]).read_text()
    assert "class BoxSubclass(Box):" in text, text
    assert "BoxSubclass(1).__eq__(Box(1)) is NotImplemented" in text, text
    await assert_pins(repo, base_sha, outcome.written)
