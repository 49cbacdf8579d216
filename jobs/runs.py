"""The run's lifecycle jobs: start (fan-out), finish a part (fan-in), supersede and cancel."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss
from arq.utils import timestamp_ms
from gidgethub.aiohttp import GitHubAPI

from bot import github
from bot.connections import CONTROL_QUEUE, PARTS_QUEUE
from bot.github import Annotation, CheckOutput, GitHubError
from bot.plan import PullRequestRef
from bot.repo_config import CONFIG_PATH, InvalidConfig, RepoConfig, parse_config
from bot.settings import Settings, SettingsError
from jobs.state import PARTS, PartName, PartResult, RunState, RunStore

log = logging.getLogger(__name__)


# arq's max_tries for the parts is one above this, so the last try always reports.
GIVE_UP_AFTER_TRIES = 3


def part_job_id(part: PartName, key: str) -> str:
    return f"{part}:{key}"


def collect_job_id(key: str) -> str:
    return f"collect:{key}"


async def github_for(ctx: dict[str, Any], installation_id: int) -> tuple[GitHubAPI, str]:
    redis: ArqRedis = ctx["redis"]
    session: aiohttp.ClientSession = ctx["session"]
    settings: Settings = ctx["settings"]
    gh, token = await github.installation_client(redis, session, settings, installation_id)
    # Remembered so that error text shown to users can be scrubbed of it.
    ctx.setdefault("tokens", set()).add(token)
    return gh, token


def parts_for(config: RepoConfig) -> list[PartName]:
    parts: list[PartName] = []
    if config.test_generation.enabled:
        parts.append("generate_tests")
    if config.refactoring_review.enabled:
        parts.append("review_refactoring")
    return parts


async def start_run(
    ctx: dict[str, Any], pr_data: dict[str, Any], delivery_id: str, action: str = "opened"
) -> str:
    """Read the base branch's config, open the check run and fan out the parts."""
    pr = PullRequestRef.from_dict(pr_data)
    key = pr.run_key
    store = RunStore(ctx["redis"])
    try:
        gh, _ = await github_for(ctx, pr.installation_id)
        config_text = await github.get_file(gh, pr.repo, CONFIG_PATH, pr.base_sha)
    except (GitHubError, SettingsError) as exc:
        # Without GitHub there is nowhere to report; fail the job with a picklable error.
        raise RuntimeError(f"cannot start run {key}: {exc}") from None

    try:
        config = parse_config(config_text) if config_text is not None else RepoConfig()
    except InvalidConfig as exc:
        await report_invalid_config(gh, pr, exc)
        return "invalid config"

    if not config.enabled:
        return "disabled by config"
    if pr.draft and not config.triggers.drafts:
        return "draft skipped"
    parts = parts_for(config)
    if not parts:
        return "no parts enabled"

    begin = await store.begin(pr, parts, config.model_dump_json(), restart=action == "reopened")
    if begin.outcome in ("cancelled", "stale"):
        return f"run {begin.outcome}"
    if begin.outcome == "exists":
        existing = await store.load(key)
        if existing is None or existing.status != "running":
            # Done already (a late duplicate, or a draft turned ready after its run finished).
            return f"run already {existing.status if existing else 'gone'}"
    if begin.previous and begin.previous != key:
        await supersede(ctx, begin.previous, pr.head_sha)

    check_run_id = await github.find_check_run(gh, pr.repo, pr.head_sha, key)
    if check_run_id is None:
        output = CheckOutput(
            title="Generating tests and reviewing the change",
            summary="Running: " + ", ".join(PART_TITLES[p] for p in parts),
        )
        check_run_id = await github.create_check_run(gh, pr.repo, pr.head_sha, key, output)
    await store.set_check_run(key, check_run_id)

    state = await store.load(key)
    assert state is not None
    if state.status == "cancelled":
        # Cancelled while the check run was being created: finish it here, nobody else can.
        await complete_cancelled(ctx, state, state.reason)
        return "cancelled during start"
    redis: ArqRedis = ctx["redis"]
    # An abort request outlives a job that had already finished; a restarted run (reopen) reuses
    # the job ids, so old requests must not abort the new jobs before they start.
    await redis.zrem(abort_jobs_ss, *[part_job_id(p, key) for p in parts])
    for part in parts:
        if part not in state.results:
            await redis.enqueue_job(
                part, key, _job_id=part_job_id(part, key), _queue_name=PARTS_QUEUE
            )
    return f"started {key} ({delivery_id})"


PART_TITLES: dict[str, str] = {
    "generate_tests": "test generation",
    "review_refactoring": "refactoring review",
}


