"""The LLM engine: the OpenHands agent writes test files in the checkout and Tandem validates
them. Then, in focused conversations while the part's budget lasts, the agent is told what to
do next: the files that failed, with the reason (up to ``MAX_FIX_ROUNDS``), or, once every
file passes, exactly which changed lines are still not run (up to ``MAX_COVERAGE_ROUNDS``;
they stop when a round gains nothing).

The agent may only add files: whatever it changed in tracked files is reverted before each
validation round.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
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
from jobs.sandbox import Sandbox
from jobs.testgen import line_sets
from jobs.testgen.budget import BUDGET_STATUSES, VALIDATION_RESERVE, Budget, Usage
from jobs.testgen.conventions import Conventions
from jobs.testgen.prompts import build_prompt, coverage_prompt, fix_prompt
from jobs.testgen.targets import Target, plan_targets
from jobs.testgen.validation import Validation, Validator, new_test_files, revert_changes

MAX_FIX_ROUNDS = 2
# CoverUp reports about 40% of its gains from such follow-up rounds.
MAX_COVERAGE_ROUNDS = 2


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

    def remaining(self, checkout: Path, passing: list[Validation]) -> list[Target]:
        """The targets whose changed lines neither ``covered`` nor a passing file runs."""
        covered = line_sets.union(
            self.covered,
            *(line_sets.restrict(v.executed, self.changed_exec) for v in passing if v.measured),
        )
        after = line_sets.ChangedCoverage(self.changed_exec, covered)
        return plan_targets(checkout, self.sources, after, self.max_files)[0]


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
    goal: CoverageGoal,
    kept: dict[str, str] | None = None,
) -> AgentRounds:
    """The first conversation, then follow-up rounds (fixing, then covering); ``validator.results``
    holds each file's latest validation, ``usage`` what the conversations spent. ``kept``: the
    offline engines' kept files (path -> text), which the agent builds on and may not change."""
    llm = llm_settings(settings, tg)
    rounds = AgentRounds()
    validations = validator.results
    timings["engine"] = timings["validation"] = 0.0
    protected = dict(kept or {})

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
        # The kept files were validated as they are: whatever the agent did to them is undone.
        touched = [path for path, text in protected.items() if _read(checkout / path) != text]
        for path in touched:
            (checkout / path).parent.mkdir(parents=True, exist_ok=True)
            (checkout / path).write_text(protected[path], encoding="utf-8")
        if touched:
            rounds.notes.append(
                "The agent changed kept test files; restored: "
                + ", ".join(f"`{p}`" for p in touched[:10])
            )

    await converse(
        build_prompt(targets, checkout, conventions, tg, kept=sorted(protected)),
        f"the agent writing tests for {len(targets)} file(s)",
    )
    uncovered_before: int | None = None
    for _ in range(MAX_FIX_ROUNDS + MAX_COVERAGE_ROUNDS + 1):
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
            if p not in protected and (p not in validations or not validations[p].passed)
        ]
        await validator.validate_all(todo)
        timings["validation"] += time.monotonic() - started
        failed = [
            v
            for v in validations.values()
            if not v.passed and not v.reason.startswith("not validated")
        ]
        passing = [v for v in validations.values() if v.passed]
        remaining = goal.remaining(checkout, passing)
        uncovered = sum(len(t.uncovered) for t in remaining)
        fix = bool(failed) and rounds.fix_rounds < MAX_FIX_ROUNDS
        # A coverage round that reached nothing new is not repeated.
        cover = (
            not failed
            and bool(remaining)
            and rounds.coverage_rounds < MAX_COVERAGE_ROUNDS
            and (uncovered_before is None or uncovered < uncovered_before)
        )
        if not (fix or cover):
            break
        if usage.last is not None and usage.last.status in ("llm_error", "error"):
            break
        why_not = budget_left_for_agent(budget, usage)
        if why_not is not None:
            what = "the failing tests" if failed else "the changed lines still uncovered"
            rounds.notes.append(f"No follow-up round for {what}: {why_not}.")
            break
        if not failed:
            uncovered_before = uncovered
            written = {v.path: _read(checkout / v.path) for v in passing}
            await converse(
                coverage_prompt(checkout, remaining, sorted(written), tg),
                f"the agent covering {uncovered} changed line(s) still not run",
            )
            rounds.coverage_rounds += 1
            for path, text in written.items():  # a file it extended is validated again
                if _read(checkout / path) != text:
                    validations.pop(path, None)
            continue
        for v in failed:  # the agent rewrites them; forget the old verdicts
            validations.pop(v.path, None)
        await converse(
            fix_prompt(checkout, failed, remaining or targets, tg),
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


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
