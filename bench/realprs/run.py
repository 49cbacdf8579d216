"""One case end to end: replay the commit, run Tandem, then measure (in that case's venv) what
the existing, the author's and Tandem's kept tests cover of the changed lines and which of
them fail on the base commit. The result is plain data for the table and the JSON."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.realprs import measure_js
from bench.realprs.cases import Case
from bench.realprs.gitrun import ReplayError, git
from bench.realprs.measure import (
    MeasureError,
    TestRun,
    apply_patch,
    case_venv,
    changed_lines,
    count,
    executable,
    intersect,
    prepare_checkout,
    run_tests,
    union,
    worktree,
)
from bench.realprs.replay import (
    Replay,
    TandemRun,
    engine_failure,
    generate_part,
    make_replay,
    run_tandem,
)


@dataclass
class CaseResult:
    """Every figure of one case; ``status`` is done, skipped or error (then ``reason``)."""

    name: str
    repo: str
    commit: str
    description: str
    split: str = ""  # dev or heldout, as cases.toml says
    status: str = "done"
    reason: str = ""
    changed: int = 0  # changed executable lines of the head
    covered_existing: int = 0
    covered_authors: int = 0  # existing + the author's tests
    covered_tandem: int = 0  # existing + Tandem's kept tests
    author_tests: int = 0
    author_failing_on_base: int = 0
    tandem_returncode: int | None = None
    tandem_crashed: bool = False
    engine_failed: bool = False
    tandem_headline: str = ""
    tandem_conclusion: str = ""
    tandem_own_coverage: dict[str, Any] = field(default_factory=dict)
    kept_files: list[str] = field(default_factory=list)
    kept_tests: int = 0
    kept_failing_on_head: int = 0
    kept_failing_on_base: int = 0
    tandem_seconds: float = 0.0
    # Tandem's mutants of the changed lines (its details["mutants"]): how many, killed by the
    # existing tests, by existing + kept; None when Tandem ran none.
    mutants_total: int | None = None
    mutants_killed_existing: int = 0
    mutants_killed_kept: int = 0
    mutants_not_run: int = 0  # cut by the budget, hung a test, or could not be run
    mutants_seconds: float = 0.0  # the runner's time after the tests' first run
    # Where Tandem's test-generation time went: its details["timings"], seconds by stage
    # (dependencies, baseline_coverage, engine and engine_<name>, validation, base_commit,
    # mutants, ...), in the order the part ran them.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    case_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    uncovered_by_tandem: dict[str, list[int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# Entries of the part's timings that are not seconds.
NOT_SECONDS = frozenset({"pytest_runs"})


def read_stages(timings: Any) -> dict[str, float]:
    """The stages' seconds from the part's details["timings"] (absent or malformed: none)."""
    if not isinstance(timings, dict):
        return {}
    return {
        str(k): round(float(v), 1)
        for k, v in timings.items()
        if k not in NOT_SECONDS and isinstance(v, int | float) and not isinstance(v, bool)
    }


def read_mutants(mutants: Any, result: CaseResult) -> None:
    """The mutant counts from the part's details (absent or malformed: no figures)."""
    if not isinstance(mutants, dict) or not isinstance(mutants.get("total"), int):
        return
    result.mutants_total = mutants["total"]
    result.mutants_killed_existing = int(mutants.get("killed_by_existing", 0))
    result.mutants_killed_kept = int(mutants.get("killed_with_kept", 0))
    result.mutants_not_run = sum(int(mutants.get(k, 0)) for k in ("cut", "timeout", "error"))
    # The forks' time only: the tests' first run is a suite run the stage needs once.
    result.mutants_seconds = float(mutants.get("seconds", 0.0)) - float(
        mutants.get("first_run_seconds", 0.0)
    )


def run_case(
    case: Case,
    source: Path,
    work: Path,
    tandem: Path,
    timeout: float,
    test_timeout: float,
    sandbox: str = "local",
) -> CaseResult:
    """Replay from the case's repository ``source`` (built by bench.realprs.build), run
    Tandem, measure; a failed step (a repository that does not fit cases.toml too) is an
    error."""
    result = CaseResult(case.name, case.repo, case.commit, case.description, case.split)
    started = time.monotonic()
    rundir = work / "runs" / case.name
    shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir(parents=True)
    try:
        measure(case, source, rundir, work, tandem, timeout, test_timeout, result, sandbox)
    except (ReplayError, MeasureError, OSError) as exc:
        result.status, result.reason = "error", str(exc)
    except Exception as exc:  # one broken case must not end the benchmark
        result.status, result.reason = "error", f"{type(exc).__name__}: {exc}"
    result.case_seconds = round(time.monotonic() - started, 1)
    return result


def measure(
    case: Case,
    source: Path,
    rundir: Path,
    work: Path,
    tandem: Path,
    timeout: float,
    test_timeout: float,
    result: CaseResult,
    sandbox: str = "local",
) -> None:
    replay = make_replay(case, source, rundir / "clone")
    read_tandem_run(run_tandem(tandem, replay, rundir, timeout, sandbox), timeout, result)
    head = worktree(replay.clone, rundir / "head", replay.head)
    if case.language == "javascript":
        tests, changed = javascript_side(case, replay, head, test_timeout)
    else:
        tests, changed = python_side(case, replay, head, work, test_timeout)
    compare(case, replay, rundir, head, tests, changed, result)


