"""Runs of given vitest test files, without coverage: each test's outcome (:mod:`.run_results`).

- :func:`run_files`: the files on the head, as validation runs a candidate (``-t`` narrows it
  to one test);
- :func:`run_on_base`: the files on the base commit's sources (issue 20, item 6). The base
  tree is written by :mod:`jobs.testgen.base_tree` (no checkout, nothing of the repository's
  runs), the test files are placed in it, and each ``node_modules`` the head's install made is
  linked into the same folder of the base tree: git holds no ``node_modules``, and the tests
  must run with the dependencies the head's lockfile installed. A test that fails there pins the
  change; a file that does not load there (an import of a module the base lacks) is reported as
  not loaded, per file.

Tandem's scratch folder is left out of the head's runs (``--exclude``), so a test file in it is
never collected as the project's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.javascript import vitest
from jobs.languages.javascript.run_results import ReportProblem, RunResults, parse_results
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.languages.javascript.vitest_per_test import VitestJob
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox, decisive_line
from jobs.testgen.base_tree import BaseTree, base_tree, place

SCRATCH_EXCLUDE = f"**/{workdir.WORK_DIR}/**"


@dataclass(frozen=True)
class VitestFilesRun:
    result: CommandResult
    results: RunResults | ReportProblem
    refused: tuple[str, ...] = ()  # test files not placed in the base tree (unsafe paths)


async def run_files(
    sandbox: Sandbox, node: Node, job: VitestJob, files: list[str], *, name: str | None = None
) -> VitestFilesRun | vitest.VitestError:
    """``files`` (relative to the package folder) once; ``name``: only the tests whose full
    name matches this pattern (vitest's ``-t``)."""
    installed = vitest.find_installed("vitest", job.package_dir, job.checkout)
    if installed is None:
        return vitest.VitestError("vitest is not installed in node_modules (did the install run?)")
    entry = vitest.binary(installed, "vitest")
    if entry is None:
        return vitest.VitestError(f"{installed}/package.json names no vitest binary")
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
        return vitest.VitestError(f"vitest did not finish in {job.timeout_s:.0f} s")
    try:
        text = outcomes.read_bytes()
    except OSError:
        return VitestFilesRun(
            result, ReportProblem(f"vitest wrote no test report: {decisive_line(result.output)}")
        )
    return VitestFilesRun(result, parse_results(text, job.checkout.resolve()))


def link_installs(checkout: Path, tree: BaseTree, package_dir: Path) -> None:
    """Link each ``node_modules`` of the head, from the package folder up to the checkout's
    root, into the same folder of the base tree (where the base has none of its own)."""
    checkout = checkout.resolve()
    folder = package_dir.resolve()
    while True:
        installed = folder / "node_modules"
        relative = folder.relative_to(checkout)
        target = tree.root / relative / "node_modules"
        if installed.is_dir() and not (target.exists() or target.is_symlink()):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(installed, target, target_is_directory=True)
        if folder == checkout:
            return
        folder = folder.parent


async def run_on_base(
    sandbox: Sandbox, node: Node, job: VitestJob, sha: str, files: dict[str, str]
) -> VitestFilesRun | vitest.VitestError:
    """Test files (checkout-relative path -> text, as validated on the head) run on the base
    commit ``sha``: their outcomes there, under the head's test ids."""
    package = job.package_dir.resolve().relative_to(job.checkout.resolve())
    async with base_tree(job.checkout, sha, timeout_s=job.timeout_s) as tree:
        refused = await asyncio.to_thread(place, tree, files)
        await asyncio.to_thread(link_installs, job.checkout, tree, job.package_dir)
        on_base = dataclasses.replace(
            job, checkout=tree.root, package_dir=tree.root / package, tag=f"{job.tag}.base"
        )
        placed = [
            Path(path).relative_to(package).as_posix() if package.parts else path
            for path in files
            if path not in refused
        ]
        run = await run_files(sandbox, node, on_base, placed)
    if isinstance(run, vitest.VitestError):
        return run
    return dataclasses.replace(run, refused=tuple(refused))
