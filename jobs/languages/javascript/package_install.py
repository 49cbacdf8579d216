"""A JS/TS package's dependencies, installed in the sandbox the way its lockfile says
(issue 20, item 3), with a cache keyed by that lockfile.

- The install is :func:`~.detect.install_command`'s (``npm ci``, ``pnpm install
  --frozen-lockfile``, ``yarn install --immutable``), with install scripts off unless the
  configuration allows them (``test_generation.dependencies.install_scripts``), on the
  sandbox's install network, bounded in time. A failure is :class:`PackageInstall` ``failed``
  with its decisive line, never an exception.
- **The cache**: after an install with a lockfile, its ``node_modules`` is copied to
  ``<cache_dir>/<key>``, before any of the project's code has run (the install's scripts are
  off), so a test cannot leave anything in it for the next run. The key hashes the lockfile,
  the manifests the install reads, the package manager, Node's major version and whether
  scripts ran: any of them changing is a new install. The next run with the same key copies it
  back instead of installing (symlinks kept as symlinks, never followed). The newest
  :data:`KEEP` entries stay. Without a lockfile nothing is cached: the install is not exact.
- A workspace (``workspaces`` in the install folder's manifest, or ``pnpm-workspace.yaml``)
  is not cached: its members get ``node_modules`` folders of their own, which one entry would
  not hold.
- Where the checkout has a ``node_modules`` of its own (committed, or a symlink out of it), it
  is removed first, as ``npm ci`` does; an install folder that resolves outside the checkout is
  refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jobs.dependencies import CheckoutFiles
from jobs.languages.javascript.detect import detect
from jobs.languages.javascript.package_managers import PackageManager, install_command
from jobs.languages.javascript.packages import Problem
from jobs.languages.javascript.runner_choice import Unsupported
from jobs.languages.javascript.toolchain import Node, NodeUnavailable, find_node
from jobs.languages.language_protocol import Installed, InstallRequest
from jobs.sandbox.sandbox_protocol import Sandbox, decisive_line

KEEP = 20  # cache entries kept, the newest by use
CACHE_FOLDER = "js-cache"  # under the worker's data dir
CACHE_FORMAT = "1"  # part of every key: a change in what is stored starts afresh


@dataclass(frozen=True)
class InstallOptions:
    cache_dir: Path | None  # None: no cache
    allow_scripts: bool
    network: str  # the sandbox's install network
    timeout_s: float


@dataclass(frozen=True)
class PackageInstall:
    status: Literal["installed", "cached", "failed"]
    note: str  # for the check run: what ran, or where node_modules came from


def cache_key(
    manager: PackageManager, files: dict[str, bytes], node_major: int, allow_scripts: bool
) -> str | None:
    """The cache key of an install (pure): ``files`` are the lockfile and the manifests the
    install reads, by repository path. None without a lockfile."""
    if manager.lockfile is None or manager.lockfile not in files:
        return None
    digest = hashlib.sha256()
    for part in (CACHE_FORMAT, manager.name, manager.version or "", str(node_major)):
        digest.update(part.encode() + b"\0")
    digest.update(b"scripts" if allow_scripts else b"no-scripts")
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()[:32]


def _inside(folder: Path, checkout: Path) -> bool:
    real, root = folder.resolve(), checkout.resolve()
    return real == root or root in real.parents


def _clear(node_modules: Path) -> None:
    """Remove what the checkout has at ``node_modules``: a symlink is unlinked, not followed."""
    if node_modules.is_symlink() or node_modules.is_file():
        node_modules.unlink()
    elif node_modules.is_dir():
        shutil.rmtree(node_modules)


def restore(entry: Path, node_modules: Path) -> bool:
    """Copy a cache entry's node_modules into place; False when there is none."""
    stored = entry / "node_modules"
    if not stored.is_dir():
        return False
    _clear(node_modules)
    shutil.copytree(stored, node_modules, symlinks=True)
    os.utime(entry)  # the newest by use are the ones kept
    return True


