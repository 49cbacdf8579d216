"""The ``local`` sandbox: commands as plain subprocesses of the worker, for development.

:class:`LocalSandbox` runs each command in the checkout with a scrubbed environment
(:func:`scrubbed_env`: a few harmless variables, no tokens, keys or ``TANDEM_*``), an empty
``HOME`` of its own and a wall-time limit; a command past it is killed with its whole process
group (:func:`kill_group`). That is NOT isolation: the commands run as the worker's user, with
its file system and network. Use it on a trusted machine only; production uses
:mod:`jobs.sandbox.docker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox, tail

SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "TERM")


def scrubbed_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Only harmless variables reach untrusted code: no tokens, keys or TANDEM_* settings."""
    env = {name: os.environ[name] for name in SAFE_ENV if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra or {})
    return env


class LocalSandbox:
    """Runs commands as plain subprocesses. The python that runs tests is this process's own,
    so pytest and coverage are available without installing anything into the checkout."""

    kind = "local"
    python = sys.executable

    def __init__(self) -> None:
        self._home = tempfile.mkdtemp(prefix="tandem-home-")
        self._path_first: str | None = None

    def use_python(self, python: str) -> None:
        self.python = python
        self._path_first = str(PurePosixPath(python).parent)

    @contextlib.asynccontextmanager
    async def networked(self, network: str) -> AsyncIterator[Sandbox]:
        """Subprocesses here have this machine's network already."""
        yield self

    def _env(self) -> dict[str, str]:
        env = scrubbed_env({"HOME": self._home})
        if self._path_first:
            env["PATH"] = f"{self._path_first}:{env['PATH']}"
        return env

    async def run(self, args: list[str], *, cwd: Path, timeout_s: float) -> CommandResult:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            env=self._env(),
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

    async def close(self) -> None:
        shutil.rmtree(self._home, ignore_errors=True)

    async def terminal_command(self, workdir: Path) -> list[str] | None:
        """The agent's terminal runs on this machine (not isolated). None: the SDK's own tmux
        terminal. Once the PR's dependencies are installed, a bash with this sandbox's
        environment instead, so `python` and `pytest` there are the environment's, as in the
        validation runs."""
        if self._path_first is None:
            return None
        env = [f"{name}={value}" for name, value in self._env().items()]
        return ["env", "-i", *env, "TERM=xterm", "bash", "--noprofile", "--norc"]


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
