"""The one way Tandem runs git, for the worker, the review, local mode and the demo.

Git runs on checkouts whose files sandboxed code could write, and on repositories a PR
controls, so every invocation is hardened the same way:

- settings that make git run commands (fsmonitor, hooks, the `ext::` transport) are switched
  off on the command line, which outranks any config file (the sandbox also mounts `.git`
  read-only, which covers filters and includes);
- output is stable to parse: unquoted paths, default diff prefixes, C locale;
- git never prompts, and it inherits only PATH and HOME, so no variable points it at another
  repository or index (as when Tandem itself runs inside a git hook) and the process's secrets
  stay out of its environment;
- an installation token travels only in `GIT_CONFIG_*` variables as an `http.extraHeader`: not
  in argv (`ps`), not in a remote URL and not in `.git/config` (which the agent can read); it
  is masked in every error message.

`run` and `output` are blocking (for code that runs in a thread), `run_async` is for the event
loop, `stream` is a long-lived process such as `cat-file --batch`.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from core.redaction import redact

DEFAULT_TIMEOUT_S = 300.0

HARDENED = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "core.quotepath=off",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.relative=false",
)


class GitError(RuntimeError):
    """A git command failed or timed out. The message names the command and git's error, with
    any token masked."""

    def __init__(
        self, args: Sequence[str], returncode: int, stderr: str, *, message: str | None = None
    ) -> None:
        self.git_args = list(args)
        self.returncode = returncode
        self.stderr = stderr.strip()
        if message is None:
            detail = self.stderr or "(no output on stderr)"
            message = f"git {' '.join(self.git_args)} failed with exit code {returncode}: {detail}"
        super().__init__(message)


def environment(token: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment git runs in. Only PATH and HOME come from the process (whose
    environment holds Tandem's own secrets), then no prompting, a C locale and, with `token`,
    the authorization header."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "true",
            "GIT_OPTIONAL_LOCKS": "0",
            "LC_ALL": "C",
            "LANGUAGE": "C",
        }
    )
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        )
    env.update(extra or {})
    return env


def command(repo: Path | None, args: Sequence[str]) -> list[str]:
    return ["git", *HARDENED, *(["-C", str(repo)] if repo else []), *args]


def run(
    repo: Path | None,
    *args: str,
    stdin: bytes | None = None,
    ok_codes: tuple[int, ...] = (0,),
    timeout_s: float = DEFAULT_TIMEOUT_S,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run git and wait; raises GitError unless it exits with one of `ok_codes`."""
    try:
        proc = subprocess.run(
            command(repo, args),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            env=environment(token, env),
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError as exc:  # git missing, or the directory is
        raise GitError(args, -1, str(exc)) from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(args, -1, f"timed out after {timeout_s:g}s") from exc
    if proc.returncode not in ok_codes:
        stderr = redact(proc.stderr.decode("utf-8", errors="replace"), token)
        raise GitError(args, proc.returncode, stderr)
    return proc


def output(repo: Path | None, *args: str, **kwargs: object) -> str:
    """git's standard output as text, stripped."""
    proc = run(repo, *args, **kwargs)  # type: ignore[arg-type]
    return proc.stdout.decode("utf-8", errors="replace").strip()


async def run_async(
    repo: Path | None,
    *args: str,
    token: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run git on the event loop; its standard output. A failure is one line: the last line
    git wrote to stderr (the decisive one), masked."""
    process = await asyncio.create_subprocess_exec(
        *command(repo, args),
        env=environment(token, env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        message = f"git {args[0]} timed out after {timeout_s:.0f} s"
        raise GitError(args, -1, "", message=message) from None
    except asyncio.CancelledError:  # a superseded run: leave no git process behind
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        text = redact(stderr.decode("utf-8", errors="replace"), token)
        lines = text.strip().splitlines()
        detail = lines[-1] if lines else f"exit {process.returncode}"
        raise GitError(
            args, process.returncode or -1, text, message=f"git {args[0]} failed: {detail}"
        )
    return stdout.decode("utf-8", errors="replace")


def stream(
    repo: Path, *args: str, stdin: bool = False, stderr: int | IO[bytes] = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """A git process whose standard output is read as it comes (a large diff, `cat-file
    --batch` with `stdin`); the caller reads, closes and waits for it."""
    try:
        return subprocess.Popen(
            command(repo, args),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=environment(),
        )
    except FileNotFoundError as exc:
        raise GitError(args, -1, str(exc)) from exc
