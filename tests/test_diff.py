"""jobs.diff against real git repositories built in tmp_path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from jobs.diff import (
    GitError,
    blob_info,
    changed_files,
    changed_lines,
    file_at,
    file_bytes_at,
    merge_base,
)

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_ENV, HOME=str(repo.parent))
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, check=True, text=True
    )
    return proc.stdout.strip()


def write(repo: Path, files: dict[str, str | bytes | None]) -> None:
    for name, content in files.items():
        target = repo / name
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def commit(repo: Path, files: dict[str, str | bytes | None], message: str = "change") -> str:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def numbered(n: int, prefix: str = "line") -> str:
    return "".join(f"{prefix} {i}\n" for i in range(1, n + 1))


def test_changed_lines_exact_set_for_a_small_diff(repo: Path) -> None:
    base_text = numbered(10)
    commit(repo, {"a.txt": base_text, "gone.txt": "bye\n", "same.txt": "x\n"}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    lines = base_text.splitlines(keepends=True)
    lines[2] = "line 3 modified\n"  # head line 3
    lines[5:5] = ["inserted A\n", "inserted B\n"]  # head lines 6, 7 (after old line 5)
    del lines[9]  # old line 8 (index 9 after the insert): a pure deletion
    lines.append("appended\n")  # last line of head
    head_text = "".join(lines)
    commit(repo, {"a.txt": head_text, "gone.txt": None, "new.txt": "one\ntwo\n"}, "head")

    result = changed_lines(repo, "main", "feature")

    assert head_text.splitlines()[11] == "appended"
    assert result == {"a.txt": {3, 6, 7, 12}, "new.txt": {1, 2}}


def test_changed_lines_uses_merge_base_like_a_pull_request(repo: Path) -> None:
    commit(repo, {"a.txt": numbered(5), "b.txt": "b\n"}, "base")
    fork_point = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"a.txt": numbered(5).replace("line 2\n", "line two\n")}, "pr")
    git(repo, "checkout", "-q", "main")
    # main moves on after the branch was created: none of this belongs to the PR
    commit(repo, {"b.txt": "b changed on main\n", "c.txt": "new on main\n"}, "main moves")

    assert merge_base(repo, "main", "feature") == fork_point
    assert changed_lines(repo, "main", "feature") == {"a.txt": {2}}


def test_renamed_file_is_keyed_by_new_path(repo: Path) -> None:
    commit(repo, {"old/name.py": numbered(30, "x =")}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "mv", "old/name.py", "new_name.py")
    commit(repo, {"new_name.py": numbered(30, "x =") + "y = 1\n"}, "rename")

    assert changed_lines(repo, "main", "feature") == {"new_name.py": {31}}
    [changed] = changed_files(repo, "main", "feature")
    assert (changed.path, changed.old_path, changed.status) == (
        "new_name.py",
        "old/name.py",
        "renamed",
    )


def test_pure_rename_has_no_changed_lines(repo: Path) -> None:
    commit(repo, {"a.py": numbered(20, "a =")}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "mv", "a.py", "b.py")
    commit(repo, {}, "rename only")

    assert changed_lines(repo, "main", "feature") == {"b.py": set()}


def test_paths_with_spaces_unicode_tabs_and_quotes(repo: Path) -> None:
    names = ["dir with space/my file.py", "ünïcödé/名前.py", "tab\there.py", 'quote"d.py']
    commit(repo, {name: "a\nb\n" for name in names}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {name: "a\nB\nc\n" for name in names}, "head")

    result = changed_lines(repo, "main", "feature")

    assert result == {name: {2, 3} for name in names}
    for name in names:
        assert file_at(repo, "feature", name) == "a\nB\nc\n"
        assert file_at(repo, "main", name) == "a\nb\n"


def test_binary_and_huge_files_are_skipped(repo: Path) -> None:
    huge_base = "x = 1\n" * 10
    huge_head = "".join(f"value_{i} = {i}\n" for i in range(200_000))  # ~3.4 MB
    assert len(huge_head) > 2 * 1024 * 1024
    commit(repo, {"img.png": b"\x89PNG\0\0\x01", "huge.py": huge_base, "ok.py": "a\n"}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"img.png": b"\x89PNG\0\0\x02", "huge.py": huge_head, "ok.py": "a\nb\n"}, "head")

    assert changed_lines(repo, "main", "feature") == {"ok.py": {2}}

    by_path = {f.path: f for f in changed_files(repo, "main", "feature")}
    assert by_path["img.png"].binary and not by_path["img.png"].lines
    assert by_path["huge.py"].binary  # above git's big-file threshold: not even diffed
    assert by_path["ok.py"].lines == {2}

    # A patch larger than the cap is cut off while streaming, without reading it whole.
    small = {f.path: f for f in changed_files(repo, "main", "feature", max_file_bytes=50_000)}
    assert small["huge.py"].oversized or small["huge.py"].binary
    assert small["huge.py"].lines == frozenset()
    assert small["ok.py"].lines == {2}


def test_oversized_patch_of_a_text_file(repo: Path) -> None:
    # Each version is below the cap, but the patch (all old lines out, all new lines in) is not.
    base_text = numbered(600, "old")
    head_text = numbered(600, "new")
    assert len(base_text) < 10_000 and len(head_text) < 10_000
    commit(repo, {"big.txt": base_text, "small.txt": "a\n"}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"big.txt": head_text, "small.txt": "b\n"}, "head")

    capped = changed_files(repo, "main", "feature", max_file_bytes=10_000)
    assert [(f.path, f.oversized, f.binary, f.lines) for f in capped] == [
        ("big.txt", True, False, frozenset()),
        ("small.txt", False, False, frozenset({1})),
    ]
    full = {f.path: f for f in changed_files(repo, "main", "feature")}
    assert full["big.txt"].lines == frozenset(range(1, 601))


def test_file_at_and_blob_info(repo: Path) -> None:
    commit(repo, {"src/mod.py": "print('hi')\n", "latin1.txt": "caf\xe9\n".encode("latin-1")})

    assert file_at(repo, "main", "src/mod.py") == "print('hi')\n"
    assert file_at(repo, "main", "missing.py") is None
    assert file_at(repo, "main", "src") is None  # a directory is not a file
    assert file_at(repo, "main", "latin1.txt") == "caf\ufffd\n"
    assert file_bytes_at(repo, "main", "latin1.txt") == b"caf\xe9\n"
    info = blob_info(repo, "main", "src/mod.py")
    assert info is not None
    assert (info.mode, info.size, info.is_symlink) == ("100644", 12, False)
    assert info.sha == git(repo, "rev-parse", "main:src/mod.py")


def test_git_errors_are_clear(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "a\n"})

    with pytest.raises(GitError, match="no-such-branch") as info:
        changed_lines(repo, "main", "no-such-branch")
    assert "Needed a single revision" in str(info.value)
    assert info.value.returncode != 0

    with pytest.raises(GitError, match="invalid ref"):
        merge_base(repo, "--all", "main")

    not_a_repo = tmp_path / "plain"
    not_a_repo.mkdir()
    with pytest.raises(GitError, match="not a git repository"):
        file_at(not_a_repo, "HEAD", "a.txt")
    assert issubclass(GitError, RuntimeError)
