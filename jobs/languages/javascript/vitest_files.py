"""Runs of given vitest test files, without coverage: each test's outcome (:mod:`.run_results`),
as validation runs a candidate (``-t`` narrows it to one test) and :mod:`.base_runs` runs kept
tests on the base commit.

Tandem's scratch folder is left out of the head's runs (``--exclude``), so a test file in it is
never collected as the project's.
"""

from __future__ import annotations

import asyncio

from jobs.languages.javascript import vitest
from jobs.languages.javascript.package_job import FilesRun, PackageJob, RunnerError
from jobs.languages.javascript.run_results import ReportProblem, parse_results
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import Sandbox, decisive_line

SCRATCH_EXCLUDE = f"**/{workdir.WORK_DIR}/**"


async def run_files(
    sandbox: Sandbox, node: Node, job: PackageJob, files: list[str], *, name: str | None = None
) -> FilesRun | RunnerError:
    """``files`` (relative to the package folder) once; ``name``: only the tests whose full
    name matches this pattern (vitest's ``-t``)."""
    installed = vitest.find_installed("vitest", job.package_dir, job.checkout)
    if installed is None:
        return RunnerError("vitest is not installed in node_modules (did the install run?)")
    entry = vitest.binary(installed, "vitest")
    if entry is None:
        return RunnerError(f"{installed}/package.json names no vitest binary")
    work = job.checkout / workdir.WORK_DIR  # in a base tree, its own (removed with it)
    await asyncio.to_thread(work.mkdir, exist_ok=True)
    outcomes = work / f"{job.tag}.results.json"
    outcomes.unlink(missing_ok=True)
    args = ["run", *files, "--reporter=default", "--reporter=json", f"--outputFile.json={outcomes}"]
    if workdir.WORK_DIR not in job.package_dir.resolve().parts:  # not in a base tree
        args.append(f"--exclude={SCRATCH_EXCLUDE}")
    if name is not None:
        args += ["-t", name]
    result = await sandbox.run(
        [*env_prefix(), str(node.path), str(entry), *args],
        cwd=job.package_dir,
        timeout_s=job.timeout_s,
    )
    if result.timed_out:
        return RunnerError(f"vitest did not finish in {job.timeout_s:.0f} s")
    try:
        text = outcomes.read_bytes()
    except OSError:
        return FilesRun(
            result, ReportProblem(f"vitest wrote no test report: {decisive_line(result.output)}")
        )
    return FilesRun(result, parse_results(text, job.checkout.resolve()))
