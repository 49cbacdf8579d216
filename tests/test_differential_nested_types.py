"""Differential tests of a change that only a nested item's type shows: the head puts a `dict`
subclass where the base put a `dict`, and both results print the same. The probe's walk of the
result's items, the comparison of two walks, and a tiny real two-commit project through the
engine, whose test fails on the base and passes on the head."""

from __future__ import annotations

import collections
from pathlib import Path
from types import ModuleType

from jobs.testgen.engines import characterize_probe
from jobs.testgen.engines.differential_cases import Difference, case_for, differs
from jobs.testgen.engines.differential_walk import nested_types, type_change
from jobs.testgen.engines.seeds import Seed
from tests.differential_support import assert_pins, differential_on_change


class Dict(dict):  # type: ignore[type-arg]
    """A dict subclass with a dict's repr."""


def _module() -> ModuleType:
    module = ModuleType("mod")
    module.Dict = Dict  # type: ignore[attr-defined]
    return module


def _value(expected: str, types: list[list[object]]) -> dict[str, object]:
    return {"kind": "value", "expected": expected, "imports": [], "types": types}


def test_the_walk_names_each_items_type_by_literal_keys_and_indexes() -> None:
    value = {"a": Dict(b=[1, (2,)]), 3: collections.OrderedDict(), (1, 2): "skipped"}
    walked = characterize_probe.nested_types(value, _module())
    assert walked == [
        [[], "dict", "builtin"],
        [["a"], "Dict", "module"],
        [[3], "collections.OrderedDict", "stdlib"],
        [["a", "b"], "list", "builtin"],
        [["a", "b", 0], "int", "builtin"],
        [["a", "b", 1], "tuple", "builtin"],  # depth 3: its item is not walked
    ]
    local = type("Local", (), {})
    assert characterize_probe.nested_types([local()], _module()) == [
        [[], "list", "builtin"],
        [[0], None, None],
    ]
    many = characterize_probe.nested_types(list(range(500)), _module())
    assert len(many) == characterize_probe.WALK_NODES


def test_describe_value_records_the_walk_with_the_repr() -> None:
    described = characterize_probe.describe_value({"a": Dict()}, _module())
    assert described["kind"] == "value"
    assert described["expected"] == "{'a': {}}"
    assert described["types"] == [[[], "dict", "builtin"], [["a"], "Dict", "module"]]


def test_a_nested_type_change_is_a_difference_at_its_first_path() -> None:
    head = _value("{'a': {}}", [[[], "dict", "builtin"], [["a"], "Dict", "module"]])
    base = _value("{'a': {}}", [[[], "dict", "builtin"], [["a"], "dict", "builtin"]])
    assert differs(head, base)
    change = type_change(head, base)
    assert change is not None
    assert (change.subscripts(), change.head, change.base) == ("['a']", "Dict", "dict")
    assert change.describe() == "`['a']` is a `Dict` now (was `dict`)"
    # The same walk, a head type no test can name, or an iterator's items on one side only.
    assert not differs(head, head)
    unnamed = _value("{'a': {}}", [[[], "dict", "builtin"], [["a"], None, None]])
    assert not differs(unnamed, base)
    assert type_change({**head, "wrap": "list"}, base) is None
    # A base that raised or timed out is judged as before.
    assert not differs(head, {"kind": "timeout"})


def test_a_malformed_walk_is_no_walk() -> None:
    good = [[["a", 0], "Dict", "module"]]
    assert nested_types({"types": good}) == {("a", 0): ("Dict", "module")}
    for bad in (
        [[["a"], "os.system()", "stdlib"]],
        [[["a"], "x", "elsewhere"]],
        [[[True], "int", "builtin"]],
        [[[1.5], "int", "builtin"]],
        [[["a", "b", "c", "d"], "int", "builtin"]],
        [[["a"], "Dict"]],
        "[]",
        [[[], "int", "builtin"]] * 51,
    ):
        assert nested_types({"types": bad}) == {}, bad


def test_the_case_asserts_the_heads_type_at_that_path() -> None:
    seed = Seed("pkg/nest.py", "nest", "nest({'a': {}})", "tests")
    head = _value("{'a': {}}", [[[], "dict", "builtin"], [["a"], "Dict", "module"]])
    base = _value("{'a': {}}", [[[], "dict", "builtin"], [["a"], "dict", "builtin"]])
    difference = Difference(seed, head, base)
    case = case_for(difference)
    assert case is not None
    assert case.body == "assert type(nest({'a': {}})['a']) is Dict"
    assert case.stem == "test_nest_a_a_is_dict_now"
    assert set(case.needs) == {("nest", "module"), ("Dict", "module")}
    assert difference.describe() == "`nest({'a': {}})`: `['a']` is a `Dict` now (was `dict`)"
    # A difference in the value itself is written as before.
    other = case_for(Difference(seed, head, {**base, "expected": "{}"}))
    assert other is not None and other.body == "assert nest({'a': {}}) == {'a': {}}"


BASE = '''class Dict(dict):
    """A dict whose items also read as attributes."""

    def __getattr__(self, name):
        return self[name]


def nest(pairs):
    """The pairs, each dict among the values copied."""
    return {key: dict(value) if isinstance(value, dict) else value for key, value in pairs.items()}
'''
HEAD = BASE.replace("dict(value) if", "Dict(value) if")
TESTS = """from pkg.nest import nest


def test_nest():
    assert nest({"a": {"b": 1}, "c": 2}) == {"a": {"b": 1}, "c": 2}
"""


async def test_a_nested_type_change_is_pinned_through_the_engine(tmp_path: Path) -> None:
    """Head and base print the same result; only the type of `result['a']` tells them apart."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/nest.py", BASE, HEAD, TESTS
    )
    assert outcome.written == ["tests/test_pkg_nest_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "['a']) is Dict\n" in text, text
    assert any("`['a']` is a `Dict` now (was `dict`)" in note for note in outcome.notes)


def test_a_result_whose_own_type_changed_is_asserted_by_that_type() -> None:
    """The head's result has only a type (a `Dict`'s repr does not rebuild it); the base's is a
    `dict` printed the same: the walk's first node tells them apart."""
    seed = Seed("pkg/nest.py", "nest", "nest({})", "tests")
    head = {"kind": "type", "expected": "Dict", "types": [[[], "Dict", "module"]]}
    base = _value("{}", [[[], "dict", "builtin"]])
    difference = Difference(seed, head, base)
    assert differs(head, base)
    assert difference.describe() == "`nest({})`: the result is a `Dict` now (was `dict`)"
    case = case_for(difference)
    assert case is not None
    assert (case.stem, case.body) == (
        "test_nest_no_args_result_is_dict_now",
        "assert type(nest({})) is Dict",
    )
