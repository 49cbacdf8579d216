"""The pull request's base commit as files, for running tests on it (each language's base runs:
:mod:`jobs.languages.python.base_commit`, :mod:`jobs.languages.javascript.base_runs`).

The tree is written by the worker with the hardened git runner (``ls-tree`` and one
``cat-file --batch``: no checkout, so no hook, filter or attribute of the repository runs)
into a fresh directory under the checkout's scratch directory (``.tandem-work/base-*``), which
the sandbox sees because it sees the checkout. Nothing is written outside it: a path with
``..``, an absolute path or a ``.git`` component is skipped, files are opened with
``O_NOFOLLOW``, and symbolic links are created last and kept only when they resolve inside the
tree. Submodules are not materialized. Test files are copied in at their paths
(:func:`place`), never through a symbolic link.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jobs import git
from jobs.sandbox import workdir

MAX_BASE_FILES = 200_000
MAX_BASE_BYTES = 1_000_000_000


class BaseTreeError(RuntimeError):
    """The base tree could not be written; the message is one line saying why."""


@dataclass(frozen=True)
class BaseTree:
    """The base commit's files, written under the checkout's scratch directory."""

    root: Path
    files: int
    skipped: list[str] = field(default_factory=list)  # "path (why)"


def safe_relative(path: str) -> bool:
    """A repository-relative path that stays inside its root and out of any ``.git``."""
    if not path or path.startswith("/") or "\0" in path:
        return False
    parts = path.split("/")
    return all(p not in ("", ".", "..") and p.lower() != ".git" for p in parts)


def inside(root: Path, path: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _listing(checkout: Path, sha: str) -> list[tuple[str, str, str, int]]:
    """(mode, object, path, size) of every entry of the commit's tree."""
    listing = git.run(checkout, "ls-tree", "-r", "-l", "-z", "--full-tree", f"{sha}^{{tree}}")
    entries = []
    for entry in listing.stdout.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) != 4:
            continue
        size = int(parts[3]) if parts[3].isdigit() else 0
        path = name.decode("utf-8", errors="surrogateescape")
        entries.append((parts[0].decode("ascii"), parts[2].decode("ascii"), path, size))
    return entries


def materialize(checkout: Path, sha: str, *, deadline: float) -> BaseTree:
    """Write the tree of commit ``sha`` into a fresh directory under the checkout's scratch
    directory (blocking: run it in a thread). Raises BaseTreeError."""
    work = checkout / workdir.WORK_DIR
    if work.is_symlink():
        raise BaseTreeError(f"the repository has its own {workdir.WORK_DIR}")
    workdir.prepare(checkout)
    try:
        entries = _listing(checkout, sha)
    except git.GitError as exc:
        raise BaseTreeError(f"the base commit {sha[:12]} could not be read: {exc}") from None
    if len(entries) > MAX_BASE_FILES or sum(e[3] for e in entries) > MAX_BASE_BYTES:
        raise BaseTreeError(
            f"the base commit has more than {MAX_BASE_FILES} files or {MAX_BASE_BYTES} bytes"
        )
    root = Path(tempfile.mkdtemp(prefix="base-", dir=work))
    skipped: list[str] = []
    links: list[tuple[str, bytes]] = []
    written = 0
    proc = git.stream(checkout, "cat-file", "--batch", stdin=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for mode, obj, path, _size in entries:
            if time.monotonic() > deadline:
                raise BaseTreeError("writing the base tree timed out")
            if not safe_relative(path):
                skipped.append(f"{path!r} (unsafe path)")
                continue
            if mode == "160000":
                skipped.append(f"{path} (submodule)")
                continue
            proc.stdin.write(obj.encode("ascii") + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3 or not header[2].isdigit():
                skipped.append(f"{path} (missing object)")
                continue
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after the object
            if mode == "120000":
                links.append((path, data))
            elif _write_file(root, path, data, executable=mode == "100755"):
                written += 1
            else:
                skipped.append(f"{path} (does not fit the tree)")
    finally:
        proc.stdin.close()
        proc.stdout.close()
        proc.kill()
        proc.wait()
    skipped.extend(_make_links(root, links))
    return BaseTree(root, written, skipped)


def _write_file(root: Path, path: str, data: bytes, *, executable: bool) -> bool:
    """Write one file under ``root``; False when its path cannot be made there (a crafted
    tree with a file where a directory should be, or a symbolic link in the way)."""
    target = root / path
    try:
        parent = root
        for part in PurePosixPath(path).parts[:-1]:
            parent = parent / part
            if parent.is_symlink():
                return False
            parent.mkdir(exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        fd = os.open(target, flags, 0o755 if executable else 0o644)
    except OSError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return True


def _make_links(root: Path, links: list[tuple[str, bytes]]) -> list[str]:
    """Create the tree's symbolic links, then remove every one that does not resolve inside
    ``root`` (a link's target may be another link, so each is checked once all exist)."""
    skipped = []
    made: list[tuple[str, Path]] = []
    for path, target in links:
        where = root / path
        text = target.decode("utf-8", errors="surrogateescape")
        if "\0" in text or text.startswith("/") or not inside(root, where.parent):
            skipped.append(f"{path} (symbolic link out of the tree)")
            continue
        try:
            if any(p.is_symlink() for p in where.parents if p.is_relative_to(root)):
                raise OSError("a symbolic link in its path")
            where.parent.mkdir(parents=True, exist_ok=True)
            where.symlink_to(text)
        except OSError:
            skipped.append(f"{path} (does not fit the tree)")
            continue
        made.append((path, where))
    for path, where in made:
        if not inside(root, where):
            where.unlink()
            skipped.append(f"{path} (symbolic link out of the tree)")
    return skipped


def place(base: BaseTree, files: dict[str, str]) -> list[str]:
    """Copy test files into the base tree at their paths. Returns the paths refused: unsafe,
    or with a symbolic link on the way (never written through)."""
    refused = []
    for path, text in files.items():
        if not safe_relative(path) or not _write_file(
            base.root, path, text.encode("utf-8"), executable=False
        ):
            refused.append(path)
    return refused


@contextlib.asynccontextmanager
async def base_tree(checkout: Path, sha: str, *, timeout_s: float) -> AsyncIterator[BaseTree]:
    """The base commit's tree for the duration of the block, removed afterwards."""
    deadline = time.monotonic() + timeout_s
    checkout = await asyncio.to_thread(checkout.resolve)
    tree = await asyncio.to_thread(materialize, checkout, sha, deadline=deadline)
    try:
        yield tree
    finally:
        await asyncio.to_thread(shutil.rmtree, tree.root, True)
