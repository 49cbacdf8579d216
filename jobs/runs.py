"""The run's lifecycle jobs: start a run, and run each part up to the fan-in.

`start_run` (the control queue's job for a pull_request event, a command, Re-run or a check-run
button) goes in three steps:

1. **admit**: read the config from the PR's base commit and decide which parts run (pure:
   `choose_parts`); an invalid config is reported on the check run, a refusal on the comment
   that asked; a restarted run waits for the jobs of the run it replaces to be gone;
2. **begin**: record the run in Redis (`jobs.state`, atomic: a repeated job joins the run it
   began), supersede the PR's previous run (`jobs.cancel`) and open the check run;
3. **fan out**: enqueue one job per part (`jobs.queue`).

Each part's job (`part_job`, `run_part`) records its result and the part that brings the
pending count to zero enqueues `collect` (`jobs.collect`): the fan-in, without polling. What
the check run shows is rendered in `jobs.checkrun`; nothing imports this module but the
worker's job list (`jobs.worker`) and the part registry's type (`jobs.part_work`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from arq import Retry
from arq.typing import WorkerCoroutine
from gidgethub.aiohttp import GitHubAPI

from bot.event_plan import PullRequestRef
from bot.filters import skip_reason
from core import github
from core.connections import CONTROL_QUEUE, PARTS_QUEUE
from core.github import GitHubError
from core.part_registry import PART_NAMES, PartName, parts_for, title
from core.redaction import redact
from core.repo_config import CONFIG_PATH, RepoConfig
from core.repo_config_file import InvalidConfig
from core.settings import SettingsError
from jobs import checkrun, queue
from jobs.cancel import complete_cancelled, supersede
from jobs.config_loader import load_repo_config
from jobs.installation import github_for, secrets_of
from jobs.notices import BUSY_MESSAGE, notify_origin
from jobs.state import PartResult, RunOptions, RunState, RunStore

log = logging.getLogger(__name__)


# arq's max_tries for the parts is one above this, so the last try always reports.
GIVE_UP_AFTER_TRIES = 3
START_TRIES = 10
START_RETRY_DEFER_S = 2.0


@dataclass(frozen=True)
class Refusal:
    """Why a start ends without running: `outcome` is the job's result; `message`, when not
    None, is replied to the comment that asked (with 😕). None: the start is only logged."""

    outcome: str
    message: str | None = None


@dataclass(frozen=True)
class Admitted:
    """A run that may begin: its base commit's config and the parts it runs."""

    pr: PullRequestRef
    options: RunOptions
    gh: GitHubAPI
    config: RepoConfig
    parts: list[PartName]
    # A reopened PR restarts its cancelled run.
    restart: bool


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
    admitted = await admit(ctx, pr, opts, action)
    if isinstance(admitted, str):
        return admitted
    state = await begin(ctx, admitted)
    if isinstance(state, str):
        return state
    return await fan_out(ctx, state, delivery_id)


async def admit(
    ctx: dict[str, Any], pr: PullRequestRef, opts: RunOptions, action: str
) -> Admitted | str:
    """The run to begin, or the outcome of a start that ends here."""
    key = pr.run_key
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
    parts = choose_parts(config, pr, action, opts)
    if isinstance(parts, Refusal):
        if parts.message is None:
            log.info("not running %s: %s", key, parts.outcome)
        return await refuse(ctx, pr, opts, parts)
    run = Admitted(pr, opts, gh, config, parts, restart=action == "reopened")
    stopping = await previous_still_stopping(ctx, run)
    return run if stopping is None else await refuse(ctx, pr, opts, stopping)


def choose_parts(
    config: RepoConfig, pr: PullRequestRef, action: str, options: RunOptions
) -> list[PartName] | Refusal:
    """The parts to run: those asked for (all by default) that the config enables."""
    if not config.enabled:
        return Refusal(
            "disabled by config",
            f"Tandem is switched off for this repository (`enabled: false` in `{CONFIG_PATH}`).",
        )
    if options.trigger == "pull_request":
        # Someone asking explicitly (a command, Re-run, a button) overrides the trigger rules.
        reason = skip_reason(config, pr, action)
        if reason is not None:
            return Refusal(f"skipped: {reason}")
    enabled = parts_for(config)
    parts = [p for p in (options.parts or enabled) if p in enabled]
    if not parts:
        return Refusal(
            "no parts enabled",
            f"{' and '.join(title(p) for p in options.parts).capitalize() or 'Every part'} "
            f"is switched off in `{CONFIG_PATH}`.",
        )
    return parts


async def previous_still_stopping(ctx: dict[str, Any], run: Admitted) -> Refusal | None:
    """A restarted run reuses the job ids of the run it replaces. Its jobs must be gone first:
    a part still being aborted (or a collect still finishing) would block the new jobs'
    enqueue and the run would hang. They end within moments; wait without polling by deferring
    this job (arq's Retry), and refuse after `START_TRIES`."""
    if not (run.restart or run.options.rerun):
        return None
    key = run.pr.run_key
    existing = await RunStore(ctx["redis"]).load(key)
    restartable = ("cancelled", "completed") if run.options.rerun else ("cancelled",)
    if existing is None or existing.status not in restartable or not await jobs_alive(ctx, key):
        return None
    if ctx.get("job_try", 1) < START_TRIES:
        raise Retry(defer=START_RETRY_DEFER_S)
    return Refusal(
        "previous run still stopping",
        "The previous run of this commit is still stopping; please try again in a minute.",
    )


