"""Everything the run's check run shows: its title, summary, text, annotations, conclusion and
buttons, at each step of the run's lifecycle. Pure: the lifecycle (`jobs.runs`, `jobs.cancel`,
`jobs.collect`) makes the GitHub calls with what this renders.

- started: `started_output`, while the parts run;
- done: `render` merges the parts' results (each part renders its own section:
  `jobs.testgen.tests_report`, `jobs.review.review_report`) into one table, `conclusion_for`
  decides the conclusion and `actions` the buttons;
- a part that could not report itself (timed out, crashed, interrupted too often) gets a result
  from `timed_out`, `crashed` or `interrupted`;
- cancelled or superseded: `cancelled_output`;
- an invalid tandem.yml: `invalid_config_output`, with an annotation on each offending line.
"""

from __future__ import annotations

from bot.command_parsing import buttons_for
from bot.event_plan import PullRequestRef
from core.github import Annotation, CheckOutput, Conclusion
from core.part_registry import PartName, info, parts_for, title
from core.repo_config import CONFIG_PATH, RepoConfig
from core.repo_config_file import InvalidConfig
from jobs.state import PartResult, RunOptions, RunState

MAX_ANNOTATIONS = 200
LEVEL_ORDER = {"failure": 0, "warning": 1, "notice": 2}
STATUS_ICONS = {"ok": "✅", "warning": "⚠️", "failed": "❌", "skipped": "⏭️"}
TRIGGER_TITLES = {
    "pull_request": "a push",
    "command": "a command",
    "rerequest": "Re-run",
    "button": "a check-run button",
}
# The output of a check run created only to report an invalid config.
READING_CONFIG = CheckOutput(title="Reading configuration", summary="")


def started_output(parts: list[PartName], options: RunOptions) -> CheckOutput:
    """The in-progress check run's output: which parts run, and who asked, if someone did."""
    summary = "Running: " + ", ".join(title(p) for p in parts)
    if options.requested_by:
        asked = f"`{options.command}`" if options.command else TRIGGER_TITLES[options.trigger]
        summary += f"\n\nAsked for by @{options.requested_by} with {asked}."
    return CheckOutput(title="Generating tests and reviewing the change", summary=summary)


def conclusion_for(results: list[PartResult]) -> Conclusion:
    """A finding the config gates on fails the check. Tandem's own trouble never blocks a
    merge: a part that could not do its work makes the run neutral."""
    if any(r.fails_check for r in results):
        return "failure"
    if any(r.status in ("failed", "warning") for r in results):
        return "neutral"
    return "success"


def render(state: RunState) -> tuple[Conclusion, CheckOutput]:
    return render_results([state.results[p] for p in state.parts if p in state.results])


def render_results(results: list[PartResult]) -> tuple[Conclusion, CheckOutput]:
    """The check run's conclusion and output for the parts' results, in part order."""
    lines = ["| Part | Result | Duration |", "| --- | --- | --- |"]
    for result in results:
        # A part whose finding fails the check is not shown as ✅, however it went.
        icon = STATUS_ICONS["failed"] if result.fails_check else STATUS_ICONS[result.status]
        lines.append(
            f"| {info(result.part).heading} | {icon} {result.headline} "
            f"| {result.duration_s:.1f} s |"
        )
    sections = [f"### {info(r.part).heading}\n\n{r.summary}" for r in results if r.summary]
    # Failures, then warnings, then notices (the mutants' survivors): past the cap, the least
    # pressing go. The sort is stable, so each part's own order stays.
    annotations = sorted(
        (a for r in results for a in r.annotations),
        key=lambda a: LEVEL_ORDER.get(a.annotation_level, len(LEVEL_ORDER)),
    )
    if len(annotations) > MAX_ANNOTATIONS:
        sections.append(
            f"_Showing {MAX_ANNOTATIONS} annotations, and {len(annotations) - MAX_ANNOTATIONS} "
            "more not shown._"
        )
        annotations = annotations[:MAX_ANNOTATIONS]
    text = "\n\n".join(r.text for r in results if r.text) or None
    title = " · ".join(r.headline for r in results) or "Nothing to do"
    summary = "\n".join(lines) + "\n\n" + "\n\n".join(sections)
    return conclusion_for(results), CheckOutput(
        title=title, summary=summary, text=text, annotations=annotations
    )


def actions(state: RunState) -> list[dict[str, str]]:
    """The completed check run's buttons (GitHub: at most 3), for the parts the config enables."""
    try:
        config = RepoConfig.model_validate_json(state.config)
    except ValueError:
        return []
    return [button.to_api() for button in buttons_for(parts_for(config))]


def interrupted(part: PartName, tries: int) -> PartResult:
    """The result of a part whose earlier `tries` died with their worker."""
    return PartResult(
        part=part,
        status="failed",
        headline=f"{title(part)} failed",
        summary=f"{info(part).heading} was interrupted "
        f"{tries} times (worker stopped or crashed); not retried again.",
    )


def timed_out(part: PartName, budget: float | None) -> PartResult:
    return PartResult(
        part=part,
        status="failed",
        headline=f"{title(part)} timed out",
        summary=f"{info(part).heading} did not finish within {budget or 0:.0f} s.",
    )


def crashed(part: PartName, reason: str) -> PartResult:
    """The result of a part whose work raised; `reason` is already redacted."""
    return PartResult(
        part=part,
        status="failed",
        headline=f"{title(part)} failed",
        summary=f"{info(part).heading} failed: {reason}",
    )


def cancelled_output(reason: str) -> CheckOutput:
    return CheckOutput(title=f"Cancelled: {reason}", summary=f"This run was cancelled: {reason}.")


def invalid_config_output(pr: PullRequestRef, exc: InvalidConfig) -> CheckOutput:
    """Why the run did not start, with an annotation on each offending line of the config."""
    return CheckOutput(
        title=f"{CONFIG_PATH} is invalid",
        summary=(
            f"Tandem did not run because `{CONFIG_PATH}` on the base branch `{pr.base_ref}` "
            "has errors. Fix them on the base branch, then push again.\n\n"
            + "\n".join(f"- line {e.line}, column {e.column}: {e.message}" for e in exc.errors)
        ),
        annotations=[
            Annotation(
                path=CONFIG_PATH,
                start_line=e.line,
                end_line=e.line,
                annotation_level="failure",
                title="Invalid Tandem configuration",
                message=e.message,
            )
            for e in exc.errors
        ],
    )
