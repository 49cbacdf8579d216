"""Which portfolio writes the tests: the config's ``test_generation.engine`` looked up in the
registry (:mod:`.registry`), where ``auto`` means characterization then the OpenHands agent when
an LLM is configured and the offline portfolio (:mod:`.offline`) otherwise."""

from __future__ import annotations

from core.repo_config import TestGeneration
from core.settings import Settings
from jobs.agent import llm_settings_for
from jobs.testgen.engines.registry import PORTFOLIOS, Portfolio


def choose_engine(tg: TestGeneration, settings: Settings) -> tuple[Portfolio | None, str]:
    """The portfolio, or None when the one asked for cannot run, and why, for the report."""
    llm = llm_settings_for(settings, tg)
    model = llm.model if llm is not None else None
    portfolio = PORTFOLIOS[tg.engine]
    if portfolio.agent and model is None:
        if portfolio.fallback is None:
            return None, (
                f"engine {portfolio.name} needs an LLM: set TANDEM_LLM_MODEL (and "
                "TANDEM_LLM_BASE_URL / TANDEM_LLM_API_KEY) or test_generation.model"
            )
        fallback = PORTFOLIOS[portfolio.fallback]
        return fallback, f"{fallback.label} (engine {portfolio.name}, no LLM configured)"
    return portfolio, portfolio.label.format(model=model)
