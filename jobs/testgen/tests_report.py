"""The part's result from a ``Production``: the check run's Markdown lines, its details, the
headline and status, and the evidence paragraph that goes with delivered tests. Pure: nothing
here runs, reads or posts anything."""

from __future__ import annotations

from typing import Any

from core.part_registry import GENERATE_TESTS
from core.repo_config import TestGeneration
from jobs.agent import AgentOutcome
from jobs.languages.suite_run import SuiteRun
from jobs.state import Annotation, PartResult
from jobs.testgen.budget import BUDGET_STATUSES, Usage
from jobs.testgen.deliver import fence_for
from jobs.testgen.production import Production

MAX_PINS_LISTED = 10  # kept tests named in the "fail on the base commit" line
# How a discarded file's reason starts where its tests failed to pass (validation's words)
FAILING = ("failed", "flaky", "timed out", "could not run", "no tests collected")


def baseline_line(run: SuiteRun) -> str:
    if run.timed_out:
        return (
            f"Existing tests: timed out after {run.duration_s:.0f} s; "
            "what they covered before that is not counted."
        )
    if run.status == "no tests":
        return "Existing tests: none found."
    text = f"Existing tests: {run.describe()}"
    if run.status in ("failed", "did not run"):
        text += " (coverage counted for what ran)" if run.measured else " (no coverage data)"
    return text + "."


def coverage_line(production: Production) -> str | None:
    before, after = production.before, production.after
    if before is None or after is None or not before.total:
        return None
    return (
        f"**changed lines covered: {before.percent()}% → {after.percent()}%** "
        f"({before.covered_count} → {after.covered_count} of {before.total} changed statements)"
    )


def target_note(production: Production, target: int) -> str:
    """Whether the changed-line coverage reached `test_generation.coverage.target`."""
    after = production.after
    if after is None or not after.total:
        return ""
    reached = after.percent() >= target
    return f"; target {target}%: {'reached' if reached else 'not reached'}"


def usage_line(usage: Usage, budget_cost: float) -> str:
    last = usage.last
    assert last is not None
    rounds = f", {usage.conversations} conversations" if usage.conversations > 1 else ""
    return (
        f"Agent: {last.status} after {usage.iterations} iterations in {usage.duration_s:.1f} s"
        f"{rounds} ({usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens, "
        f"${usage.cost_usd:.4f} of ${budget_cost:.2f}). {last.reason}"
    )


def agent_line(outcome: AgentOutcome) -> str:
    usage = Usage()
    usage.add(outcome)
    return usage_line(usage, 0.0)


def llm_failure(production: Production) -> str | None:
    """The configured LLM's failure in a few words ("LLM key rejected (HTTP 401 from the
    provider)"), when it ended the agent's work; None when it did not fail. A budget that ended
    the agent is not a failure of the LLM."""
    last = production.usage.last
    if last is None or last.status != "llm_error":
        return None
    return last.llm_failure or "LLM failed"


def render(production: Production, tg: TestGeneration) -> tuple[list[str], dict[str, Any]]:
    """Summary lines and details for the check run (without the delivery line)."""
    failure = llm_failure(production)
    # One paragraph each: Markdown (GitHub's and `tandem run`'s) runs single lines together.
    lines = [
        paragraph for line in _figure_lines(production, tg, failure) for paragraph in (line, "")
    ]
    lines.extend(_file_lines(production))
    return lines, _details(production, failure)


