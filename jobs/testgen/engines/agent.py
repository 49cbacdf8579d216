"""The LLM engine: the OpenHands agent writes test files in the checkout, Tandem validates
them, and the files that failed go back to the agent with the reason, for up to
``MAX_FIX_ROUNDS`` focused conversations, while the part's budget lasts.

The agent may only add files: whatever it changed in tracked files is reverted before each
validation round.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.repo_config import TestGeneration
from bot.settings import Settings
from jobs.agent import (
    AgentLimits,
    AgentOutcome,
    Cancellation,
    LLMSettings,
    llm_settings_for,
    run_agent,
)
from jobs.sandbox import Sandbox
from jobs.testgen.budget import BUDGET_STATUSES, VALIDATION_RESERVE, Budget, Usage
from jobs.testgen.conventions import Conventions
from jobs.testgen.prompts import build_prompt, fix_prompt
from jobs.testgen.targets import Target
from jobs.testgen.validation import Validator, new_test_files, revert_changes

MAX_FIX_ROUNDS = 2


@dataclass
class AgentRounds:
    """What the agent's conversations left besides test files and usage."""

    fix_rounds: int = 0
    notes: list[str] = field(default_factory=list)


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


async def write_tests_with_agent(
    sandbox: Sandbox,
    checkout: Path,
    targets: list[Target],
    conventions: Conventions,
    tg: TestGeneration,
    settings: Settings,
    *,
    budget: Budget,
    usage: Usage,
    validator: Validator,
    timings: dict[str, float],
    step: Callable[[str], None],
) -> AgentRounds:
    """The first conversation, then validation and fix rounds; ``validator.results`` holds
    each file's latest validation, ``usage`` what the conversations spent."""
    llm = llm_settings(settings, tg)
    rounds = AgentRounds()
    validations = validator.results
    timings["engine"] = timings["validation"] = 0.0

    async def converse(prompt: str, what: str) -> None:
        step(what)
        started = time.monotonic()
        outcome = await agent_conversation(
            checkout,
            prompt,
            llm,
            agent_limits(budget, usage, settings, VALIDATION_RESERVE),
            sandbox=sandbox,
        )
        usage.add(outcome)
        timings["engine"] += time.monotonic() - started

    await converse(
        build_prompt(targets, checkout, conventions, tg),
        f"the agent writing tests for {len(targets)} file(s)",
    )
    for round_number in range(MAX_FIX_ROUNDS + 1):
        reverted = await revert_changes(checkout)
        if reverted:
            rounds.notes.append(
                "The agent changed existing files; reverted: "
                + ", ".join(f"`{p}`" for p in reverted[:10])
            )
        started = time.monotonic()
        todo = [
            p
            for p in await new_test_files(checkout)
            if p not in validations or not validations[p].passed
        ]
        await validator.validate_all(todo)
        timings["validation"] += time.monotonic() - started
        failed = [
            v
            for v in validations.values()
            if not v.passed and not v.reason.startswith("not validated")
        ]
        if not failed or round_number == MAX_FIX_ROUNDS:
            break
        if usage.last is not None and usage.last.status in ("llm_error", "error"):
            break
        why_not = budget_left_for_agent(budget, usage)
        if why_not is not None:
            rounds.notes.append(f"No fix round for the failing tests: {why_not}.")
            break
        for v in failed:  # the agent rewrites them; forget the old verdicts
            validations.pop(v.path, None)
        await converse(
            fix_prompt(checkout, failed, targets, tg),
            f"the agent fixing {len(failed)} failing test file(s)",
        )
        rounds.fix_rounds += 1
        for v in failed:
            validations.setdefault(v.path, v)  # still there if the agent left it alone
            if (checkout / v.path).is_file():
                validations.pop(v.path, None)
    if usage.last is not None and usage.last.status in BUDGET_STATUSES:
        budget.note(BUDGET_STATUSES[usage.last.status])
    return rounds
