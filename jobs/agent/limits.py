"""What an agent run may spend: :class:`AgentLimits`, read by the conversation that enforces
them (:mod:`jobs.agent.conversation`) and by the classification of how it ended
(:mod:`jobs.agent.outcome`), neither of which imports the other's side for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentLimits:
    max_iterations: int = 30
    wall_time_s: float = 600.0
    # USD across the run's LLMs (agent and condenser), from the SDK's own metrics; None: no cap.
    max_cost_usd: float | None = None
