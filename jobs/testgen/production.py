"""What ``produce_tests`` found out (:class:`Production`): the one record its stages fill in,
and what :mod:`.report` renders and the deliverers deliver. It imports neither side, so the
report reads it without importing the stages that write it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobs.testgen import line_sets
from jobs.testgen.budget import Usage
from jobs.testgen.pin import BrokenTests, Pinning
from jobs.testgen.proof.score import MutantScore
from jobs.testgen.targets import Target
from jobs.testgen.validation import Verdict


@dataclass
class Production:
    """Everything ``produce_tests`` found out; the caller reports and delivers it."""

    engine: str | None  # the portfolio that ran (the agent if it ran): see .engines.registry
    engine_reason: str
    targets: list[Target] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    baseline: str = ""
    before: line_sets.ChangedCoverage | None = None
    after: line_sets.ChangedCoverage | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)
    budget_hit: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fix_rounds: int = 0
    coverage_rounds: int = 0
    nothing_to_do: str | None = None
    # Labels of the languages with changed sources that build no tests yet (their note says
    # which files): with nothing else to do, the headline names them.
    not_built: list[str] = field(default_factory=list)
    # What kept the part from doing its work properly, each "what: the decisive error line"
    # (an engine crash, a baseline that did not run, a failed dependency install, a changed
    # file that does not parse). Never shown as ✅.
    problems: list[str] = field(default_factory=list)
    syntax_errors: list[str] = field(default_factory=list)
    # The offline engines' tests one by one: {"test", "kept", "name", "reason"}.
    tests: list[dict[str, Any]] = field(default_factory=list)
    # The kept test files on the base commit (None: not run there, no base commit given).
    pinning: Pinning | None = None
    # The baseline's failing tests on the base commit (None: none failed, or not checked).
    broken: BrokenTests | None = None
    # The kept files the agent wrote (the others come from the offline engines).
    agent_kept: list[str] = field(default_factory=list)
    # The mutants of the changed lines and which the existing and kept tests kill (None: not
    # run, as when the baseline found no changed statement).
    mutants: MutantScore | None = None
    # Every changed line ran already: the mutants against the existing tests alone, run before
    # the engines to learn whether any survive (None: not that case, or not run). While
    # ``mutants`` is this very score, no kept test has been scored yet.
    existing_score: MutantScore | None = None
