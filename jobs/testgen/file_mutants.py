"""The mutant keep rule for languages whose files are kept whole (``Language.mutants`` without
``Language.per_test``: JS/TS): after the coverage filter, a passing candidate file is also kept
when it kills a mutant of the changed lines that no existing test, no kept file and no file
chosen before it kills (issue 19 item 3, per file). The kill matrix is one mutant run with the
passing files as candidates; the greedy choice is :func:`.proof.worth.choose`'s, on kills
alone. Its score, with the kept files, is the part's mutant line."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from jobs.testgen.context import Context, Plan
from jobs.testgen.production import Production
from jobs.testgen.proof import worth
from jobs.testgen.proof.measure import TestFiles, against_the_suite, stage_timeout
from jobs.testgen.proof.score import Outcome
from jobs.testgen.validation import Validation, Verdict

log = logging.getLogger(__name__)
MAX_FILES = 10  # files kept for their kills alone


def applies(ctx: Context) -> bool:
    language = ctx.language
    return (
        language.mutants
        and language.per_test is None
        and ctx.tg.coverage.keep_rule == "new_changed_lines"
    )


async def keep_killers(
    ctx: Context,
    production: Production,
    plan: Plan,
    passed: list[Validation],
    chosen: list[Verdict],
    first_kept: list[str],
) -> list[Verdict]:
    """``chosen`` (the coverage filter's verdicts on ``passed``) with the files that kill a
    mutant nothing else kills turned kept; ``production.mutants`` the score with the kept
    files. ``first_kept``: files kept before these (the characterization tests the agent
    built on)."""
    files = sorted(v.path for v in passed)
    if not files or not plan.before.executable:
        return chosen
    baseline_s = production.timings.get("baseline_coverage", 0.0)
    timeout_s = stage_timeout(baseline_s, ctx.settings.test_timeout_s, ctx.budget.remaining_s())
    if timeout_s is None:
        ctx.budget.note("mutants of the changed lines not run: the wall-time budget ran out")
        return chosen
    ctx.step("running the mutants of the changed lines against the passing test files")
    started = time.monotonic()
    sources = {p: ls for p, ls in plan.sources.items() if p in plan.before.executable}
    try:
        existing = production.existing_score
        settled = frozenset(
            o.mutant.id
            for o in (existing.outcomes if existing is not None else [])
            if o.status == "killed" and o.by == "existing"
        )
        tests = TestFiles(kept=first_kept, candidates=files, settled=settled)
        measured = await against_the_suite(ctx, sources, tests, timeout_s=timeout_s)
    except Exception as exc:  # Tandem's own trouble here must not lose the kept tests
        log.exception("mutants against the passing files failed")
        production.problems.append(f"mutants: {type(exc).__name__}: {exc}")
        return chosen
    finally:
        production.timings["mutants"] = time.monotonic() - started
    if measured.problem:
        production.problems.append(f"mutants: {measured.problem}")
        return chosen
    if measured.cut:
        ctx.budget.note(
            f"{measured.cut} of {measured.score.total} mutants not run (wall-time budget)"
        )
    by_coverage = {v.path for v in chosen if v.kept}
    killers = choose_killers(measured.score.outcomes, files, by_coverage, ctx)
    kept = by_coverage | set(killers) | set(first_kept)
    production.mutants = worth.with_kept(measured.score, kept)
    production.budget_hit = ctx.budget.hit
    return [
        replace(v, kept=True, reason=f"{v.reason}; {worth.proves(killers[v.path])}")
        if v.path in killers
        else v
        if v.kept
        else replace(v, reason=f"{v.reason}, nor kills a mutant no other test kills")
        for v in chosen
    ]


def choose_killers(
    outcomes: list[Outcome], files: list[str], by_coverage: set[str], ctx: Context
) -> dict[str, worth.Proof]:
    """The files kept for their kills (path -> what they prove), greedily, the shorter first on
    a tie; the mutants the coverage filter's files kill count as killed already."""
    matrix = [
        replace(m, by_existing=True, killers=frozenset())
        if m.killers & by_coverage and not m.by_existing
        else m
        for m in worth.matrix_from(outcomes)
    ]
    candidates = [
        worth.Candidate(path, {}, _size(ctx, path)) for path in files if path not in by_coverage
    ]
    chosen = worth.choose(candidates, matrix, {}, MAX_FILES)
    return dict(chosen.kept)


def _size(ctx: Context, path: str) -> int:
    try:
        return (ctx.checkout / path).stat().st_size
    except OSError:
        return 0
