"""Where a part clones a PR, cloning it and pushing to it with an installation token, through
the one hardened git runner (`jobs.git`: the token never touches disk or argv)."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.event_plan import PullRequestRef
from core.part_registry import PartName
from core.settings import Settings
from jobs.git import GitError
from jobs.git import run_async as git

BOT_NAME = "tandem[bot]"
BOT_EMAIL = "tandem-bot@users.noreply.github.com"


def checkout_dir(settings: Settings, key: str, part: PartName) -> Path:
    """The folder of `part` of run `key`: ``<data dir>/work/<run digest>-<part>``. Each part has
    its own, side by side, and no folder holds both: the parts of a run start, work and finish
    independently, so whatever one removes must never be something the other still uses."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return settings.data_dir.resolve() / "work" / f"{digest}-{part}"


@contextlib.contextmanager
def part_checkout(settings: Settings, key: str, part: PartName) -> Iterator[Path]:
    """`part`'s own folder for the block (see `checkout_dir`), removed afterwards: only this
    folder, never anything beside it. A leftover of an earlier try of the same part (its worker
    died) is removed first."""
    checkout = checkout_dir(settings, key, part)
    shutil.rmtree(checkout, ignore_errors=True)
    try:
        yield checkout
    finally:
        shutil.rmtree(checkout, ignore_errors=True)


async def clone_pull_request(
    pr: PullRequestRef, token: str, into: Path, *, timeout_s: float = 300
) -> None:
    """Check out the PR head with the base commit present, so base...head can be diffed."""
    await git(None, "init", "-q", str(into), timeout_s=timeout_s)
    await git(
        into,
        "fetch",
        "-q",
        "--no-tags",
        pr.clone_url,
        f"+refs/heads/{pr.base_ref}:refs/remotes/base/{pr.base_ref}",
        token=token,
        timeout_s=timeout_s,
    )
    await git(
        into,
        "fetch",
        "-q",
        "--no-tags",
        pr.head_clone_url,
        f"+refs/heads/{pr.head_ref}:refs/remotes/head/{pr.head_ref}",
        token=token,
        timeout_s=timeout_s,
    )
    for sha, what in ((pr.base_sha, "base"), (pr.head_sha, "head")):
        try:
            await git(into, "cat-file", "-e", f"{sha}^{{commit}}")
        except GitError as exc:
            message = (
                f"the PR's {what} commit {sha[:12]} is no longer on its branch (force-pushed?)"
            )
            raise GitError(exc.git_args, exc.returncode, exc.stderr, message=message) from None
    await git(into, "-c", "advice.detachedHead=false", "checkout", "-q", pr.head_sha)


@dataclass(frozen=True)
class Remote:
    """Where a push goes: the URL, the token it authenticates with, and its time limit."""

    url: str
    token: str
    timeout_s: float = 300


async def commit_and_push(
    repo: Path,
    *,
    files: list[str],
    branch: str,
    start_sha: str,
    message: str,
    remote: Remote,
    force: bool = True,
) -> str:
    """Commit `files` on a branch starting at `start_sha` and force-push it. Returns the sha."""
    await git(repo, "checkout", "-q", "-B", branch, start_sha)
    await git(repo, "add", "--", *files)
    await git(
        repo,
        "-c",
        f"user.name={BOT_NAME}",
        "-c",
        f"user.email={BOT_EMAIL}",
        "commit",
        "-q",
        "--no-verify",
        "-m",
        message,
    )
    sha = (await git(repo, "rev-parse", "HEAD")).strip()
    await git(
        repo,
        "push",
        "-q",
        *(["--force"] if force else []),
        remote.url,
        f"HEAD:refs/heads/{branch}",
        token=remote.token,
        timeout_s=remote.timeout_s,
    )
    return sha
