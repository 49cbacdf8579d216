"""The optional LLM pass of the refactoring review (``refactoring_review.llm.enabled``).

The worst-scoring functions the PR touched (see :class:`jobs.review.rules.TouchedFunction`)
are sent, one request each, to the configured LLM through the OpenHands SDK's ``LLM``. The
model is asked for JSON only::

    {"suggestions": [{"path": "...", "line": 12, "end_line": 14,
                      "message": "one line", "suggested_code": "optional replacement"}]}

The answer is untrusted text. It is parsed leniently (a ```json fence is fine) and each item
is validated on its own against :class:`SuggestionItem`; an item that does not fit the schema
is dropped, and so is one whose lines are not lines the PR added or changed ("off-diff").
An item with ``suggested_code`` whose whole range is changed lines is a *clean replacement*:
it becomes a GitHub suggested change (posted by :mod:`jobs.review.review_job`). The others become
annotations.

Budgets: at most ``max_functions`` requests, and no new request once the LLM spend (as the
SDK's metrics count it) has reached ``max_cost_usd``. Each answer is capped in tokens. The
call blocks; run it in a thread. It never raises for what the LLM does: outages, garbage and
timeouts end the pass with a one-line reason, and name the failure in a few words
(``LlmPass.failure``), which the review's headline carries.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.redaction import one_line
from jobs.agent import LLMSettings, build_llm
from jobs.agent.outcome import llm_failure
from jobs.review.rules import Finding, Level, TouchedFunction

__all__ = [
    "CodeSuggestion",
    "LlmPass",
    "SuggestionItem",
    "build_prompt",
    "markers_in",
    "parse_suggestions",
    "run_llm_pass",
    "suggestion_marker",
]

MAX_OUTPUT_TOKENS = 1_500
MAX_FUNCTION_LINES = 400  # longer functions are cut in the prompt
_USAGE_ID = "tandem-review"
_MARKER_RE = re.compile(r"<!-- tandem-suggestion:([0-9a-f]{16}) -->")

SYSTEM_PROMPT = """\
You review one function that a pull request changed, for refactoring opportunities only:
duplication, functions that do too much, deep nesting, long parameter lists, unclear names.
Do not comment on style that a formatter handles, and do not invent problems.

Answer with one JSON object and nothing else, in this shape:
{"suggestions": [{"path": str, "line": int, "end_line": int or null,
                  "message": str, "suggested_code": str or null}]}

- path: the file path exactly as given.
- line, end_line: the range your suggestion is about, as numbered below. Only lines marked
  with "+" were changed by the pull request; only those may be commented on.
- message: one sentence, at most 200 characters, saying what to change and why.
- suggested_code: optional. The complete replacement text for lines line..end_line (all of
  them changed lines), with the file's indentation, no line numbers and no markdown fences.
  Leave it null unless the replacement is small, complete and correct.

