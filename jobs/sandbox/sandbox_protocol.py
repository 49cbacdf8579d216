"""What every sandbox shares: the :class:`Sandbox` interface, a command's
:class:`CommandResult`, the :class:`SandboxUnavailable` error and the bound on kept output.

A command's output is kept as its last :data:`OUTPUT_LIMIT` characters (:func:`tail`), so a
flood of output cannot fill the worker's memory or a check run. When a command fails, the line
a person needs is rarely its last one (pip ends with "note: This error originates from a
subprocess…", a crash with log lines): :func:`decisive_line` finds the error itself.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.settings import SettingsError

OUTPUT_LIMIT = 20_000


class SandboxUnavailable(SettingsError):
    """The configured sandbox cannot work here; the message is one line saying why."""


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    output: str
    duration_s: float
    timed_out: bool


class Sandbox(Protocol):
    """Where one part runs untrusted commands (see :mod:`jobs.sandbox`)."""

    kind: str
    python: str

    async def run(self, args: list[str], *, cwd: Path, timeout_s: float) -> CommandResult: ...

    async def close(self) -> None: ...

    async def terminal_command(self, workdir: Path) -> list[str] | None: ...

    def use_python(self, python: str) -> None: ...

    def networked(self, network: str) -> contextlib.AbstractAsyncContextManager[Sandbox]: ...


def tail(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The last ``limit`` characters of ``text``, led by "…" when some were cut."""
    return text if len(text) <= limit else "…" + text[-limit:]


# The last line that states an error: pip's "ERROR: …" (also indented, from a build
# subprocess), a traceback's final "SomeError: …" or "pkg.mod.BackendUnavailable: …", pytest's
# "E   SomeError", Node's bare "Error: …" (its stack follows).
_ERROR_LINE = re.compile(
    r"^(?:ERROR:|E\s+[\w.]*(?:Error|Exception)\b"
    r"|(?:[A-Za-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception)\b|Error: \S"
    r"|(?:[a-z_]\w*\.)+[A-Z]\w*: \S)"
)
# Lines that frame an error without saying it: pip's closing notes and boxes, its bare
# "ERROR: Exception:" before a traceback.
_FRAMING_LINE = re.compile(
    r"^(?:note:|hint:|error: subprocess-exited-with-error$|[│╰]|\[end of output\]$"
    r"|ERROR: Exception:$)"
)
# pip's summing-up after a build subprocess failed ("ERROR: Failed to build 'file:///…' when
# getting requirements to build editable", and in its log the same as its own exceptions): an
# error, but it names only the step, so the build's own error line above it says more.
_SUMMING_UP = re.compile(
    r"^(?:ERROR: (?:Failed to build\b|Failed building (?:editable|wheel)\b"
    r"|Could not build wheels\b|failed-wheel-build-for-install\b|[\w ]+ exited with \d+$"
    r"|metadata generation failed$)"
    # pip's own exceptions around a failed build, in its log
    r"|pip\._internal\.exceptions\.[\w.]+: |pip\._vendor\.resolvelib\.[\w.]+: )"
)


def last_line(text: str, limit: int = 200) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else "no output"


def sums_up(line: str) -> bool:
    """Whether ``line`` is pip's summing-up of a failed build, which names only the step."""
    return bool(_SUMMING_UP.match(line.strip()))


def decisive_line(output: str, limit: int = 300) -> str:
    """The line of a failed command's output that says what went wrong: the last line that
    states an error, else the last line that is not pip's framing of one."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    saying = [line for line in lines if not _FRAMING_LINE.match(line)] or lines
    errors = [line for line in saying if _ERROR_LINE.match(line)]
    telling = [line for line in errors if not _SUMMING_UP.match(line)] or errors
    if telling:
        return telling[-1][:limit]
    return saying[-1][:limit] if saying else "no output"
