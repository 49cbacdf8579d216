"""``produce_tests``, the GitHub-free core of test generation: a checkout and its changed lines
in, verdicts and evidence out (the stages are described in :mod:`jobs.testgen`). It clones
nothing, posts nothing and delivers nothing; the worker and ``tandem run`` do that around it.
It runs the named stages of :mod:`.stages` in order, then the mutants (:func:`score_mutants`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.filters import path_filter
from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.languages.language_protocol import Change
from jobs.sandbox import Sandbox
from jobs.testgen import stages
from jobs.testgen.budget import Budget
from jobs.testgen.context import Context
from jobs.testgen.production import Production
from jobs.testgen.proof.measure import TestFiles, against_the_suite, stage_timeout

log = logging.getLogger(__name__)


async def produce_tests(
    sandbox: Sandbox,
    checkout: Path,
    changed: dict[str, set[int]],
    config: RepoConfig,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
    *,
    base_sha: str | None = None,
) -> Production:
    """Baseline coverage, plan, engine, validation and the coverage filter on a checkout.
    `progress` hears each stage as it starts (`tandem run` shows it). With `base_sha` (present
    in the checkout's object store), the baseline's failing tests and the passing candidates
    also run on the base commit (the run's language's ``pin_on_base``). Once the kept tests are
    chosen, the mutants of the changed lines run against the existing and the kept tests
    (:mod:`.proof`)."""
    step = progress or (lambda _: None)
    budget = Budget.start(config.test_generation, settings)
    # Imported here: the registry loads the backends, which load jobs.testgen (this package).
    from jobs.languages.language_registry import change_for

    change = change_for(changed, path_filter(config))
    ctx = Context(sandbox, checkout, config, settings, budget, step, change.language, base_sha)
    production = await _produce(ctx, change)
    if (
        production.before is not None
        and production.before.total
        and change.language.mutants
        and needs_score(production)
    ):
        sources = {
            path: lines
            for path, lines in change.sources.items()
            if path in production.before.executable
        }
        await score_mutants(ctx, production, sources)
    return production


def needs_score(production: Production) -> bool:
    """Whether the mutant stage must still run: neither the kill matrix of the selection nor
    the run against the existing tests (:func:`.stages.survivors`) gave the score, or the
    latter did and tests were kept since (it says nothing of them). A run that was tried and
    failed is not tried again on the same tests."""
    if production.kept:
        return production.mutants is None or production.mutants is production.existing_score
    return production.mutants is None and stages.EXISTING_MUTANTS not in production.timings


async def _produce(ctx: Context, change: Change) -> Production:
    """scope → baseline → plan → candidates → validate → select → base commit: each stage
    that finds nothing to do says why in ``nothing_to_do``, and the rest do not run."""
    production, portfolio, sources = stages.scope(ctx, change)
    if production.nothing_to_do is not None or portfolio is None:
        return production
    await stages.prepare(ctx, production, sources)
    baseline = await stages.baseline(ctx, production, sources)
    plan = stages.plan(ctx, production, portfolio, sources, baseline)
    if plan is not None and plan.all_run:
        plan = await stages.survivors(ctx, production, plan)
    if plan is not None:
        await stages.generate(ctx, production, plan)
    return production


async def score_mutants(ctx: Context, production: Production, sources: dict[str, set[int]]) -> None:
    """The mutants of the changed lines against the existing tests, then the kept ones, into
    ``production.mutants``. Its own failure is a problem of the part, never the run's end."""
    settings, budget, checkout = ctx.settings, ctx.budget, ctx.checkout
    baseline_s = production.timings.get("baseline_coverage", 0.0)
    timeout_s = stage_timeout(baseline_s, settings.test_timeout_s, budget.remaining_s())
    if timeout_s is None:
        budget.note("mutants of the changed lines not run: the wall-time budget ran out")
        production.budget_hit = budget.hit
        return
    ctx.step("running the mutants of the changed lines")
    started = time.monotonic()
    ignore = [
        v.path
        for v in production.verdicts
        if not v.kept and v.path not in production.kept and (checkout / v.path).is_file()
    ]
    try:
        tests = TestFiles(kept=sorted(production.kept), ignore=ignore)
        measured = await against_the_suite(ctx, sources, tests, timeout_s=timeout_s)
    except Exception as exc:  # Tandem's own trouble here must not lose the run's other findings
        log.exception("mutant stage failed")
        production.problems.append(f"mutants: {type(exc).__name__}: {exc}")
        return
    finally:
        production.timings["mutants"] = time.monotonic() - started
    if measured.problem:  # no score then: its zeros would read as the tests' failure
        production.problems.append(f"mutants: {measured.problem}")
        return
    production.mutants = measured.score
    if measured.cut:
        budget.note(f"{measured.cut} of {measured.score.total} mutants not run (wall-time budget)")
        production.budget_hit = budget.hit
