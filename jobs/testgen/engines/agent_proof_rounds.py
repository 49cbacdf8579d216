"""The agent's proof rounds (issue #19, item 4, as Meta's ACH does it): once its coverage rounds
are over, the agent is told which mutants of the changed lines survive every test, with the
code and the line as each mutant changes it, the most telling first, for up to
``MAX_PROOF_ROUNDS`` more conversations while the part's budget lasts. Only mutants some test
runs are named: a line no test runs is what the coverage rounds asked for, and they are over.

A round's new test files are judged as every candidate is (:mod:`..proof.worth`): they passed
their validation runs, and a file is kept only where it kills a mutant no existing or kept test
kills, or covers a changed line nothing covered and kills that line's mutants where it has any;
a file that only runs lines already run again is discarded. They do not run on the base commit
before that choice (the kept ones do after it, as every kept file): a file that would only pin
the change is not kept. A round whose files kill nothing
new ends the rounds, as a coverage round that gains nothing does.

A kept file joins ``production.kept`` with its verdict at once, so the rounds after it and the
final selection build on it as on the offline engines' kept files (the coverage filter, which
judges the agent's other files by their lines, would drop a file kept for its kills alone).
The mutants run against the existing tests, the kept files and the agent's passing files: the
latter are not chosen yet, but the coverage filter keeps nearly all of them, and the mutant
stage after the selection scores what was really kept.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.testgen import line_sets
from jobs.testgen.prompts import proof_prompt
from jobs.testgen.proof import worth
from jobs.testgen.proof.measure import TestFiles, against_the_suite, stage_timeout
from jobs.testgen.proof.score import MAX_ANNOTATIONS, MutantScore
from jobs.testgen.targets import compress
from jobs.testgen.validation import Validation, Verdict

if TYPE_CHECKING:
    from jobs.testgen.context import Plan
    from jobs.testgen.engines.agent_conversations import Conversations, CoverageGoal

log = logging.getLogger(__name__)

MAX_PROOF_ROUNDS = 2
# Surviving mutants named in one prompt (the report's annotations show as many).
MAX_SURVIVORS_TOLD = MAX_ANNOTATIONS
TIMING = "mutants_proof_rounds"  # production.timings: the mutant runs of the proof rounds


@dataclass
class Judged:
    """What one round's files proved: the kept files (path -> what each kills that nothing else
    did) and the score with them."""

    kept: dict[str, worth.Proof]
    score: MutantScore


async def proof_rounds(talk: Conversations, plan: Plan, goal: CoverageGoal) -> int:
    """Up to ``MAX_PROOF_ROUNDS`` conversations on the surviving mutants (how many ran); what
    they killed is a note of ``talk.rounds``."""
    ctx = talk.ctx
    sources = {p: ls for p, ls in plan.sources.items() if p in plan.before.executable}
    last = talk.production.usage.last
    if last is not None and last.status in ("llm_error", "error"):
        return 0  # the LLM failed: no conversation follows, so no mutant run for one either
    if not sources or not ctx.language.mutants:
        return 0
    # Its files so far are judged already (passing or not): a proof round writes new ones, and
    # may neither change them nor have them validated again.
    talk.protected.update(
        {path: text for path in talk.validator.results if (text := _read(ctx.checkout, path))}
    )
    score = await _run_mutants(talk, sources, [])
    if score is None:
        return 0
    rounds, killed, kept = 0, 0, []
    while rounds < MAX_PROOF_ROUNDS:
        # A mutant no test runs is the coverage rounds' target: those that ran are over.
        alive = [o for o in score.survivors() if o.status == "survived"][:MAX_SURVIVORS_TOLD]
        if not alive or not talk.may_follow_up("the surviving mutants"):
            break
        known = set(talk.validator.results)
        passing = sorted(set(talk.production.kept) | {v.path for v in _passing(talk)})
        await talk.converse(
            proof_prompt(ctx.checkout, alive, passing, ctx.tg, plan.output_dir, talk.terms),
            f"the agent writing tests for {len(alive)} surviving mutant(s)",
        )
        rounds += 1
        state = await talk.validate(goal)
        new = [v for v in state.passing if v.path not in known]
        judged = await _judge(talk, goal, sources, new) if new else None
        if judged is None:
            break
        score = judged.score
        killed += sum(len(p.kills) for p in judged.kept.values())
        kept += sorted(judged.kept)
        if not any(p.kills for p in judged.kept.values()):
            break  # it killed nothing new: another round would not either
    if rounds:
        talk.rounds.notes.append(_note(rounds, killed, kept))
    return rounds


def _note(rounds: int, killed: int, kept: list[str]) -> str:
    text = f"Surviving mutants were sent back to the agent {rounds} time(s) (proof rounds): "
    if not kept:
        return text + "its new tests killed no mutant that the other tests leave alive."
    return (
        text + f"its kept files {', '.join(f'`{p}`' for p in kept)} kill {killed} mutant(s) of the "
        "changed lines that no other test kills."
    )


async def _run_mutants(
    talk: Conversations, sources: dict[str, set[int]], candidates: list[str]
) -> MutantScore | None:
    """The mutants of ``sources`` against the existing tests, then the kept and the agent's
    passing files, then every test of ``candidates`` (the kill matrix). None where they could
    not run (a note or the part's problem says why): the rounds end there."""
    ctx, production = talk.ctx, talk.production
    baseline_s = production.timings.get("baseline_coverage", 0.0)
    timeout_s = stage_timeout(baseline_s, ctx.settings.test_timeout_s, ctx.budget.remaining_s())
    if timeout_s is None:
        talk.rounds.notes.append("No proof round: the wall-time budget ran out.")
        return None
    kept = sorted(set(production.kept) | {v.path for v in _passing(talk)} - set(candidates))
    # The agent's failing files are no tests of anyone's: pytest must not collect them.
    ignore = [
        path
        for path, v in talk.validator.results.items()
        if not v.passed and path not in kept and (ctx.checkout / path).is_file()
    ]
    ctx.step("running the mutants of the changed lines against the agent's tests")
    started = time.monotonic()
    try:
        tests = TestFiles(kept=kept, candidates=candidates, ignore=ignore)
        measured = await against_the_suite(ctx, sources, tests, timeout_s=timeout_s)
    except Exception as exc:  # Tandem's own trouble here must not lose the agent's tests
        log.exception("mutants of the proof round failed")
        production.problems.append(f"mutants of the proof round: {type(exc).__name__}: {exc}")
        return None
    finally:
        spent = time.monotonic() - started
        production.timings[TIMING] = production.timings.get(TIMING, 0.0) + spent
    if measured.problem:
        production.problems.append(f"mutants of the proof round: {measured.problem}")
        return None
    return measured.score


async def _judge(
    talk: Conversations, goal: CoverageGoal, sources: dict[str, set[int]], new: list[Validation]
) -> Judged | None:
    """The round's passing files by what each proves (:func:`.worth.choose`, one candidate per
    file); the kept ones join ``production.kept``, the others are discarded with why."""
    ctx, production, goal_exec = talk.ctx, talk.production, goal.changed_exec
    paths = [v.path for v in new]
    measured = await _run_mutants(talk, sources, paths)
    if measured is None:
        return None
    # A killer is a test's id (pytest's `file::name`, vitest's and jest's `file > name`); its
    # file is the candidate.
    outcomes = [
        replace(o, killers=tuple(sorted({k.split("::")[0].split(" > ")[0] for k in o.killers})))
        for o in measured.outcomes
    ]
    relabeled = replace(measured, outcomes=outcomes)
    base = line_sets.union(
        production.after.covered if production.after is not None else {},
        *(line_sets.restrict(v.executed, goal_exec) for v in _passing(talk) if v.path not in paths),
    )
    candidates = [
        worth.Candidate(
            v.path,
            line_sets.restrict(v.executed, goal_exec),
            len(_read(ctx.checkout, v.path) or ""),
        )
        for v in new
    ]
    chosen = worth.choose(candidates, worth.matrix_from(outcomes), base, len(candidates))
    runs = ctx.tg.flaky_runs
    for path, found in chosen.kept:
        said = [f"passed {runs}/{runs} runs", "written in a proof round"]
        if found.lines:
            lines = sorted(found.lines.items())
            where = "; ".join(f"{p} {compress(sorted(ls))}" for p, ls in lines)
            said.append(f"covers {line_sets.count(found.lines)} changed line(s): {where}")
        if found.kills:
            said.append(worth.proves(found))
        _keep(talk, path, Verdict(path, True, "; ".join(said), found.lines))
    for path, _ in chosen.rejected:
        talk.validator.results.pop(path, None)
        (ctx.checkout / path).unlink(missing_ok=True)
        # Not worth's wording: these files never ran on the base commit, so pins are not judged.
        why = (
            "kills no mutant that the existing and kept tests leave alive, and covers no changed "
            "line they leave uncovered (written in a proof round)"
        )
        production.verdicts.append(Verdict(path, False, f"passed {runs}/{runs} runs, but {why}"))
    kept = dict(chosen.kept)
    return Judged(kept, worth.with_kept(relabeled, set(kept)))


def _keep(talk: Conversations, path: str, verdict: Verdict) -> None:
    """A kept file joins the kept files as they are (the agent may not change it any more)."""
    ctx, production = talk.ctx, talk.production
    text = _read(ctx.checkout, path) or ""
    talk.validator.results.pop(path, None)
    talk.protected[path] = production.kept[path] = text
    production.verdicts.append(verdict)
    if (after := production.after) is not None:
        covered = line_sets.union(after.covered, verdict.new_lines)
        production.after = line_sets.ChangedCoverage(after.executable, covered)


def _passing(talk: Conversations) -> list[Validation]:
    return [v for v in talk.validator.results.values() if v.passed]


def _read(checkout: Path, path: str) -> str | None:
    try:
        return (checkout / path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
