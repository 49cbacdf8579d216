"""The stages of ``produce_tests`` (:mod:`.produce`), in the order it runs them: scope (the
portfolio and the changed files that parse) → baseline (install, setup, the existing tests
under coverage, the base commit's verdict on the failing ones) → plan (targets, or pinning
only) → candidates, validation, selection and the base commit (:func:`generate`, by the
portfolio; the keep rules are :mod:`.keep`'s). Each stage reads the run's :class:`.Context`
and writes what it found into the :class:`.Production`; one that finds nothing to do says so
in ``production.nothing_to_do`` and the next ones do not run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from jobs import dependencies
from jobs.languages.language_protocol import Change, InstallRequest
from jobs.languages.suite_run import SuiteRun
from jobs.testgen import line_sets
from jobs.testgen.context import Context, Plan
from jobs.testgen.engines import Workspace, choose_engine
from jobs.testgen.engines import offline as offline_engines
from jobs.testgen.engines.agent import prove_with_agent, write_tests_with_agent
from jobs.testgen.engines.agent_conversations import CoverageGoal
from jobs.testgen.engines.registry import COMPARING_ENGINES, Portfolio
from jobs.testgen.keep import pin_kept_tests, selection_for
from jobs.testgen.production import Production
from jobs.testgen.prompts import output_dir_for
from jobs.testgen.proof.measure import TestFiles, against_the_suite, stage_timeout
from jobs.testgen.proof.mutants import Mutant
from jobs.testgen.proof.score import MutantScore
from jobs.testgen.targets import plan_targets
from jobs.testgen.tests_report import baseline_line
from jobs.testgen.validation import Validator

log = logging.getLogger(__name__)

# With an LLM (engine auto), the share of the engine's time the offline engines may take first.
OFFLINE_FIRST_SHARE = 0.2
# The timing of the mutants run against the existing tests before the engines (:func:`survivors`).
EXISTING_MUTANTS = "mutants_existing"
ALL_RUN = "Every changed statement is covered by the existing tests already."


def scope(ctx: Context, change: Change) -> tuple[Production, Portfolio | None, dict[str, set[int]]]:
    """The portfolio, and the changed source files of the run's language that parse (parsed,
    never run); the changed files of languages that build no tests yet are named."""
    portfolio, engine_reason = choose_engine(ctx.tg, ctx.settings, ctx.language)
    engine = portfolio.reported if portfolio is not None else None
    production = Production(engine=engine, engine_reason=engine_reason)
    production.not_built = sorted(change.not_built)
    production.notes.extend(not_built_notes(change))
    sources, label = change.sources, ctx.language.label
    if not sources:
        production.nothing_to_do = (
            " ".join(production.notes)
            if change.not_built
            else f"No changed {label} source files (outside tests) to test."
        )
        return production, portfolio, sources
    if skipped := ctx.language.unsupported(ctx.checkout, sorted(sources)):
        reasons = sorted(set(skipped.values()))
        sources = {p: ls for p, ls in sources.items() if p not in skipped}
        if not sources:  # not Tandem's trouble: the part is skipped, with the reason
            production.nothing_to_do = f"Not tested: {'; '.join(reasons)}."
            return production, portfolio, sources
        production.notes.append(f"Not tested: {'; '.join(reasons)}.")
    unparsable = ctx.language.syntax_errors(ctx.checkout, sorted(sources))
    production.syntax_errors = list(unparsable.values())
    if unparsable:
        production.problems.append("syntax error in the change: " + production.syntax_errors[0])
        sources = {p: ls for p, ls in sources.items() if p not in unparsable}
        if not sources:
            production.nothing_to_do = (
                f"The changed {label} files do not parse, so there is nothing to run: "
                + "; ".join(production.syntax_errors)
                + "."
            )
            return production, portfolio, sources
    if portfolio is None:
        production.nothing_to_do = engine_reason
    return production, portfolio, sources


def not_built_notes(change: Change) -> list[str]:
    """One line per language whose changed sources this run does not test, and why."""

    def listed(paths: list[str]) -> str:
        shown = ", ".join(f"`{p}`" for p in paths[:5])
        return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")

    return [
        f"{label}: test generation is not built yet ({listed(paths)} not tested)."
        for label, paths in change.not_built.items()
    ] + [
        f"{label}: not tested in this run, which tests {change.language.label} ({listed(paths)})."
        for label, paths in change.not_this_run.items()
    ]


async def prepare(ctx: Context, production: Production, sources: dict[str, set[int]]) -> None:
    """Install the repository's dependencies and run its setup commands in the sandbox."""
    tg, timings = ctx.tg, production.timings
    ctx.step("installing the repository's dependencies")
    started = time.monotonic()
    request = InstallRequest(
        ctx.sandbox,
        ctx.checkout,
        tg.dependencies,
        cache_dir=ctx.settings.data_dir,
        network=ctx.settings.sandbox_install_network,
        timeout_s=ctx.budget.remaining_s() / 3,
    )
    installed = await ctx.language.install(request, sources)
    timings["dependencies"] = time.monotonic() - started
    if installed.note:
        production.notes.append(installed.note)
    if installed.status in ("failed", "refused"):
        production.problems.append(
            f"dependency install {installed.status}: {installed.note or 'no reason given'}"
        )
    if tg.setup:
        ctx.step("running the repository's setup commands")
        started = time.monotonic()
        prepared = await dependencies.run_setup(
            ctx.sandbox,
            ctx.checkout,
            tg.setup,
            timeout_s=ctx.budget.remaining_s() / 3,
            network=ctx.settings.sandbox_install_network,
        )
        timings["setup"] = time.monotonic() - started
        production.notes.append(prepared.note)
        if prepared.problem:
            production.problems.append(prepared.problem)


