"""The LLM an agent run talks to: Tandem's settings for it and the OpenHands SDK ``LLM`` built
from them.

:class:`LLMSettings` is what a part knows about its model (litellm model string, server, key,
timeout, prices); :func:`llm_settings_for` picks it for a repository from the app's settings
and ``test_generation``; :func:`build_llm` turns it into the SDK's ``LLM`` for an
OpenAI-compatible server. litellm's retries are kept low (``_LLM_RETRIES`` with short waits), so
an LLM that always answers 500 ends a run in ``"llm_error"`` within seconds instead of minutes.
The review's LLM pass builds its LLM here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from core.repo_config import TestGeneration
from core.settings import Settings

# litellm retries per LLM call (after the first attempt) and their backoff, in seconds.
_LLM_RETRIES = 2
_LLM_RETRY_MIN_WAIT = 1
_LLM_RETRY_MAX_WAIT = 4

_USAGE_ID = "tandem-agent"


@dataclass(frozen=True)
class LLMSettings:
    model: str  # any litellm model string, e.g. "openai/gpt-4o-mini"
    base_url: str | None
    api_key: str | None  # never logged
    timeout_s: float = 120.0
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        key = "None" if self.api_key is None else "'***'"
        return (
            f"LLMSettings(model={self.model!r}, base_url={self.base_url!r}, api_key={key}, "
            f"timeout_s={self.timeout_s!r})"
        )


def build_llm(
    settings: LLMSettings,
    *,
    usage_id: str = _USAGE_ID,
    num_retries: int = _LLM_RETRIES,
    retry_max_wait: int = _LLM_RETRY_MAX_WAIT,
    max_output_tokens: int | None = None,
) -> Any:
    """The SDK LLM for an OpenAI-compatible server (`api_mode="chat"`). The review's LLM pass
    uses it too, with its own usage id, fewer retries and an answer-length cap."""
    from openhands.sdk import LLM

    return LLM(
        model=settings.model,
        base_url=settings.base_url,
        api_key=SecretStr(settings.api_key) if settings.api_key else None,
        api_mode="chat",
        usage_id=usage_id,
        timeout=max(1, math.ceil(settings.timeout_s)),
        num_retries=num_retries,
        retry_min_wait=_LLM_RETRY_MIN_WAIT,
        retry_max_wait=retry_max_wait,
        retry_multiplier=1.0,
        input_cost_per_token=settings.input_cost_per_token,
        output_cost_per_token=settings.output_cost_per_token,
        max_output_tokens=max_output_tokens,
        log_completions=False,
        stream=False,
    )


def llm_settings_for(settings: Settings, tg: TestGeneration) -> LLMSettings | None:
    """The LLM a repository gets: its `test_generation.model` or the app's, priced by
    `test_generation.model_price`. None when neither names a model."""
    model = tg.model or settings.llm_model
    if model is None:
        return None
    price = tg.model_price
    return LLMSettings(
        model=model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_s=settings.llm_timeout_s,
        input_cost_per_token=(
            None if price.input_per_million_tokens is None else price.input_per_million_tokens / 1e6
        ),
        output_cost_per_token=(
            None
            if price.output_per_million_tokens is None
            else price.output_per_million_tokens / 1e6
        ),
    )
