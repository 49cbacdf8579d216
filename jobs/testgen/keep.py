"""Which candidate tests a production keeps: one interface (:class:`Selection`), two rules, and
:func:`selection_for`, the one place that chooses between them.

- **Per test** (:class:`PerTest`): the offline engines' candidates under
  ``keep_rule: new_changed_lines``, in a language that selects test by test (its
  ``Language.per_test``, a :class:`.per_test_selection.SelectTests`; Python's:
  :mod:`jobs.languages.python.per_test`). Each test is tidied, validated and kept greedily for what
  it proves that nothing else does (changed lines it runs and checks, mutants it kills,
  functions it pins: the kill matrix, :func:`kill_matrix`), so one bad test never sinks a
  file. The kept files then run on the base commit
  (:func:`pin_kept_tests`), unless the agent follows and pins them with its own.
- **Per file** (:class:`PerFile`, :mod:`.selection`): the agent's files (validated as it wrote
  them) and, under ``keep_rule: total``, the offline engines' files. Whole files are validated
  ``flaky_runs`` times, the passing ones run on the base commit first (a coverage tie goes to
  one that pins the change), then the coverage filter keeps them file by file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from jobs.testgen import line_sets
from jobs.testgen.context import Context, Plan
from jobs.testgen.per_test_selection import OnMutants, Options, SelectTests
from jobs.testgen.pin import Pinning, verdict_note
from jobs.testgen.production import Production
from jobs.testgen.proof import worth
from jobs.testgen.proof.measure import Measured, TestFiles, against_the_suite, stage_timeout
from jobs.testgen.selection import select
from jobs.testgen.validation import Validation, Validator, Verdict


class Selection(Protocol):
    """A keep rule: validates and selects candidates into ``production`` (its verdicts, kept
    files, coverage after and pinning)."""

    async def keep(self, ctx: Context, production: Production, plan: Plan) -> None: ...


def selection_for(
    keep_rule: str,
    validator: Validator,
    written: list[str] | None,
    *,
    per_test: SelectTests | None,
    agent_follows: bool = False,
) -> Selection:
    """The rule for these candidates. ``written``: the offline engines' candidate files; None
    for the agent's, which ``validator`` validated as it wrote them. ``agent_follows``: the
    agent writes more after these, and its selection runs every kept file on the base.
    ``per_test``: the run's language's selection test by test (``Language.per_test``); None:
    files are kept whole."""
    if written is not None and keep_rule == "new_changed_lines" and per_test is not None:
        return PerTest(written, per_test, pin=not agent_follows)
    return PerFile(validator, written)


@dataclass(frozen=True)
class PerTest:
    candidates: list[str]
    select: SelectTests  # the run's language's (Language.per_test)
    pin: bool = True  # run the kept files on the base commit afterwards

    async def keep(self, ctx: Context, production: Production, plan: Plan) -> None:
        await select_offline_tests(
            ctx, production, plan, (self.candidates, self.select), score=self.pin
        )
        for path in self.candidates:  # what was not kept must not pass for the agent's work
            if path not in production.kept:
                (ctx.checkout / path).unlink(missing_ok=True)
        if self.pin:
            await pin_kept_tests(ctx, production)


@dataclass(frozen=True)
class PerFile:
    validator: Validator
    candidates: list[str] | None = None  # to validate first; None: validated as written

    async def keep(self, ctx: Context, production: Production, plan: Plan) -> None:
        timings = production.timings
        if self.candidates is not None:
            started = time.monotonic()
            await self.validator.validate_all(self.candidates)
            timings["validation"] = time.monotonic() - started
        ctx.step("keeping the tests that cover changed lines")
        started = time.monotonic()
        validations = self.validator.results
        passed = [v for v in validations.values() if v.passed]
        timings["coverage_filter"] = time.monotonic() - started
        first_kept = dict(production.kept)  # the characterization tests the agent built on
        pinning = await _pin_passing(ctx, production, first_kept, passed)
        started = time.monotonic()
        pins = pinning.pins() if pinning is not None else None
        already = production.after.covered if first_kept and production.after else None
        rule = ctx.tg.coverage.keep_rule
        chosen, covered = select(
            passed,
            plan.baseline,
            plan.changed_exec,
            rule,
            pins,
            already,
            is_test=ctx.language.is_test_file,
        )
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
            v.path: (ctx.checkout / v.path).read_text(encoding="utf-8")
            for v in chosen
            if v.kept and v.path not in first_kept
        }
        production.agent_kept = sorted(p for p in production.kept if p not in first_kept)
        production.after = line_sets.ChangedCoverage(plan.changed_exec, covered)
        production.budget_hit = ctx.budget.hit


async def _pin_passing(
    ctx: Context, production: Production, first_kept: dict[str, str], passed: list[Validation]
) -> Pinning | None:
    """The kept and the passing measured files on the base commit, before selection."""
    if not (ctx.base_sha and (first_kept or any(v.measured for v in passed))):
        return None
    ctx.step("running the passing tests on the base commit")
    started = time.monotonic()
    candidates = first_kept | {
        v.path: (ctx.checkout / v.path).read_text(encoding="utf-8") for v in passed if v.measured
    }
    pinning = await ctx.language.pin_on_base(
        ctx.sandbox,
        ctx.checkout,
        ctx.base_sha,
        candidates,
        timeout_s=min(ctx.settings.test_timeout_s, ctx.budget.remaining_s() - 5),
    )
    production.timings["base_commit"] = time.monotonic() - started
    return pinning


async def pin_kept_tests(ctx: Context, production: Production) -> None:
    """Run the kept files on the base commit: those that fail there pin the change."""
    if not ctx.base_sha or not production.kept:
        return
    ctx.step("running the kept tests on the base commit")
    started = time.monotonic()
    pinning = await ctx.language.pin_on_base(
        ctx.sandbox,
        ctx.checkout,
        ctx.base_sha,
        production.kept,
        timeout_s=min(ctx.settings.test_timeout_s, ctx.budget.remaining_s() - 5),
    )
    production.timings["base_commit"] = time.monotonic() - started
    production.pinning = pinning
    for v in production.verdicts:
        if v.kept:
            v.reason += verdict_note(pinning.outcomes.get(v.path), v.reason)


def kill_matrix(
    ctx: Context, production: Production, plan: Plan, candidates: list[str]
) -> OnMutants:
    """The mutants of the changed lines against the existing tests and the candidate files
    selection names (a :class:`.per_test_selection.SelectTests`' ``on_mutants``), bounded as
    the mutant stage is; the candidates it does not name are not collected."""

    async def run(files: list[str]) -> Measured | str:
        if not ctx.language.mutants:
            return f"{ctx.language.label} has no mutants yet"
        baseline_s = production.timings.get("baseline_coverage", 0.0)
        timeout_s = stage_timeout(baseline_s, ctx.settings.test_timeout_s, ctx.budget.remaining_s())
        if timeout_s is None:
            return "the wall-time budget ran out"
        ctx.step("running the mutants of the changed lines against every candidate test")
        started = time.monotonic()
        ignore = [p for p in candidates if p not in files and (ctx.checkout / p).is_file()]
        sources = {p: ls for p, ls in plan.sources.items() if p in plan.before.executable}
        try:
            tests = TestFiles(candidates=files, ignore=ignore)
            return await against_the_suite(ctx, sources, tests, timeout_s=timeout_s)
        finally:
            production.timings["mutants"] = time.monotonic() - started

    return run


async def select_offline_tests(
    ctx: Context,
    production: Production,
    plan: Plan,
    tests: tuple[list[str], SelectTests],
    *,
    score: bool = True,
) -> None:
    """The offline engines' tests, one by one: tidied, validated, and kept for what each proves
    that nothing else does (:mod:`.proof.worth`: changed lines it runs and checks, mutants it
    kills, functions it pins), so one bad test never sinks a file. ``tests``: the candidate
    files, and the run's language's selection that splits and measures them. ``score``: no
    tests follow, so the kill matrix also gives the mutant score (the mutant stage need not
    run again)."""
    ctx.step("validating each generated test and keeping those that prove something new")
    started = time.monotonic()
    base_sha, runs = ctx.base_sha, ctx.tg.flaky_runs
    candidates, select_tests = tests

    async def failing_on_base(files: dict[str, str]) -> set[tuple[str, str]] | None:
        """Which candidates pin the change, so that a coverage tie goes to one that does."""
        if base_sha is None:
            return None
        ctx.step("running the candidates on the base commit")
        return await ctx.language.tests_failing_on_base(
            ctx.sandbox,
            ctx.checkout,
            base_sha,
            files,
            timeout_s=min(ctx.settings.test_timeout_s, ctx.budget.remaining_s() / 4),
        )

    chosen = await select_tests(
        ctx.sandbox,
        ctx.checkout,
        candidates,
        plan.baseline,
        plan.changed_exec,
        Options(
            runs=runs,
            timeout_s=ctx.settings.test_timeout_s,
            on_base=failing_on_base if base_sha else None,
            on_mutants=kill_matrix(ctx, production, plan, candidates),
            budget=ctx.budget,
        ),
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
        proved = ["covering changed lines nothing else covered"]
        if chosen.matrix is not None:
            proved = ["running changed lines nothing else ran and killing their mutants"]
            proved.append("killing mutants nothing else killed")
        if base_sha:
            proved.append("failing on the base commit where nothing else does (pinning the change)")
        production.notes.append(
            f"{len(kept_tests)} of {len(chosen.tests)} generated test(s) kept, each passing "
            f"{runs} runs and " + ", or ".join(proved) + "."
        )
    production.notes.extend(chosen.notes)
    if score and chosen.mutants is not None:
        production.mutants = worth.with_kept(chosen.mutants, {t.label for t in kept_tests})
    production.verdicts = sorted(chosen.verdicts, key=lambda v: (not v.kept, v.path))
    production.kept = dict(sorted(chosen.kept_files.items()))
    # Kept tests only add to the baseline; a selection that judged nothing (no candidates, or
    # none could be split) reports no lines, and the check run then said "100% -> 0%".
    covered = line_sets.union(plan.before.covered, chosen.covered)
    production.after = line_sets.ChangedCoverage(plan.changed_exec, covered)
    production.budget_hit = ctx.budget.hit