def _figure_lines(production: Production, tg: TestGeneration, failure: str | None) -> list[str]:
    """The problems first, then the engine, the spending and what the tests cover and pin."""
    lines: list[str] = []
    if failure is not None:
        offline = len(production.kept) - len(production.agent_kept)
        lines.append(
            f"**Problem:** {failure}; the agent stopped after "
            f"{production.usage.iterations} iteration(s)"
            + (f", so {offline} kept file(s) come from the offline engines only" if offline else "")
            + ". Check the LLM settings (`TANDEM_LLM_MODEL`, `TANDEM_LLM_BASE_URL`, "
            "`TANDEM_LLM_API_KEY`) and the provider's status."
        )
    lines.extend(f"**Problem:** {p}." for p in problems_of(production))
    lines.append(f"Engine: {production.engine_reason}.")
    usage = production.usage
    if usage.last is not None:
        lines.append(usage_line(usage, tg.budgets.max_cost_usd))
    if production.baseline:
        lines.append(production.baseline)
    if production.broken is not None:
        lines.extend(production.broken.lines("broken_tests" in tg.fail_on))
    shown = coverage_line(production)
    if shown:
        lines.append(shown + target_note(production, tg.coverage.target))
    pinned = production.pinning.line() if production.pinning is not None else None
    if pinned:
        lines.append(pinned)
    if pins := pinning_tests_line(production):
        lines.append(pins)
    scored = production.mutants.line(bool(production.kept)) if production.mutants else None
    if scored:
        lines.append(scored)
    if production.budget_hit:
        lines.append("Budget: " + "; ".join(production.budget_hit) + ". Reporting what was done.")
    return lines


def _file_lines(production: Production) -> list[str]:
    """Each test file's verdict, the agent's rounds, the files left out and the notes."""
    lines: list[str] = []
    if production.verdicts:
        lines.extend(
            f"- `{v.path}`: {'kept' if v.kept else 'discarded'} ({v.reason})"
            for v in production.verdicts
        )
    else:
        lines.append(
            "The agent wrote no test files."
            if production.engine == "openhands"
            else "No test files were generated."
        )
    if production.fix_rounds:
        lines.append(
            f"\nFailing tests were sent back to the agent {production.fix_rounds} time(s)."
        )
    if production.coverage_rounds:
        lines.append(
            "\nThe changed lines still uncovered were sent back to the agent "
            f"{production.coverage_rounds} time(s)."
        )
    if production.left_out:
        lines.append("\nLeft out: " + "; ".join(production.left_out[:30]))
        if len(production.left_out) > 30:
            lines.append(f"… and {len(production.left_out) - 30} more file(s).")
    if production.notes:
        lines.append("\nNotes:\n")
        lines.extend(f"- {note}" for note in production.notes)
    return lines


def _details(production: Production, failure: str | None) -> dict[str, Any]:
    """The check run's details (what the API and the benchmarks read)."""
    before, after, usage = production.before, production.after, production.usage
    details: dict[str, Any] = {
        "engine": production.engine,
        "agent_status": usage.last.status if usage.last else None,
        "llm_failure": failure,
        "kept": sorted(production.kept),
        "discarded": [v.path for v in production.verdicts if not v.kept],
        "verdicts": [
            {"path": v.path, "kept": v.kept, "reason": v.reason} for v in production.verdicts
        ],
        "cost_usd": round(usage.cost_usd, 6),
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "iterations": usage.iterations,
        "fix_rounds": production.fix_rounds,
        "coverage_rounds": production.coverage_rounds,
        "budget_hit": production.budget_hit,
        "left_out": production.left_out,
        "problems": problems_of(production),
        "tests": production.tests,
        "syntax_errors": production.syntax_errors,
        "timings": {k: round(v, 3) for k, v in production.timings.items()},
        "pinning": production.pinning.details() if production.pinning is not None else None,
        "broken_tests": [],
        "mutants": production.mutants.details() if production.mutants is not None else None,
    }
    if production.broken is not None:
        details.update(production.broken.details())
    if before is not None and after is not None:
        details["coverage"] = {
            "changed_statements": before.total,
            "covered_before": before.covered_count,
            "covered_after": after.covered_count,
            "percent_before": before.percent(),
            "percent_after": after.percent(),
        }
    return details


