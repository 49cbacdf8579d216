"""Answers on the PR comment that asked for a run (`RunOptions.comment_id`).

The run tells the command's comment how it ended: 🚀 (it ran and reported) or 😕 (it did not:
refused, cancelled, invalid config, Tandem's own trouble), with a short reply when the reason
is not shown anywhere else. Runs not asked for by a comment have nobody to tell.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.event_plan import PullRequestRef
from core import github
from core.github import GitHubError
from jobs.installation import github_for
from jobs.state import RunOptions, RunState

log = logging.getLogger(__name__)

BUSY_MESSAGE = (
    "A Tandem run for this commit is in progress; wait for it to finish, "
    "or stop it with `/tandem cancel` first."
)


async def notify_origin(
    ctx: dict[str, Any],
    pr: PullRequestRef,
    options: RunOptions,
    *,
    ok: bool,
    message: str | None = None,
) -> None:
    """React 🚀 (`ok`) or 😕 on the comment that asked for the run, after replying `message`."""
    if options.comment_id is None:
        return
    try:
        gh, _ = await github_for(ctx, pr.installation_id)
        if message:
            await github.post_comment(gh, pr.repo, pr.number, f"@{options.requested_by} {message}")
        await github.react_to_comment(
            gh, pr.repo, options.comment_id, "rocket" if ok else "confused"
        )
    except GitHubError as exc:
        log.warning("could not answer comment %s on %s: %s", options.comment_id, pr.repo, exc)


async def notify_run_end(ctx: dict[str, Any], state: RunState, conclusion: str) -> None:
    """Called when a run's check run is completed (collect) or cancelled."""
    if state.pr is None or state.options.comment_id is None:
        return
    await notify_origin(ctx, state.pr, state.options, ok=conclusion in ("success", "failure"))
