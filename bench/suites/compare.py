"""Tandem's baseline against the project's own run, on plain data: the verdict and, for a
mismatch, its class and decisive line. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

# Counts "match" within this fraction of the larger one (the "within 1%").
COUNT_TOLERANCE = 0.01
# A sample file's coverage differs when its percentages are further apart than this.
COVERAGE_TOLERANCE = 2.0

MATCH = "match"
INSTALL_FAILED = "install failed"
DID_NOT_RUN = "did not run"
TIMED_OUT = "timed out"
COUNTS_DIFFER = "counts differ"
ELSEWHERE = "imported from outside the checkout"
COVERAGE_DIFFERS = "coverage differs"
# The reference itself did not run, here, the way the project's CI runs it: nothing to compare
# with. Such a project is not a success (it stays in the rate's denominator), and the summary
# lists it in its own row with the reason's class (:func:`reference_class`).
REFERENCE_BROKEN = "reference did not run"
# What a run that needed more than the package index says (urllib, requests, pip, git).
_NETWORK = re.compile(
    r"URLError|Name or service not known|Temporary failure in name resolution|"
    r"Max retries exceeded|Network is unreachable|Could not resolve host|getaddrinfo",
    re.I,
)
NEEDS_NETWORK = "needs the network beyond the package index"


@dataclass
class Side:
    """One side's run: the reference (the recipe's commands) or Tandem's baseline."""

    installed: bool = True
    install_note: str = ""  # why the install failed, one line
    returncode: int | None = None
    timed_out: bool = False
    passed: int = 0
    failed: int = 0  # failures and errors
    decisive: str = ""  # the line that says why it did not run, or the first failure
    coverage: dict[str, float] = field(default_factory=dict)  # sample file -> percent
    elsewhere: list[str] = field(default_factory=list)  # "module -> file" outside the tree
    duration_s: float = 0.0

    @property
    def ran(self) -> bool:
        return not self.timed_out and self.returncode in (0, 1)


@dataclass
class Verdict:
    name: str
    split: str
    cls: str  # MATCH or a mismatch class
    line: str  # the decisive line, for a mismatch
    reference: Side
    tandem: Side
    # Set when the counts differed and both sides' tests were run again (:func:`worth_rerun`):
    # what the first pair counted. The verdict is the second pair's.
    first_run: str = ""

    @property
    def ok(self) -> bool:
        return self.cls == MATCH

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def close(a: int, b: int, tolerance: float = COUNT_TOLERANCE) -> bool:
    """``a`` and ``b`` within ``tolerance`` of the larger one (equal when both are small)."""
    return abs(a - b) <= tolerance * max(a, b)


def classify(name: str, split: str, reference: Side, tandem: Side) -> Verdict:
    """The verdict: the first of the classes that applies, in the order a fix would take."""

    def verdict(cls: str, line: str = "") -> Verdict:
        return Verdict(name, split, cls, line, reference, tandem)

    if not reference.ran:
        why = reference.install_note if not reference.installed else reference.decisive
        why = why or f"pytest exit {reference.returncode}"
        why = "after the bench's --timeout" if reference.timed_out else why
        return verdict(REFERENCE_BROKEN, f"{reference_class(reference)}: {why}{_told(tandem)}")
    counts_close = close(tandem.passed, reference.passed) and close(tandem.failed, reference.failed)
    # Tandem runs the tests after a failed install too ("the tests ran without them"): the
    # install is the decisive line only when that run then differs.
    if not tandem.installed and not (tandem.ran and counts_close):
        return verdict(INSTALL_FAILED, tandem.install_note)
    if tandem.timed_out:
        return verdict(TIMED_OUT, tandem.decisive)
    if tandem.returncode not in (0, 1):
        return verdict(DID_NOT_RUN, f"pytest exit {tandem.returncode}: {tandem.decisive}")
    counts = (
        f"passed {tandem.passed} vs {reference.passed}, failed {tandem.failed} vs "
        f"{reference.failed}"
    )
    if not counts_close:
        if tandem.elsewhere:
            return verdict(ELSEWHERE, f"{counts}; {tandem.elsewhere[0]}")
        return verdict(COUNTS_DIFFER, f"{counts}; {tandem.decisive}".rstrip("; "))
    apart = [
        f"{path}: {tandem.coverage.get(path, 0.0):.0f}% vs {percent:.0f}%"
        for path, percent in sorted(reference.coverage.items())
        if abs(tandem.coverage.get(path, 0.0) - percent) > COVERAGE_TOLERANCE
    ]
    if apart:
        return verdict(COVERAGE_DIFFERS, "; ".join(apart))
    return verdict(MATCH)


def counts(side: Side) -> str:
    return f"{side.passed}/{side.failed}"


def worth_rerun(reference: Side, tandem: Side) -> bool:
    """The bench's policy for flaky tests, the same for both sides: where both ran and their
    pass/fail counts differ, both sides' tests run once more (no new install) and the second
    pair decides, the verdict saying so. A timing test that fails under load on one side is
    then judged on a second try as a person re-running CI would; a real difference stays."""
    both = reference.ran and tandem.ran
    return both and not (
        close(tandem.passed, reference.passed) and close(tandem.failed, reference.failed)
    )


