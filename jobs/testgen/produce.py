"""``produce_tests``, the GitHub-free core of test generation: a checkout and its changed lines
in, verdicts and evidence out (the stages are described in :mod:`jobs.testgen`). It clones
nothing, posts nothing and delivers nothing; the worker and ``tandem run`` do that around it.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.repo_config import RepoConfig
from bot.settings import Settings
from jobs import dependencies
from jobs.sandbox import Sandbox
from jobs.testgen import base_commit, line_sets, pytest_runner
from jobs.testgen.budget import Budget, Usage
from jobs.testgen.conventions import detect
from jobs.testgen.engines import CoverageGoal, choose_engine, write_tests_with_agent
from jobs.testgen.engines import offline as offline_engines
from jobs.testgen.per_test import select_tests
from jobs.testgen.pin import BrokenTests, Pinning, verdict_note
from jobs.testgen.prompts import output_dir_for
from jobs.testgen.proof.measure import measure_mutants
from jobs.testgen.proof.score import MutantScore
from jobs.testgen.report import baseline_line
from jobs.testgen.selection import select
from jobs.testgen.targets import Target, plan_targets, source_changes
from jobs.testgen.validation import Validator, Verdict

log = logging.getLogger(__name__)

# The mutant stage's wall time: this many seconds plus this many times the baseline's.
MUTANTS_BASE_S = 30.0
MUTANTS_BASELINE_FACTOR = 2.0

# With an LLM (engine auto), the share of the engine's time the offline engines may take first.
OFFLINE_FIRST_SHARE = 0.2
DIFFERENTIAL = "differential"  # the engine that compares base and head (.engines.differential)


@dataclass
class Production:
    """Everything ``produce_tests`` found out; the caller reports and delivers it."""

    engine: str | None  # the portfolio that ran (the agent if it ran): see .engines.registry
    engine_reason: str
    targets: list[Target] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    baseline: str = ""
    before: line_sets.ChangedCoverage | None = None
    after: line_sets.ChangedCoverage | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)
    budget_hit: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fix_rounds: int = 0
    coverage_rounds: int = 0
    nothing_to_do: str | None = None
    # What kept the part from doing its work properly, each "what: the decisive error line"
    # (an engine crash, a baseline that did not run, a failed dependency install, a changed
    # file that does not parse). Never shown as ✅.
    problems: list[str] = field(default_factory=list)
    syntax_errors: list[str] = field(default_factory=list)
    # The offline engines' tests one by one: {"test", "kept", "name", "reason"}.
    tests: list[dict[str, Any]] = field(default_factory=list)
    # The kept test files on the base commit (None: not run there, no base commit given).
    pinning: Pinning | None = None
    # The baseline's failing tests on the base commit (None: none failed, or not checked).
    broken: BrokenTests | None = None
    # The kept files the agent wrote (the others come from the offline engines).
    agent_kept: list[str] = field(default_factory=list)
    # The mutants of the changed lines and which the existing and kept tests kill (None: not
    # run, as when the baseline found no changed statement).
    mutants: MutantScore | None = None


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
    also run on the base commit (:mod:`.base_commit`). Once the kept tests are chosen, the
    mutants of the changed lines run against the existing and the kept tests (:mod:`.proof`)."""
    step = progress or (lambda _: None)
    budget = Budget.start(config.test_generation, settings)
    production = await _produce(
        sandbox, checkout, changed, config, settings, step, budget, base_sha=base_sha
    )
    if production.before is not None and production.before.total:
        sources = {
            path: lines
            for path, lines in source_changes(changed, config).items()
            if path in production.before.executable
        }
        await score_mutants(production, sandbox, checkout, sources, settings, budget, step)
    return production


