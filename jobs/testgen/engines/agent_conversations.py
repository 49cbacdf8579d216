"""The agent's conversations of one part and what they share (:class:`Conversations`): the
LLM and its limits, the files the agent may not change, the validations and the rounds so far,
and the changed lines they are measured against (:class:`CoverageGoal`). :mod:`.agent` runs the
rounds; :mod:`.agent_proof_rounds` the proof rounds, on the same conversations.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.repo_config import TestGeneration
from core.settings import Settings
from jobs.agent import (
    AgentLimits,
    AgentOutcome,
    Cancellation,
    LLMSettings,
    llm_settings_for,
    run_agent,
)
from jobs.languages.conventions import Prompting
from jobs.sandbox import Sandbox
from jobs.testgen import line_sets
from jobs.testgen.budget import VALIDATION_RESERVE, Budget, Usage
from jobs.testgen.context import Context
from jobs.testgen.production import Production
from jobs.testgen.prompts import coverage_prompt, fix_prompt
from jobs.testgen.targets import FunctionsTouching, Target, plan_targets
from jobs.testgen.validation import Validation, Validator, new_test_files, revert_changes


@dataclass
class AgentRounds:
    """What the agent's conversations left besides test files and usage."""

    fix_rounds: int = 0
    coverage_rounds: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class CoverageGoal:
    """The changed lines the agent's tests are measured against between rounds."""

    sources: dict[str, set[int]]
    changed_exec: line_sets.Lines
    covered: line_sets.Lines  # before the agent: the baseline's and the kept offline tests'
    max_files: int
    functions_touching: FunctionsTouching  # the run's language's

    def remaining(self, checkout: Path, passing: list[Validation]) -> list[Target]:
        """The targets whose changed lines neither ``covered`` nor a passing file runs."""
        covered = line_sets.union(
            self.covered,
            *(line_sets.restrict(v.executed, self.changed_exec) for v in passing if v.measured),
        )
        after = line_sets.ChangedCoverage(self.changed_exec, covered)
        return plan_targets(
            checkout,
            self.sources,
            after,
            self.max_files,
            functions_touching=self.functions_touching,
        )[0]


def llm_settings(settings: Settings, tg: TestGeneration | None = None) -> LLMSettings:
    llm = llm_settings_for(settings, tg or TestGeneration())
    assert llm is not None, "only called once choose_engine picked openhands"
    return llm


async def agent_conversation(
    checkout: Path,
    prompt: str,
    llm: LLMSettings,
    limits: AgentLimits,
    *,
    sandbox: Sandbox,
) -> AgentOutcome:
    """One agent conversation on the checkout, its terminal in the sandbox."""
    cancellation = Cancellation()
    # docker: the agent's terminal is a shell inside the part's container (None: local).
    shell = await sandbox.terminal_command(checkout)
    try:
        return await asyncio.to_thread(
            run_agent, checkout, prompt, llm, limits, cancellation, shell=shell
        )
    except asyncio.CancelledError:
        # Aborted (superseded, closed) or out of budget: the agent's thread would run on to
        # its wall-time limit spending tokens, so stop it now.
        cancellation.cancel()
        raise


def agent_limits(budget: Budget, usage: Usage, settings: Settings, share: float) -> AgentLimits:
    """The next conversation's limits: what is left of the budget, less ``share`` of the
    wall time kept back for validation."""
    wall = min(settings.agent_wall_time_s, budget.remaining_s() - budget.wall_time_s * share)
    return AgentLimits(
        max_iterations=max(1, budget.max_iterations - usage.iterations),
        wall_time_s=max(1.0, wall),
        max_cost_usd=max(0.0, budget.max_cost_usd - usage.cost_usd),
    )


def budget_left_for_agent(budget: Budget, usage: Usage) -> str | None:
    """Why no further conversation may start, or None."""
    if usage.iterations >= budget.max_iterations:
        return f"iteration budget ({budget.max_iterations}) used"
    if usage.cost_usd >= budget.max_cost_usd:
        return f"cost budget (${budget.max_cost_usd:.2f}) used"
    if budget.remaining_s() < budget.wall_time_s * VALIDATION_RESERVE + 10:
        return f"wall-time budget ({budget.wall_time_s:.0f} s) nearly used"
    return None


@dataclass
class _Round:
    """What one validation round found: the failing and passing files, what is left."""

    failed: list[Validation]
    passing: list[Validation]
    remaining: list[Target]

    @property
    def uncovered(self) -> int:
        return sum(len(t.uncovered) for t in self.remaining)