def reference_class(reference: Side) -> str:
    """Why the reference could not run here, as a class: it timed out, it needs the network
    beyond the package index (a build that downloads), its install failed, or pytest's exit."""
    if reference.timed_out:
        return TIMED_OUT
    text = reference.install_note if not reference.installed else reference.decisive
    if _NETWORK.search(text):
        return NEEDS_NETWORK
    if not reference.installed:
        return INSTALL_FAILED
    return f"pytest exit {reference.returncode}"


def _told(tandem: Side) -> str:
    """What Tandem's side said when the reference did not run ("" when it was not run)."""
    if tandem.returncode is None and not tandem.timed_out and tandem.installed:
        return ""
    if not tandem.installed:
        return f"; Tandem ⚠️ {tandem.install_note}"
    if not tandem.ran:
        return f"; Tandem ⚠️ pytest exit {tandem.returncode}: {tandem.decisive}"
    return f"; Tandem ran: {tandem.passed} passed, {tandem.failed} failed"


@dataclass(frozen=True)
class Rate:
    matched: int
    projects: int  # every project of the split that was run
    unmeasured: int = 0  # of them, those whose reference did not run here (not a success)

    def __str__(self) -> str:
        if not self.projects:
            return "0/0"
        rate = f"{self.matched}/{self.projects} ({100 * self.matched / self.projects:.0f}%)"
        return rate + (f", {self.unmeasured} unmeasured" if self.unmeasured else "")


def success_rate(verdicts: list[Verdict], split: str) -> Rate:
    """Matches among all the ``split``'s projects: one whose reference did not run here is not
    a success either, and is counted apart as unmeasured."""
    chosen = [v for v in verdicts if v.split == split]
    broken = sum(v.cls == REFERENCE_BROKEN for v in chosen)
    return Rate(sum(v.ok for v in chosen), len(chosen), broken)


def unmeasured(verdicts: list[Verdict], split: str) -> str:
    """The summary's row of the split's projects whose reference did not run, with the class
    of each ("" when there are none)."""
    names = [
        f"{v.name} ({v.line.split(':', 1)[0]})"
        for v in verdicts
        if v.split == split and v.cls == REFERENCE_BROKEN
    ]
    return (
        f"{split}: reference did not run here (not a success): {', '.join(names)}" if names else ""
    )


def sample_files(statements: dict[str, int], tests: tuple[str, ...] = (), k: int = 3) -> list[str]:
    """Up to ``k`` source files to compare coverage on: the largest (most statements) that are
    not tests, by name so the choice is stable."""

    def is_test(path: str) -> bool:
        parts = path.split("/")
        return (
            any(p in ("tests", "test", "testing") for p in parts[:-1])
            or parts[-1].startswith("test_")
            or parts[-1].endswith("_test.py")
            or parts[-1] in ("conftest.py", "setup.py", "noxfile.py")
            or parts[0] in ("docs", "doc", "bench", "benchmark", "benchmarks", "examples")
            or any(path == t or path.startswith(t.rstrip("/") + "/") for t in tests if t != ".")
        )

    candidates = [p for p in statements if p.endswith(".py") and not is_test(p)]
    return sorted(candidates, key=lambda p: (-statements[p], p))[:k]


SPLITS_ORDER = ("dev", "heldout")


COUNT_MARK = "BENCH-UNITTEST-COUNT "
_RAN = re.compile(r"^Ran (\d+) tests? in ", re.M)
_TALLY = re.compile(r"(failures|errors|skipped|expected failures|unexpected successes)=(\d+)")


def unittest_counts(output: str) -> tuple[int, int, str]:
    """Passed, failed and the decisive line of a ``python -m unittest`` run, from its own
    summary (``Ran 12 tests``, ``FAILED (failures=1, skipped=2)``): a skipped test or an
    expected failure is neither; an error or an unexpected success is a failure, as pytest's
    JUnit counts them. The decisive line: the first failing test's header (``FAIL: ...``)."""
    for line in reversed(output.splitlines()):  # count_unittest.py's own count, test by test
        if line.startswith(COUNT_MARK):
            try:
                told = json.loads(line[len(COUNT_MARK) :])
                return int(told["passed"]), int(told["failed"]), str(told["first"])
            except (ValueError, KeyError, TypeError):
                break
    ran = _RAN.findall(output)
    if not ran:
        return 0, 0, ""
    summary = output[output.rindex("Ran ") :]
    tally = {k: int(v) for k, v in _TALLY.findall(summary)}
    failed = tally.get("failures", 0) + tally.get("errors", 0)
    failed += tally.get("unexpected successes", 0)
    passed = int(ran[-1]) - failed - tally.get("skipped", 0) - tally.get("expected failures", 0)
    first = next(
        (line for line in output.splitlines() if line.startswith(("FAIL: ", "ERROR: "))), ""
    )
    return max(passed, 0), failed, first