async def _produce(
    sandbox: Sandbox,
    checkout: Path,
    changed: dict[str, set[int]],
    config: RepoConfig,
    settings: Settings,
    step: Callable[[str], None],
    budget: Budget,
    *,
    base_sha: str | None,
) -> Production:
    tg = config.test_generation
    timings: dict[str, float] = {}
    portfolio, engine_reason = choose_engine(tg, settings)
    engine = portfolio.reported if portfolio is not None else None
    production = Production(engine=engine, engine_reason=engine_reason, timings=timings)
    sources = source_changes(changed, config)
    if not sources:
        production.nothing_to_do = "No changed Python source files (outside tests) to test."
        return production
    unparsable = syntax_errors(checkout, sorted(sources))
    production.syntax_errors = list(unparsable.values())
    if unparsable:
        production.problems.append("syntax error in the change: " + production.syntax_errors[0])
        sources = {p: ls for p, ls in sources.items() if p not in unparsable}
        if not sources:
            production.nothing_to_do = (
                "The changed Python files do not parse, so there is nothing to run: "
                + "; ".join(production.syntax_errors)
                + "."
            )
            return production
    if portfolio is None:
        production.nothing_to_do = engine_reason
        return production

    step("installing the repository's dependencies")
    started = time.monotonic()
    installed = await dependencies.install_dependencies(
        sandbox,
        checkout,
        config=tg.dependencies,
        timeout_s=budget.remaining_s() / 3,
        network=settings.sandbox_install_network,
    )
    timings["dependencies"] = time.monotonic() - started
    if installed.note:
        production.notes.append(installed.note)
    if installed.status in ("failed", "refused"):
        production.problems.append(
            f"dependency install {installed.status}: {installed.note or 'no reason given'}"
        )
    if tg.setup:
        step("running the repository's setup commands")
        started = time.monotonic()
        prepared = await dependencies.run_setup(
            sandbox,
            checkout,
            tg.setup,
            timeout_s=budget.remaining_s() / 3,
            network=settings.sandbox_install_network,
        )
        timings["setup"] = time.monotonic() - started
        production.notes.append(prepared.note)
        if prepared.problem:
            production.problems.append(prepared.problem)

    step("measuring what the existing tests cover")
    started = time.monotonic()
    baseline = await pytest_runner.run_pytest(
        sandbox,
        checkout,
        [],
        tag="baseline",
        timeout_s=min(settings.test_timeout_s, max(10.0, budget.remaining_s() / 3)),
        measure=True,
        per_test=sorted(sources),
    )
    timings["baseline_coverage"] = time.monotonic() - started
    production.baseline = baseline_line(baseline)
    if (problem := baseline.problem()) is not None:
        production.problems.append(f"baseline: {problem}")
    root = str(await asyncio.to_thread(checkout.resolve))
    if elsewhere := pytest_runner.imported_elsewhere(sources, baseline.modules, root):
        # Its tests ran against another copy of the code (a tool's, or an installed one), so
        # what they cover and fail says nothing about the change.
        module, where = elsewhere[0]
        more = f" (and {len(elsewhere) - 1} more)" if len(elsewhere) > 1 else ""
        production.problems.append(
            f"baseline: the existing tests imported {module} from {where}, not from the "
            f"checkout{more}: they measured another copy of the changed code"
        )
    if base_sha and baseline.failures and not baseline.timed_out:
        step("running the failing existing tests on the base commit")
        started = time.monotonic()
        production.broken = await base_commit.broken_on_base(
            sandbox,
            checkout,
            base_sha,
            baseline.failures,
            timeout_s=min(settings.test_timeout_s, budget.remaining_s() / 3),
        )
        timings["broken_tests"] = time.monotonic() - started
    changed_exec = line_sets.changed_executable(checkout, sources, baseline.statements)
    before = line_sets.ChangedCoverage(
        changed_exec, line_sets.restrict(baseline.executed, changed_exec)
    )
    production.before = production.after = before
    targets, left_out = plan_targets(checkout, sources, before, tg.max_files)
    production.targets, production.left_out = targets, left_out
    # Running every changed line is not testing it: where the existing tests run them all, the
    # differential engine still looks for what base and head do differently, to pin it.
    pin_only = (
        not targets
        and before.total > 0
        and base_sha is not None
        and DIFFERENTIAL in portfolio.engines
        and tg.coverage.keep_rule == "new_changed_lines"
    )
    if not targets and not pin_only:
        production.nothing_to_do = (
            "Every changed statement is covered by the existing tests already."
            if before.total
            else "The changed Python files have no changed statements to cover."
        )
        return production

    conventions = detect(checkout)
    validator = Validator(
        sandbox,
        checkout,
        runs=tg.flaky_runs,
        timeout_s=settings.test_timeout_s,
        budget=budget,
        step=step,
    )
    output_dir = output_dir_for(tg, conventions)

    async def offline_tests(engines: tuple[str, ...], deadline: float) -> None:
        """The offline engines' candidates, selected test by test into ``production``."""
        started = time.monotonic()
        offline = await offline_engines.generate(
            engines,
            sandbox,
            checkout,
            targets,
            output_dir,
            deadline=deadline,
            step=step,
            base_sha=base_sha,
            changed=sources,
        )
        timings["engine"] = time.monotonic() - started
        timings.update(offline.timings)
        production.notes.extend(offline.notes)
        production.problems.extend(offline.problems)
        await select_offline_tests(
            production,
            sandbox,
            checkout,
            offline.written,
            baseline,
            changed_exec,
            runs=tg.flaky_runs,
            settings=settings,
            budget=budget,
            base_sha=base_sha,
            step=step,
        )
        for path in offline.written:  # what was not kept must not pass for the agent's work
            if path not in production.kept:
                (checkout / path).unlink(missing_ok=True)

    if pin_only:
        step("every changed line runs already: looking for what base and head do differently")
        await offline_tests((DIFFERENTIAL,), budget.engine_deadline())
        await pin_kept_tests(production, sandbox, checkout, base_sha, settings, budget, step)
        return production
    if not portfolio.agent:
        if tg.coverage.keep_rule == "new_changed_lines":
            await offline_tests(portfolio.engines, budget.engine_deadline())
            await pin_kept_tests(production, sandbox, checkout, base_sha, settings, budget, step)
            return production
        started = time.monotonic()
        offline = await offline_engines.generate(
            portfolio.engines,
            sandbox,
            checkout,
            targets,
            output_dir,
            deadline=budget.engine_deadline(),
            step=step,
            base_sha=base_sha,
            changed=sources,
        )
        timings["engine"] = time.monotonic() - started
        timings.update(offline.timings)
        production.notes.extend(offline.notes)
        production.problems.extend(offline.problems)
        started = time.monotonic()
        await validator.validate_all(offline.written)
        timings["validation"] = time.monotonic() - started
    else:
        covered_first = before.covered
        if portfolio.engines and tg.coverage.keep_rule == "new_changed_lines":
            # The portfolio's offline engines first (engine auto: characterization); the agent
            # is then asked only for what they left.
            now = time.monotonic()
            await offline_tests(
                portfolio.engines, now + (budget.engine_deadline() - now) * OFFLINE_FIRST_SHARE
            )
            if production.after is not None:
                covered_first = production.after.covered
        goal = CoverageGoal(sources, changed_exec, covered_first, tg.max_files)
        remaining = goal.remaining(checkout, [])
        if not remaining:
            production.notes.append(
                "The characterization tests cover every changed statement; the agent was not "
                "needed."
            )
            await pin_kept_tests(production, sandbox, checkout, base_sha, settings, budget, step)
            return production
        rounds = await write_tests_with_agent(
            sandbox,
            checkout,
            remaining,
            conventions,
            tg,
            settings,
            budget=budget,
            usage=production.usage,
            validator=validator,
            timings=timings,
            step=step,
            goal=goal,
            kept=production.kept,
        )
        production.notes.extend(rounds.notes)
        production.fix_rounds = rounds.fix_rounds
        production.coverage_rounds = rounds.coverage_rounds

    step("keeping the tests that cover changed lines")
    started = time.monotonic()
    validations = validator.results
    passed = [v for v in validations.values() if v.passed]
    timings["coverage_filter"] = time.monotonic() - started
    pinning = None
    first_kept = dict(production.kept)  # the characterization tests the agent built on
    if base_sha and (first_kept or any(v.measured for v in passed)):
        step("running the passing tests on the base commit")
        started = time.monotonic()
        candidates = first_kept | {
            v.path: (checkout / v.path).read_text(encoding="utf-8") for v in passed if v.measured
        }
        pinning = await base_commit.pin_on_base(
            sandbox,
            checkout,
            base_sha,
            candidates,
            timeout_s=min(settings.test_timeout_s, budget.remaining_s() - 5),
        )
        timings["base_commit"] = time.monotonic() - started
    started = time.monotonic()
    pins = pinning.pins() if pinning is not None else None
    already = production.after.covered if first_kept and production.after else None
    chosen, covered = select(passed, baseline, changed_exec, tg.coverage.keep_rule, pins, already)
    timings["coverage_filter"] += time.monotonic() - started
    chosen = production.verdicts + chosen
    kept_paths = [v.path for v in chosen if v.kept]
    if pinning is not None and kept_paths:
        production.pinning = pinning.restricted(kept_paths)
        for v in chosen:
            if v.kept:
                v.reason += verdict_note(pinning.outcomes.get(v.path), v.reason)
    failed_verdicts = [
        Verdict(v.path, False, v.reason) for v in validations.values() if not v.passed
    ]
    production.verdicts = sorted(chosen + failed_verdicts, key=lambda v: (not v.kept, v.path))
    production.kept = first_kept | {
        v.path: (checkout / v.path).read_text(encoding="utf-8")
        for v in chosen
        if v.kept and v.path not in first_kept
    }
    production.agent_kept = sorted(p for p in production.kept if p not in first_kept)
    production.after = line_sets.ChangedCoverage(changed_exec, covered)
    production.budget_hit = budget.hit
    return production