async def baseline(ctx: Context, production: Production, sources: dict[str, set[int]]) -> SuiteRun:
    """The existing tests under coverage; the failing ones also run on the base commit."""
    ctx.step("measuring what the existing tests cover")
    started = time.monotonic()
    run = await ctx.language.run_suite(
        ctx.sandbox,
        ctx.checkout,
        sources,
        timeout_s=min(ctx.settings.test_timeout_s, max(10.0, ctx.budget.remaining_s() / 3)),
    )
    production.timings["baseline_coverage"] = time.monotonic() - started
    production.baseline = baseline_line(run)
    if (problem := run.problem()) is not None:
        production.problems.append(f"baseline: {problem}")
    root = str(await asyncio.to_thread(ctx.checkout.resolve))
    if elsewhere := ctx.language.imported_elsewhere(sources, run, root):
        # Its tests ran against another copy of the code (a tool's, or an installed one), so
        # what they cover and fail says nothing about the change.
        module, where = elsewhere[0]
        more = f" (and {len(elsewhere) - 1} more)" if len(elsewhere) > 1 else ""
        production.problems.append(
            f"baseline: the existing tests imported {module} from {where}, not from the "
            f"checkout{more}: they measured another copy of the changed code"
        )
    if ctx.base_sha and run.failures and not run.timed_out:
        ctx.step("running the failing existing tests on the base commit")
        started = time.monotonic()
        production.broken = await ctx.language.broken_on_base(
            ctx.sandbox,
            ctx.checkout,
            ctx.base_sha,
            run.failures,
            timeout_s=min(ctx.settings.test_timeout_s, ctx.budget.remaining_s() / 3),
        )
        if production.broken.broken:  # a timing test under load fails once: run them again
            files = sorted({b.path for b in production.broken.broken})
            again = await ctx.language.run_tests(
                ctx.sandbox, ctx.checkout, files, tag="broken-again", measure=False,
                timeout_s=min(ctx.settings.test_timeout_s, ctx.budget.remaining_s() / 3),
            )  # fmt: skip
            if again.status in ("passed", "failed"):
                production.broken = production.broken.rechecked(again.failures)
        production.timings["broken_tests"] = time.monotonic() - started
    return run


def comparing(portfolio: Portfolio, own: Sequence[str]) -> tuple[str, ...]:
    """The portfolio's engines of the language that compare base and head."""
    return tuple(n for n in portfolio.engines if n in own and n in COMPARING_ENGINES)


def plan(
    ctx: Context,
    production: Production,
    portfolio: Portfolio,
    sources: dict[str, set[int]],
    run: SuiteRun,
) -> Plan | None:
    """The changed lines nothing covers, per file (None: nothing to do, and why)."""
    tg = ctx.tg
    changed_exec = ctx.language.changed_executable(ctx.checkout, sources, run.statements)
    before = line_sets.ChangedCoverage(changed_exec, line_sets.restrict(run.executed, changed_exec))
    production.before = production.after = before
    targets, left_out = plan_targets(
        ctx.checkout,
        sources,
        before,
        tg.max_files,
        functions_touching=ctx.language.functions_touching,
    )
    production.targets, production.left_out = targets, left_out
    # Running every changed line is not testing it: where the existing tests run them all, the
    # engines that compare base and head still look for what they do differently, to pin it.
    pin_only = (
        not targets
        and before.total > 0
        and ctx.base_sha is not None
        and bool(comparing(portfolio, ctx.language.engines))
        and tg.coverage.keep_rule == "new_changed_lines"
    )
    # Running every changed line is not testing it either: where the language has mutants, they
    # run against the existing tests first (:func:`survivors`), and the engines write tests for
    # the changed functions only where some survive.
    all_run = (
        not targets
        and before.total > 0
        and ctx.language.mutants
        and bool(portfolio.engines)
        and tg.coverage.keep_rule == "new_changed_lines"
    )
    if not targets and not pin_only and not all_run:
        production.nothing_to_do = (
            ALL_RUN
            if before.total
            else f"The changed {ctx.language.label} files have no changed statements to cover."
        )
        return None
    conventions = ctx.language.conventions(ctx.checkout, sources)
    output_dir = output_dir_for(tg, conventions)
    return Plan(
        portfolio,
        sources,
        run,
        changed_exec,
        before,
        targets,
        pin_only,
        conventions,
        output_dir,
        all_run=all_run,
    )