async def refuse(
    ctx: dict[str, Any], pr: PullRequestRef, opts: RunOptions, refusal: Refusal
) -> str:
    """End the start: reply to the comment that asked, if the refusal has a message."""
    if refusal.message is not None:
        await notify_origin(ctx, pr, opts, ok=False, message=refusal.message)
    return refusal.outcome


async def begin(ctx: dict[str, Any], run: Admitted) -> RunState | str:
    """Record the run, supersede the PR's previous one and open the check run; the run's state,
    or the outcome of a start that ends here."""
    pr, opts, key = run.pr, run.options, run.pr.run_key
    store = RunStore(ctx["redis"])
    begun = await store.begin(
        pr,
        run.parts,
        run.config.model_dump_json(),
        restart=run.restart,
        rerun=opts.rerun,
        options=opts,
    )
    if begun.outcome in ("cancelled", "stale"):
        if begun.outcome == "stale":
            await notify_origin(ctx, pr, opts, ok=False)
        return f"run {begun.outcome}"
    if begun.outcome == "exists":
        refusal = join_existing(await store.load(key), opts)
        if refusal is not None:
            return await refuse(ctx, pr, opts, refusal)
    if begun.previous and begun.previous != key:
        await supersede(ctx, begun.previous, pr.head_sha)

    check_run_id = await github.find_check_run(run.gh, pr.repo, pr.head_sha, key)
    if check_run_id is None:
        output = checkrun.started_output(run.parts, opts)
        check_run_id = await github.create_check_run(run.gh, pr.repo, pr.head_sha, key, output)
    await store.set_check_run(key, check_run_id)
    state = await store.load(key)
    assert state is not None
    return state


def join_existing(existing: RunState | None, options: RunOptions) -> Refusal | None:
    """A run of this key began already: None when this start carries it on (a repeat of the
    job that began it, or a pull_request event while it runs)."""
    explicit = options.trigger != "pull_request"
    if existing is None or existing.status != "running":
        # Done already (a late duplicate, or a draft turned ready after its run finished).
        if explicit and existing is not None and existing.status == "collecting":
            return Refusal("busy", BUSY_MESSAGE)
        return Refusal(f"run already {existing.status if existing else 'gone'}")
    if explicit and existing.options.request_id != options.request_id:
        return Refusal("busy", BUSY_MESSAGE)
    return None


async def fan_out(ctx: dict[str, Any], state: RunState, delivery_id: str) -> str:
    """Enqueue each part of the run that has no result yet."""
    key = state.key
    if state.status == "cancelled":
        # Cancelled while the check run was being created: finish it here, nobody else can.
        await complete_cancelled(ctx, state, state.reason)
        return "cancelled during start"
    # An abort request outlives a job that had already finished; a restarted run (reopen) reuses
    # the job ids, so old requests must not abort the new jobs before they start.
    parts = parts_to_enqueue(state)
    await queue.forget_aborts(ctx["redis"], [queue.part_job_id(p, key) for p in parts])
    for part in parts:
        job_id = queue.part_job_id(part, key)
        await queue.enqueue(ctx["redis"], part, key, job_id=job_id, queue=PARTS_QUEUE)
    return f"started {key} ({delivery_id})"


def parts_to_enqueue(state: RunState) -> list[PartName]:
    """The run's stored parts that have no result yet. The stored ones, not this start's: a
    start that joins a running run (a pull_request event while a /generate-tests run of the
    same head runs) may have chosen other parts, which that run's collect never waits for."""
    return [part for part in state.parts if part not in state.results]


async def jobs_alive(ctx: dict[str, Any], key: str) -> bool:
    """Whether a part or the collect job of run `key` is still queued or running in arq."""
    job_ids = [queue.part_job_id(p, key) for p in PART_NAMES] + [queue.collect_job_id(key)]
    return await queue.any_alive(ctx["redis"], job_ids)


async def report_invalid_config(gh: GitHubAPI, pr: PullRequestRef, exc: InvalidConfig) -> None:
    key = pr.run_key
    check_run_id = await github.find_check_run(gh, pr.repo, pr.head_sha, key)
    if check_run_id is None:
        check_run_id = await github.create_check_run(
            gh, pr.repo, pr.head_sha, key, checkrun.READING_CONFIG
        )
    output = checkrun.invalid_config_output(pr, exc)
    await github.complete_check_run(gh, pr.repo, check_run_id, "action_required", output)


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
        result = checkrun.interrupted(part, ctx.get("job_try", 1) - 1)
    else:
        budget: float | None = ctx.get("part_budgets", {}).get(part)
        try:
            async with asyncio.timeout(budget):
                result = await work(ctx, state)
        except TimeoutError:
            result = checkrun.timed_out(part, budget)
        except Exception as exc:  # isolation is the point: report, don't crash
            log.exception("%s failed for %s", part, key)
            result = checkrun.crashed(part, safe_reason(ctx, exc))
        result.duration_s = round(time.monotonic() - started, 2)
    pending = await store.record(key, result)
    if pending == 0:
        job_id = queue.collect_job_id(key)
        await queue.enqueue(ctx["redis"], "collect", key, job_id=job_id, queue=CONTROL_QUEUE)
    return f"{part} {result.status}"


def safe_reason(ctx: dict[str, Any], exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(text, *secrets_of(ctx))[:2000]
