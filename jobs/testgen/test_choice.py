"""The choice of per-test selection, for every language (Python's
:mod:`jobs.languages.python.per_test`, JavaScript's :mod:`jobs.languages.javascript.js_per_test`):
by what each test proves (:func:`choose_by_proof`, on the kill matrix, through
:mod:`.proof.worth`), or, where no mutants ran, by the changed lines each test newly covers, then
by the changed functions it pins. Pure: measured tests in (any test type with a ``label`` and a
``source``), the choice out; each language finds its own changed functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from jobs.testgen import line_sets
from jobs.testgen.per_test_selection import PerTestSelection, TestVerdict
from jobs.testgen.proof import worth
from jobs.testgen.proof.worth import ANYWHERE
from jobs.testgen.targets import compress
from jobs.testgen.validation import Verdict


class Test(Protocol):
    """A language's test as the choice sees it (Python's ``tidy.TestCase``)."""

    @property
    def label(self) -> str: ...  # "<candidate file>::<name the engine gave it>"

    @property
    def source(self) -> str: ...  # its text: the shorter wins a tie


@dataclass
class Measured[T: Test]:
    """A candidate test that passed its measured run, and the changed lines it runs."""

    case: T
    lines: line_sets.Lines


# (chosen with the changed lines each newly covers, changed lines covered after, rejected)
type Choice[T: Test] = tuple[
    list[tuple[Measured[T], line_sets.Lines]], line_sets.Lines, list[tuple[str, str]]
]


@dataclass(frozen=True)
class ProofChoice[T: Test]:
    choice: Choice[T]
    pinned: dict[str, list[str]]  # label -> the changed functions it pins
    kills: dict[str, set[str]]  # label -> the mutants it kills that nothing before it killed


def pinned_by(m: Measured[Any], functions: dict[str, line_sets.Lines]) -> set[str]:
    hit = {
        f for f, lines in functions.items() if line_sets.count(line_sets.restrict(m.lines, lines))
    }
    return hit or {ANYWHERE}


def choose_pins[T: Test](
    chosen: list[Measured[T]],
    rest: list[Measured[T]],
    pinning: set[str],
    functions: dict[str, line_sets.Lines],
    pinned_by: Callable[[Measured[T], dict[str, line_sets.Lines]], set[str]],
) -> tuple[list[Measured[T]], dict[str, list[str]]]:
    """Tests kept for what they pin, though they cover no new changed line: for each changed
    function that no chosen test failing on the base commit runs, the test failing there that
    pins the most such functions, the shortest first. Returns them, and for every chosen or
    picked test failing on the base, the functions it pins (label -> "path::qualname")."""
    said: dict[str, list[str]] = {}
    done: set[str] = set()
    for m in chosen:
        if m.case.label in pinning:
            mine = pinned_by(m, functions)
            said[m.case.label] = sorted(mine - {ANYWHERE})
            done |= mine
    picked: list[Measured[T]] = []
    candidates = sorted((m for m in rest if m.case.label in pinning), key=lambda m: m.case.label)

    def gain(m: Measured[T]) -> set[str]:
        mine = pinned_by(m, functions) - done
        return set() if mine == {ANYWHERE} and done else mine

    while candidates:
        best = min(candidates, key=lambda m: (-len(gain(m)), len(m.case.source), m.case.label))
        new = gain(best)
        if not new:
            break
        picked.append(best)
        said[best.case.label] = sorted(pinned_by(best, functions) - {ANYWHERE})
        done |= new
        candidates.remove(best)
    return picked, said


def preferring[T: Test](
    pinning: set[str], prefer: Callable[[T], bool] | None
) -> Callable[[T], bool]:
    def preferred(case: T) -> bool:
        return case.label in pinning or (prefer is not None and prefer(case))

    return preferred


def choose_by_lines[T: Test](
    pool: list[Measured[T]],
    base: line_sets.Lines,
    collection: line_sets.Lines,
    max_tests: int,
    prefer: Callable[[T], bool] | None,
) -> Choice[T]:
    """Greedy choice: (chosen with the lines each adds, lines covered after, rejected)."""
    covered = base
    chosen: list[tuple[Measured[T], line_sets.Lines]] = []
    rest = sorted(pool, key=lambda m: m.case.label)
    while rest and len(chosen) < max_tests:
        best = min(rest, key=lambda m: rank(m, covered, prefer))
        new = line_sets.gained(best.lines, covered)
        if not new:
            break
        chosen.append((best, new))
        covered = line_sets.union(covered, new)
        rest.remove(best)
    imported = line_sets.gained(collection, covered)
    if imported and rest and not chosen:  # only import-time lines are new: one test brings them
        best = min(rest, key=lambda m: rank(m, covered, prefer))
        chosen.append((best, imported))
        rest.remove(best)
    if chosen:
        covered = line_sets.union(covered, imported)
    reasons = []
    for m in rest:
        if line_sets.gained(m.lines, covered):
            reasons.append((m.case.label, f"left out: the limit of {max_tests} tests was reached"))
        else:
            why = "covers no changed line that the baseline or a kept test does not cover"
            reasons.append((m.case.label, why))
    return chosen, covered, reasons


def rank[T: Test](
    m: Measured[T], covered: line_sets.Lines, prefer: Callable[[T], bool] | None
) -> tuple[int, bool, int, str]:
    gain = line_sets.count(line_sets.gained(m.lines, covered))
    preferred = prefer(m.case) if prefer is not None else False
    return (-gain, not preferred, len(m.case.source), m.case.label)


def choose_by_proof[T: Test](
    usable: list[Measured[T]],
    matrix: list[worth.Kills],
    pinning: set[str],
    base: line_sets.Lines,
    collection: line_sets.Lines,
    functions: dict[str, line_sets.Lines],
    max_tests: int,
) -> ProofChoice[T]:
    """The choice by what each test proves (:func:`.proof.worth.choose`), on the kill matrix
    ``matrix``; ``pinning``: the labels of the tests failing on the base commit."""
    by_label = {m.case.label: m for m in usable}
    candidates = [
        worth.Candidate(
            m.case.label,
            m.lines,
            len(m.case.source),
            frozenset(pinned_by(m, functions)) if m.case.label in pinning else frozenset(),
        )
        for m in usable
    ]
    chosen = worth.choose(candidates, matrix, base, max_tests)
    kept = [(by_label[label], found.lines) for label, found in chosen.kept]
    covered, rejected = chosen.covered, chosen.rejected
    imported = line_sets.gained(collection, covered)
    if imported and not kept and usable:  # only import-time lines are new: one test brings them
        best = min(usable, key=lambda m: rank(m, covered, None))
        kept.append((best, imported))
        rejected = [r for r in rejected if r[0] != best.case.label]
    if kept:
        covered = line_sets.union(covered, imported)
    pinned = {
        m.case.label: sorted(pinned_by(m, functions) - {worth.ANYWHERE})
        for m, _ in kept
        if m.case.label in pinning
    }
    kills = {label: found.kills for label, found in chosen.kept if found.kills}
    return ProofChoice((kept, covered, rejected), pinned, kills)


def record_verdicts[T: Test](
    out: PerTestSelection,
    totals: dict[str, int],
    chosen: list[tuple[Measured[T], line_sets.Lines]],
    final: dict[str, str],
    runs: int,
) -> None:
    """``out``'s verdicts: one per kept test (``chosen``, with the changed lines each newly
    covers; ``final``: label -> its name in the kept file) and per dropped one (``out.dropped``),
    then one per candidate file (``totals``: path -> the tests the engine wrote in it)."""
    for m, new in chosen:
        where = "; ".join(f"{p} {compress(sorted(ls))}" for p, ls in sorted(new.items()))
        said = []
        if new:
            said.append(
                f"covers {line_sets.count(new)} changed line(s) not covered before: {where}"
            )
        if kills := out.kills.get(m.case.label):
            said.append(f"kills {len(kills)} mutant(s) of the changed lines no other test kills")
        if m.case.label in out.pinned:
            functions = ", ".join(f"`{f.split('::', 1)[1]}`" for f in out.pinned[m.case.label])
            said.append(
                "fails on the base commit: pins the change"
                + (f" to {functions}" if functions else "")
            )
        reason = f"passed {runs}/{runs} runs; " + "; ".join(said)
        out.tests.append(TestVerdict(m.case.label, True, reason, final[m.case.label], new))
    for label, why in out.dropped:
        out.tests.append(TestVerdict(label, False, why))
    out.tests.sort(key=lambda t: (not t.kept, t.label))
    for path, total in sorted(totals.items()):
        mine = [t for t in out.tests if t.label.startswith(path + "::")]
        kept = [t for t in mine if t.kept]
        if kept:
            new = line_sets.union(*(t.new_lines for t in kept))
            where = "; ".join(f"{p} {compress(sorted(ls))}" for p, ls in sorted(new.items()))
            reason = f"kept {len(kept)} of {total} test(s), each passed {runs}/{runs} runs"
            if line_sets.count(new):  # none where every changed line ran: kept for kills, pins
                reason += (
                    f"; they cover {line_sets.count(new)} changed line(s) not covered before: "
                    + where
                )
            if k := sum(t.label in out.kills for t in kept):
                reason += f"; {k} test{'s' * (k > 1)} kill{'s' * (k == 1)} mutants"
                reason += " no other test kills"
            if p := sum(t.label in out.pinned for t in kept):
                reason += f"; {p} test{'s' * (p > 1)} fail{'s' * (p == 1)} on the base commit"
                reason += " (they pin the change)"
            out.verdicts.append(Verdict(path, True, reason, new))
        else:
            reasons = sorted({t.reason.split(":")[0] for t in mine})
            out.verdicts.append(Verdict(path, False, "no test kept: " + "; ".join(reasons)[:300]))
    out.verdicts.sort(key=lambda v: (not v.kept, v.path))
