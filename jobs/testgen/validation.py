"""Validation of candidate test files: each runs ``flaky_runs`` times in the sandbox (the first
run under coverage). A file that fails any run is discarded; when only some of its top-level
test functions fail, those are removed and the rest must pass every run again.

Also what an engine left in the checkout: the new test files it wrote, and the changes to
tracked files it was not allowed to make (reverted).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jobs import git
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import Sandbox, workdir
from jobs.testgen import line_sets
from jobs.testgen.budget import Budget

MAX_TEST_FILE_BYTES = 200_000


class TestRunner(Protocol):
    """What validation asks of the run's language (a
    :class:`~jobs.languages.language_protocol.Language` is one)."""

    async def run_tests(
        self,
        sandbox: Sandbox,
        checkout: Path,
        paths: list[str],
        *,
        tag: str,
        timeout_s: float,
        measure: bool,
    ) -> SuiteRun:
        """One run of the given test files (all of the suite when empty) in the sandbox; with
        ``measure``, under coverage. ``tag`` names the run's files in the work dir."""
        ...

    def prune_tests(self, checkout: Path, path: str, names: set[str]) -> bool:
        """Remove the named top-level tests from a test file (repository-relative): True when
        some test is left; False, and nothing removed, otherwise."""
        ...


class TestsAmong(Protocol):
    """Which of the untracked files an engine left in the checkout (repository-relative) are
    test files the language's runner collects (a
    :meth:`~jobs.languages.language_protocol.Language.tests_among`)."""

    def __call__(self, checkout: Path, untracked: list[str]) -> list[str]: ...


@dataclass
class Verdict:
    """Whether a test file is kept, and why."""

    path: str
    kept: bool
    reason: str
    new_lines: line_sets.Lines = field(default_factory=dict)


@dataclass
class Validation:
    """How a test file fared in its validation runs."""

    path: str
    passed: bool
    reason: str
    executed: line_sets.Lines = field(default_factory=dict)
    measured: bool = False
    pruned: list[str] = field(default_factory=list)
    output: str = ""  # failing run's output tail, for the agent


async def new_test_files(checkout: Path, tests_among: TestsAmong) -> list[str]:
    """The untracked files in the checkout (Tandem's own scratch directory aside) that the run's
    language (``tests_among``: its :meth:`~jobs.languages.language_protocol.Language.tests_among`)
    counts as test files its runner collects."""
    status = await git.run_async(checkout, "status", "--porcelain", "--untracked-files=all", "-z")
    untracked = [
        entry[3:]
        for entry in status.split("\0")
        if entry.startswith("?? ") and not entry[3:].startswith(f"{workdir.WORK_DIR}/")
    ]
    return sorted(tests_among(checkout, untracked))


async def revert_changes(checkout: Path) -> list[str]:
    """Undo changes the engine made to tracked files (it may only add files)."""
    changed = [
        line
        for line in (await git.run_async(checkout, "diff", "--name-only", "-z", "HEAD")).split("\0")
        if line
    ]
    if changed:
        await git.run_async(checkout, "checkout", "-q", "HEAD", "--", ".")
    return changed


async def validate(
    sandbox: Sandbox,
    checkout: Path,
    path: str,
    *,
    runs: int,
    timeout_s: float,
    budget: Budget | None = None,
    language: TestRunner,
) -> Validation:
    """Run one test file ``runs`` times (through the run's language: its ``run_tests``); the
    first run is measured with coverage. Where only some of its tests fail, the language
    removes them (its ``prune_tests``) and the rest must pass every run again."""
    file = checkout / path
    if not file.is_file():
        return Validation(path, False, "file was removed")
    if file.stat().st_size > MAX_TEST_FILE_BYTES:
        return Validation(path, False, "file too large")
    pruned: list[str] = []
    tag = hashlib.sha256(path.encode()).hexdigest()[:10]
    while True:
        first: SuiteRun | None = None
        failure: tuple[int, SuiteRun] | None = None
        for number in range(1, runs + 1):
            left = budget.remaining_s() if budget is not None else timeout_s
            if left <= 1:
                return Validation(
                    path,
                    False,
                    f"not validated: wall-time budget reached after {number - 1} of {runs} runs",
                )
            run = await language.run_tests(
                sandbox,
                checkout,
                [path],
                tag=f"{tag}-{number}",
                timeout_s=min(timeout_s, left),
                measure=number == 1,
            )
            if number == 1:
                first = run
            if not run.ok:
                failure = (number, run)
                break
        assert first is not None
        if failure is None:
            reason = f"passed {runs}/{runs} runs"
            if pruned:
                reason += f" after removing failing test(s) {', '.join(pruned)}"
            return Validation(
                path,
                True,
                reason,
                executed=first.executed,
                measured=first.measured,
                pruned=pruned,
            )
        number, run = failure
        functions = {f.function_in(path) for f in run.failures}
        if (
            not pruned
            and run.status == "failed"
            and run.failures
            and None not in functions
            and language.prune_tests(checkout, path, {f for f in functions if f})
        ):
            pruned = sorted(f for f in functions if f)
            continue
        return Validation(path, False, failure_reason(number, runs, run), output=run.output)


def failure_reason(number: int, runs: int, run: SuiteRun) -> str:
    """Why run ``number`` of ``runs`` failed, in one line."""
    if run.timed_out:
        what = f"timed out after {run.duration_s:.0f} s"
    elif run.status == "no tests":
        return "no tests collected"
    elif run.status == "failed":
        what = f"failed: {run.failure_text()}"
    else:
        stopped = run.stopped()
        what = f"could not run ({stopped.exit}): {stopped.decisive}"
    if number > 1:
        return f"flaky: passed {number - 1} run(s), then run {number} of {runs} {what}"
    return what


@dataclass
class Validator:
    """Validates an engine's files within the part's budget and remembers each file's latest
    result (the agent's fix rounds drop the results of the files it rewrites)."""

    sandbox: Sandbox
    checkout: Path
    runs: int
    timeout_s: float
    budget: Budget
    step: Callable[[str], None]
    language: TestRunner  # the run's language: its runs and its pruning of failing tests
    results: dict[str, Validation] = field(default_factory=dict)

    async def validate_all(self, paths: list[str]) -> list[Validation]:
        validated = []
        for path in paths:
            self.step(f"validating {path} ({self.runs} runs)")
            v = await validate(
                self.sandbox,
                self.checkout,
                path,
                runs=self.runs,
                timeout_s=self.timeout_s,
                budget=self.budget,
                language=self.language,
            )
            if v.reason.startswith("not validated: wall-time"):
                self.budget.note("wall-time budget reached during validation")
            self.results[path] = v
            validated.append(v)
        return validated
