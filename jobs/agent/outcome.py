"""How an agent run ended: its :class:`AgentOutcome` and the classification behind it.

After the conversation stops, :func:`classify` turns the SDK's final state (execution status,
the last ``ConversationErrorEvent``, the ``finish`` message) and what the driver saw
(:class:`RunResult`: wall-time interrupt, cancellation, an exception) into one
:data:`Status` and a one-line reason. Exceptions from the LLM stack (litellm, openai, httpx, ...)
are ``"llm_error"``; everything else that went wrong is ``"error"``. The reason is made safe to
show in a check run by ``bot.redaction.one_line``. :func:`usage` reads tokens and cost from the
conversation's combined metrics (agent and condenser).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from jobs.agent.conversation import AgentLimits

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
    return any(
        (type(x).__module__ or "").split(".")[0] in _LLM_EXCEPTION_MODULES
        for x in type(e).__mro__
        if x not in (BaseException, Exception, object)
    )


def _classify_exception(e: BaseException) -> tuple[Status, str]:
    from openhands.sdk.conversation.exceptions import ConversationRunError

    original: BaseException = e
    if isinstance(e, ConversationRunError):
        original = e.original_exception
    if _is_llm_exception(original):
        return "llm_error", f"LLM request failed: {_describe(original)}"
    if isinstance(original, TimeoutError):
        return "llm_error", f"LLM request timed out: {_describe(original)}"
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
