"""What the per-test keep rule (:class:`jobs.testgen.keep.PerTest`) asks of a language that
tells its tests' lines apart per test, and what it gets back: a
:class:`~jobs.languages.language_protocol.Language`'s ``per_test`` is a :class:`SelectTests`
(Python's: :func:`jobs.languages.python.per_test.select_tests`, JavaScript's:
:func:`jobs.languages.javascript.js_per_test.select_tests`), or None where the language keeps
candidate files whole.

Shared by the stages and the backends, so that neither imports the other's modules: the
selection itself (splitting files into tests, measuring each, choosing, writing the kept ones
back) is the language's; what it is given (:class:`Options`) and the record it fills
(:class:`PerTestSelection`) are the same for every language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import Sandbox
from jobs.testgen import line_sets
from jobs.testgen.budget import Budget
from jobs.testgen.proof import worth
from jobs.testgen.proof.measure import Measured as MutantsMeasured
from jobs.testgen.proof.score import MutantScore
from jobs.testgen.validation import Verdict

# Test files (path -> text) in, (path, test name) of those failing on the base commit out; None
# when that run said nothing.
OnBase = Callable[[dict[str, str]], Awaitable[set[tuple[str, str]] | None]]
# The candidate test files (written with the measured tests) in; the mutants of the changed
# lines run against the existing tests and every candidate (the kill matrix) out, or why they
# did not run.
OnMutants = Callable[[list[str]], Awaitable[MutantsMeasured | str]]


class Case(Protocol):
    """One test as a language's selection sees it (Python's: ``tidy.TestCase``)."""

    @property
    def label(self) -> str: ...  # "<candidate file>::<name the engine gave it>"

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Options:
    """How a :class:`SelectTests` chooses. ``on_base``: the measured tests that reach a changed
    line run on the base commit, and one failing there pins the change. ``on_mutants``: the
    kill matrix, and with it the choice by what each test proves (:mod:`.proof.worth`);
    without it (or where no mutant ran), the choice by new lines, then pins. ``prefer``: which
    tests win a tie."""

    runs: int
    timeout_s: float
    max_tests: int = 20
    prefer: Callable[[Case], bool] | None = None
    on_base: OnBase | None = None
    on_mutants: OnMutants | None = None
    budget: Budget | None = None

    def left(self) -> float:
        budget = self.budget
        return min(self.timeout_s, budget.remaining_s()) if budget is not None else self.timeout_s


@dataclass
class TestVerdict:
    """What happened to one test."""

    __test__ = False  # not a pytest class

    label: str  # "<candidate file>::<name the engine gave it>"
    kept: bool
    reason: str
    name: str = ""  # its name in the kept file
    new_lines: line_sets.Lines = field(default_factory=dict)


@dataclass
class PerTestSelection:
    kept_files: dict[str, str] = field(default_factory=dict)  # path -> text, as written
    verdicts: list[Verdict] = field(default_factory=list)  # one per candidate file
    tests: list[TestVerdict] = field(default_factory=list)
    covered: line_sets.Lines = field(
        default_factory=dict
    )  # changed lines covered, baseline included
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (label, reason)
    pytest_runs: int = 0  # runs of the language's test runner
    duration_s: float = 0.0
    pinning: set[str] = field(default_factory=set)  # labels of measured tests failing on base
    # Kept tests failing on the base: label -> the changed functions ("path::qualname") they pin.
    pinned: dict[str, list[str]] = field(default_factory=dict)
    # Kept tests that kill mutants no existing or earlier kept test kills: label -> mutant ids.
    kills: dict[str, set[str]] = field(default_factory=dict)
    matrix: list[worth.Kills] | None = None  # None: chosen by lines and pins only
    mutants: MutantScore | None = None  # the mutant run behind the matrix (killers: node ids)
    notes: list[str] = field(default_factory=list)


class SelectTests(Protocol):
    """Choose the tests of ``candidates`` (test files in the checkout) worth keeping, as
    ``options`` says, and write the kept ones back (a file with none kept is removed).
    ``baseline``: the existing tests' run; ``changed_exec``: the changed statements."""

    def __call__(
        self,
        sandbox: Sandbox,
        checkout: Path,
        candidates: list[str],
        baseline: SuiteRun,
        changed_exec: line_sets.Lines,
        options: Options,
    ) -> Awaitable[PerTestSelection]: ...


async def kill_matrix(
    on_mutants: OnMutants,
    paths: list[str],
    out: PerTestSelection,
    relabel: Callable[[MutantScore], MutantScore],
) -> list[worth.Kills] | None:
    """The mutants of the changed lines against the existing tests and the candidate files
    ``paths``: which tests kill which mutants, the killers named by ``relabel`` (a language's
    test ids to the candidates' labels), ``out.mutants`` the run. None (and a note why) where
    they did not run."""
    measured = await on_mutants(paths)
    fallback = "the tests were kept by the changed lines they cover and the changes they pin"
    if isinstance(measured, str) or measured.problem:
        why = measured if isinstance(measured, str) else measured.problem
        out.notes.append(f"Mutants not run to choose the tests ({why}): {fallback}.")
        return None
    if not measured.score.outcomes:
        out.notes.append(f"The changed lines have no mutants: {fallback}.")
        return None
    if cut := measured.cut:
        out.notes.append(f"{cut} of {measured.score.total} mutants not run (wall-time budget).")
    out.mutants = relabel(measured.score)
    return worth.matrix_from(out.mutants.outcomes)