def unkept_result(production: Production, tg: TestGeneration) -> PartResult | None:
    """The part's result when no test file is kept, so there is nothing to deliver."""
    lines, details = render(production, tg)
    if production.nothing_to_do is not None:
        headline = (
            "syntax error in the change"
            if production.syntax_errors and production.before is None
            else f"{', '.join(production.not_built)}: test generation not built yet"
            if production.not_built and production.before is None
            else "no LLM configured"
            if production.engine is None
            else "no changed Python code"
            if not production.targets and production.before is None
            else "nothing to cover"
        )
        summary = production.nothing_to_do
        if production.before is not None:
            engine_line = f"Engine: {production.engine_reason}."
            summary += "\n\n" + "\n".join(line for line in lines if line and line != engine_line)
        return with_broken_tests(
            PartResult(
                part=GENERATE_TESTS,
                status="warning" if production.problems else "skipped",
                headline=with_problem(headline, production),
                summary=summary,
                details=details,
                annotations=mutant_annotations(production),
            ),
            production,
            tg,
        )
    if production.kept:
        return None
    last = production.usage.last
    failure = llm_failure(production)
    # The LLM's failure is the provider's trouble (or the operator's settings), not a crash of
    # Tandem's: ⚠️ with the failure in the headline.
    failed = last is not None and last.status not in ("finished",) and failure is None
    if production.budget_hit and last is not None and last.status in BUDGET_STATUSES:
        headline = f"no tests kept ({'; '.join(production.budget_hit)})"
    elif failure is not None:
        headline = f"{failure}: no tests kept"
    elif failed:
        headline = f"test generation {last.status if last else 'failed'}"
    elif (covered := all_run_line(production)) is not None:
        headline = covered
    elif passed := [v for v in production.verdicts if v.reason.startswith("passed ")]:
        # they passed every run and were not kept: "no passing tests" would be false
        headline = (
            f"no test kept: {len(passed)} generated file(s) passed, but none covers, kills "
            "or pins anything the existing tests do not"
        )
    elif any(v.reason.startswith(FAILING) for v in production.verdicts):
        headline = "no passing tests"
    elif production.verdicts:  # left out for what they are (a review), not for failing
        headline = production.verdicts[0].reason[:160]
    elif not production.targets and production.before is not None and production.before.total:
        # Every changed line ran already; the differential engine looked for what to pin.
        headline = "nothing to cover, and no difference between base and head found"
    else:
        headline = "no tests written"
    result = PartResult(
        part=GENERATE_TESTS,
        status="failed" if failed else "warning" if production.problems or failure else "ok",
        headline=with_problem(headline, production),
        summary="\n".join(lines),
        details=details,
        annotations=mutant_annotations(production),
    )
    return with_broken_tests(result, production, tg)


def all_run_line(production: Production) -> str | None:
    """Where every changed line ran already and mutants survived the existing tests, what the
    engines' tests did about them: "every changed line already runs; 3 mutants survived the
    existing tests: kept 1 test that kills 2 of them". None in any other case."""
    existing = production.existing_score
    if existing is None or not existing.alive:
        return None
    alive = existing.alive
    text = (
        f"every changed line already runs; {alive} mutant{'s' if alive != 1 else ''} "
        "survived the existing tests"
    )
    tests = [t for t in production.tests if t.get("kept")]
    kept = len(tests) or len(production.kept)
    if not kept:
        return text + ": no generated test kills one or pins the change"
    scored = production.mutants is not None and production.mutants is not existing
    kills = production.mutants.count("killed", "kept") if scored and production.mutants else 0
    what = f"test{'s' if kept != 1 else ''}" if tests else f"test file{'s' if kept != 1 else ''}"
    said = []
    if kills:
        said.append(f"kill{'s' if kept == 1 else ''} {kills} of them")
    if pins := sum(bool(t.get("fails_on_base")) for t in tests):
        said.append(f"{pins} fail{'s' if pins == 1 else ''} on the base commit")
    return f"{text}: kept {kept} {what}" + (" that " + ", ".join(said) if said else "")


def mutant_annotations(production: Production) -> list[Annotation]:
    """A notice on each changed line where a mutant survived, the most telling first."""
    return production.mutants.annotations() if production.mutants is not None else []


