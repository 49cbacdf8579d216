"""Merge the parts' results into the run's one check run."""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry

from bot import github
from bot.github import CheckOutput, Conclusion, GitHubError
from bot.parts import info
from jobs.installation import github_for
from jobs.runs import check_run_actions, notify_run_end
from jobs.state import PartResult, RunState, RunStore

log = logging.getLogger(__name__)

MAX_ANNOTATIONS = 200
LEVEL_ORDER = {"failure": 0, "warning": 1, "notice": 2}
COLLECT_TRIES = 5
STATUS_ICONS = {"ok": "✅", "warning": "⚠️", "failed": "❌", "skipped": "⏭️"}


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


async def collect(ctx: dict[str, Any], key: str) -> str:
    store = RunStore(ctx["redis"])
    if not await store.claim_collect(key):
        return "not collectable (cancelled, already collected or parts pending)"
    state = await store.load(key)
    assert state is not None and state.pr is not None and state.check_run_id is not None
    conclusion, output = render(state)
    try:
        gh, _ = await github_for(ctx, state.pr.installation_id)
        await github.complete_check_run(
            gh,
            state.pr.repo,
            state.check_run_id,
            conclusion,
            output,
            actions=check_run_actions(state),
        )
    except GitHubError as exc:
        await store.release_collect(key)
        if ctx.get("job_try", 1) < COLLECT_TRIES:
            log.warning("completing the check run for %s failed (%s); retrying", key, exc)
            raise Retry(defer=10 * ctx.get("job_try", 1)) from None
        raise RuntimeError(f"could not complete check run for {key}: {exc}") from None
    await store.mark_completed(key, conclusion)
    await notify_run_end(ctx, state, conclusion)  # 🚀/😕 on the command's comment, if any
    return f"completed {key}: {conclusion}"
