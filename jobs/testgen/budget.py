"""The part's caps and what was spent against them: wall time, LLM iterations and USD, added
up across all of the part's conversations and validation runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.repo_config import TestGeneration
from core.settings import Settings
from jobs.agent import AgentOutcome

# Share of the wall-time budget kept back from the engine for validation and coverage.
VALIDATION_RESERVE = 0.25

# Agent statuses that mean a cap ended the conversation, and how the report names that cap.
BUDGET_STATUSES = {
    "max_iterations": "iteration budget reached",
    "max_cost": "cost budget reached",
    "timeout": "wall-time budget reached",
}


@dataclass
class Usage:
    """What the LLM conversations of one part spent, added up."""

    conversations: int = 0
    iterations: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    last: AgentOutcome | None = None

    def add(self, outcome: AgentOutcome) -> None:
        self.conversations += 1
        self.iterations += outcome.iterations
        self.prompt_tokens += outcome.prompt_tokens
        self.completion_tokens += outcome.completion_tokens
        self.cost_usd += outcome.cost_usd
        self.duration_s += outcome.duration_s
        self.last = outcome


@dataclass
class Budget:
    """The part's caps: wall time (a deadline), LLM iterations and USD, across conversations."""

    deadline: float
    wall_time_s: float
    max_iterations: int
    max_cost_usd: float
    hit: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, tg: TestGeneration, settings: Settings) -> Budget:
        wall = float(tg.budgets.max_wall_time_s)
        return cls(
            deadline=time.monotonic() + wall,
            wall_time_s=wall,
            max_iterations=min(tg.budgets.max_iterations, settings.agent_max_iterations),
            max_cost_usd=tg.budgets.max_cost_usd,
        )

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def engine_deadline(self) -> float:
        """When the engine must stop, so that validation keeps its reserve."""
        return self.deadline - self.wall_time_s * VALIDATION_RESERVE

    def note(self, what: str) -> None:
        if what not in self.hit:
            self.hit.append(what)
