"""What the runs on the base commit (``Language.pin_on_base`` and ``broken_on_base``) say, and how
the check run shows it.
Pure: nothing here runs, reads or posts anything.

- **Pinning**: each kept test file, run on the base commit, either fails there (it pins the
  new behaviour: it would have caught the change) or passes on both (it guards against
  regressions). "N of M kept test files fail on the base commit" counts files; a file
  fails on the base when any of its tests fails or it does not import there.
- **Broken tests**: an existing test that fails in the head's baseline and passes on the base
  commit is broken by the change, a finding of its own (a headline, a warning annotation on
  the test, and ``test_generation.fail_on: [broken_tests]`` fails the check). One that fails
  on both is pre-existing, and one the base does not have is new: counted, not findings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from core.github import Annotation
from jobs.languages.suite_run import TestFailure
from jobs.sandbox import decisive_line

Outcome = Literal["fails", "passes", "unknown"]
MAX_ANNOTATIONS = 50
MAX_LISTED = 10


@dataclass(frozen=True)
class BaseTest:
    """One test's outcome on the base commit."""

    nodeid: str  # relative to the base tree: "tests/test_x.py::TestK::test_y[1]"
    address: tuple[str, str]  # (classname, name), as the head's JUnit XML names it
    outcome: str  # passed, failed, skipped

    @property
    def path(self) -> str:
        return self.nodeid.split("::")[0]


@dataclass
class BaseRun:
    """One pytest run on the base commit."""

    returncode: int
    timed_out: bool
    duration_s: float
    output: str
    tests: list[BaseTest] = field(default_factory=list)
    collect_errors: set[str] = field(default_factory=set)  # node ids (paths) that did not import
    reported: bool = False  # the plugin's results came back

    def problem(self) -> str | None:
        """Why this run says nothing about the tests, or None."""
        if self.timed_out:
            return f"timed out after {self.duration_s:.0f} s"
        if not self.reported:
            return f"pytest exited {self.returncode}: {decisive_line(self.output)}"
        return None


@dataclass
class Pinning:
    """How each test file fared on the base commit (kept files, after selection)."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    note: str = ""  # why some or all of them could not be run there

    def restricted(self, paths: set[str] | list[str]) -> Pinning:
        return Pinning({p: o for p, o in self.outcomes.items() if p in paths}, self.note)

    def pins(self) -> dict[str, bool]:
        """path -> fails on the base commit; what ``selection.select`` prefers on a tie."""
        return {p: o == "fails" for p, o in self.outcomes.items()}

    def count(self, outcome: Outcome) -> int:
        return sum(o == outcome for o in self.outcomes.values())

    def line(self) -> str | None:
        """ "N of M kept test files fail on the base commit (they pin the change); K pass on
        both"."""
        if not self.outcomes:
            return f"Base commit: {self.note}." if self.note else None
        fails, passes = self.count("fails"), self.count("passes")
        text = (
            f"{fails} of {len(self.outcomes)} kept test files fail on the base commit "
            f"(they pin the change); {passes} pass on both"
        )
        unknown = self.count("unknown")
        if unknown:
            text += f"; {unknown} could not be run there"
            text += f" ({self.note})" if self.note else ""
        return text + "."

    def details(self) -> dict[str, Any]:
        return {
            "kept_tests": len(self.outcomes),
            "fail_on_base": self.count("fails"),
            "pass_on_both": self.count("passes"),
            "unknown": self.count("unknown"),
            "files": dict(sorted(self.outcomes.items())),
            "note": self.note,
        }


def verdict_note(outcome: Outcome | None, reason: str = "") -> str:
    """What a kept verdict's reason adds about the base commit (nothing when the reason, per
    test, says already how many fail there)."""
    if "on the base commit" in reason:
        return ""
    if outcome == "fails":
        return "; fails on the base commit (pins the change)"
    if outcome == "passes":
        return "; passes on the base commit too"
    return ""


def classify_pinning(paths: list[str], run: BaseRun, refused: list[str]) -> Pinning:
    """Each test file's outcome from one base run of all of them."""
    problem = run.problem()
    if problem is not None:
        return Pinning({p: "unknown" for p in paths}, f"the run on it {problem}")
    outcomes: dict[str, Outcome] = {}
    for path in paths:
        tests = [t.outcome for t in run.tests if t.path == path]
        if path in refused:
            outcomes[path] = "unknown"
        elif path in run.collect_errors or "failed" in tests:
            outcomes[path] = "fails"
        elif "passed" in tests:
            outcomes[path] = "passes"
        else:
            outcomes[path] = "unknown"
    note = "refused path(s): " + ", ".join(refused) if refused else ""
    return Pinning(outcomes, note)


@dataclass(frozen=True)
class Located:
    """Where a failing test of the head's baseline is, in the head checkout."""

    path: str  # the test file
    nodeid: str  # "tests/test_x.py::TestK::test_y[1]", or the path for a collection error
    line: int  # the test function's ``def`` line (1 for a collection error)
    collection: bool = False  # the file failed to import, not one test