async def report_invalid_config(gh: GitHubAPI, pr: PullRequestRef, exc: InvalidConfig) -> None:
    key = pr.run_key
    check_run_id = await github.find_check_run(gh, pr.repo, pr.head_sha, key)
    output = CheckOutput(
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
    if check_run_id is None:
        check_run_id = await github.create_check_run(
            gh, pr.repo, pr.head_sha, key, CheckOutput(title="Reading configuration", summary="")
        )
    await github.complete_check_run(gh, pr.repo, check_run_id, "action_required", output)


async def request_abort(redis: ArqRedis, job_ids: list[str]) -> None:
    # arq's Job.abort() then waits for the result by polling; the run does not need to wait,
    # so only the abort request is written, exactly as Job.abort does it.
    await redis.zadd(abort_jobs_ss, {job_id: timestamp_ms() for job_id in job_ids})


async def cancel_run(ctx: dict[str, Any], key: str, reason: str) -> bool:
    """Cancel a run: stop its parts and complete its check run. Safe to call twice."""
    store = RunStore(ctx["redis"])
    if not await store.cancel(key, reason):
        return False
    await request_abort(ctx["redis"], [part_job_id(p, key) for p in PARTS])
    state = await store.load(key)
    if state is not None and state.check_run_id is not None:
        await complete_cancelled(ctx, state, reason)
    return True


async def complete_cancelled(ctx: dict[str, Any], state: RunState, reason: str) -> None:
    assert state.pr is not None and state.check_run_id is not None
    gh, _ = await github_for(ctx, state.pr.installation_id)
    output = CheckOutput(title=f"Cancelled: {reason}", summary=f"This run was cancelled: {reason}.")
    await github.complete_check_run(gh, state.pr.repo, state.check_run_id, "cancelled", output)


async def supersede(ctx: dict[str, Any], old_key: str, new_sha: str) -> None:
    try:
        await cancel_run(ctx, old_key, f"superseded by {new_sha[:12]}")
    except GitHubError as exc:
        log.warning("could not complete superseded run %s: %s", old_key, exc)


async def cancel_pr_runs(ctx: dict[str, Any], repo: str, number: int, reason: str) -> str:
    key = await RunStore(ctx["redis"]).current_key(repo, number)
    if key is None:
        return "no run"
    try:
        cancelled = await cancel_run(ctx, key, reason)
    except GitHubError as exc:
        raise RuntimeError(f"cancelled {key} but could not complete its check run: {exc}") from None
    return f"cancelled {key}" if cancelled else f"{key} was not running"


PartWork = Callable[[dict[str, Any], RunState], Awaitable[PartResult]]


async def run_part(ctx: dict[str, Any], part: PartName, key: str, work: PartWork) -> str:
    """Run one part and hand its result to the fan-in. Any failure becomes a result, so the
    other part is still reported and the check run never hangs."""
    store = RunStore(ctx["redis"])
    state = await store.load(key)
    if state is None or state.pr is None:
        return "unknown run"
    if state.status != "running":
        return f"run is {state.status}"
    started = time.monotonic()
    if part in state.results:
        result = state.results[part]
    elif ctx.get("job_try", 1) >= GIVE_UP_AFTER_TRIES:
        # Earlier attempts died with their worker. This try reports instead of risking arq
        # dropping the job after max_tries, which would leave the run hanging.
        result = PartResult(
            part=part,
            status="failed",
            headline=f"{PART_TITLES[part]} failed",
            summary=f"{PART_TITLES[part].capitalize()} was interrupted "
            f"{ctx.get('job_try', 1) - 1} times (worker stopped or crashed); not retried again.",
        )
    else:
        budget: float | None = ctx.get("part_budgets", {}).get(part)
        try:
            async with asyncio.timeout(budget):
                result = await work(ctx, state)
        except TimeoutError:
            result = PartResult(
                part=part,
                status="failed",
                headline=f"{PART_TITLES[part]} timed out",
                summary=f"{PART_TITLES[part].capitalize()} did not finish within "
                f"{budget or 0:.0f} s.",
            )
        except Exception as exc:  # isolation is the point: report, don't crash
            log.exception("%s failed for %s", part, key)
            result = PartResult(
                part=part,
                status="failed",
                headline=f"{PART_TITLES[part]} failed",
                summary=f"{PART_TITLES[part].capitalize()} failed: {safe_reason(ctx, exc)}",
            )
        result.duration_s = round(time.monotonic() - started, 2)
    pending = await store.record(key, result)
    if pending == 0:
        redis: ArqRedis = ctx["redis"]
        await redis.enqueue_job(
            "collect", key, _job_id=collect_job_id(key), _queue_name=CONTROL_QUEUE
        )
    return f"{part} {result.status}"


def safe_reason(ctx: dict[str, Any], exc: BaseException) -> str:
    settings: Settings = ctx["settings"]
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    secrets = [
        settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
        *ctx.get("tokens", ()),
    ]
    return github.redact(text, *secrets)[:2000]
