"""git for the benchmark's own clones (never the Tandem checkout), through Tandem's one
hardened runner, with a fixed identity so the commits it makes are reproducible."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from jobs import git as jobs_git

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "realprs",
    "GIT_AUTHOR_EMAIL": "realprs@example.invalid",
    "GIT_COMMITTER_NAME": "realprs",
    "GIT_COMMITTER_EMAIL": "realprs@example.invalid",
}


class ReplayError(Exception):
    """The case could not be set up (a git step failed, its mirror is missing, its repository
    does not fit cases.toml); the message says which."""


def git_bytes(
    repo: Path | None,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout_s: float = jobs_git.DEFAULT_TIMEOUT_S,
) -> bytes:
    """Run git in ``repo``; its stdout as bytes (a binary-safe patch)."""
    try:
        done = jobs_git.run(repo, *args, env={**GIT_IDENTITY, **(env or {})}, timeout_s=timeout_s)
    except jobs_git.GitError as exc:
        last = (exc.stderr.splitlines() or ["(no output on stderr)"])[-1]
        raise ReplayError(f"git {' '.join(args[:3])}: {last}") from None
    return done.stdout


def git(
    repo: Path | None,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout_s: float = jobs_git.DEFAULT_TIMEOUT_S,
) -> str:
    """Run git in ``repo``; its stdout as text."""
    return git_bytes(repo, *args, env=env, timeout_s=timeout_s).decode("utf-8", errors="replace")
