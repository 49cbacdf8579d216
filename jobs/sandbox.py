"""Where untrusted code (the PR's code and the tests written for it) runs.

`local` runs it as a subprocess in the checkout with a scrubbed environment and a wall-time
limit. That is NOT isolation: it is for development on a trusted machine. The Docker sandbox
(TANDEM_SANDBOX=docker) is not built yet and says so when asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

OUTPUT_LIMIT = 20_000
SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "TERM")


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    output: str
    duration_s: float
    timed_out: bool


def scrubbed_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Only harmless variables reach untrusted code: no tokens, keys or TANDEM_* settings."""
    env = {name: os.environ[name] for name in SAFE_ENV if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra or {})
    return env


def tail(text: str, limit: int = OUTPUT_LIMIT) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


class LocalSandbox:
    """Runs commands as plain subprocesses. The python that runs tests is this process's own,
    so pytest and coverage are available without installing anything into the checkout."""

    python = sys.executable

    def __init__(self) -> None:
        self._home = tempfile.mkdtemp(prefix="tandem-home-")

    async def run(self, args: list[str], *, cwd: Path, timeout_s: float) -> CommandResult:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            env=scrubbed_env({"HOME": self._home}),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout kills everything
        )
        timed_out = False
        try:
            stdout, _ = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            timed_out = True
            kill_group(process.pid)
            stdout, _ = await process.communicate()
        except asyncio.CancelledError:
            kill_group(process.pid)
            raise
        return CommandResult(
            returncode=process.returncode if process.returncode is not None else -9,
            output=tail(stdout.decode("utf-8", errors="replace")),
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
        )


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def open_sandbox(kind: str) -> LocalSandbox:
    if kind == "local":
        return LocalSandbox()
    raise SandboxUnavailable(
        f"TANDEM_SANDBOX={kind} is not built yet; use TANDEM_SANDBOX=local for development"
    )
