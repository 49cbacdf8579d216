"""One run of a repository's tests by its own runner, in terms no runner owns (issue 18): how it
went (:data:`Status`), its failures and line sets, and the one-line texts the check run shows.

Each runner fills it from what it knows: pytest's exit codes are read in
:mod:`jobs.languages.python.pytest_runner`, vitest's and jest's in
:mod:`jobs.languages.javascript.javascript_runs`. What a runner says when it did not run the
tests at all (its exit, its decisive line) comes in its own words, as :class:`NotRun`; nothing
here reads an exit code. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

Lines = dict[str, set[int]]  # repository-relative path -> line numbers

# passed: every test that ran passed; failed: some test ran and failed; no tests: the runner
# found none; did not run: the runner stopped before its tests told anything (``not_run`` says
# why); timed out: the sandbox stopped it.
Status = Literal["passed", "failed", "no tests", "did not run", "timed out"]


@dataclass(frozen=True)
class TestFailure:
    __test__ = False  # not a pytest class

    classname: str  # "tests.test_x" or "tests.test_x.TestClass"; JS: the test file
    name: str  # "test_name" or "test_name[param]"; JS: "describe > title"
    message: str

    @property
    def nodeid(self) -> str:
        return f"{self.classname}::{self.name}"

    def function_in(self, path: str) -> str | None:
        """The top-level function this failure is, when it is one, in test file ``path``."""
        if self.classname == path:  # JS/TS: the test file itself, and "describe > title"
            return self.name
        module = PurePosixPath(path).with_suffix("").as_posix().replace("/", ".")
        if self.classname == module and self.name.isidentifier():
            return self.name
        return None


@dataclass(frozen=True)
class NotRun:
    """Why a runner did not run the tests, in its own words."""

    exit: str  # how the runner ended: "pytest exit 2", "vitest exit 1"
    summary: str  # the run in one line: "interrupted (collection errors)"
    decisive: str  # the line of its output that says what went wrong
    trouble: str = "did not run"  # "the existing tests <trouble>": "were interrupted"


@dataclass
class SuiteRun:
    """One run of some test paths by the repository's runner, optionally under coverage."""

    status: Status
    duration_s: float
    output: str
    returncode: int | None = None  # the runner's exit status, shown only: ``status`` decides
    not_run: NotRun | None = None  # when ``status`` is "did not run"
    coverage_tool: str = "coverage.py"  # who measures: "the coverage report had no data"
    executed: Lines = field(default_factory=dict)  # empty when not measured
    statements: Lines = field(default_factory=dict)
    failures: list[TestFailure] = field(default_factory=list)
    passed: int = 0
    measured: bool = False
    # module name -> the file it was imported from (real path), when the run recorded them
    modules: dict[str, str] = field(default_factory=dict)
    # The checkout-relative record of what each test ran of the ``per_test`` files
    # (scripts/tandem_per_test.py), when the run wrote one: the mutant runner's map.
    per_test: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    @property
    def timed_out(self) -> bool:
        return self.status == "timed out"

    def stopped(self) -> NotRun:
        """Why it did not run (a runner that said nothing gets a plain line)."""
        return self.not_run or NotRun("no exit status", "did not run", "no output")

    def describe(self) -> str:
        """One line about how the run went, for the check run."""
        if self.status == "timed out":
            return f"timed out after {self.duration_s:.0f} s"
        if self.status == "passed":
            return f"{self.passed} passed"
        if self.status == "no tests":
            return "no tests collected"
        if self.status == "failed":
            return f"{len(self.failures)} failed, {self.passed} passed"
        return self.stopped().summary

    def problem(self) -> str | None:
        """Why this run of the existing tests is not a baseline to trust, or None: it did not
        run, it timed out, or it ran under coverage and no data came back."""
        if self.status == "timed out":
            return f"the existing tests timed out after {self.duration_s:.0f} s"
        if self.status == "did not run":
            stopped = self.stopped()
            return f"the existing tests {stopped.trouble} ({stopped.exit}): {stopped.decisive}"
        if self.status in ("passed", "failed") and not self.executed:
            return f"the existing tests ran but {self.coverage_tool} collected no data"
        return None

    def failure_text(self, limit: int = 3) -> str:
        if self.status == "timed out":
            return self.describe()
        if self.failures:
            shown = "; ".join(f"{f.nodeid}: {f.message}" for f in self.failures[:limit])
            more = len(self.failures) - limit
            return shown + (f" (and {more} more)" if more > 0 else "")
        return self.describe()
