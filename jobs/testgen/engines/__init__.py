"""The engines that write candidate test files in the checkout: the OpenHands agent
(:mod:`.agent`, with fix rounds) and the offline portfolio (:mod:`.offline`: CrossHair on the
changed callables, :mod:`.crosshair`, then Pynguin on the changed modules, :mod:`.pynguin`);
:mod:`.choice` picks. Whatever an engine writes goes through the same validation and coverage
filter."""

from jobs.testgen.engines.agent import CoverageGoal, agent_conversation, write_tests_with_agent
from jobs.testgen.engines.choice import Engine, choose_engine

__all__ = [
    "CoverageGoal",
    "Engine",
    "agent_conversation",
    "choose_engine",
    "write_tests_with_agent",
]