def with_problem(headline: str, production: Production) -> str:
    """The headline, and the first problem with its decisive line, when there was one."""
    problems = problems_of(production)
    if not problems or (
        problems[0].startswith("syntax error") and (headline.startswith("syntax error"))
    ):
        return headline
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{headline}; {problems[0]}{more}"


def problems_of(production: Production) -> list[str]:
    """The part's problems, each once: two stages that run the mutants (against the existing
    tests, then with the candidates) can meet the same trouble."""
    return list(dict.fromkeys(production.problems))


def with_broken_tests(result: PartResult, production: Production, tg: TestGeneration) -> PartResult:
    """The broken-tests finding on the part's result: its headline first, a warning
    annotation on each broken test, a ⚠️ (neutral) unless ``fail_on`` lists ``broken_tests``,
    which fails the check."""
    broken = production.broken
    headline = broken.headline() if broken is not None else None
    if broken is None or headline is None:
        return result
    return result.model_copy(
        update={
            "headline": f"{headline}; {result.headline}",
            "status": "warning" if result.status in ("ok", "skipped") else result.status,
            # The warnings before the mutants' notices: the check run shows only so many.
            "annotations": [*broken.annotations(), *result.annotations],
            "fails_check": result.fails_check or "broken_tests" in tg.fail_on,
        }
    )


def pinning_tests_line(production: Production) -> str | None:
    """Which kept offline tests fail on the base commit, and what each pins (its reason)."""
    pins = [t for t in production.tests if t.get("kept") and t.get("fails_on_base")]
    if not pins:
        return None
    shown = []
    for test in pins[:MAX_PINS_LISTED]:
        reason = str(test.get("reason", ""))
        what = reason.partition("pins the change to ")[2]
        shown.append(f"`{test.get('name')}`" + (f" ({what})" if what else ""))
    more = len(pins) - MAX_PINS_LISTED
    return (
        "Kept tests that fail on the base commit: "
        + ", ".join(shown)
        + (f" and {more} more" if more > 0 else "")
        + "."
    )


def evidence(production: Production, tg: TestGeneration, sandbox_kind: str) -> str:
    """One paragraph on why the kept tests can be trusted, for the PR, comment or commit."""
    text = (
        f"{len(production.kept)} test file(s) passed {tg.flaky_runs} runs each in Tandem's "
        f"{sandbox_kind} sandbox and cover changed lines the existing tests did not"
        + (
            ", or fail on the base commit where nothing else does."
            if pinning_tests_line(production)
            else "."
        )
    )
    shown = coverage_line(production)
    if shown:
        text += " " + shown.replace("**", "") + "."
    pinned = production.pinning.line() if production.pinning is not None else None
    if pinned and production.pinning is not None and production.pinning.outcomes:
        text += " " + pinned
    return text


def kept_result(
    production: Production,
    tg: TestGeneration,
    patch: str,
    delivered: list[str],
    delivery: dict[str, str],
) -> PartResult:
    """The part's result for kept tests; `delivered` are the lines saying where they went."""
    lines, details = render(production, tg)
    lines.extend(delivered)
    details["timings"] = {k: round(v, 3) for k, v in production.timings.items()}
    details["delivery"] = delivery
    headline = all_run_line(production) or f"{len(production.kept)} test file(s) generated"
    if production.budget_hit:
        headline += " (budget reached)"
    failure = llm_failure(production)
    if failure is not None:
        # What the operator must see first: the LLM they configured is not working.
        only = "offline tests only, " if not production.agent_kept else ""
        headline = f"{failure}: {only}{headline}"
    fence = fence_for(patch)
    result = PartResult(
        part=GENERATE_TESTS,
        status="warning" if production.problems or failure else "ok",
        headline=with_problem(headline, production),
        summary="\n".join(lines),
        details=details,
        annotations=mutant_annotations(production),
        text=f"### Generated tests as a patch\n\nApply with `git apply`.\n\n"
        f"{fence}diff\n{patch}{fence}\n",
    )
    return with_broken_tests(result, production, tg)
