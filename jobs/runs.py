"""The run's lifecycle jobs: start (fan-out), finish a part (fan-in), supersede and cancel."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix
from arq.typing import WorkerCoroutine
from arq.utils import timestamp_ms
from gidgethub.aiohttp import GitHubAPI

from bot import github
from bot.commands import buttons_for
from bot.connections import CONTROL_QUEUE, PARTS_QUEUE
from bot.filters import skip_reason
from bot.github import Annotation, CheckOutput, GitHubError
from bot.parts import PART_NAMES, PartName, info, parts_for, title
from bot.plan import PullRequestRef
from bot.redaction import redact
from bot.repo_config import CONFIG_PATH, InvalidConfig, RepoConfig
from bot.settings import SettingsError
from jobs.config_loader import load_repo_config
from jobs.installation import github_for, secrets_of
from jobs.state import PartResult, RunOptions, RunState, RunStore

log = logging.getLogger(__name__)


# arq's max_tries for the parts is one above this, so the last try always reports.
GIVE_UP_AFTER_TRIES = 3


def part_job_id(part: PartName, key: str) -> str:
    return f"{part}:{key}"


def collect_job_id(key: str) -> str:
    return f"collect:{key}"


def check_run_actions(state: RunState) -> list[dict[str, str]]:
    """The completed check run's buttons (GitHub: at most 3), for the parts the config enables."""
    try:
        config = RepoConfig.model_validate_json(state.config)
    except ValueError:
        return []
    return [button.to_api() for button in buttons_for(parts_for(config))]


START_TRIES = 10
START_RETRY_DEFER_S = 2.0


async def start_run(
    ctx: dict[str, Any],
    pr_data: dict[str, Any],
    delivery_id: str,
    action: str = "opened",
    options: dict[str, Any] | None = None,
) -> str:
    """Read the base branch's config, open the check run and fan out the parts.

    `options` (a `RunOptions` dict) is how commands, Re-run and the check run's buttons ask for
    a run: which parts, the /generate-tests overrides, and `rerun` to run a head again whose run
    completed or was cancelled. Without options this is the pull_request event's run."""
    pr = PullRequestRef.from_dict(pr_data)
    opts = RunOptions.model_validate(options or {})
    explicit = opts.trigger != "pull_request"
    key = pr.run_key
    store = RunStore(ctx["redis"])
    try:
        gh, _ = await github_for(ctx, pr.installation_id)
    except (GitHubError, SettingsError) as exc:
        # Without GitHub there is nowhere to report; fail the job with a picklable error.
        raise RuntimeError(f"cannot start run {key}: {exc}") from None
    try:
        config = (await load_repo_config(gh, pr.repo, pr.base_sha)).config
    except InvalidConfig as exc:
        await report_invalid_config(gh, pr, exc)
        await notify_origin(ctx, pr, opts, ok=False)
        return "invalid config"
    except GitHubError as exc:
        raise RuntimeError(f"cannot start run {key}: {exc}") from None

    async def refuse(outcome: str, message: str) -> str:
        await notify_origin(ctx, pr, opts, ok=False, message=message)
        return outcome

    if not config.enabled:
        return await refuse(
            "disabled by config",
            f"Tandem is switched off for this repository (`enabled: false` in `{CONFIG_PATH}`).",
        )
    if not explicit:
        # Someone asking explicitly (a command, Re-run, a button) overrides the trigger rules.
        reason = skip_reason(config, pr, action)
        if reason is not None:
            log.info("not running %s: %s", key, reason)
            return f"skipped: {reason}"
    enabled = parts_for(config)
    parts = [p for p in (opts.parts or enabled) if p in enabled]
    if not parts:
        return await refuse(
            "no parts enabled",
            f"{' and '.join(title(p) for p in opts.parts).capitalize() or 'Every part'} "
            f"is switched off in `{CONFIG_PATH}`.",
        )

    restart = action == "reopened"
    if restart or opts.rerun:
        # A restarted run reuses the job ids of the run it replaces. Its jobs must be gone
        # first: a part still being aborted (or a collect still finishing) would block the new
        # jobs' enqueue and the run would hang. They end within moments; wait without polling
        # by deferring this job.
        existing = await store.load(key)
        restartable = ("cancelled", "completed") if opts.rerun else ("cancelled",)
        if (
            existing is not None
            and existing.status in restartable
            and await jobs_alive(ctx["redis"], key)
        ):
            if ctx.get("job_try", 1) < START_TRIES:
                raise Retry(defer=START_RETRY_DEFER_S)
            return await refuse(
                "previous run still stopping",
                "The previous run of this commit is still stopping; please try again in a minute.",
            )

    begin = await store.begin(
        pr, parts, config.model_dump_json(), restart=restart, rerun=opts.rerun, options=opts
    )
    if begin.outcome in ("cancelled", "stale"):
        if begin.outcome == "stale":
            await notify_origin(ctx, pr, opts, ok=False)
        return f"run {begin.outcome}"
    if begin.outcome == "exists":
        existing = await store.load(key)
        if existing is None or existing.status != "running":
            # Done already (a late duplicate, or a draft turned ready after its run finished).
            if explicit and existing is not None and existing.status == "collecting":
                return await refuse("busy", BUSY_MESSAGE)
            return f"run already {existing.status if existing else 'gone'}"
        if explicit and existing.options.request_id != opts.request_id:
            return await refuse("busy", BUSY_MESSAGE)
    if begin.previous and begin.previous != key:
        await supersede(ctx, begin.previous, pr.head_sha)

    check_run_id = await github.find_check_run(gh, pr.repo, pr.head_sha, key)
    if check_run_id is None:
        summary = "Running: " + ", ".join(title(p) for p in parts)
        if opts.requested_by:
            asked = f"`{opts.command}`" if opts.command else TRIGGER_TITLES[opts.trigger]
            summary += f"\n\nAsked for by @{opts.requested_by} with {asked}."
        output = CheckOutput(title="Generating tests and reviewing the change", summary=summary)
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


