"""Cloning a PR and pushing to it with an installation token that never touches disk or argv.

The token travels in GIT_CONFIG_* environment variables as an http.extraHeader, so it is not in
the clone's .git/config (which the agent can read), not in the remote URL, and not in `ps`.
"""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

from bot.plan import PullRequestRef

BOT_NAME = "tandem[bot]"
BOT_EMAIL = "tandem-bot@users.noreply.github.com"


class GitFailed(RuntimeError):
    pass


def _auth_env(token: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "true",
        "LANG": "C.UTF-8",
    }
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        )
    return env


# The worker runs git on checkouts whose files sandboxed code could write. Settings that make
# git run commands are switched off on the command line (it outranks any config file); the
# sandbox also mounts .git read-only, which covers filters and includes too.
HARDENED = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "protocol.ext.allow=never",
)


async def git(
    repo: Path | None, *args: str, token: str | None = None, timeout_s: float = 300
) -> str:
    command = ["git", *HARDENED, *(["-C", str(repo)] if repo else []), *args]
    process = await asyncio.create_subprocess_exec(
        *command,
        env=_auth_env(token),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise GitFailed(f"git {args[0]} timed out after {timeout_s:.0f} s") from None
    if process.returncode != 0:
        message = stderr.decode("utf-8", errors="replace").strip().splitlines()
        detail = message[-1] if message else f"exit {process.returncode}"
        if token:
            detail = detail.replace(token, "***")
        raise GitFailed(f"git {args[0]} failed: {detail}")
    return stdout.decode("utf-8", errors="replace")


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
        except GitFailed:
            raise GitFailed(
                f"the PR's {what} commit {sha[:12]} is no longer on its branch (force-pushed?)"
            ) from None
    await git(into, "-c", "advice.detachedHead=false", "checkout", "-q", pr.head_sha)


async def commit_and_push(
    repo: Path,
    *,
    files: list[str],
    branch: str,
    start_sha: str,
    message: str,
    push_url: str,
    token: str,
    timeout_s: float = 300,
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
        push_url,
        f"HEAD:refs/heads/{branch}",
        token=token,
        timeout_s=timeout_s,
    )
    return sha
