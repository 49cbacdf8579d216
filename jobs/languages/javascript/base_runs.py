"""Test files run on the base commit's sources, by the package's own runner (issue 20, item 6).

The base tree is written by :mod:`jobs.testgen.base_tree` (no checkout, nothing of the
repository's runs), the test files are placed in it, and each ``node_modules`` the head's
install made is linked into the same folder of the base tree: git holds no ``node_modules``, and
the tests run with the dependencies the head's lockfile installed. A test that fails there pins
the change; a file that does not load there (an import of a module the base lacks) is reported
as not loaded, per file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Protocol

from jobs.languages.javascript.package_job import FilesRun, PackageJob, RunnerError
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox.sandbox_protocol import Sandbox
from jobs.testgen.base_tree import BaseTree, base_tree, place


class RunFiles(Protocol):
    """A runner's run of given test files (:func:`.vitest_files.run_files`)."""

    def __call__(
        self, sandbox: Sandbox, node: Node, job: PackageJob, files: list[str]
    ) -> Awaitable[FilesRun | RunnerError]: ...


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
    run_files: RunFiles,
    sandbox: Sandbox,
    node: Node,
    job: PackageJob,
    sha: str,
    files: dict[str, str],
) -> FilesRun | RunnerError:
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
    if isinstance(run, RunnerError):
        return run
    return dataclasses.replace(run, refused=tuple(refused))
