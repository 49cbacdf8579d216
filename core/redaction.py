"""Keeping secrets out of text that users or logs will see: the one redaction helper.

Text that leaves a process (a check-run message, a comment, a log line, an error reason) may
carry the private key, an installation token, the webhook secret or the LLM key, quoted back by
a library's error message. Known secrets are masked whole. A secret long enough to be a real
credential (`SECRET_SIZED` characters or more) is masked wherever it occurs; a shorter value
(a test's "x", a placeholder) only where it stands as a word of its own, so that masking a
one-letter key does not turn "OpenAIException" into "OpenAIE***ception". Credentials that
Tandem does not know by value but recognises by shape (URL user:password, `sk-…`, `ghs_…`,
`Bearer …`) are masked too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

MASK = "***"
SECRET_SIZED = 16
REASON_MAX = 300

_URL_CREDENTIALS = re.compile(r"(\w+://)[^/\s:@]+:[^/\s@]+@")
_KEYISH = re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|Bearer\s+\S+)")
_WORD = r"[A-Za-z0-9_]"
# Literals without which the shape patterns cannot match: checking them first (a fast scan in
# C) spares the regular expressions on almost every log line, where they cost more than the
# rest of the line's logging together (issue 17).
_URL_MARK = "://"
_KEYISH_MARKS = ("sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "Bearer")


@functools.lru_cache(maxsize=64)
def _standalone(secret: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!{_WORD}){re.escape(secret)}(?!{_WORD})")


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every known secret masked (see the module docstring for the rule)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= SECRET_SIZED:
            text = text.replace(secret, MASK)
        elif secret in text:  # a scan in C first: most lines hold no secret (issue 17)
            text = _standalone(secret).sub(MASK, text)
    return text


def redact_credentials(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`redact`, plus credentials recognised by their shape."""
    text = redact(text, *secrets)
    if _URL_MARK in text:
        text = _URL_CREDENTIALS.sub(rf"\1{MASK}@", text)
    if any(mark in text for mark in _KEYISH_MARKS):
        text = _KEYISH.sub(MASK, text)
    return text


def one_line(text: str, secrets: Iterable[str | None] = (), limit: int = REASON_MAX) -> str:
    """A redacted reason on one line of at most `limit` characters (check runs, comments)."""
    text = " ".join(redact_credentials(text, secrets).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
