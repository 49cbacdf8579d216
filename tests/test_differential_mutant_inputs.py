"""The calls aimed at a surviving mutant's mutated expression (plain data in and out)."""

from __future__ import annotations

from jobs.testgen.engines.differential_mutant_inputs import (
    aimed_calls,
    boundary,
    compares_names,
    constants,
    neighbours,
)
from jobs.testgen.engines.seeds import Seed
from jobs.testgen.proof.mutants import Mutant


def _mutant(description: str, function: str = "fee") -> Mutant:
    return Mutant(
        "pkg/money.py:2:0", "pkg/money.py", 2, (2, 2), function, "comparison", description,
        1, 4, "", ((function, 1),),
    )  # fmt: skip


def test_the_constants_of_both_sides_are_read_even_from_a_segment_cut_short() -> None:
    assert constants("`n > 10` becomes `n >= 10`") == ((10,), ())
    assert constants("`x * 2.5` becomes `x * 3.5`") == ((2.5, 3.5), ())
    assert constants("`sep == '@'` becomes `sep != '@'`") == ((), ("@",))
    # `shown` cuts a long expression with an ellipsis: what comes before it still counts.
    assert constants("`f(a, 7, 'k', b[…` becomes `None`") == ((7,), ("k",))


def test_the_boundary_is_each_constant_and_its_neighbours() -> None:
    assert boundary((10,)) == [10, 9, 11]
    assert boundary((0.5, 1)) == [0.5, 1, -0.5, 1.5, 0, 2]


def test_a_comparison_is_known_by_its_operator() -> None:
    assert compares_names("`size > room` becomes `size >= room`")
    assert compares_names("`k in seen` becomes `k not in seen`")
    assert not compares_names("`a + b` becomes `a - b`")


def test_a_number_argument_takes_the_boundary_and_with_names_compared_the_others_values() -> None:
    assert neighbours("fee(150, rate=3)", [100, 99], [], equal=False) == [
        "fee(100, rate=3)", "fee(99, rate=3)", "fee(150, rate=100)", "fee(150, rate=99)",
    ]  # fmt: skip
    assert neighbours("fits(5, 3)", [], [], equal=True) == ["fits(3, 3)", "fits(5, 5)"]
    # A string argument gets the mutated expression's strings.
    assert "parse('ab@')" in neighbours("parse('ab')", [], ["@"], equal=False)


def test_the_mutated_function_s_calls_come_first_and_known_calls_are_not_repeated() -> None:
    seeds = [
        Seed("pkg/money.py", "total", "total(1)", "literal"),
        Seed("pkg/money.py", "fee", "fee(150)", "literal"),
        Seed("pkg/money.py", "fee", "fee(100)", "literal"),
        Seed("pkg/other.py", "fee", "fee(7)", "literal"),
    ]
    aimed = aimed_calls(_mutant("`amount > 100` becomes `amount >= 100`"), seeds)
    calls = [(s.qualname, s.call_source) for s in aimed]
    assert calls[0] == ("fee", "fee(99)")  # fee(100) is known; fee(150)'s first is 100: known
    assert ("total", "total(100)") in calls
    assert all(s.path == "pkg/money.py" and s.origin == "variant" for s in aimed)
    assert not any(call == "fee(100)" or "7" in call for _, call in calls)


def test_a_mutant_with_nothing_to_aim_at_gets_no_calls() -> None:
    seeds = [Seed("pkg/money.py", "fee", "fee(150)", "literal")]
    assert aimed_calls(_mutant("`x + y` becomes `x - y`"), seeds) == []
