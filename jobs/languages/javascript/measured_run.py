"""One measured run of a JS/TS package's suite, shared by the vitest and jest runs
(:mod:`.vitest_per_test`, :mod:`.jest_runs`): where its files go in the work dir
(:func:`measured_files`), the run itself with the per-test recorder's environment, and reading
what it wrote: the istanbul JSON report (:mod:`.coverage`), the setup file's per-test records
(:func:`read_records`, written by ``per_test_recorder.cjs``) and the JSON report of outcomes
(:mod:`.run_results`)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from jobs.languages.javascript.coverage import Coverage, ReportError, parse_report
from jobs.languages.javascript.package_job import PackageJob, RunnerError
from jobs.languages.javascript.run_results import ReportProblem, RunResults, read_outcomes
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.languages.javascript.vitest import REPORT
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox, decisive_line

RECORDER = Path(__file__).with_name("per_test_recorder.cjs")  # the setup files' shared part
MAX_RECORD_BYTES = 50_000_000


@dataclass
class PerTestLines:
    # test id -> checkout-relative path -> lines its statements started on
    lines: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # test id -> pass/fail/skip/load
    problems: set[str] = field(default_factory=set)  # why the recorder left lines out


@dataclass(frozen=True)
class MeasuredFiles:
    """Where one measured run's files go, in the work dir of the job's checkout."""

    work: Path
    records: Path  # the setup file's per-test records (one JSON-lines file per worker)
    report_dir: Path  # the istanbul JSON report
    outcomes: Path  # the runner's JSON report of outcomes

    def environment(self, provider: Path) -> dict[str, str]:
        """The recorder's environment; ``provider``: a package folder from which it resolves
        the source-map library."""
        return {
            "TANDEM_PER_TEST_DIR": str(self.records),
            "TANDEM_PROVIDER_PACKAGE": str(provider / "package.json"),
        }


@dataclass(frozen=True)
class MeasuredRun:
    result: CommandResult
    coverage: Coverage | ReportError  # the whole run's report
    per_test: PerTestLines
    results: RunResults | ReportProblem  # each test's outcome


def measured_files(job: PackageJob) -> MeasuredFiles:
    """The job's files, with the recorder copied in beside its setup file and an earlier
    run's records and reports removed (they must not be read as this run's)."""
    work = job.checkout / workdir.WORK_DIR
    work.mkdir(exist_ok=True)
    files = MeasuredFiles(
        work,
        work / f"{job.tag}.per-test",
        work / f"{job.tag}.coverage",
        work / f"{job.tag}.results.json",
    )
    workdir.copy_fresh(RECORDER, work / RECORDER.name)
    for old in [*files.records.glob("*.jsonl"), files.report_dir / REPORT, files.outcomes]:
        old.unlink(missing_ok=True)
    return files


async def run_measured(
    sandbox: Sandbox,
    node: Node,
    job: PackageJob,
    runner: str,
    command: list[str],
    files: MeasuredFiles,
    environment: dict[str, str],
) -> MeasuredRun | RunnerError:
    """Run ``runner``'s ``command`` (its entry script and arguments) in the package folder and
    read its coverage report, per-test records and outcomes."""
    result = await sandbox.run(
        [*env_prefix(environment), str(node.path), *command],
        cwd=job.package_dir,
        timeout_s=job.timeout_s,
    )
    if result.timed_out:
        return RunnerError(f"{runner} did not finish in {job.timeout_s:.0f} s", timed_out=True)
    try:
        report = (files.report_dir / REPORT).read_bytes()
    except OSError:
        return RunnerError(
            f"{runner} wrote no coverage report (exit {result.returncode}): "
            f"{decisive_line(result.output)}"
        )
    root = job.checkout.resolve()
    per_test = read_records(files.records, root) if files.records.is_dir() else PerTestLines()
    results = read_outcomes(files.outcomes, result.output, runner, root)
    return MeasuredRun(result, parse_report(report, str(root)), per_test, results)


def read_records(folder: Path, root: Path) -> PerTestLines:
    """The setup file's JSON lines in ``folder``: per test id, the lines it ran, relative to
    ``root`` (the checkout, resolved; files outside it are left out), and the recorder's
    problems. A line that is not JSON (a worker killed while writing) is skipped."""
    found = PerTestLines()
    lines: dict[str, dict[str, set[int]]] = defaultdict(dict)
    budget = MAX_RECORD_BYTES
    for path in sorted(folder.glob("*.jsonl")):
        budget -= path.stat().st_size
        if budget < 0:
            break
        for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(text)
                if isinstance(record, dict) and "problem" in record:
                    found.problems.add(str(record["problem"]))
                    continue
                test_file = _relative(str(record["file"]), root)
                name = str(record["test"])
                state = str(record["state"])
                ran = {str(k): [int(n) for n in v] for k, v in dict(record["lines"]).items()}
            except (ValueError, KeyError, TypeError):
                continue
            if test_file is None:
                continue
            test = f"{test_file} > {name}"
            found.outcomes[test] = state
            for file, numbers in ran.items():
                relative = _relative(file, root)
                if relative is not None:
                    lines[test].setdefault(relative, set()).update(numbers)
            lines.setdefault(test, {})
    found.lines = dict(lines)
    return found


def _relative(path: str, root: Path) -> str | None:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return None