BUSY_MESSAGE = (
    "A Tandem run for this commit is in progress; wait for it to finish, "
    "or stop it with `/tandem cancel` first."
)
TRIGGER_TITLES = {
    "pull_request": "a push",
    "command": "a command",
    "rerequest": "Re-run",
    "button": "a check-run button",
}


async def jobs_alive(redis: ArqRedis, key: str) -> bool:
    """Whether a part or the collect job of run `key` is still queued or running in arq."""
    job_ids = [part_job_id(p, key) for p in PART_NAMES] + [collect_job_id(key)]
    names = [f"{prefix}{j}" for j in job_ids for prefix in (job_key_prefix, in_progress_key_prefix)]
    return bool(await redis.exists(*names))


async def notify_origin(
    ctx: dict[str, Any],
    pr: PullRequestRef,
    options: RunOptions,
    *,
    ok: bool,
    message: str | None = None,
) -> None:
    """Tell the command's comment how its run ended: 🚀 (it ran and reported) or 😕 (it did not:
    refused, cancelled, invalid config, Tandem's own trouble), with a short reply when the reason
    is not shown anywhere else. Runs not asked for by a comment have nobody to tell."""
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
    await request_abort(ctx["redis"], [part_job_id(p, key) for p in PART_NAMES])
    state = await store.load(key)
    if state is not None and state.check_run_id is not None:
        await complete_cancelled(ctx, state, reason)
    return True


async def complete_cancelled(ctx: dict[str, Any], state: RunState, reason: str) -> None:
    assert state.pr is not None and state.check_run_id is not None
    gh, _ = await github_for(ctx, state.pr.installation_id)
    output = CheckOutput(title=f"Cancelled: {reason}", summary=f"This run was cancelled: {reason}.")
    await github.complete_check_run(gh, state.pr.repo, state.check_run_id, "cancelled", output)
    await notify_run_end(ctx, state, "cancelled")


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


def part_job(part: PartName, work: PartWork) -> WorkerCoroutine:
    """The arq job of a part: the lifecycle around the part's work."""

    async def job(ctx: dict[str, Any], key: str) -> str:
        return await run_part(ctx, part, key, work)

    job.__name__ = job.__qualname__ = part
    return cast(WorkerCoroutine, job)


async def run_part(ctx: dict[str, Any], part: PartName, key: str, work: PartWork) -> str:
    """Run one part's work and hand its result to the fan-in. Any failure becomes a result, so
    the other part is still reported and the check run never hangs."""
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
            headline=f"{title(part)} failed",
            summary=f"{info(part).heading} was interrupted "
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
                headline=f"{title(part)} timed out",
                summary=f"{info(part).heading} did not finish within {budget or 0:.0f} s.",
            )
        except Exception as exc:  # isolation is the point: report, don't crash
            log.exception("%s failed for %s", part, key)
            result = PartResult(
                part=part,
                status="failed",
                headline=f"{title(part)} failed",
                summary=f"{info(part).heading} failed: {safe_reason(ctx, exc)}",
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
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(text, *secrets_of(ctx))[:2000]
