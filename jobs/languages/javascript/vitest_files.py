"""Runs of given vitest test files, without coverage: each test's outcome (:mod:`.run_results`),
as validation runs a candidate (``-t`` narrows it to one test) and :mod:`.base_runs` runs kept
tests on the base commit.

Tandem's scratch folder is left out of the head's runs (``--exclude``), so a test file in it is
never collected as the project's.
"""

from __future__ import annotations

import asyncio

from jobs.languages.javascript import vitest
from jobs.languages.javascript.package_job import (
    FilesRun,
    PackageJob,
    RunnerError,
    outcomes_file,
    run_for_outcomes,
)
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import Sandbox

SCRATCH_EXCLUDE = f"**/{workdir.WORK_DIR}/**"


async def run_files(
    sandbox: Sandbox, node: Node, job: PackageJob, files: list[str], *, name: str | None = None
) -> FilesRun | RunnerError:
    """``files`` (relative to the package folder) once; ``name``: only the tests whose full
    name matches this pattern (vitest's ``-t``)."""
    found = vitest.runner_entry("vitest", job.package_dir, job.checkout)
    if isinstance(found, RunnerError):
        return found
    outcomes = await asyncio.to_thread(outcomes_file, job)
    args = ["run", *files, "--reporter=default", "--reporter=json", f"--outputFile.json={outcomes}"]
    if workdir.WORK_DIR not in job.package_dir.resolve().parts:  # not in a base tree
        args.append(f"--exclude={SCRATCH_EXCLUDE}")
    if name is not None:
        args += ["-t", name]
    return await run_for_outcomes(sandbox, node, job, "vitest", [str(found[1]), *args], outcomes)
