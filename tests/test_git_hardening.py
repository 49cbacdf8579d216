"""The worker's git on a checkout that sandboxed code could write: config that would make git
run commands (fsmonitor, hooks) is ignored."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from jobs import git


def make_repo(path: Path) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "--quiet", str(path)], check=True)
    (path / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "-C", str(path), "add", "a.py"], check=True)
    subprocess.run(
        ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a"],
        check=True,
    )
    return path


def test_planted_fsmonitor_and_hooks_do_not_run(tmp_path: Path) -> None:
    asyncio.run(planted_config_is_ignored(tmp_path))


def plant(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "repo")
    marker = tmp_path / "pwned"
    script = tmp_path / "evil.sh"
    script.write_text(f'#!/bin/sh\necho "$GIT_CONFIG_VALUE_0" >> {marker}\n')
    script.chmod(0o755)
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", str(script)], check=True)
    hook = repo / ".git/hooks/pre-commit"
    hook.write_text(script.read_text())
    hook.chmod(0o755)
    # Plain git would run the planted command (the control):
    subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain"], check=True, capture_output=True
    )
    assert marker.exists()
    marker.unlink()
    return repo, marker


async def planted_config_is_ignored(tmp_path: Path) -> None:
    repo, marker = plant(tmp_path)

    (repo / "b.py").write_text("y = 2\n")
    await git.run_async(repo, "status", "--porcelain")
    await git.run_async(repo, "add", "b.py")
    await git.run_async(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "b")
    assert not marker.exists()
