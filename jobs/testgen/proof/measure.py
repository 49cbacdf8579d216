"""Mutants of the changed lines, run in the sandbox: the mutants (:mod:`.mutants`, made on the
worker: parsing only), then one run of :mod:`.runner` (copied into ``WORK_DIR``, a real file),
whose JSON lines become a :class:`~.score.MutantScore`. Nothing here raises for the project's
trouble: a runner that does not start is a ``problem`` the part reports."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from jobs.languages.python.pytest_runner import per_test_record
from jobs.sandbox import Sandbox, decisive_line, workdir
from jobs.testgen.proof.mutants import Mutant, mutants_of
from jobs.testgen.proof.score import STATUSES, MutantScore, Outcome

RUNNER = Path(__file__).with_name("runner.py")
RUNNER_COPY = f"{workdir.WORK_DIR}/mutant_runner.py"
LAUNCHER = f"{workdir.WORK_DIR}/run_mutants.py"
SPEC = f"{workdir.WORK_DIR}/mutants.json"
RESULTS = f"{workdir.WORK_DIR}/mutants.jsonl"
MAX_MUTANTS = 400  # more than a part's budget runs; the rest are reported as cut
MAX_RESULTS_BYTES = 5_000_000
# The share of the sandbox command's time the runner plans for (it stops starting mutants
# then), so it writes its last line before the command is killed.
DEADLINE_SHARE = 0.85
# A mutant run's wall time: this many seconds plus this many times the baseline's (a first run
# of the tests plus short forks: a slow suite or a hanging mutant cannot spend the part's whole
# budget), and none below the least.
STAGE_BASE_S = 30.0
STAGE_BASELINE_FACTOR = 2.0
MIN_STAGE_S = 10.0


class Where(Protocol):
    """Where a run's mutants run (a :class:`jobs.testgen.context.Context` is one)."""

    @property
    def sandbox(self) -> Sandbox: ...

    @property
    def checkout(self) -> Path: ...


@runtime_checkable
class RunsMutants(Protocol):
    """A language whose mutants run its own way, not through :mod:`.runner` (JS/TS:
    :mod:`jobs.languages.javascript.js_mutants`), with the same score."""

    async def run_mutants(
        self,
        sandbox: Sandbox,
        checkout: Path,
        changed: dict[str, set[int]],
        tests: TestFiles,
        *,
        timeout_s: float,
    ) -> Measured: ...


async def against_the_suite(
    where: Where, changed: dict[str, set[int]], tests: TestFiles, *, timeout_s: float
) -> Measured:
    """:func:`measure_mutants` in the run's sandbox and checkout, after its baseline: the
    baseline's record of what each test ran (it ran under pytest with that tag) spares the
    mutant run learning it again. The one call every stage that runs mutants makes; a run's
    language that runs its mutants its own way (:class:`RunsMutants`) runs them."""
    language = getattr(where, "language", None)
    if isinstance(language, RunsMutants):
        return await language.run_mutants(
            where.sandbox, where.checkout, changed, tests, timeout_s=timeout_s
        )
    return await measure_mutants(
        where.sandbox,
        where.checkout,
        changed,
        tests,
        timeout_s=timeout_s,
        per_test=per_test_record("baseline"),
    )


def stage_timeout(baseline_s: float, test_timeout_s: float, remaining_s: float) -> float | None:
    """The wall time of one mutant run; None when the budget left is below the least."""
    timeout_s = min(
        test_timeout_s, remaining_s - 5, STAGE_BASE_S + STAGE_BASELINE_FACTOR * baseline_s
    )
    return timeout_s if timeout_s >= MIN_STAGE_S else None


@dataclass(frozen=True)
class TestFiles:
    """The test files of a mutant run besides the project's: ``kept`` (run after the existing
    tests), ``candidates`` (every one of their tests that runs a mutant's lines runs on it, for
    the kill matrix) and ``ignore`` (never collected)."""

    __test__ = False  # not a pytest class

    kept: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    # ids of mutants an earlier run of this source found the existing tests kill: a language
    # that runs its mutants its own way (:class:`RunsMutants`) need not run them again
    settled: frozenset[str] = frozenset()


@dataclass
class Measured:
    score: MutantScore
    problem: str | None = None  # why the mutants could not be run: the part's problem
    cut: int = 0  # mutants the budget left unrun


def none_judged(score: MutantScore) -> str | None:
    """Why no mutant of ``score`` ran to an answer (each hung a test, could not be run or was
    cut), or None: some did, or there were none. A score of that kind is no figure: "existing
    tests kill 0 of 8" would read as the tests' failure, where Tandem's run did not happen."""
    if not score.total or score.judged:
        return None
    said = []
    if errors := [o for o in score.outcomes if o.status == "error"]:
        said.append(f"{len(errors)} could not be run ({errors[0].why or 'no reason given'})")
    if timeouts := score.count("timeout"):
        said.append(f"{timeouts} stopped at their time limit")
    if cut := score.count("cut"):
        said.append(f"{cut} cut by the wall-time budget")
    return f"none of the {score.total} mutants ran to an answer: {'; '.join(said)}"


