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
UNKNOWN_EXCLUDE = "Unknown option `--exclude`"  # what vitest 0.x's CLI says of it


async def run_files(
    sandbox: Sandbox, node: Node, job: PackageJob, files: list[str], *, name: str | None = None
) -> FilesRun | RunnerError:
    """``files`` (relative to the package folder) once; ``name``: only the tests whose full
    name matches this pattern (vitest's ``-t``)."""
    found = vitest.runner_entry("vitest", job.package_dir, job.checkout)
    if isinstance(found, RunnerError):
        return found
    outcomes = await asyncio.to_thread(outcomes_file, job)
    args = [str(found[1]), "run", *files, "--reporter=default", "--reporter=json"]
    args.append(f"--outputFile.json={outcomes}")
    if name is not None:
        args += ["-t", name]
    if workdir.WORK_DIR in job.package_dir.resolve().parts:  # a base tree: no scratch in it
        return await run_for_outcomes(sandbox, node, job, "vitest", args, outcomes)
    exclude = [*args, f"--exclude={SCRATCH_EXCLUDE}"]
    run = await run_for_outcomes(sandbox, node, job, "vitest", exclude, outcomes)
    if isinstance(run, FilesRun) and UNKNOWN_EXCLUDE in run.result.output:
        # vitest 0.x has no --exclude option and refuses the whole run (the engine's probe and
        # every candidate of defu's, destr's and scule's vitest 0.34 came back empty); run
        # without it: a copy of the same file in the scratch folder may run too, no run at all
        # is worse
        return await run_for_outcomes(sandbox, node, job, "vitest", args, outcomes)
    return run
