"""Logging for operators: plain text or one JSON object a line (``TANDEM_LOG_FORMAT=json``), with
what a line concerns attached to it and secrets masked.

**Context.** :func:`bind` puts fields in a context variable for the current task: the web app
binds the delivery id, the worker binds each job's id and what it names (run key, repository,
pull request, head sha, part; :func:`job_fields` reads them off the job id, which carries the
run key). :class:`ContextFilter` copies them onto every record logged in that task, arq's own
lines included, so a JSON line reads ``{"delivery": ..., "run_key": ..., "part": ...}``.

**Secrets.** :class:`RedactingFilter` masks the configured secrets (``core.redaction``: a
secret-sized value wherever it stands, a short one only as a whole word, so an LLM key of "x"
leaves "OpenAIException" alone) and credential-shaped strings in the message and in a
traceback, before any handler formats the record.

The JSON formatter is python-json-logger's.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from core.redaction import redact_credentials

FIELDS = ("delivery", "event", "job", "run_key", "repo", "pr", "head_sha", "part")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "tandem"
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "tandem_log_context", default=None
)
# "<function>:<owner>/<name>#<number>@<sha>[:<request>]", as jobs.runs and the web app name jobs.
_JOB_ID = re.compile(
    r"^(?P<function>[a-z_]+):(?P<run_key>(?P<repo>[^\s#@/]+/[^\s#@/]+)#(?P<pr>\d+)"
    r"@(?P<head_sha>[0-9a-f]{40}))"
)


@contextlib.contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Attach `fields` to every record logged in this block (and the tasks it starts)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def bind_for_task(**fields: Any) -> None:
    """Attach `fields` for the rest of the current task (its context is its own)."""
    _context.set({**(_context.get() or {}), **fields})


def job_fields(job_id: str, parts: Iterable[str]) -> dict[str, Any]:
    """What a job id says: always the job, and the run key, repository, PR, head sha and (for
    a part's job) the part, when the id carries them."""
    fields: dict[str, Any] = {"job": job_id}
    found = _JOB_ID.match(job_id)
    if found is not None:
        fields.update(
            run_key=found["run_key"],
            repo=found["repo"],
            pr=int(found["pr"]),
            head_sha=found["head_sha"],
        )
        if found["function"] in set(parts):
            fields["part"] = found["function"]
    return fields


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if name in FIELDS and not hasattr(record, name):
                setattr(record, name, value)
        return True


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: log it as is
            message = str(record.msg)
        record.msg, record.args = redact_credentials(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_credentials(record.exc_text, self.secrets)
            # Formatters would render the traceback afresh from exc_info, secrets and all;
            # without it they use the masked text.
            record.exc_info = None
        return True


class TextFormatter(logging.Formatter):
    """The classic line, with the run key and part (or the delivery) at its end."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        shown = [
            f"{name}={getattr(record, name)}"
            for name in ("delivery", "run_key", "part")
            if getattr(record, name, None) is not None
        ]
        return f"{text} [{' '.join(shown)}]" if shown else text


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged, not when the handler was
    made (a redirected or replaced stderr keeps working)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    if kind == "text":
        return TextFormatter(TEXT_FORMAT)
    raise ValueError(f"TANDEM_LOG_FORMAT must be text or json, not {kind!r}")


def configure(level: str, kind: str = "text", secrets: Iterable[str | None] = ()) -> None:
    """Tandem's one handler on the root logger, replacing an earlier one of its own (`tandem`
    calls this again once the settings, and so the secrets, are known)."""
    handler = StderrHandler()
    handler.setFormatter(formatter(kind))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secrets))
    handler.set_name(HANDLER_NAME)
    remove()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # Neither format shows a record's thread or process, which every record
    # would otherwise look up: the web tier logs a line per delivery (issue 17).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # Third-party loggers that would echo request details at INFO.
    for noisy in ("LiteLLM", "litellm", "httpx", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def remove() -> None:
    """Take Tandem's handler off the root logger."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
