"""Which portfolio writes the tests: the config's ``test_generation.engine`` looked up in the
registry (:mod:`.registry`), where ``auto`` means characterization then the OpenHands agent when
an LLM is configured and the offline portfolio (:mod:`.offline`) otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.repo_config import TestGeneration
from core.settings import Settings
from jobs.agent import llm_settings_for
from jobs.testgen.engines.registry import PORTFOLIOS, Portfolio

if TYPE_CHECKING:  # types only: the languages' backends import the engines
    from jobs.languages.language_protocol import Language


def choose_engine(
    tg: TestGeneration, settings: Settings, language: Language | None = None
) -> tuple[Portfolio | None, str]:
    """The portfolio, or None when the one asked for cannot run, and why, for the report.
    ``language``: the run's; a portfolio with the agent falls back where the agent does not
    write its tests yet, and the label names the engines that run for it."""
    llm = llm_settings_for(settings, tg)
    model = llm.model if llm is not None else None
    name = language.name if language is not None else "python"
    portfolio = PORTFOLIOS[tg.engine]
    if portfolio.agent and model is None:
        if portfolio.fallback is None:
            return None, (
                f"engine {portfolio.name} needs an LLM: set TANDEM_LLM_MODEL (and "
                "TANDEM_LLM_BASE_URL / TANDEM_LLM_API_KEY) or test_generation.model"
            )
        fallback = PORTFOLIOS[portfolio.fallback]
        return fallback, f"{fallback.label_for(name)} (engine {portfolio.name}, no LLM configured)"
    if portfolio.agent and language is not None and not language.agent:
        why = f"engine {portfolio.name}: the agent writes no {language.label} tests yet"
        if portfolio.fallback is None:
            return None, why
        fallback = PORTFOLIOS[portfolio.fallback]
        return fallback, f"{fallback.label_for(name)} ({why})"
    return portfolio, portfolio.label_for(name).format(model=model)