async def survivors(ctx: Context, production: Production, plan: Plan) -> Plan | None:
    """Every changed line runs already: the mutants of the changed lines against the existing
    tests (once: the report reuses this score unless kept tests change it). Where some survive,
    the plan's targets become the changed functions, for every offline engine of the portfolio;
    where none does, only the differential engine's pin-only run is left (``plan.pin_only``),
    or nothing (None, and why)."""
    sources = {p: ls for p, ls in plan.sources.items() if p in plan.before.executable}
    score, problem = await existing_mutants(ctx, production, sources)
    production.mutants = production.existing_score = score
    if problem is not None:
        production.problems.append(f"mutants: {problem}")
    left = score.alive if score is not None else 0
    if left:
        targets, left_out = plan_targets(
            ctx.checkout,
            plan.sources,
            plan.before,
            ctx.tg.max_files,
            functions_touching=ctx.language.functions_touching,
            covered_too=True,
        )
        production.targets, production.left_out = targets, left_out
        production.notes.append(
            f"Every changed line already runs, but {left} of the {score.total if score else 0} "
            "mutants of the changed lines survived the existing tests: the offline engines "
            "wrote tests for the changed functions and for calls where a survivor and the head "
            "differ, kept only where they kill a surviving mutant or pin the change."
        )
        return replace(plan, targets=targets, pin_only=False)
    if plan.pin_only:
        return plan
    production.nothing_to_do = nothing_survived(score, problem)
    return None


def surviving(score: MutantScore | None) -> tuple[Mutant, ...]:
    """The mutants no existing test noticed, for the engines (``Workspace.survivors``)."""
    alive = [o for o in (score.outcomes if score else []) if o.status in ("survived", "uncovered")]
    return tuple(o.mutant for o in alive)


def nothing_survived(score: MutantScore | None, problem: str | None) -> str:
    """Why nothing is left to do where every changed line runs and no mutant survived."""
    if problem:
        return f"{ALL_RUN} Their mutants could not be run ({problem})."
    if score is None:
        return f"{ALL_RUN} Their mutants were not run: the wall-time budget ran out."
    if not score.total:
        return f"{ALL_RUN} The changed lines have no mutants."
    killed = score.killed_existing
    text = f"{ALL_RUN} They kill {killed} of the {score.total} mutants of the changed lines"
    if killed < score.total:
        text += f"; the other {score.total - killed} hung a test, could not be run or were cut"
    return text + ", and no mutant survived them."


async def existing_mutants(
    ctx: Context, production: Production, sources: dict[str, set[int]]
) -> tuple[MutantScore | None, str | None]:
    """The mutants of ``sources``' changed lines against the existing tests, bounded as the
    mutant stage is: (the score, or None; why it is missing or partial)."""
    baseline_s = production.timings.get("baseline_coverage", 0.0)
    timeout_s = stage_timeout(baseline_s, ctx.settings.test_timeout_s, ctx.budget.remaining_s())
    if timeout_s is None:
        ctx.budget.note("mutants of the changed lines not run: the wall-time budget ran out")
        production.budget_hit = ctx.budget.hit
        return None, None
    ctx.step("every changed line runs already: running their mutants against the existing tests")
    started = time.monotonic()
    try:
        measured = await against_the_suite(ctx, sources, TestFiles(), timeout_s=timeout_s)
    except Exception as exc:  # Tandem's own trouble here must not lose the run's other findings
        log.exception("mutants against the existing tests failed")
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        production.timings[EXISTING_MUTANTS] = time.monotonic() - started
    if measured.problem:  # no score then: its zeros would read as the tests' failure
        return None, measured.problem
    if measured.cut:
        ctx.budget.note(
            f"{measured.cut} of {measured.score.total} mutants not run (wall-time budget)"
        )
        production.budget_hit = ctx.budget.hit
    return measured.score, None


