"""Which candidate tests are worth keeping for what they prove (issue #19, items 3 and 5). Pure:
plain data in (each candidate's changed lines, the changed functions it pins, the kill matrix),
the kept labels and what each proves out.

A candidate that passed its validation is kept when it does at least one of these:
- it newly covers a changed line, and kills a mutant of that line where the line has mutants
  (a test that runs a line but notices none of its bugs proves nothing about it);
- it fails on the base commit, for a changed function no existing or kept test pins;
- it kills a mutant no existing or kept test kills.
The choice is greedy: each step takes the candidate that proves the most new things (lines,
pinned functions and mutants, counted alike), the shorter one on a tie, then by label; so few
and short tests are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from jobs.testgen import line_sets
from jobs.testgen.proof.score import MutantScore, Outcome

# A pin that runs no changed line of any function in its test (the change runs at import, a
# module constant): it counts only where nothing else pins anything.
ANYWHERE = "*"
# A mutant's tests ran to an answer: only those count as the mutants a line has.
JUDGED = ("killed", "survived", "uncovered")


@dataclass(frozen=True)
class Kills:
    """One mutant in the kill matrix."""

    id: str
    path: str
    lines: frozenset[int]  # the lines it replaces
    judged: bool  # its tests ran to an answer (not cut, hung or unplaceable)
    by_existing: bool  # an existing test killed it
    killers: frozenset[str] = frozenset()  # labels of the candidates that killed it


@dataclass(frozen=True)
class Candidate:
    label: str
    lines: line_sets.Lines  # the changed lines it runs
    size: int  # its source's length: the shorter wins a tie
    pins: frozenset[str] = frozenset()  # changed functions it pins (it fails on the base)


@dataclass
class Proof:
    """What one kept test proves that nothing before it did."""

    lines: line_sets.Lines = field(default_factory=dict)  # newly covered (and checked)
    kills: set[str] = field(default_factory=set)  # mutant ids
    pins: set[str] = field(default_factory=set)  # "path::qualname" (or ANYWHERE)

    @property
    def gain(self) -> int:
        return line_sets.count(self.lines) + len(self.kills) + len(self.pins)


@dataclass
class Chosen:
    kept: list[tuple[str, Proof]]  # in the order chosen
    covered: line_sets.Lines  # changed lines covered after, the baseline's included
    killed: set[str]  # mutant ids killed after, the existing tests' included
    rejected: list[tuple[str, str]]  # (label, why)


def relabeled(score: MutantScore, label_of: dict[str, str]) -> MutantScore:
    """``score`` with each killer's node id replaced by its candidate's label: ``label_of`` maps
    ``path::name`` (parameters and methods stripped to the top-level name) to it."""

    def label(nodeid: str) -> str | None:
        path, _, rest = nodeid.partition("::")
        return label_of.get(f"{path}::{rest.split('::')[0].split('[')[0]}")

    outcomes = [
        replace(o, killers=tuple(sorted({k for k in map(label, o.killers) if k is not None})))
        for o in score.outcomes
    ]
    return replace(score, outcomes=outcomes)


def with_kept(score: MutantScore, kept: set[str]) -> MutantScore:
    """The mutant score of the existing and the ``kept`` tests, from the kill matrix's run: a
    mutant only candidates killed is killed by the kept tests when one of them is kept, else it
    survived."""
    outcomes = []
    for o in score.outcomes:
        if o.status == "killed" and o.by == "candidate":
            kept_killed = bool(set(o.killers) & kept)
            o = replace(o, status="killed" if kept_killed else "survived")
            o = replace(o, by="kept" if kept_killed else None, killers=())
        elif o.by == "candidate":  # hung or not placed among candidates: so said, by no group
            o = replace(o, by=None)
        outcomes.append(o)
    return replace(score, outcomes=outcomes)


def matrix_from(outcomes: Iterable[Outcome]) -> list[Kills]:
    """The kill matrix from the mutant runner's outcomes (killers relabeled, :func:`relabeled`)."""
    matrix = []
    for o in outcomes:
        first, last = o.mutant.lines
        killed = o.status == "killed"
        killers = frozenset(o.killers)
        matrix.append(
            Kills(
                o.mutant.id,
                o.mutant.path,
                frozenset(range(first, last + 1)),
                o.status in JUDGED,
                killed and o.by == "existing",
                killers if killed and o.by == "candidate" else frozenset(),
            )
        )
    return matrix


def choose(
    candidates: list[Candidate], matrix: list[Kills], base: line_sets.Lines, max_tests: int
) -> Chosen:
    """The greedy choice by what each candidate proves (see the module's docstring)."""
    mutated: dict[tuple[str, int], set[str]] = {}
    for m in matrix:
        if m.judged:
            for line in m.lines:
                mutated.setdefault((m.path, line), set()).add(m.id)
    kills_of: dict[str, set[str]] = {c.label: set() for c in candidates}
    for m in matrix:
        for label in m.killers:
            kills_of.setdefault(label, set()).add(m.id)
    state = Chosen([], base, {m.id for m in matrix if m.by_existing}, [])
    pinned: set[str] = set()

    def proof(c: Candidate) -> Proof:
        kills = kills_of[c.label]
        lines = {
            path: {n for n in ns if not mutated.get((path, n)) or mutated[(path, n)] & kills}
            for path, ns in line_sets.gained(c.lines, state.covered).items()
        }
        pins = set(c.pins) - pinned
        if pins == {ANYWHERE} and pinned:
            pins = set()
        return Proof({p: ns for p, ns in lines.items() if ns}, kills - state.killed, pins)

    rest = sorted(candidates, key=lambda c: c.label)
    while rest and len(state.kept) < max_tests:
        best = min(rest, key=lambda c: (-proof(c).gain, c.size, c.label))
        found = proof(best)
        if not found.gain:
            break
        state.kept.append((best.label, found))
        state.covered = line_sets.union(state.covered, best.lines)
        state.killed |= kills_of[best.label]
        pinned |= set(best.pins)
        rest.remove(best)
    for c in rest:
        state.rejected.append((c.label, _why_not(proof(c), c, state.covered, max_tests)))
    return state


def _why_not(found: Proof, c: Candidate, covered: line_sets.Lines, max_tests: int) -> str:
    if found.gain:
        return f"left out: the limit of {max_tests} tests was reached"
    if line_sets.gained(c.lines, covered):
        # Issue #19, item 5: it runs a line, but would not notice a bug there.
        return (
            "runs changed lines nothing else runs, but kills none of their mutants and fails "
            "on the base commit for no function left to pin"
        )
    return (
        "covers no changed line that the baseline or a kept test does not cover, kills no "
        "mutant they leave alive, and pins no function they leave unpinned"
    )


def proves(found: Proof) -> str:
    """What a kept test proves, for its verdict: "kills 2 mutant(s) no other test kills"."""
    said = []
    if found.kills:
        said.append(f"kills {len(found.kills)} mutant(s) of the changed lines no other test kills")
    return "; ".join(said)
