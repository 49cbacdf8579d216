"""Stopping a run: cancel (a command, a closed PR) and supersede (a new head of the PR).

Cancelling marks the run cancelled in its Redis state (`jobs.state`, atomic, so safe to call
twice), asks arq to abort its parts (`jobs.queue`) and completes its check run `cancelled`. A
run is never left `in_progress`: a run cancelled before its check run existed is completed by
`jobs.runs` once it has created it.
"""

from __future__ import annotations

import logging
from typing import Any

from core import github
from core.github import GitHubError
from core.part_registry import PART_NAMES
from jobs import checkrun, queue
from jobs.installation import github_for
from jobs.notices import notify_run_end
from jobs.state import RunState, RunStore

log = logging.getLogger(__name__)


async def cancel_run(ctx: dict[str, Any], key: str, reason: str) -> bool:
    """Cancel a run: stop its parts and complete its check run. Safe to call twice."""
    store = RunStore(ctx["redis"])
    if not await store.cancel(key, reason):
        return False
    await queue.request_abort(ctx["redis"], [queue.part_job_id(p, key) for p in PART_NAMES])
    state = await store.load(key)
    if state is not None and state.check_run_id is not None:
        await complete_cancelled(ctx, state, reason)
    return True


async def complete_cancelled(ctx: dict[str, Any], state: RunState, reason: str) -> None:
    assert state.pr is not None and state.check_run_id is not None
    gh, _ = await github_for(ctx, state.pr.installation_id)
    output = checkrun.cancelled_output(reason)
    await github.complete_check_run(gh, state.pr.repo, state.check_run_id, "cancelled", output)
    await notify_run_end(ctx, state, "cancelled")


async def supersede(ctx: dict[str, Any], old_key: str, new_sha: str) -> None:
    try:
        await cancel_run(ctx, old_key, f"superseded by {new_sha[:12]}")
    except GitHubError as exc:
        log.warning("could not complete superseded run %s: %s", old_key, exc)


async def cancel_pr_runs(ctx: dict[str, Any], repo: str, number: int, reason: str) -> str:
    """The job of a closed PR: cancel its current run."""
    key = await RunStore(ctx["redis"]).current_key(repo, number)
    if key is None:
        return "no run"
    try:
        cancelled = await cancel_run(ctx, key, reason)
    except GitHubError as exc:
        raise RuntimeError(f"cancelled {key} but could not complete its check run: {exc}") from None
    return f"cancelled {key}" if cancelled else f"{key} was not running"