At most 3 suggestions. If nothing is worth saying, answer {"suggestions": []}.
"""


class SuggestionItem(BaseModel):
    """One suggestion as the model must give it."""

    model_config = ConfigDict(extra="ignore", strict=True)

    path: str = Field(min_length=1, max_length=1_000)
    line: int = Field(ge=1)
    end_line: int | None = Field(default=None, ge=1)
    message: str = Field(min_length=1, max_length=500)
    suggested_code: str | None = Field(default=None, max_length=20_000)

    @field_validator("message")
    @classmethod
    def _one_line(cls, value: str) -> str:
        text = " ".join(value.split())
        if not text:
            raise ValueError("empty message")
        return text

    @property
    def last_line(self) -> int:
        return self.end_line if self.end_line is not None else self.line


@dataclass(frozen=True)
class CodeSuggestion:
    """A clean replacement of changed lines: one GitHub suggested change."""

    path: str
    start_line: int
    end_line: int
    message: str
    code: str
    original: str  # the head lines being replaced, for the dedup marker

    @property
    def marker(self) -> str:
        return suggestion_marker(self.path, self.original, self.code)

    def comment(self) -> dict[str, Any]:
        """The ``comments[]`` entry of a pull-request review (POST .../reviews)."""
        fence = "```"
        while fence in self.code:
            fence += "`"
        body = (
            f"**Tandem refactoring suggestion:** {self.message}\n\n"
            f"{fence}suggestion\n{self.code.rstrip(chr(10))}\n{fence}\n\n"
            f"<!-- tandem-suggestion:{self.marker} -->"
        )
        entry: dict[str, Any] = {"path": self.path, "line": self.end_line, "side": "RIGHT"}
        if self.start_line < self.end_line:
            entry["start_line"] = self.start_line
            entry["start_side"] = "RIGHT"
        entry["body"] = body
        return entry


def suggestion_marker(path: str, original: str, code: str) -> str:
    """Stable id of a suggestion across reruns: same file, same lines replaced, same code."""
    text = "\0".join((path, original.strip(), code.strip()))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def markers_in(text: str) -> set[str]:
    return set(_MARKER_RE.findall(text or ""))


@dataclass
class LlmPass:
    """What the LLM pass produced, and how it went (for the summary)."""

    findings: list[Finding] = field(default_factory=list)
    suggestions: list[CodeSuggestion] = field(default_factory=list)
    functions_sent: int = 0
    functions_skipped: int = 0  # not sent: max_functions or the cost budget
    invalid: int = 0  # items or answers that did not fit the schema
    off_diff: int = 0  # items about lines the PR did not change
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stopped: str = ""  # why the pass stopped early, one line
    # The LLM failed (outage, rejected key, unknown model ...), in a few words for a headline;
    # None when it answered (a spent budget is not a failure).
    failure: str | None = None


def build_prompt(fn: TouchedFunction, head_lines: list[str]) -> str:
    """The user message for one function: its head text, numbered, changed lines marked."""
    changed = set(fn.changed)
    last = min(fn.end_line, fn.start_line + MAX_FUNCTION_LINES - 1, len(head_lines))
    body = "\n".join(
        f"{'+' if n in changed else ' '} {n:>5} | {head_lines[n - 1]}"
        for n in range(fn.start_line, last + 1)
    )
    cut = "" if last >= fn.end_line else f"\n(... cut at line {last} of {fn.end_line})"
    return (
        f"File: {fn.path}\nFunction: {fn.name} (lines {fn.start_line}-{fn.end_line})\n\n"
        f"{body}{cut}\n"
    )


def _json_text(answer: str) -> str:
    text = answer.strip()
    fenced = re.search(r"```(?:json)?\s*\n(.*?)\n?```", text, re.DOTALL)
    if fenced:
        return fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text


def parse_suggestions(answer: str) -> tuple[list[SuggestionItem], int]:
    """Valid items of one answer, and how many were invalid (a broken answer counts one)."""
    try:
        data = json.loads(_json_text(answer))
    except ValueError:
        return [], 1
    raw = data.get("suggestions") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return [], 1
    items: list[SuggestionItem] = []
    invalid = 0
    for entry in raw:
        try:
            items.append(SuggestionItem.model_validate(entry))
        except ValidationError:
            invalid += 1
    return items, invalid


def _answer_text(response: Any) -> str:
    parts = getattr(response.message, "content", None) or []
    return "".join(str(getattr(p, "text", "")) for p in parts)


def run_llm_pass(
    functions: list[TouchedFunction],
    sources: dict[str, str],
    changed: dict[str, set[int]],
    settings: LLMSettings,
    *,
    max_functions: int,
    max_cost_usd: float,
    level: Level = "notice",
) -> LlmPass:
    """Ask the LLM about the worst ``max_functions`` of ``functions``.

    ``sources`` maps paths to head text, ``changed`` to the lines the PR added or modified.
    """
    result = LlmPass()
    ranked = sorted(
        (f for f in functions if f.changed and f.path in sources),
        key=lambda f: (-f.score, f.path, f.start_line),
    )
    chosen = ranked[:max_functions]
    result.functions_skipped = len(ranked) - len(chosen)
    if not chosen:
        return result
    from openhands.sdk import Message, TextContent

    try:
        llm = build_llm(
            settings,
            usage_id=_USAGE_ID,
            num_retries=1,
            retry_max_wait=2,
            max_output_tokens=MAX_OUTPUT_TOKENS,
        )
    except Exception as exc:  # e.g. a model string the SDK rejects
        result.stopped = one_line(f"invalid LLM settings: {exc}", [settings.api_key])
        result.failure = "LLM settings invalid"
        result.functions_skipped += len(chosen)
        return result
    seen: set[tuple[str, int, int, str]] = set()
    for index, fn in enumerate(chosen):
        if result.cost_usd >= max_cost_usd:
            result.functions_skipped += len(chosen) - index
            result.stopped = f"the LLM budget of ${max_cost_usd:g} was reached"
            break
        head_lines = sources[fn.path].splitlines()
        messages = [
            Message(role="system", content=[TextContent(text=SYSTEM_PROMPT)]),
            Message(role="user", content=[TextContent(text=build_prompt(fn, head_lines))]),
        ]
        try:
            response = llm.completion(messages)
        except Exception as exc:  # outage, 5xx, garbage body, timeout
            result.functions_skipped += len(chosen) - index
            result.failure = llm_failure(exc)
            result.stopped = one_line(
                f"{result.failure}: {type(exc).__name__}: {exc}", [settings.api_key]
            )
            break
        result.functions_sent += 1
        metrics = llm.metrics
        result.cost_usd = float(metrics.accumulated_cost or 0.0)
        usage = metrics.accumulated_token_usage
        if usage is not None:
            result.prompt_tokens = int(usage.prompt_tokens or 0)
            result.completion_tokens = int(usage.completion_tokens or 0)
        items, invalid = parse_suggestions(_answer_text(response))
        result.invalid += invalid
        for item in items:
            key = (item.path, item.line, item.last_line, item.message)
            if key in seen:
                continue
            seen.add(key)
            _place(item, fn, head_lines, changed.get(fn.path, set()), level, result)
    return result


def _place(
    item: SuggestionItem,
    fn: TouchedFunction,
    head_lines: list[str],
    changed: set[int],
    level: Level,
    result: LlmPass,
) -> None:
    """Keep an item as an annotation (and a suggested change when it is a clean one)."""
    span = range(item.line, item.last_line + 1)
    if (
        item.path != fn.path
        or item.last_line < item.line
        or item.last_line > len(head_lines)
        or not (fn.start_line <= item.line and item.last_line <= fn.end_line)
        or item.line not in changed
    ):
        result.off_diff += 1
        return
    clean = item.suggested_code is not None and all(n in changed for n in span)
    if clean and item.suggested_code is not None:
        original = "\n".join(head_lines[item.line - 1 : item.last_line])
        if item.suggested_code.strip() != original.strip():
            result.suggestions.append(
                CodeSuggestion(
                    path=item.path,
                    start_line=item.line,
                    end_line=item.last_line,
                    message=item.message,
                    code=item.suggested_code,
                    original=original,
                )
            )
    where = f"{item.line}" if item.line == item.last_line else f"{item.line}-{item.last_line}"
    result.findings.append(
        Finding(
            path=item.path,
            start_line=item.line,
            end_line=item.last_line,
            level=level,
            kind="llm",
            title=f"Refactoring suggestion for {fn.name}",
            message=item.message,
            raw_details=(
                f"LLM suggestion for {fn.name}, lines {where}"
                + (" (posted as a suggested change)" if clean else "")
            ),
            function=fn.name,
            before=None,
            after=None,
        )
    )
