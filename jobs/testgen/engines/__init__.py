"""The engines that write candidate test files in the checkout, behind one interface
(:mod:`.base`: the :class:`Engine` protocol, its :class:`Workspace` and :class:`EngineOutcome`)
and one registry (:mod:`.registry`: the engines and the portfolios users name, with how to add
an engine). The OpenHands agent (:mod:`.agent`, with fix rounds) and the offline portfolio
(:mod:`.offline`: characterization, :mod:`.characterize`; CrossHair on the changed callables,
:mod:`.crosshair`; then Pynguin on the changed modules, :mod:`.pynguin`); :mod:`.choice` picks.
Whatever an engine writes goes through the same validation and coverage filter."""

from jobs.testgen.engines.agent import CoverageGoal, agent_conversation, write_tests_with_agent
from jobs.testgen.engines.choice import choose_engine
from jobs.testgen.engines.engine_protocol import Engine, EngineOutcome, Workspace
from jobs.testgen.engines.registry import ENGINES, PORTFOLIOS, Portfolio, register

__all__ = [
    "ENGINES",
    "PORTFOLIOS",
    "CoverageGoal",
    "Engine",
    "EngineOutcome",
    "Portfolio",
    "Workspace",
    "agent_conversation",
    "choose_engine",
    "register",
    "write_tests_with_agent",
]
