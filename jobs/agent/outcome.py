"""How an agent run ended: its :class:`AgentOutcome` and the classification behind it.

After the conversation stops, :func:`classify` turns the SDK's final state (execution status,
the last ``ConversationErrorEvent``, the ``finish`` message) and what the driver saw
(:class:`RunResult`: wall-time interrupt, cancellation, an exception) into one
:data:`Status` and a one-line reason. Exceptions from the LLM stack (litellm, openai, httpx, ...)
are ``"llm_error"``; everything else that went wrong is ``"error"``. The reason is made safe to
show in a check run by ``core.redaction.one_line``. :func:`llm_failure` names an LLM failure in a
few words for a headline ("LLM key rejected (HTTP 401 from the provider)"), from the exception
litellm raised and its status code, never from the provider's message (which can quote the
key). :func:`usage` reads tokens and cost from the conversation's combined metrics (agent and
condenser).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from jobs.agent.limits import AgentLimits

Status = Literal["finished", "max_iterations", "max_cost", "timeout", "llm_error", "error"]


@dataclass(frozen=True)
class AgentOutcome:
    status: Status
    reason: str  # one human line, safe to show in a check run (no secrets)
    iterations: int
    duration_s: float
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    # With status "llm_error": the failure in a few words, for a headline (see llm_failure).
    llm_failure: str | None = None


@dataclass
class RunResult:
    """What the driver saw while the conversation ran."""

    timed_out: bool = False
    cancelled: bool = False
    exception: BaseException | None = None


def classify(conversation: Any, result: RunResult, limits: AgentLimits) -> tuple[Status, str]:
    """The status and reason of a run that ended (``conversation`` is None if never made)."""
    from openhands.sdk.conversation.state import ConversationExecutionStatus as S

    if result.exception is not None:
        return _classify_exception(result.exception)
    if conversation is None:
        return "error", "the agent conversation could not be created"

    status = conversation.state.execution_status
    error = _last_conversation_error(conversation)
    if status == S.FINISHED:
        return "finished", _finish_message(conversation) or "agent finished"
    if result.cancelled:
        return "error", "agent stopped: the run was cancelled"
    if result.timed_out:
        return "timeout", f"agent stopped after the wall-time limit of {limits.wall_time_s:g}s"
    if status == S.ERROR and error is not None and error.code == "MaxIterationsReached":
        return "max_iterations", f"agent reached the iteration limit ({limits.max_iterations})"
    if status == S.ERROR and error is not None and error.code == "MaxBudgetReached":
        return "max_cost", f"agent reached the cost limit (${limits.max_cost_usd or 0:.4f})"
    if status == S.STUCK:
        return "error", "agent got stuck repeating the same actions"
    if error is not None:
        return "error", f"agent error ({error.code}): {error.detail}"
    return "error", f"agent stopped in state {getattr(status, 'value', status)}"


_LLM_EXCEPTION_MODULES = ("litellm", "openai", "httpx", "httpcore", "aiohttp")


def _is_llm_exception(e: BaseException) -> bool:
    from openhands.sdk.llm.exceptions import LLMError

    if isinstance(e, LLMError):
        return True
    # The classes' own modules: litellm's NotFoundError (a model that does not exist) is not
    # one the SDK maps to an LLMError.
    return any(
        (x.__module__ or "").split(".")[0] in _LLM_EXCEPTION_MODULES
        for x in type(e).__mro__
        if x not in (BaseException, Exception, object)
    )


def _chain(e: BaseException) -> list[BaseException]:
    """``e`` and what it wraps: the SDK's ``original_exception``, then causes and contexts."""
    seen: list[BaseException] = []
    current: BaseException | None = e
    while current is not None and not any(current is s for s in seen) and len(seen) < 20:
        seen.append(current)
        original = getattr(current, "original_exception", None)
        wrapped = original if isinstance(original, BaseException) else None
        current = wrapped or current.__cause__ or current.__context__
    return seen


