"""The LLM engine: the OpenHands agent writes test files in the checkout and Tandem validates
them. Then, in focused conversations while the part's budget lasts, the agent is told what to
do next: the files that failed, with the reason (up to ``MAX_FIX_ROUNDS``), or, once every
file passes, exactly which changed lines are still not run (up to ``MAX_COVERAGE_ROUNDS``;
they stop when a round gains nothing), then, where mutants of the changed lines survive every
test, which (up to ``MAX_PROOF_ROUNDS``, :mod:`.agent_proof_rounds`).

The agent may only add files: whatever it changed in tracked files is reverted before each
validation round.
"""

from __future__ import annotations

from jobs.testgen.budget import BUDGET_STATUSES
from jobs.testgen.context import Context, Plan
from jobs.testgen.engines.agent_conversations import (
    AgentRounds,
    Conversations,
    CoverageGoal,
)
from jobs.testgen.engines.agent_proof_rounds import proof_rounds
from jobs.testgen.production import Production
from jobs.testgen.prompts import build_prompt
from jobs.testgen.targets import Target
from jobs.testgen.validation import Validator

MAX_FIX_ROUNDS = 2
# CoverUp reports about 40% of its gains from such follow-up rounds.
MAX_COVERAGE_ROUNDS = 2


async def write_tests_with_agent(
    ctx: Context,
    plan: Plan,
    production: Production,
    validator: Validator,
    goal: CoverageGoal,
    targets: list[Target],
) -> AgentRounds:
    """The first conversation on ``targets``, then follow-up rounds (fixing, covering, then
    the surviving mutants);
    ``validator.results`` holds each file's latest validation, ``production.usage`` what the
    conversations spent. ``production.kept``: the offline engines' kept files (path -> text),
    which the agent builds on and may not change."""
    talk = Conversations(ctx, production, validator, plan.conventions.prompting())
    await talk.converse(
        build_prompt(targets, ctx.checkout, plan.conventions, ctx.tg, kept=sorted(talk.protected)),
        f"the agent writing tests for {len(targets)} file(s)",
    )
    uncovered_before: int | None = None
    for _ in range(MAX_FIX_ROUNDS + MAX_COVERAGE_ROUNDS + 1):
        state = await talk.validate(goal)
        fix = bool(state.failed) and talk.rounds.fix_rounds < MAX_FIX_ROUNDS
        # A coverage round that reached nothing new is not repeated.
        cover = (
            not state.failed
            and bool(state.remaining)
            and talk.rounds.coverage_rounds < MAX_COVERAGE_ROUNDS
            and (uncovered_before is None or state.uncovered < uncovered_before)
        )
        what = "the failing tests" if state.failed else "the changed lines still uncovered"
        if not (fix or cover) or not talk.may_follow_up(what):
            break
        if state.failed:
            await talk.fix(state, targets)
        else:
            uncovered_before = state.uncovered
            await talk.cover(state)
    await proof_rounds(talk, plan, goal)
    _note_budget(ctx, production)
    return talk.rounds


async def prove_with_agent(
    ctx: Context, plan: Plan, production: Production, validator: Validator, goal: CoverageGoal
) -> AgentRounds:
    """Every changed line ran before any engine: no conversation on lines, only the proof
    rounds on the mutants the existing and the kept tests leave alive."""
    talk = Conversations(ctx, production, validator, plan.conventions.prompting())
    problems = len(production.problems)
    rounds = await proof_rounds(talk, plan, goal)
    # Neither a round nor a reason why none ran (budget, a mutant run's problem): none survive.
    if not rounds and not talk.rounds.notes and len(production.problems) == problems:
        talk.rounds.notes.append(
            "Every changed statement already ran, and the tests leave no mutant of a line they "
            "run alive; the agent was not asked for more tests."
        )
    _note_budget(ctx, production)
    return talk.rounds


def _note_budget(ctx: Context, production: Production) -> None:
    usage = production.usage
    if usage.last is not None and usage.last.status in BUDGET_STATUSES:
        ctx.budget.note(BUDGET_STATUSES[usage.last.status])