@dataclass(frozen=True)
class BrokenTest:
    nodeid: str
    path: str
    line: int
    message: str


@dataclass
class BrokenTests:
    """The head baseline's failures, classified by the base commit."""

    broken: list[BrokenTest] = field(default_factory=list)
    preexisting: int = 0  # fail on the base commit too
    new: int = 0  # not on the base commit
    unchecked: int = 0  # could not be classified
    note: str = ""
    flaky: int = 0  # passed on the base, failed, then passed when run again on the head

    def rechecked(self, failures: list[TestFailure]) -> BrokenTests:
        """After the broken tests' files ran once more on the head (``failures``: that run's):
        a test that passed then is flaky or depends on the order, not broken by the change."""
        still = [b for b in self.broken if any(same_test(b, f) for f in failures)]
        return dataclasses.replace(
            self, broken=still, flaky=self.flaky + len(self.broken) - len(still)
        )

    def headline(self) -> str | None:
        n = len(self.broken)
        if not n:
            return None
        return f"the change breaks {n} existing test{'s' if n != 1 else ''}"

    def lines(self, fails_check: bool) -> list[str]:
        out = []
        if self.broken:
            shown = ", ".join(f"`{b.nodeid}`" for b in self.broken[:MAX_LISTED])
            more = len(self.broken) - MAX_LISTED
            text = (
                f"**The change breaks {len(self.broken)} existing test(s)** (they pass on the "
                f"base commit and fail with the change): {shown}"
                + (f" and {more} more" if more > 0 else "")
                + "."
            )
            if fails_check:
                text += " **This fails the check:** `fail_on` lists `broken_tests`."
            out.append(text)
        if self.preexisting:
            out.append(
                f"{self.preexisting} failing existing test(s) fail on the base commit too "
                "(pre-existing, not caused by the change)."
            )
        if self.new:
            out.append(f"{self.new} failing test(s) are new in the change.")
        if self.flaky:
            out.append(
                f"{self.flaky} failing test(s) passed when run again with the change: flaky or "
                "dependent on the order, not counted as broken by it."
            )
        if self.unchecked:
            why = f" ({self.note})" if self.note else ""
            out.append(
                f"{self.unchecked} failing test(s) could not be checked on the base commit{why}."
            )
        return out

    def annotations(self) -> list[Annotation]:
        return [
            Annotation(
                path=b.path,
                start_line=b.line,
                end_line=b.line,
                annotation_level="warning",
                title=f"Broken by this change: {b.nodeid}"[:255],
                message=f"This test passes on the base commit and fails with the change: "
                f"{b.message}",
            )
            for b in self.broken[:MAX_ANNOTATIONS]
        ]

    def details(self) -> dict[str, Any]:
        return {
            "broken_tests": [b.nodeid for b in self.broken],
            "preexisting_failures": self.preexisting,
            "new_failing_tests": self.new,
            "unchecked_failures": self.unchecked,
            "flaky_failures": self.flaky,
        }


def same_test(broken: BrokenTest, failure: TestFailure) -> bool:
    """Whether a failure of a later run is this broken test: ``file > title`` (JS/TS) or
    pytest's ``path::Class::name`` against a dotted module and a name."""
    if broken.nodeid == f"{failure.classname} > {failure.name}":
        return True
    module = PurePosixPath(broken.path).with_suffix("").as_posix().replace("/", ".")
    return broken.nodeid.endswith("::" + failure.name) and (
        failure.classname == module or failure.classname.startswith(module + ".")
    )


def classify_broken(
    failures: list[tuple[TestFailure, Located | None]],
    missing_on_base: set[str],
    run: BaseRun | None,
    note: str = "",
) -> BrokenTests:
    """Broken, pre-existing, new or unchecked, for each of the head's failing tests."""
    result = BrokenTests(note=note)
    problem = run.problem() if run is not None else "not run"
    if run is not None and problem is not None:
        result.note = f"the run on it {problem}"
    by_address = {t.address: t.outcome for t in run.tests} if run is not None else {}
    for failure, where in failures:
        if where is None:
            result.unchecked += 1
            continue
        if where.path in missing_on_base:
            result.new += 1
            continue
        if run is None or problem is not None:
            result.unchecked += 1
            continue
        outcome: str | None
        if where.collection:
            outcomes = [t.outcome for t in run.tests if t.path == where.path]
            if where.path in run.collect_errors or "failed" in outcomes:
                outcome = "failed"
            else:
                outcome = "passed" if "passed" in outcomes else None
        else:
            outcome = by_address.get((failure.classname, failure.name))
        if outcome == "passed":
            result.broken.append(BrokenTest(where.nodeid, where.path, where.line, failure.message))
        elif outcome == "failed":
            result.preexisting += 1
        elif outcome is None and not where.collection:
            result.new += 1  # the base has the file, not this test
        else:
            result.unchecked += 1
    return result
