"""One run of a JS/TS package's tests, shared by the vitest and jest runs: where the package is
and where Tandem's files for it go (:class:`PackageJob`), what a run of given test files gives
(:class:`FilesRun`), and why a run could not be made (:class:`RunnerError`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.languages.javascript.run_results import ReportProblem, RunResults
from jobs.sandbox.sandbox_protocol import CommandResult


@dataclass(frozen=True)
class PackageJob:
    checkout: Path
    package_dir: Path  # the folder of its package.json, inside the checkout
    include: list[str]  # files relative to package_dir whose coverage is wanted
    tools_dir: Path  # the part's own tools folder (a coverage provider's install)
    timeout_s: float
    tag: str = "suite"  # names this run's files in the work dir


@dataclass(frozen=True)
class RunnerError:
    """The runner could not be run, or gave nothing to read: one line saying why."""

    reason: str


@dataclass(frozen=True)
class FilesRun:
    """A run of given test files, without coverage: each test's outcome."""

    result: CommandResult
    results: RunResults | ReportProblem
    refused: tuple[str, ...] = ()  # test files not placed in the base tree (unsafe paths)
