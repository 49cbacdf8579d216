"""A vitest or jest run as a :class:`~jobs.languages.suite_run.SuiteRun` (pure: a run's pieces
in, the neutral run out), and the base commit's verdicts on test files from a run there.

The runners' exit codes say little on their own (both exit 1 for a failed test, a file that did
not load and an unhandled error alike), so the JSON report of outcomes decides: a failed test or
a test file that did not load is "failed" (the others still ran and count), no test at all is
"no tests", a report missing or a non-zero exit with every test passing is "did not run", with
the runner's decisive line (its own framing, "Test results written to: …", left out), unless
the runner says only that a coverage threshold was not met: that is the project's gate on its
whole suite, and the tests ran. A test file that did not load is one failure named ``(load)``;
where no test file loaded, the run did not run (css-what's jest 26 once could not load Tandem's
setup file: "2 failed, 0 passed" read as the project's broken tests).
"""

from __future__ import annotations

import re

from jobs.languages.javascript.coverage import Coverage, ReportError
from jobs.languages.javascript.package_job import FilesRun, RunnerError
from jobs.languages.javascript.run_results import ReportProblem, RunResults, runner_line
from jobs.languages.suite_run import NotRun, Status, SuiteRun, TestFailure
from jobs.sandbox.sandbox_protocol import CommandResult, last_line
from jobs.testgen.pin import Outcome, Pinning

COVERAGE_TOOL = "istanbul"  # vitest's istanbul provider, jest's babel-plugin-istanbul
LOAD = "(load)"  # the failure of a test file that did not load
# The runners' word that a coverage threshold was not met (jest: 'Jest: "global" coverage
# threshold for lines (100%) not met: 60%'; vitest: "ERROR: Coverage for lines (60%) does not
# meet global threshold (100%)")
THRESHOLD = re.compile(
    r"coverage threshold for \w+ \(.*\) not met|does not meet (?:global )?threshold"
)


def failures_of(results: RunResults) -> list[TestFailure]:
    """Each failed test (its file, then ``describe > title``) and each file that did not load."""
    found = []
    for test, outcome in results.failed().items():
        file, _, name = test.partition(" > ")
        found.append(TestFailure(file, name, outcome.message))
    found += [TestFailure(file, LOAD, why) for file, why in results.unloaded.items()]
    return found


def not_run(runner: str, error: RunnerError, duration_s: float = 0.0) -> SuiteRun:
    """A run that could not be made, or that the sandbox stopped at its time limit."""
    if error.timed_out:
        return SuiteRun("timed out", duration_s, error.reason, coverage_tool=COVERAGE_TOOL)
    why = NotRun(runner, f"{runner} did not run: {error.reason}", error.reason)
    return SuiteRun("did not run", duration_s, "", not_run=why, coverage_tool=COVERAGE_TOOL)


def suite_run(
    runner: str,
    result: CommandResult,
    results: RunResults | ReportProblem,
    coverage: Coverage | ReportError | None = None,
) -> SuiteRun:
    """One run's outcome; ``coverage``: its report, when the run measured (None: it did not)."""
    rc = result.returncode
    status: Status
    stopped = None
    failures: list[TestFailure] = []
    if result.timed_out:
        status = "timed out"
    elif isinstance(results, ReportProblem):
        status = "did not run"
        stopped = NotRun(f"{runner} exit {rc}", results.reason, results.reason)
    elif not results.tests and results.unloaded:
        # not one test file loaded: no test ran, which is no suite of failed tests
        status = "did not run"
        first = next(iter(results.unloaded.items()))
        why = f"no test file loaded ({first[0]}: {first[1]})"
        stopped = NotRun(f"{runner} exit {rc}", why, first[1])
    else:
        failures = failures_of(results)
        if failures:
            status = "failed"
        elif not results.tests:
            status = "no tests"
        elif rc != 0 and not THRESHOLD.search(result.output):
            # every test passed, yet the runner failed: an unhandled error, a failed global setup
            status = "did not run"
            line = runner_line(result.output)
            summary = f"{runner} exited {rc}: {last_line(line)}"
            stopped = NotRun(f"{runner} exit {rc}", summary, line)
        else:  # a coverage threshold not met is the project's gate on its whole suite: it ran
            status = "passed"
    run = SuiteRun(
        status,
        result.duration_s,
        result.output,
        returncode=rc,
        not_run=stopped,
        coverage_tool=COVERAGE_TOOL,
        failures=failures,
        passed=results.count("pass") if isinstance(results, RunResults) else 0,
    )
    if isinstance(coverage, Coverage):
        run.executed, run.statements, run.measured = coverage.executed, coverage.statements, True
    return run


def merge(runs: list[SuiteRun]) -> SuiteRun:
    """The runs of several packages as one: the worst status, every failure, every line."""
    order: tuple[Status, ...] = ("timed out", "did not run", "failed", "passed", "no tests")
    worst = min(runs, key=lambda run: order.index(run.status))
    if len(runs) == 1:
        return worst
    merged = SuiteRun(
        worst.status,
        sum(run.duration_s for run in runs),
        "\n".join(run.output for run in runs),
        returncode=worst.returncode,
        not_run=worst.not_run,
        coverage_tool=COVERAGE_TOOL,
        failures=[f for run in runs for f in run.failures],
        passed=sum(run.passed for run in runs),
        measured=any(run.measured for run in runs),
    )
    for run in runs:
        for lines, into in ((run.executed, merged.executed), (run.statements, merged.statements)):
            for path, numbers in lines.items():
                into.setdefault(path, set()).update(numbers)
    return merged


def file_outcomes(paths: list[str], run: FilesRun | RunnerError) -> Pinning:
    """Each test file's outcome on the base commit: it fails there when a test of it failed or
    it did not load (a missing export pins the change), passes when its tests passed."""
    if isinstance(run, RunnerError):
        return Pinning(dict.fromkeys(paths, "unknown"), f"the run on it: {run.reason}")
    if isinstance(run.results, ReportProblem):
        return Pinning(dict.fromkeys(paths, "unknown"), f"the run on it: {run.results.reason}")
    outcomes: dict[str, Outcome] = {}
    for path in paths:
        statuses = {o.status for t, o in run.results.tests.items() if t.partition(" > ")[0] == path}
        if path in run.refused:
            outcomes[path] = "unknown"
        elif path in run.results.unloaded or "fail" in statuses:
            outcomes[path] = "fails"
        elif "pass" in statuses:
            outcomes[path] = "passes"
        else:
            outcomes[path] = "unknown"
    note = "refused path(s): " + ", ".join(run.refused) if run.refused else ""
    return Pinning(outcomes, note)


def failing_tests(run: FilesRun | RunnerError) -> set[tuple[str, str]] | None:
    """(test file, ``describe > title``) of each test that failed on the base commit, and
    ``(file, "(load)")`` for a file that did not load there; None when the run says nothing."""
    if isinstance(run, RunnerError) or isinstance(run.results, ReportProblem):
        return None
    found = {(f.classname, f.name) for f in failures_of(run.results)}
    return {(path, name) for path, name in found if path not in run.refused}


def title_line(text: str, name: str) -> int:
    """The line of a test file where the test ``describe > title`` is declared (its title's
    first quoted occurrence), 1 when it is not found."""
    title = name.rsplit(" > ", 1)[-1]
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(r"""['"`]""" + re.escape(title) + r"""['"`]""", line):
            return number
    return 1
