"""Git diff helpers for a real local checkout.

Everything here shells out to ``git`` (no GitPython) and parses unified diffs with
``unidiff``. Diffs use pull-request semantics: ``base...head`` compares ``head`` with the
merge base of the two refs, so commits that landed on the base branch after the PR branched
off do not show up as changes of the PR.

The input is untrusted (a PR can contain anything), so the helpers are defensive:

* paths with spaces, tabs, quotes or non-ASCII characters are handled
  (``core.quotepath=off``, and git's C-style quoting is undone);
* a file whose diff or blob is larger than ``max_file_bytes`` is never held in memory
  in full; it is reported as oversized and skipped;
* external diff drivers and textconv filters are disabled;
* git failures raise :class:`GitError` carrying git's stderr.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from jobs import git
from jobs.git import GitError

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "BlobInfo",
    "ChangedFile",
    "GitError",
    "blob_info",
    "changed_files",
    "changed_lines",
    "file_at",
    "file_bytes_at",
    "merge_base",
]

DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
DEFAULT_TIMEOUT = git.DEFAULT_TIMEOUT_S
_SYMLINK_MODE = "120000"


@dataclass(frozen=True)
class BlobInfo:
    """What a path points to at a given ref (from ``git ls-tree``)."""

    mode: str  # e.g. "100644", "100755", "120000" (symlink)
    sha: str
    size: int

    @property
    def is_symlink(self) -> bool:
        return self.mode == _SYMLINK_MODE


@dataclass(frozen=True)
class ChangedFile:
    """One file of a diff, as seen from the head side. Deleted files are never listed."""

    path: str  # posix path relative to the repository root, in head
    old_path: str | None  # path in base; None for added files; differs from path on rename
    status: Literal["added", "modified", "renamed"]
    lines: frozenset[int] = field(default_factory=frozenset)  # head-side added/modified lines
    binary: bool = False  # git reports the file as binary (or larger than git's threshold)
    oversized: bool = False  # the file's patch text was larger than max_file_bytes


# --------------------------------------------------------------------------------------------
# running git


def _run_git(
    repo: Path, args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT
) -> subprocess.CompletedProcess[bytes]:
    return git.run(repo, *args, timeout_s=timeout)


def _git_text(repo: Path, args: Sequence[str]) -> str:
    return git.output(repo, *args)


def resolve_commit(repo: Path, ref: str) -> str:
    _reject_option(ref)
    return _git_text(repo, ["rev-parse", "--verify", "--end-of-options", ref + "^{commit}"])


def _reject_option(ref: str) -> None:
    # A ref that starts with "-" would be read as an option by some git commands.
    if not ref or ref.startswith("-"):
        raise GitError(["rev-parse", ref], -1, f"invalid ref {ref!r}")


# --------------------------------------------------------------------------------------------
# public helpers


def merge_base(repo: Path, base: str, head: str) -> str:
    """The full sha of the best common ancestor of ``base`` and ``head``."""
    base_sha = resolve_commit(repo, base)
    head_sha = resolve_commit(repo, head)
    return _git_text(repo, ["merge-base", base_sha, head_sha])


def blob_info(repo: Path, ref: str, path: str) -> BlobInfo | None:
    """Mode, sha and size of the blob at ``ref:path``; None if absent or not a file.

    Directories and submodules (gitlinks) are "not a file". Symlinks are blobs: check
    :attr:`BlobInfo.is_symlink`.
    """
    commit = resolve_commit(repo, ref)
    proc = _run_git(
        repo,
        ["--literal-pathspecs", "ls-tree", "-l", "-z", "--full-tree", commit, "--", path],
    )
    for entry in proc.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        if name.decode("utf-8", errors="surrogateescape") != path:
            continue
        parts = meta.split()
        if len(parts) != 4 or parts[1] != b"blob":
            return None
        mode, _, sha, size = (p.decode("ascii") for p in parts)
        return BlobInfo(mode=mode, sha=sha, size=int(size))
    return None


def file_bytes_at(repo: Path, ref: str, path: str) -> bytes | None:
    """Raw content of ``path`` at ``ref``; None if absent (or a directory/submodule).

    Callers that care about size should check :func:`blob_info` first.
    """
    info = blob_info(repo, ref, path)
    if info is None:
        return None
    return _run_git(repo, ["cat-file", "blob", info.sha]).stdout


def file_at(repo: Path, ref: str, path: str) -> str | None:
    """Content of ``path`` at ``ref`` decoded as UTF-8 (invalid bytes replaced); None if absent."""
    data = file_bytes_at(repo, ref, path)
    if data is None:
        return None
    return data.decode("utf-8", errors="replace")


def changed_lines(repo: Path, base: str, head: str) -> dict[str, set[int]]:
    """Head-side line numbers added or modified by the PR diff ``base...head``, per path.

    Keys are posix paths relative to the repository root, as they are in ``head``. Deleted
    files are excluded, renamed files are keyed by their new path, binary and oversized files
    are skipped. A file that changed without line changes (pure rename, mode change, new empty
    file) maps to an empty set.
    """
    return {
        f.path: set(f.lines)
        for f in changed_files(repo, base, head)
        if not f.binary and not f.oversized
    }


def changed_files(
    repo: Path,
    base: str,
    head: str,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[ChangedFile]:
    """All files changed by ``base...head`` except deleted ones, sorted by path.

    Binary files and files whose patch is larger than ``max_file_bytes`` are listed with
    ``binary``/``oversized`` set and no lines, so callers can say why they were skipped.
    Submodule changes are ignored.
    """
    base_sha = merge_base(repo, base, head)
    head_sha = resolve_commit(repo, head)
    args = [
        # git treats blobs above this size as binary and does not diff them at all.
        "-c",
        f"core.bigFileThreshold={max(1, max_file_bytes)}",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-relative",
        "--ignore-submodules=all",
        "--find-renames",
        "--diff-filter=d",
        "--unified=0",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        base_sha,
        head_sha,
        "--",
    ]
    files: dict[str, ChangedFile] = {}
    for chunk, oversized in _stream_file_chunks(repo, args, max_file_bytes, timeout):
        changed = _parse_chunk(chunk, oversized)
        if changed is not None:
            files[changed.path] = changed
    return [files[p] for p in sorted(files)]


# --------------------------------------------------------------------------------------------
# diff parsing


def _stream_file_chunks(
    repo: Path, args: Sequence[str], max_file_bytes: int, timeout: float
) -> Iterator[tuple[list[bytes], bool]]:
    """Run ``git diff`` and yield the lines of each file's section of the patch.

    A section that grows past ``max_file_bytes`` is cut: only its header (everything before
    the first hunk, enough to learn the paths) is kept, and it is yielded with
    ``oversized=True``. Memory stays bounded by one file's section, however big the diff is.
    """
    with tempfile.TemporaryFile() as err:
        proc = git.stream(repo, *args, stderr=err)
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, _kill)
        timer.start()
        assert proc.stdout is not None
        chunk: list[bytes] = []
        header_len: int | None = None  # index of the first hunk line in chunk
        size = 0
        oversized = False
        try:
            for line in proc.stdout:
                if line.startswith(b"diff --git "):
                    if chunk:
                        yield chunk, oversized
                    chunk, header_len, size, oversized = [line], None, len(line), False
                    continue
                if oversized:
                    continue
                if header_len is None and line.startswith(b"@@"):
                    header_len = len(chunk)
                size += len(line)
                if size > max_file_bytes:
                    oversized = True
                    if header_len is not None:
                        del chunk[header_len:]
                    continue
                chunk.append(line)
            if chunk:
                yield chunk, oversized
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            returncode = proc.wait()
        if timed_out.is_set():
            raise GitError(args, returncode, f"timed out after {timeout:g}s")
        if returncode != 0:
            err.seek(0)
            raise GitError(args, returncode, err.read().decode("utf-8", errors="replace"))


def _parse_chunk(chunk: list[bytes], oversized: bool) -> ChangedFile | None:
    text = [line.decode("utf-8", errors="replace") for line in chunk]
    fallback_lines: frozenset[int] | None = None
    try:
        patch = PatchSet(text)
    except UnidiffParseError:
        # Malformed hunk body (should not happen with git's own output): keep the file and
        # take the line numbers from the hunk headers, which is exact for --unified=0.
        patch = PatchSet(text, metadata_only=True)
        fallback_lines = _lines_from_hunk_headers(text)
    if len(patch) != 1:
        return None
    pf = patch[0]
    if pf.is_removed_file:
        return None
    path = _strip_prefix(_unquote(pf.target_file), "b/")
    old_path = None if pf.is_added_file else _strip_prefix(_unquote(pf.source_file), "a/")
    status: Literal["added", "modified", "renamed"]
    if pf.is_added_file:
        status = "added"
    elif old_path != path:
        status = "renamed"
    else:
        status = "modified"
    binary = bool(pf.is_binary_file)
    lines: frozenset[int] = frozenset()
    if fallback_lines is not None and not binary and not oversized:
        lines = fallback_lines
    elif not binary and not oversized:
        lines = frozenset(
            line.target_line_no
            for hunk in pf
            for line in hunk
            if line.is_added and line.target_line_no is not None
        )
    return ChangedFile(
        path=path, old_path=old_path, status=status, lines=lines, binary=binary, oversized=oversized
    )


_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def _lines_from_hunk_headers(text: list[str]) -> frozenset[int]:
    lines: set[int] = set()
    for line in text:
        m = _HUNK_HEADER.match(line)
        if m:
            start = int(m.group(1))
            count = 1 if m.group(2) is None else int(m.group(2))
            lines.update(range(start, start + count))
    return frozenset(lines)


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


_ESCAPES = {
    "a": 0x07,
    "b": 0x08,
    "t": 0x09,
    "n": 0x0A,
    "v": 0x0B,
    "f": 0x0C,
    "r": 0x0D,
    '"': 0x22,
    "\\": 0x5C,
}


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of a path (``"a/tab\\tname"`` -> ``a/tab<TAB>name``)."""
    name = name.rstrip("\t")  # unidiff may keep git's trailing tab after names with spaces
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    body = name[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out += ch.encode("utf-8", errors="surrogateescape")
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif body[i + 1 : i + 4].isdigit() and len(body[i + 1 : i + 4]) == 3:
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out += nxt.encode("utf-8", errors="surrogateescape")
            i += 2
    return out.decode("utf-8", errors="replace")