async def score_mutants(
    production: Production,
    sandbox: Sandbox,
    checkout: Path,
    sources: dict[str, set[int]],
    settings: Settings,
    budget: Budget,
    step: Callable[[str], None],
) -> None:
    """The mutants of the changed lines against the existing tests, then the kept ones, into
    ``production.mutants``. Its own failure is a problem of the part, never the run's end."""
    # A first run of the tests plus short forks: bounded by what the baseline took, so a slow
    # suite or a hanging mutant cannot spend the part's whole budget here.
    baseline_s = production.timings.get("baseline_coverage", 0.0)
    timeout_s = min(
        settings.test_timeout_s,
        budget.remaining_s() - 5,
        MUTANTS_BASE_S + MUTANTS_BASELINE_FACTOR * baseline_s,
    )
    if timeout_s < 10:
        budget.note("mutants of the changed lines not run: the wall-time budget ran out")
        production.budget_hit = budget.hit
        return
    step("running the mutants of the changed lines")
    started = time.monotonic()
    ignore = [
        v.path
        for v in production.verdicts
        if not v.kept and v.path not in production.kept and (checkout / v.path).is_file()
    ]
    try:
        measured = await measure_mutants(
            sandbox,
            checkout,
            sources,
            kept=sorted(production.kept),
            ignore=ignore,
            timeout_s=timeout_s,
            per_test=pytest_runner.per_test_record("baseline"),
        )
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