def make_mutants(
    checkout: Path, changed: dict[str, set[int]]
) -> tuple[list[Mutant], int, list[str]]:
    """The mutants of the changed lines of the changed Python files, the equivalent ones left
    out (their count), and a note per file that could not be read or parsed."""
    found: list[Mutant] = []
    equivalent = 0
    notes = []
    for path in sorted(changed):
        if not path.endswith(".py"):
            continue
        try:
            text = (checkout / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            notes.append(f"`{path}` not read: {exc}")
            continue
        result = mutants_of(path, text, changed[path])
        found.extend(result.mutants)
        equivalent += result.equivalent
        if result.problem:
            notes.append(result.problem)
    return found, equivalent, notes


def _write(
    checkout: Path,
    mutants: list[Mutant],
    tests: TestFiles,
    deadline_s: float,
    per_test: str | None,
) -> None:
    workdir.prepare(checkout)
    workdir.copy_fresh(RUNNER, checkout / RUNNER_COPY)
    workdir.copy_script("run_mutants.py", checkout / LAUNCHER)  # prepare() copied its imports
    spec = {
        "mutants": [m.to_json() for m in mutants],
        "kept": tests.kept,
        "candidates": tests.candidates,
        "deadline_s": deadline_s,
        "per_test": per_test,
    }
    workdir.write_fresh(json.dumps(spec), checkout / SPEC)
    (checkout / RESULTS).unlink(missing_ok=True)


def read_results(path: Path) -> list[dict[str, object]]:
    """The runner's JSON lines; a line that is not a JSON object is skipped (the sandbox wrote
    them, and the last one may be cut short by a kill)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_RESULTS_BYTES)
    except OSError:
        return []
    records = []
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def score_from(
    mutants: list[Mutant], equivalent: int, records: list[dict[str, object]]
) -> tuple[MutantScore, bool, int]:
    """The score, whether the runner started (its first line came back), and how many mutants
    were cut (not decided when it stopped)."""
    by_id = {str(r["id"]): r for r in records if "id" in r and r.get("status") in STATUSES}
    start = next((r for r in records if r.get("event") == "start"), None)
    score = MutantScore(equivalent=equivalent)
    if start is not None and isinstance(start.get("tests"), int):
        score.tests = int(start["tests"])  # type: ignore[call-overload]
        if isinstance(start.get("seconds"), int | float):
            score.first_run_seconds = float(start["seconds"])  # type: ignore[arg-type]
    for mutant in mutants:
        record = by_id.get(mutant.id)
        if record is None:
            score.outcomes.append(Outcome(mutant, "cut"))
            continue
        by = record.get("by")
        tests = record.get("tests")
        killers = record.get("candidates")
        score.outcomes.append(
            Outcome(
                mutant,
                str(record["status"]),
                by=str(by) if by in ("existing", "kept", "candidate") else None,
                tests=tests if isinstance(tests, int) else 0,
                why=str(record.get("why", ""))[:300],
                killers=tuple(str(k) for k in killers) if isinstance(killers, list) else (),
            )
        )
    cut = sum(o.status == "cut" for o in score.outcomes)
    return score, start is not None, cut


async def measure_mutants(
    sandbox: Sandbox,
    checkout: Path,
    changed: dict[str, set[int]],
    tests: TestFiles,
    *,
    timeout_s: float,
    per_test: str | None = None,
) -> Measured:
    """Make the mutants of ``changed`` and run the project's tests (and ``tests``' kept and
    candidate files) against each in one session in the sandbox; ``tests.ignore`` are test
    files pytest must not collect (candidates that were not kept). ``per_test``: the
    baseline's record of what each test ran of the changed files (checkout-relative, see
    :func:`jobs.languages.python.pytest_runner.run_pytest`); the tests it has are not run a
    second time to learn which mutants they reach. Without it (or when it does not fit), all are."""
    started = time.monotonic()
    mutants, equivalent, notes = await asyncio.to_thread(make_mutants, checkout, changed)
    if not mutants:
        score = MutantScore(equivalent=equivalent, notes=notes)
        return Measured(score)
    running = mutants[:MAX_MUTANTS]
    await asyncio.to_thread(_write, checkout, running, tests, timeout_s * DEADLINE_SHARE, per_test)
    args = [
        sandbox.python,
        LAUNCHER,
        SPEC,
        RESULTS,
        "--",
        "-q",
        "-p",
        "no:cacheprovider",
        "--continue-on-collection-errors",
        *(f"--ignore={path}" for path in tests.ignore),
    ]
    result = await sandbox.run(args, cwd=checkout, timeout_s=timeout_s)
    records = await asyncio.to_thread(read_results, checkout / RESULTS)
    score, started_ok, cut = score_from(mutants, equivalent, records)
    score.notes = notes
    score.seconds = time.monotonic() - started
    if not started_ok:
        why = (
            f"timed out after {result.duration_s:.0f} s before the tests had run once"
            if result.timed_out
            else f"exit {result.returncode}: {decisive_line(result.output)}"
        )
        return Measured(score, problem=f"the mutant runner did not run the tests ({why})")
    errors = [o for o in score.outcomes if o.status == "error"]
    if errors and len(errors) == score.total:
        first = errors[0].why or "no reason given"
        return Measured(score, problem=f"no mutant could be put in place ({first})")
    if (none := none_judged(score)) is not None:
        return Measured(score, problem=none, cut=cut)
    return Measured(score, cut=cut)
