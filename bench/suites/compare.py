"""Tandem's baseline against the project's own run, on plain data: the verdict and, for a
mismatch, its class and decisive line. Pure."""

from __future__ import annotations

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
# The reference itself did not run: a recipe or bench problem, not Tandem's; such a project
# is left out of the success rate (and listed).
REFERENCE_BROKEN = "reference did not run"


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
        if reference.timed_out:
            why = "timed out"
        return verdict(REFERENCE_BROKEN, why or f"pytest exit {reference.returncode}")
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


@dataclass(frozen=True)
class Rate:
    matched: int
    measured: int  # projects whose reference ran

    def __str__(self) -> str:
        if not self.measured:
            return "0/0"
        return f"{self.matched}/{self.measured} ({100 * self.matched / self.measured:.0f}%)"


def success_rate(verdicts: list[Verdict], split: str) -> Rate:
    """Matches among the ``split``'s projects whose reference ran."""
    measured = [v for v in verdicts if v.split == split and v.cls != REFERENCE_BROKEN]
    return Rate(sum(v.ok for v in measured), len(measured))


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