class Conversations:
    """The agent's conversations of one part and what they share: the LLM, the files the
    agent may not change, the validations and the rounds so far."""

    def __init__(
        self,
        ctx: Context,
        production: Production,
        validator: Validator,
        terms: Prompting | None = None,
    ) -> None:
        self.ctx, self.production, self.validator = ctx, production, validator
        # How the prompts name the run's runner, its files and its command (the conventions')
        self.terms = terms or Prompting()
        self.llm = llm_settings(ctx.settings, ctx.tg)
        self.rounds = AgentRounds()
        self.protected = dict(production.kept or {})
        production.timings["engine"] = production.timings["validation"] = 0.0

    async def converse(self, prompt: str, what: str) -> None:
        ctx, production = self.ctx, self.production
        ctx.step(what)
        started = time.monotonic()
        outcome = await agent_conversation(
            ctx.checkout,
            prompt,
            self.llm,
            agent_limits(ctx.budget, production.usage, ctx.settings, VALIDATION_RESERVE),
            sandbox=ctx.sandbox,
        )
        production.usage.add(outcome)
        production.timings["engine"] += time.monotonic() - started
        self._restore_kept()

    def _restore_kept(self) -> None:
        # The kept files were validated as they are: whatever the agent did to them is undone.
        checkout = self.ctx.checkout
        touched = [path for path, text in self.protected.items() if _read(checkout / path) != text]
        for path in touched:
            (checkout / path).parent.mkdir(parents=True, exist_ok=True)
            (checkout / path).write_text(self.protected[path], encoding="utf-8")
        if touched:
            self.rounds.notes.append(
                "The agent changed kept test files; restored: "
                + ", ".join(f"`{p}`" for p in touched[:10])
            )

    async def validate(self, goal: CoverageGoal) -> _Round:
        """Revert what the agent changed in tracked files, validate its new files (those not
        passing already) and measure what is left to cover."""
        checkout, validations = self.ctx.checkout, self.validator.results
        reverted = await revert_changes(checkout)
        if reverted:
            self.rounds.notes.append(
                "The agent changed existing files; reverted: "
                + ", ".join(f"`{p}`" for p in reverted[:10])
            )
        started = time.monotonic()
        todo = [
            p
            for p in await new_test_files(checkout, self.ctx.language.tests_among)
            if p not in self.protected and (p not in validations or not validations[p].passed)
        ]
        await self.validator.validate_all(todo)
        self.production.timings["validation"] += time.monotonic() - started
        failed = [
            v
            for v in validations.values()
            if not v.passed and not v.reason.startswith("not validated")
        ]
        passing = [v for v in validations.values() if v.passed]
        return _Round(failed, passing, goal.remaining(checkout, passing))

    def may_follow_up(self, what: str) -> bool:
        """Whether the LLM and the budget allow another conversation (a note says why not)."""
        usage, budget = self.production.usage, self.ctx.budget
        if usage.last is not None and usage.last.status in ("llm_error", "error"):
            return False
        why_not = budget_left_for_agent(budget, usage)
        if why_not is not None:
            self.rounds.notes.append(f"No follow-up round for {what}: {why_not}.")
            return False
        return True

    async def cover(self, state: _Round) -> None:
        checkout, validations = self.ctx.checkout, self.validator.results
        written = {v.path: _read(checkout / v.path) for v in state.passing}
        await self.converse(
            coverage_prompt(checkout, state.remaining, sorted(written), self.ctx.tg, self.terms),
            f"the agent covering {state.uncovered} changed line(s) still not run",
        )
        self.rounds.coverage_rounds += 1
        for path, text in written.items():  # a file it extended is validated again
            if _read(checkout / path) != text:
                validations.pop(path, None)

    async def fix(self, state: _Round, targets: list[Target]) -> None:
        checkout, validations = self.ctx.checkout, self.validator.results
        for v in state.failed:  # the agent rewrites them; forget the old verdicts
            validations.pop(v.path, None)
        await self.converse(
            fix_prompt(checkout, state.failed, state.remaining or targets, self.ctx.tg, self.terms),
            f"the agent fixing {len(state.failed)} failing test file(s)",
        )
        self.rounds.fix_rounds += 1
        for v in state.failed:
            validations.setdefault(v.path, v)  # still there if the agent left it alone
            if (checkout / v.path).is_file():
                validations.pop(v.path, None)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
