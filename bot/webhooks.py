"""Webhook handlers: one small function per event/action. They decide and enqueue, nothing more."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from gidgethub import routing, sansio

from bot import event_plan as plan

log = logging.getLogger(__name__)

router = routing.Router()


class Enqueue(Protocol):
    async def __call__(self, function: str, *args: Any, job_id: str) -> bool: ...


@dataclass
class Intake:
    """What a handler may touch: the queue. Handlers never call GitHub or the LLM."""

    enqueue: Enqueue
    outcome: str = "ignored"


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="ready_for_review")
async def start_run_for_pull_request(event: sansio.Event, intake: Intake) -> None:
    decision = plan.decide_pull_request(event.data["action"], event.data)
    assert isinstance(decision, plan.StartRun)
    key = decision.pr.run_key
    queued = await intake.enqueue(
        "start_run",
        decision.pr.to_dict(),
        event.delivery_id,
        event.data["action"],
        job_id=f"start_run:{key}",
    )
    intake.outcome = f"run {key} queued" if queued else f"run {key} already queued"


@router.register("pull_request", action="closed")
async def cancel_runs_of_closed_pull_request(event: sansio.Event, intake: Intake) -> None:
    decision = plan.decide_pull_request("closed", event.data)
    assert isinstance(decision, plan.CancelRuns)
    await intake.enqueue(
        "cancel_pr_runs",
        decision.repo,
        decision.number,
        decision.reason,
        job_id=f"cancel_pr_runs:{decision.repo}#{decision.number}:{event.delivery_id}",
    )
    intake.outcome = f"cancelling runs of {decision.repo}#{decision.number}"


@router.register("issue_comment", action="created")
async def run_comment_commands(event: sansio.Event, intake: Intake) -> None:
    """Commands in a new PR comment. Only `created` is routed: an edited comment never
    re-runs. Permission, the PR and the config are looked up by the worker, not here."""
    decision = plan.decide_issue_comment(event.data)
    if isinstance(decision, plan.Ignore):
        intake.outcome = decision.reason
        return
    queued = await intake.enqueue(
        "run_command",
        decision.to_dict(),
        event.delivery_id,
        job_id=f"run_command:{decision.repo}:{decision.comment_id}",
    )
    what = f"commands of comment {decision.comment_id} on {decision.repo}#{decision.number}"
    intake.outcome = f"{what} queued" if queued else f"{what} already queued"


@router.register("check_run", action="rerequested")
@router.register("check_run", action="requested_action")
@router.register("check_suite", action="rerequested")
async def rerun_head(event: sansio.Event, intake: Intake) -> None:
    decision = plan.decide_check_rerequest(event.event, event.data["action"], event.data)
    if isinstance(decision, plan.Ignore):
        intake.outcome = decision.reason
        return
    await intake.enqueue(
        "rerun_head",
        decision.to_dict(),
        event.delivery_id,
        job_id=f"rerun_head:{decision.repo}@{decision.head_sha}:{event.delivery_id}",
    )
    intake.outcome = f"re-run of {decision.repo}@{decision.head_sha[:12]} queued"
