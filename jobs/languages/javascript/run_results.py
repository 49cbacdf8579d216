"""The outcome of each test of a vitest or jest run, from the JSON report both write in the same
shape (vitest ``--reporter=json``, jest ``--json``) (pure: text in, values out).

A test file that fails to load (a syntax error, a missing import) has no tests in the report,
only a message: it is its own outcome, :attr:`RunResults.unloaded`, never counted as a test that
ran and failed (issue 20: "a test file that fails to load fails every test in it; count a pin per
test that ran and failed, and treat 'did not load' as its own outcome").

Test ids are ``<file> > <describe> > … > <title>``, the file relative to the checkout, as
:mod:`.vitest_per_test` names them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.sandbox.sandbox_protocol import decisive_line

MESSAGE_LIMIT = 500
# The report's statuses, as Tandem counts them; "pending" is jest's skipped
STATUSES = {
    "passed": "pass",
    "failed": "fail",
    "skipped": "skip",
    "pending": "skip",
    "todo": "skip",
    "disabled": "skip",
}

# The runners' own framing around a run, which says nothing of why it failed
BANNER = re.compile(
    r"^(?:Test results written to:|Ran all test suites|Test Suites:|Tests:|Snapshots:|Time:"
    r"|JSON report written to|Test Files\b|Duration\b|Start at\b)"
)


def runner_line(output: str) -> str:
    """The decisive line of a vitest or jest run's output: :func:`decisive_line` of it with the
    runners' own framing left out ("Test results written to: …" is jest's last line on every
    run, and no reason)."""
    kept = [line for line in output.splitlines() if not BANNER.match(line.strip())]
    return decisive_line("\n".join(kept)) if any(line.strip() for line in kept) else "no output"


@dataclass(frozen=True)
class Outcome:
    status: str  # "pass", "fail" or "skip"
    message: str = ""  # the first failure message without its stack, cut to MESSAGE_LIMIT


@dataclass
class RunResults:
    tests: dict[str, Outcome] = field(default_factory=dict)  # test id -> outcome
    unloaded: dict[str, str] = field(default_factory=dict)  # test file -> why it did not load

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.tests.values() if outcome.status == status)

    def failed(self) -> dict[str, Outcome]:
        return {test: o for test, o in self.tests.items() if o.status == "fail"}


@dataclass(frozen=True)
class ReportProblem:
    reason: str


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def _message(messages: Any) -> str:
    if not isinstance(messages, list) or not messages:
        return ""
    first = str(messages[0]).split("\n    at ", 1)[0].strip()  # the stack is noise in a report
    return first if len(first) <= MESSAGE_LIMIT else first[: MESSAGE_LIMIT - 1] + "…"


def parse_results(text: str | bytes, root: Path) -> RunResults | ReportProblem:
    """The outcomes in a JSON report; ``root``: the checkout, resolved (test files are named
    relative to it)."""
    try:
        report = json.loads(text)
    except ValueError as exc:
        return ReportProblem(f"the test report is not JSON: {exc}")
    files = report.get("testResults") if isinstance(report, dict) else None
    if not isinstance(files, list):
        return ReportProblem("the test report has no testResults")
    found = RunResults()
    for entry in files:
        if not isinstance(entry, dict):
            continue
        file = _relative(str(entry.get("name", "")), root)
        tests = entry.get("assertionResults")
        tests = tests if isinstance(tests, list) else []
        if entry.get("status") == "failed" and not tests:
            found.unloaded[file] = _message([entry.get("message") or "failed to load"])
            continue
        for test in tests:
            if not isinstance(test, dict):
                continue
            titles = test.get("ancestorTitles")
            names = [str(t) for t in titles] if isinstance(titles, list) else []
            test_id = " > ".join([file, *names, str(test.get("title", ""))])
            status = STATUSES.get(str(test.get("status")), "skip")
            found.tests[test_id] = Outcome(status, _message(test.get("failureMessages")))
    return found


def read_outcomes(path: Path, output: str, runner: str, root: Path) -> RunResults | ReportProblem:
    """The JSON report a run wrote at ``path``; its absence is a problem with the run's decisive
    line (``output``: the run's own)."""
    try:
        text = path.read_bytes()
    except OSError:
        return ReportProblem(f"{runner} wrote no test report: {runner_line(output)}")
    return parse_results(text, root)
