"""Special-method calls written as the operators that run them (plain data in and out)."""

from __future__ import annotations

import pytest

from jobs.testgen.engines.characterize import case_for
from jobs.testgen.engines.operator_syntax import operator_syntax
from jobs.testgen.engines.seeds import Seed


@pytest.mark.parametrize(
    ("call", "written"),
    [
        ("Box(1).__eq__(Box(2))", "(Box(1) == Box(2))"),
        ("Box(1).__ge__(Box(2))", "(Box(1) >= Box(2))"),
        ("Money(5).__add__(Money(2))", "(Money(5) + Money(2))"),
        ("Bag([1]).__contains__(1)", "(1 in Bag([1]))"),
        ("Bag([1]).__getitem__(0)", "Bag([1])[0]"),
        ("Bag([1]).__getitem__((0, 1))", "Bag([1])[0, 1]"),
        ("Bag([1]).__len__()", "len(Bag([1]))"),
        ("Version('1.0').__repr__()", "repr(Version('1.0'))"),
        ("Money(5).__neg__()", "(-Money(5))"),
        # Not operators: keywords, other arities, plain methods, a class's method unbound.
        ("Box(1).__eq__(other=Box(2))", "Box(1).__eq__(other=Box(2))"),
        ("Box(1).__eq__()", "Box(1).__eq__()"),
        ("Box(1).grow(2)", "Box(1).grow(2)"),
        ("Box.__eq__(Box(2))", "Box.__eq__(Box(2))"),
        ("EMPTY.__eq__(Box(2))", "(EMPTY == Box(2))"),
        ("f(", "f("),
    ],
)
def test_a_special_method_call_reads_as_its_operator(call: str, written: str) -> None:
    assert operator_syntax(call) == written


def test_the_assertion_around_a_comparison_cannot_chain_with_it() -> None:
    seed = Seed("pkg/box.py", "Box.__eq__", "Box(1).__eq__(Box(2))", "variant")
    case = case_for(seed, {"kind": "value", "expected": "False", "imports": []})
    assert case is not None
    assert case.body == "assert (Box(1) == Box(2)) is False"
    # Python's `==` would try Box(2).__eq__ after a NotImplemented: that stays a call.
    sentinel = {"kind": "value", "expected": "NotImplemented", "imports": []}
    kept_as_call = case_for(seed, sentinel)
    assert kept_as_call is not None
    assert kept_as_call.body == "assert Box(1).__eq__(Box(2)) is NotImplemented"
