"""Which engine writes the tests: the config's ``test_generation.engine``, where ``auto`` means
the OpenHands agent when an LLM is configured (after characterization, which ``produce``
runs first) and the offline portfolio (:mod:`.offline`) otherwise."""

from __future__ import annotations

from typing import Literal

from bot.repo_config import TestGeneration
from bot.settings import Settings
from jobs.agent import llm_settings_for

Engine = Literal["openhands", "offline", "pynguin", "crosshair"]


def choose_engine(tg: TestGeneration, settings: Settings) -> tuple[Engine | None, str]:
    """The engine, or None when the one asked for cannot run, and why, for the report."""
    llm = llm_settings_for(settings, tg)
    model = llm.model if llm is not None else None
    if tg.engine == "openhands":
        if model is None:
            return None, (
                "engine openhands needs an LLM: set TANDEM_LLM_MODEL (and TANDEM_LLM_BASE_URL / "
                "TANDEM_LLM_API_KEY) or test_generation.model"
            )
        return "openhands", f"openhands ({model})"
    if tg.engine == "pynguin":
        return "pynguin", "pynguin (offline)"
    if tg.engine == "crosshair":
        return "crosshair", "crosshair (offline)"
    if tg.engine == "offline":
        return "offline", "offline: characterization, crosshair, pynguin"
    if model is not None:
        return "openhands", f"characterization, then openhands ({model}; engine auto)"
    return "offline", (
        "offline: characterization, crosshair, pynguin (engine auto, no LLM configured)"
    )
