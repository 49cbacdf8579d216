"""Which candidates are worth keeping for what they prove (:mod:`jobs.testgen.proof.worth`),
with plain data: no sandbox, no pytest run."""

from __future__ import annotations

from jobs.testgen.proof import worth
from jobs.testgen.proof.mutants import Mutant
from jobs.testgen.proof.score import MutantScore, Outcome
from jobs.testgen.proof.worth import ANYWHERE, Candidate, Kills

F = "pkg/calc.py"


def kills(id: str, line: int, *killers: str, existing: bool = False, judged: bool = True) -> Kills:
    return Kills(id, F, frozenset({line}), judged, existing, frozenset(killers))


def candidate(label: str, *lines: int, size: int = 10, pins: tuple[str, ...] = ()) -> Candidate:
    return Candidate(label, {F: set(lines)} if lines else {}, size, frozenset(pins))


def kept_labels(chosen: worth.Chosen) -> list[str]:
    return [label for label, _ in chosen.kept]


def test_a_test_that_kills_what_nothing_else_kills_is_kept_though_it_covers_nothing_new() -> None:
    matrix = [kills("m1", 2, existing=True), kills("m2", 2, "a"), kills("m3", 2)]
    chosen = worth.choose([candidate("a", 2), candidate("b", 2)], matrix, {F: {2}}, 20)
    assert kept_labels(chosen) == ["a"]
    assert chosen.kept[0][1].kills == {"m2"} and chosen.kept[0][1].lines == {}
    assert chosen.killed == {"m1", "m2"}
    assert "kills no mutant" in dict(chosen.rejected)["b"]


def test_a_new_line_counts_only_where_the_test_kills_one_of_its_mutants() -> None:
    # Line 8 has mutants: running it proves nothing unless one of them dies (item 5). Line 9
    # has none (or only mutants that could not be judged): running it is enough.
    matrix = [kills("m8", 8), kills("m9", 9, judged=False)]
    runs_8 = candidate("runs_8", 8)
    chosen = worth.choose([runs_8, candidate("runs_9", 9)], matrix, {}, 20)
    assert kept_labels(chosen) == ["runs_9"]
    assert chosen.kept[0][1].lines == {F: {9}}
    assert "kills none of their mutants" in dict(chosen.rejected)["runs_8"]
    checks_8 = worth.choose(
        [runs_8, candidate("checks_8", 8)], [kills("m8", 8, "checks_8")], {}, 20
    )
    assert kept_labels(checks_8) == ["checks_8"]
    assert checks_8.kept[0][1].lines == {F: {8}} and checks_8.kept[0][1].kills == {"m8"}
    # Everything a kept test runs counts as covered, checked or not.
    assert chosen.covered == {F: {9}} and checks_8.covered == {F: {8}}


def test_a_pin_counts_for_a_function_nothing_kept_pins_yet() -> None:
    both = candidate("both", 2, pins=("f", "g"))
    f_only = candidate("f_only", 2, size=1, pins=("f",))
    g_only = candidate("g_only", 2, size=1, pins=("g",))
    chosen = worth.choose([f_only, g_only, both], [], {F: {2}}, 20)
    assert kept_labels(chosen) == ["both"]  # fewer tests: one pins both functions
    assert chosen.kept[0][1].pins == {"f", "g"}
    # A pin that runs no changed function counts only where nothing else pins.
    anywhere = candidate("anywhere", pins=(ANYWHERE,))
    assert kept_labels(worth.choose([anywhere], [], {}, 20)) == ["anywhere"]
    assert kept_labels(worth.choose([f_only, anywhere], [], {}, 20)) == ["f_only"]


def test_the_greedy_choice_prefers_fewer_then_shorter_tests_and_keeps_the_limit() -> None:
    matrix = [kills("m1", 2, "wide", "one", "short"), kills("m2", 2, "wide", "two")]
    tests = [
        candidate("one", 2, size=5),
        candidate("two", 2, size=5),
        candidate("wide", 2, size=50),
        candidate("short", 2, size=1),
    ]
    assert kept_labels(worth.choose(tests, matrix, {F: {2}}, 20)) == ["wide"]
    only_m1 = [kills("m1", 2, "one", "short")]
    assert kept_labels(worth.choose(tests, only_m1, {F: {2}}, 20)) == ["short"]
    limited = worth.choose(tests[:2], matrix, {F: {2}}, 1)
    assert kept_labels(limited) == ["one"]
    assert "limit of 1 tests" in dict(limited.rejected)["two"]


def mutant(id: str, line: int) -> Mutant:
    return Mutant(
        id=id,
        path=F,
        line=line,
        lines=(line, line),
        function="classify",
        kind="comparison",
        description=f"mutant {id}",
        start=1,
        end=3,
        source="",
        chain=(("classify", 1),),
    )


def test_the_matrix_and_the_score_with_the_kept_tests_from_the_runners_outcomes() -> None:
    score = MutantScore(
        outcomes=[
            Outcome(mutant("a", 2), "killed", by="existing"),
            Outcome(mutant("b", 2), "killed", by="candidate", killers=("t.py::test_x[1]",)),
            Outcome(mutant("c", 3), "killed", by="candidate", killers=("t.py::TestY::test_m",)),
            Outcome(mutant("d", 3), "timeout", by="candidate"),
            Outcome(mutant("e", 3), "cut"),
        ]
    )
    named = worth.relabeled(score, {"t.py::test_x": "t.py::x", "t.py::TestY": "t.py::Y"})
    matrix = worth.matrix_from(named.outcomes)
    assert [(k.id, k.judged, k.by_existing, set(k.killers)) for k in matrix] == [
        ("a", True, True, set()),
        ("b", True, False, {"t.py::x"}),
        ("c", True, False, {"t.py::Y"}),
        ("d", False, False, set()),
        ("e", False, False, set()),
    ]
    final = worth.with_kept(named, {"t.py::x"})
    assert [(o.status, o.by) for o in final.outcomes] == [
        ("killed", "existing"),
        ("killed", "kept"),
        ("survived", None),  # its only killer was not kept
        ("timeout", None),
        ("cut", None),
    ]
    assert final.line(kept=True) == (
        "mutants of the changed lines: existing tests kill 1 of 5; with the kept tests 2 of 5 "
        "(1 hung a test (not counted as killed); 1 not run: the wall-time budget ran out)"
    )