# What an HTTP status from the provider means, for an operator, in a few words.
_STATUS_MEANING = {
    401: "LLM key rejected",
    403: "LLM access denied",
    404: "LLM model not found",
    429: "LLM rate limit or quota reached",
}


def llm_failure(e: BaseException) -> str:
    """An LLM failure in a few words for a headline, e.g. "LLM unavailable (HTTP 500 from the
    provider)". Only the exception's type and status code are used, never its text: a
    provider's 401 message quotes the key."""
    import httpx
    import openai
    from openhands.sdk.llm.exceptions import (
        LLMAuthenticationError,
        LLMRateLimitError,
        LLMServiceUnavailableError,
        LLMTimeoutError,
    )

    chain = _chain(e)
    # Before status codes: litellm gives an unreadable answer and a connection error the
    # status 500 of its own.
    if any(isinstance(x, (openai.APIResponseValidationError, json.JSONDecodeError)) for x in chain):
        return "LLM unusable (unreadable answer from the provider)"
    if any(isinstance(x, (openai.APITimeoutError, httpx.TimeoutException)) for x in chain):
        return "LLM unavailable (request timed out)"
    if any(
        isinstance(x, (openai.APIConnectionError, httpx.TransportError, ConnectionError))
        for x in chain
    ):
        return "LLM unreachable (no connection to the provider)"
    for x in chain:
        status = getattr(x, "status_code", None)
        if isinstance(status, int) and 400 <= status < 600:
            what = _STATUS_MEANING.get(status) or (
                "LLM unavailable" if status >= 500 else "LLM request rejected"
            )
            return f"{what} (HTTP {status} from the provider)"
    if any(isinstance(x, LLMAuthenticationError) for x in chain):
        return "LLM key rejected"
    if any(isinstance(x, LLMRateLimitError) for x in chain):
        return "LLM rate limit or quota reached"
    if any(isinstance(x, (LLMTimeoutError, TimeoutError)) for x in chain):
        return "LLM unavailable (request timed out)"
    if any(isinstance(x, LLMServiceUnavailableError) for x in chain):
        return "LLM unavailable"
    return f"LLM failed ({type(chain[-1]).__name__})"


def _classify_exception(e: BaseException) -> tuple[Status, str]:
    from openhands.sdk.conversation.exceptions import ConversationRunError

    original: BaseException = e
    if isinstance(e, ConversationRunError):
        original = e.original_exception
    if _is_llm_exception(original) or isinstance(original, TimeoutError):
        return "llm_error", f"{llm_failure(original)}: {_describe(original)}"
    return "error", f"agent failed: {_describe(original)}"


def _describe(e: BaseException) -> str:
    text = str(e).strip() or "no details"
    return f"{type(e).__name__}: {text}"


def _last_conversation_error(conversation: Any) -> Any:
    from openhands.sdk.event.conversation_error import ConversationErrorEvent

    for event in reversed(list(conversation.state.events)):
        if isinstance(event, ConversationErrorEvent):
            return event
    return None


def _finish_message(conversation: Any) -> str | None:
    from openhands.sdk.event import ActionEvent, MessageEvent

    for event in reversed(list(conversation.state.events)):
        if isinstance(event, ActionEvent) and event.tool_name == "finish":
            message = getattr(event.action, "message", None)
            return str(message) if message else None
        if isinstance(event, MessageEvent) and event.source == "agent":
            from openhands.sdk.llm import content_to_str

            return " ".join(content_to_str(event.llm_message.content)) or None
    return None


def usage(conversation: Any) -> tuple[int, int, float]:
    """(prompt tokens, completion tokens, cost in USD) of the run; zeros when unknown."""
    if conversation is None:
        return 0, 0, 0.0
    try:
        metrics = conversation.conversation_stats.get_combined_metrics()
    except Exception:
        return 0, 0, 0.0
    usage = metrics.accumulated_token_usage
    prompt = int(usage.prompt_tokens) if usage is not None else 0
    completion = int(usage.completion_tokens) if usage is not None else 0
    return prompt, completion, float(metrics.accumulated_cost or 0.0)