async def pin_kept_tests(
    production: Production,
    sandbox: Sandbox,
    checkout: Path,
    base_sha: str | None,
    settings: Settings,
    budget: Budget,
    step: Callable[[str], None],
) -> None:
    """Run the kept files on the base commit: those that fail there pin the change."""
    if not base_sha or not production.kept:
        return
    step("running the kept tests on the base commit")
    started = time.monotonic()
    pinning = await base_commit.pin_on_base(
        sandbox,
        checkout,
        base_sha,
        production.kept,
        timeout_s=min(settings.test_timeout_s, budget.remaining_s() - 5),
    )
    production.timings["base_commit"] = time.monotonic() - started
    production.pinning = pinning
    for v in production.verdicts:
        if v.kept:
            v.reason += verdict_note(pinning.outcomes.get(v.path), v.reason)


async def select_offline_tests(
    production: Production,
    sandbox: Sandbox,
    checkout: Path,
    candidates: list[str],
    baseline: pytest_runner.PytestRun,
    changed_exec: line_sets.Lines,
    *,
    runs: int,
    settings: Settings,
    budget: Budget,
    base_sha: str | None,
    step: Callable[[str], None],
) -> None:
    """The offline engines' tests, one by one: tidied, validated, and kept greedily by the
    changed lines each newly covers (so one bad test never sinks a file). Which candidates fail on
    the base commit decides coverage ties; ``pin_kept_tests`` then runs the kept files there."""
    step("validating each generated test and keeping those that cover changed lines")
    started = time.monotonic()

    async def failing_on_base(files: dict[str, str]) -> set[tuple[str, str]] | None:
        """Which candidates pin the change, so that a coverage tie goes to one that does."""
        if base_sha is None:
            return None
        step("running the candidates on the base commit")
        return await base_commit.tests_failing_on_base(
            sandbox,
            checkout,
            base_sha,
            files,
            timeout_s=min(settings.test_timeout_s, budget.remaining_s() / 4),
        )

    chosen = await select_tests(
        sandbox,
        checkout,
        candidates,
        baseline,
        changed_exec,
        runs=runs,
        timeout_s=settings.test_timeout_s,
        on_base=failing_on_base if base_sha else None,
        budget=budget,
    )
    production.timings["validation"] = time.monotonic() - started
    production.timings["pytest_runs"] = float(chosen.pytest_runs)
    kept_tests = [t for t in chosen.tests if t.kept]
    production.tests = [
        {
            "test": t.label,
            "kept": t.kept,
            "name": t.name,
            "reason": t.reason,
            "fails_on_base": t.label in chosen.pinning if base_sha else None,
        }
        for t in chosen.tests
    ]
    if chosen.tests:
        production.notes.append(
            f"{len(kept_tests)} of {len(chosen.tests)} generated test(s) kept, each passing "
            f"{runs} runs and covering changed lines nothing else covered"
            + (
                ", or failing on the base commit where nothing else does (pinning the change)."
                if base_sha
                else "."
            )
        )
    production.verdicts = sorted(chosen.verdicts, key=lambda v: (not v.kept, v.path))
    production.kept = dict(sorted(chosen.kept_files.items()))
    production.after = line_sets.ChangedCoverage(changed_exec, chosen.covered)
    production.budget_hit = budget.hit


def syntax_errors(checkout: Path, paths: list[str]) -> dict[str, str]:
    """Path -> "`path` line N: message" for each file that does not parse (parsed, never
    run)."""
    found = {}
    for path in paths:
        try:
            ast.parse((checkout / path).read_bytes(), filename=path)
        except SyntaxError as exc:
            found[path] = f"`{path}` line {exc.lineno}: {exc.msg}"
        except (OSError, ValueError):
            continue
    return found