def read_tandem_run(run: TandemRun, timeout: float, result: CaseResult) -> None:
    """What Tandem's own run and report say."""
    result.tandem_returncode = run.returncode
    result.tandem_crashed = run.crashed
    result.tandem_seconds = round(run.seconds, 1)
    if run.returncode is None:
        result.notes.append(f"tandem run killed after {timeout:.0f} s")
    elif run.crashed:
        result.notes.append("tandem run crashed: " + " | ".join(run.log_tail[-3:]))
    part = generate_part(run.report)
    if run.report is not None:
        result.tandem_conclusion = str(run.report.get("conclusion", ""))
    if part is not None:
        details = part.get("details", {})
        result.tandem_headline = str(part.get("headline", ""))
        failure = engine_failure(part)
        result.engine_failed = failure is not None
        if failure and part.get("status") != "failed":
            result.notes.append(f"engine failed but the part says {part.get('status')}: {failure}")
        result.tandem_own_coverage = dict(details.get("coverage", {}))
        result.kept_files = list(details.get("kept", []))
        read_mutants(details.get("mutants"), result)
        result.stage_seconds = read_stages(details.get("timings"))
    elif run.report is not None:
        result.engine_failed = True
        result.notes.append("Tandem's report has no generate_tests part")


# (checkout, test paths, label) -> that run under coverage of the changed files
Tests = Callable[[Path, list[str], str], TestRun]


def python_side(
    case: Case, replay: Replay, head: Path, work: Path, test_timeout: float
) -> tuple[Tests, dict[str, set[int]]]:
    """pytest under coverage.py in the case's venv; the changed lines coverage.py counts."""
    venv = case_venv(case, work / "venvs")
    prepare_checkout(case, head)
    changed = executable(head, changed_lines(replay.clone, replay.base, replay.head))
    sources = sorted(changed)

    def tests(checkout: Path, targets: list[str], label: str) -> TestRun:
        prepare_checkout(case, checkout)
        return run_tests(case, venv, checkout, targets, sources, label, test_timeout)

    return tests, changed


def javascript_side(
    case: Case, replay: Replay, head: Path, test_timeout: float
) -> tuple[Tests, dict[str, set[int]]]:
    """The package's runner under istanbul coverage, its install linked into every worktree;
    the changed lines where a statement starts (as the existing tests' report lists them)."""
    measure_js.install(head, case, test_timeout)
    lines = measure_js.changed_lines(replay.clone, replay.base, replay.head, case.package)
    sources = sorted(lines)

    runs: dict[tuple[Path, tuple[str, ...]], TestRun] = {}  # the existing run serves twice

    def tests(checkout: Path, targets: list[str], label: str) -> TestRun:
        key = (checkout, tuple(targets))
        if key not in runs:
            measure_js.link_modules(head, checkout)
            runs[key] = measure_js.run_tests(case, checkout, targets, sources, label, test_timeout)
        return runs[key]

    probe = tests(head, list(case.suite), "existing")
    changed = {p: lines[p] & probe.statements.get(p, set()) for p in sources}
    return tests, {p: v for p, v in changed.items() if v}


def compare(
    case: Case,
    replay: Replay,
    rundir: Path,
    head: Path,
    tests: Tests,
    changed: dict[str, set[int]],
    result: CaseResult,
) -> None:
    """The existing, the author's and Tandem's kept tests on the changed lines, and which of
    them fail on the base commit."""
    result.changed = count(changed)
    existing = tests(head, list(case.suite), "existing")
    if existing.returncode not in (0, 1):
        result.notes.append(f"existing tests exit {existing.returncode}: {existing.tail[-1:]}")
    base_cover = intersect(changed, existing.covered)
    result.covered_existing = count(base_cover)

    authors_dir = worktree(replay.clone, rundir / "authors", replay.commit)
    author_files = [t for t in case.tests if (authors_dir / t).exists()]
    authors = tests(authors_dir, author_files, "authors")
    result.covered_authors = count(intersect(changed, union(existing.covered, authors.covered)))
    result.author_tests = authors.total
    base_authors = worktree(replay.clone, rundir / "base-authors", replay.base)
    git(base_authors, "checkout", "-q", replay.commit, "--", *author_files)
    result.author_failing_on_base = len(tests(base_authors, author_files, "base-authors").failed)

    patch = rundir / "tandem.patch"
    with_tandem = worktree(replay.clone, rundir / "tandem", replay.head)
    added = apply_patch(with_tandem, patch)
    if not added:
        result.covered_tandem = result.covered_existing
        result.uncovered_by_tandem = {k: sorted(v - base_cover[k]) for k, v in changed.items()}
        return
    kept = tests(with_tandem, added, "tandem")
    merged = intersect(changed, union(existing.covered, kept.covered))
    result.covered_tandem = count(merged)
    result.uncovered_by_tandem = {k: sorted(v - merged[k]) for k, v in changed.items()}
    result.kept_tests = kept.total
    result.kept_failing_on_head = len(kept.failed)
    if kept.total == 0:
        result.notes.append(f"kept tests collected nothing: {kept.tail[-2:]}")
    base_tandem = worktree(replay.clone, rundir / "base-tandem", replay.base)
    apply_patch(base_tandem, patch)
    result.kept_failing_on_base = len(tests(base_tandem, added, "base-tandem").failed)
