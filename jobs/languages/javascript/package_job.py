"""One run of a JS/TS package's tests, shared by the vitest and jest runs: where the package is
and where Tandem's files for it go (:class:`PackageJob`), what a run of given test files gives
(:class:`FilesRun`), and why a run could not be made (:class:`RunnerError`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.languages.javascript.run_results import ReportProblem, RunResults, read_outcomes
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox


@dataclass(frozen=True)
class PackageJob:
    checkout: Path
    package_dir: Path  # the folder of its package.json, inside the checkout
    include: list[str]  # files relative to package_dir whose coverage is wanted
    tools_dir: Path  # the part's own tools folder (a coverage provider's install)
    timeout_s: float
    tag: str = "suite"  # names this run's files in the work dir
    # test files to run, relative to package_dir; empty: the whole suite
    tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunnerError:
    """The runner could not be run, or gave nothing to read: one line saying why."""

    reason: str
    timed_out: bool = False  # the sandbox stopped the runner at the run's time limit


@dataclass(frozen=True)
class FilesRun:
    """A run of given test files, without coverage: each test's outcome."""

    result: CommandResult
    results: RunResults | ReportProblem
    refused: tuple[str, ...] = ()  # test files not placed in the base tree (unsafe paths)


def outcomes_file(job: PackageJob) -> Path:
    """Where this job's run writes its JSON report (an earlier run's removed): in the work dir
    of ``job.checkout``, which for a base tree is its own, removed with it."""
    work = job.checkout / workdir.WORK_DIR
    work.mkdir(exist_ok=True)
    path = work / f"{job.tag}.results.json"
    path.unlink(missing_ok=True)
    return path


async def run_for_outcomes(
    sandbox: Sandbox, node: Node, job: PackageJob, runner: str, command: list[str], outcomes: Path
) -> FilesRun | RunnerError:
    """Run ``runner``'s ``command`` (its entry script and arguments) in the package folder and
    read the JSON report it writes at ``outcomes``."""
    result = await sandbox.run(
        [*env_prefix(), str(node.path), *command], cwd=job.package_dir, timeout_s=job.timeout_s
    )
    if result.timed_out:
        return RunnerError(f"{runner} did not finish in {job.timeout_s:.0f} s", timed_out=True)
    return FilesRun(result, read_outcomes(outcomes, result.output, runner, job.checkout.resolve()))