def save(cache_dir: Path, key: str, node_modules: Path) -> None:
    """Store ``node_modules`` under ``key``: written aside, then renamed into place, so a
    reader never sees half of it; the oldest entries past :data:`KEEP` go."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    entry = cache_dir / key
    if entry.exists() or not node_modules.is_dir():
        return
    partial = cache_dir / f".{key}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(node_modules, partial / "node_modules", symlinks=True)
    try:
        partial.rename(entry)
    except OSError:  # another worker stored the same key first
        shutil.rmtree(partial, ignore_errors=True)
    entries = sorted(
        (p for p in cache_dir.iterdir() if not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in entries[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


def _install_files(checkout: Path, manager: PackageManager) -> dict[str, bytes]:
    """The lockfile and the manifests beside it and in the install folder."""
    paths = {manager.lockfile} if manager.lockfile else set()
    root = manager.root.strip("/")
    paths.add(f"{root}/package.json" if root else "package.json")
    found: dict[str, bytes] = {}
    for path in paths:
        if path is not None and (checkout / path).is_file():
            found[path] = (checkout / path).read_bytes()
    return found


def _is_workspace(folder: Path) -> bool:
    manifest = folder / "package.json"
    text = manifest.read_bytes() if manifest.is_file() else b""
    return b'"workspaces"' in text or (folder / "pnpm-workspace.yaml").is_file()


async def install_package(
    sandbox: Sandbox, node: Node, checkout: Path, manager: PackageManager, options: InstallOptions
) -> PackageInstall:
    """Install the dependencies of the package ``manager`` was found for."""
    folder = checkout / manager.root
    if not await asyncio.to_thread(_inside, folder, checkout):
        return PackageInstall("failed", f"`{manager.root}` is outside the checkout: not installed")
    node_modules = folder / "node_modules"
    files = await asyncio.to_thread(_install_files, checkout, manager)
    key = None
    if not await asyncio.to_thread(_is_workspace, folder):
        key = cache_key(manager, files, node.version[0], options.allow_scripts)
    entry = options.cache_dir / key if options.cache_dir is not None and key else None
    if entry is not None and await asyncio.to_thread(restore, entry, node_modules):
        return PackageInstall(
            "cached", f"node_modules from the cache of `{manager.lockfile}` ({entry.name[:12]})"
        )
    command = install_command(manager, options.allow_scripts)
    await asyncio.to_thread(_clear, node_modules)
    started = time.monotonic()
    async with sandbox.networked(options.network) as box:
        result = await box.run(node.command(command), cwd=folder, timeout_s=options.timeout_s)
    took = time.monotonic() - started
    if result.timed_out:
        return PackageInstall(
            "failed", f"`{command.shown()}` did not finish in {options.timeout_s:.0f} s"
        )
    if result.returncode != 0:
        return PackageInstall(
            "failed",
            f"`{command.shown()}` failed (exit {result.returncode}): "
            f"{decisive_line(result.output)}",
        )
    if entry is not None:
        await asyncio.to_thread(save, entry.parent, entry.name, node_modules)
    return PackageInstall("installed", f"`{command.shown()}` in {took:.0f} s")


async def install_packages(request: InstallRequest, sources: Mapping[str, set[int]]) -> Installed:
    """Install each package the changed ``sources`` belong to, once per install folder (a
    workspace's members share its root's). A package whose runner is not supported is not
    installed (its tests will not run); one whose lockfile does not parse is a failed install.
    Install scripts stay off unless ``test_generation.dependencies.install_scripts`` allows
    them."""
    node = await asyncio.to_thread(find_node)
    if isinstance(node, NodeUnavailable):
        return Installed("failed", f"JavaScript/TypeScript: {node.reason}")
    detection = await asyncio.to_thread(detect, CheckoutFiles(request.checkout), list(sources))
    options = InstallOptions(
        request.cache_dir / CACHE_FOLDER,
        allow_scripts=request.dependencies.install_scripts,
        network=request.network,
        timeout_s=request.timeout_s,
    )
    notes: list[str] = []
    statuses: set[str] = set()
    done: set[str] = set()
    for changed in detection.packages:
        where = f"`{changed.package.dir or '.'}`"
        if isinstance(changed.runner, Unsupported):
            notes.append(f"{where}: {changed.runner.reason}; not installed")
        elif isinstance(changed.manager, Problem):
            statuses.add("failed")
            notes.append(f"{where}: {changed.manager}")
        elif changed.manager.root not in done:
            done.add(changed.manager.root)
            outcome = await install_package(
                request.sandbox, node, request.checkout, changed.manager, options
            )
            statuses.add(outcome.status)
            notes.append(f"{where}: {outcome.note}")
    for status in ("failed", "installed", "cached"):
        if status in statuses:
            return Installed(status, "; ".join(notes))  # type: ignore[arg-type]
    return Installed("nothing", "; ".join(notes) or None)