async def generate(ctx: Context, production: Production, plan: Plan) -> None:
    """Candidates → validation → selection → base commit, as the portfolio says: offline
    engines alone, or (with an LLM) the offline engines first and the agent on what they left."""
    validator = Validator(
        ctx.sandbox,
        ctx.checkout,
        runs=ctx.tg.flaky_runs,
        timeout_s=ctx.settings.test_timeout_s,
        budget=ctx.budget,
        step=ctx.step,
        language=ctx.language,
    )
    rule, per_test = ctx.tg.coverage.keep_rule, ctx.language.per_test
    if plan.pin_only:
        ctx.step("every changed line runs already: looking for what base and head do differently")
        own = comparing(plan.portfolio, ctx.language.engines)
        written = await candidates(ctx, production, plan, own)
        await selection_for(rule, validator, written, per_test=per_test).keep(ctx, production, plan)
    elif not plan.portfolio.agent:
        written = await candidates(ctx, production, plan, plan.portfolio.engines)
        await selection_for(rule, validator, written, per_test=per_test).keep(ctx, production, plan)
    else:
        await _offline_then_agent(ctx, production, plan, validator)


async def _offline_then_agent(
    ctx: Context, production: Production, plan: Plan, validator: Validator
) -> None:
    """The portfolio's offline engines first (engine auto: characterization); the agent is
    then asked only for what they left, and builds on the tests they kept."""
    tg, budget = ctx.tg, ctx.budget
    covered_first = plan.before.covered
    if plan.portfolio.engines and tg.coverage.keep_rule == "new_changed_lines":
        now = time.monotonic()
        deadline = now + (budget.engine_deadline() - now) * OFFLINE_FIRST_SHARE
        written = await candidates(ctx, production, plan, plan.portfolio.engines, deadline)
        selection = selection_for(
            tg.coverage.keep_rule,
            validator,
            written,
            agent_follows=True,
            per_test=ctx.language.per_test,
        )
        await selection.keep(ctx, production, plan)
        if production.after is not None:
            covered_first = production.after.covered
    goal = CoverageGoal(
        plan.sources,
        plan.changed_exec,
        covered_first,
        tg.max_files,
        ctx.language.functions_touching,
    )
    remaining = goal.remaining(ctx.checkout, [])
    if not remaining and not plan.all_run:
        production.notes.append(
            "The characterization tests cover every changed statement; the agent was not needed."
        )
        await pin_kept_tests(ctx, production)
        return
    # Every changed line ran before any engine: the agent's only target is the surviving mutants.
    rounds = await (
        write_tests_with_agent(ctx, plan, production, validator, goal, remaining)
        if remaining
        else prove_with_agent(ctx, plan, production, validator, goal)
    )
    production.notes.extend(rounds.notes)
    production.fix_rounds = rounds.fix_rounds
    production.coverage_rounds = rounds.coverage_rounds
    await selection_for(tg.coverage.keep_rule, validator, None, per_test=None).keep(
        ctx, production, plan
    )


async def candidates(
    ctx: Context,
    production: Production,
    plan: Plan,
    engines: Sequence[str],
    deadline: float | None = None,
) -> list[str]:
    """The offline engines' candidate files, by ``deadline`` (default: the engine budget's).
    Only the engines the run's language names run on its files."""
    own = ctx.language.engines
    # A portfolio of several languages' engines runs each language's own silently; one that
    # has none of the change's language says so.
    if not set(engines) & set(own) and (others := list(engines)):
        production.notes.append(
            f"{', '.join(others)}: not run, {'it writes' if len(others) == 1 else 'they write'} "
            f"no {ctx.language.label} tests."
        )
    started = time.monotonic()
    tests, seeds = offline_engines.read_evidence(ctx.checkout, plan.targets)
    workspace = Workspace(
        ctx.sandbox,
        ctx.checkout,
        plan.output_dir,
        ctx.budget.engine_deadline() if deadline is None else deadline,
        ctx.step,
        tests,
        seeds,
        ctx.base_sha,
        plan.sources or {t.path: set(t.lines) for t in plan.targets},
        surviving(production.existing_score) if plan.all_run else (),
    )
    ran = [name for name in engines if name in own]
    offline = await offline_engines.generate(ran, workspace, plan.targets)
    production.timings["engine"] = time.monotonic() - started
    production.timings.update(offline.timings)
    production.notes.extend(offline.notes)
    production.problems.extend(offline.problems)
    return offline.written
