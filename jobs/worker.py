"""The arq workers: settings, startup/shutdown and the job registry.

One `tandem worker` process serves two queues with two arq workers on one event loop: the
control queue (start_run, collect, cancel_pr_runs, and the commands' run_command and rerun_head:
short, GitHub calls only) and the parts queue (one job per part of the registry, `jobs.part_work`:
long). Keeping them apart means a finished run is collected
at once even while every part slot is busy with other runs' agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from arq import Worker
from arq.worker import Function, func

from core import logs
from core.connections import CONTROL_QUEUE, PARTS_QUEUE, worker_redis_settings
from core.settings import Settings
from jobs import lease
from jobs.cancel import cancel_pr_runs
from jobs.collect import COLLECT_TRIES, collect
from jobs.command_runs import rerun_head, run_command
from jobs.outage import SteadyWorker
from jobs.part_work import PARTS, budgets
from jobs.runs import GIVE_UP_AFTER_TRIES, START_TRIES, part_job, start_run
from jobs.sandbox import check_sandbox

log = logging.getLogger(__name__)
PART_NAMES = tuple(part.info.name for part in PARTS)

POLL_DELAY_S = 0.05
CLOSE_S = 10.0  # for the workers' close at shutdown, after the running jobs' grace


BACKSTOP_S = 60  # arq's timeout above each part's own budget


def job_timeouts(settings: Settings) -> dict[str, float]:
    return {
        "start_run": 120 + settings.git_timeout_s,
        **{name: budget + BACKSTOP_S for name, budget in budgets(settings).items()},
        "collect": 300,
        "cancel_pr_runs": 120,
        "run_command": 120,
        "rerun_head": 120,
    }


def control_functions(settings: Settings) -> list[Function]:
    timeouts = job_timeouts(settings)
    return [
        # A re-run waits (deferring itself) until the jobs of the run it replaces are gone.
        func(start_run, name="start_run", timeout=timeouts["start_run"], max_tries=START_TRIES),
        func(collect, name="collect", timeout=timeouts["collect"], max_tries=COLLECT_TRIES),
        func(
            cancel_pr_runs, name="cancel_pr_runs", timeout=timeouts["cancel_pr_runs"], max_tries=3
        ),
        func(run_command, name="run_command", timeout=timeouts["run_command"], max_tries=3),
        func(rerun_head, name="rerun_head", timeout=timeouts["rerun_head"], max_tries=3),
    ]


def part_functions(settings: Settings) -> list[Function]:
    timeouts = job_timeouts(settings)
    return [
        func(
            part_job(part.info.name, part.work),
            name=part.name,
            timeout=timeouts[part.name],
            max_tries=GIVE_UP_AFTER_TRIES + 1,
        )
        for part in PARTS
    ]


async def bind_job_context(ctx: dict[str, Any]) -> None:
    """arq's on_job_start: it runs in the job's own task, before the job's coroutine (a task
    that copies this context) starts, so the job's log lines, and arq's about it, carry the
    job id and the run it belongs to."""
    logs.bind_for_task(**logs.job_fields(str(ctx.get("job_id", "")), PART_NAMES))


def build_workers(
    settings: Settings,
    *,
    max_parts: int = 4,
    control: list[Function] | None = None,
    parts: list[Function] | None = None,
) -> tuple[SteadyWorker, SteadyWorker]:
    settings.require("redis_url", "github_app_id", "github_private_key")
    # Docker: an engine must answer and the image exist, or the worker stops at start with one
    # clear line; sandbox containers left by dead workers on this host are removed.
    check_sandbox(settings)
    part_budgets = budgets(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["session"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        ctx["part_budgets"] = part_budgets

    async def shutdown(ctx: dict[str, Any]) -> None:
        session: aiohttp.ClientSession | None = ctx.get("session")
        if session is not None:
            await session.close()

    assert settings.redis_url is not None
    common: dict[str, Any] = {
        "redis_settings": worker_redis_settings(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "on_job_start": bind_job_context,
        "allow_abort_jobs": True,
        "keep_result": 0,  # run state lives in Redis hashes; job ids must free up once done
        "handle_signals": False,  # run_workers handles them for both
        "poll_delay": POLL_DELAY_S,
    }
    control_worker = SteadyWorker(
        functions=control or control_functions(settings),  # type: ignore[arg-type]
        queue_name=CONTROL_QUEUE,
        max_jobs=20,
        **common,
    )
    parts_worker = SteadyWorker(
        functions=parts or part_functions(settings),  # type: ignore[arg-type]
        queue_name=PARTS_QUEUE,
        max_jobs=max_parts,
        **common,
    )
    for worker in (control_worker, parts_worker):
        lease.hold(worker)  # a killed worker's jobs run again within lease.LEASE_S
    return control_worker, parts_worker


async def stop_workers(
    workers: tuple[Worker, ...],
    tasks: list[asyncio.Task[Any]],
    *,
    grace_s: float = 30.0,
    close_s: float = CLOSE_S,
) -> None:
    """Stop taking new jobs, give running jobs `grace_s` to finish, cancel the rest (arq runs
    them again after a restart, and every job is safe to repeat), then close the workers
    (within `close_s`)."""
    for worker in workers:
        if worker.main_task is not None:
            worker.main_task.cancel()
    running = [t for w in workers for t in w.tasks.values() if not t.done()]
    if running:
        log.info("waiting up to %.0f s for %d running job(s)", grace_s, len(running))
        await asyncio.wait(running, timeout=grace_s)
    # close() writes to Redis, and the workers' commands wait for Redis: during an outage the
    # stop is bounded, and the jobs' in-progress marks expire so that arq runs them again.
    closing = [asyncio.create_task(worker.close()) for worker in workers]
    _, unfinished = await asyncio.wait(closing, timeout=close_s)
    if unfinished:
        log.warning("Redis did not answer while the workers stopped; stopping without it")
        for closer in unfinished:
            closer.cancel()
    await asyncio.gather(*closing, return_exceptions=True)
    for closer in closing:
        if closer in unfinished:
            continue
        if closer.cancelled():  # arq's close re-raises the cancellation of a running job
            log.warning("jobs still running at shutdown were cancelled; arq will run them again")
        elif (error := closer.exception()) is not None:
            log.error("a worker did not close cleanly: %s", error)
    for task in tasks:
        task.cancel()
    # Waits for all of them and retrieves every outcome; run_workers reads the failures.
    await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def running_workers(
    workers: tuple[Worker, ...], *, grace_s: float = 30.0
) -> AsyncIterator[list[asyncio.Task[Any]]]:
    """Run the workers on this event loop for the duration of the block."""
    tasks: list[asyncio.Task[Any]] = [asyncio.create_task(w.async_run()) for w in workers]
    try:
        yield tasks
    finally:
        await stop_workers(workers, tasks, grace_s=grace_s)


async def run_workers(workers: tuple[Worker, ...], *, grace_s: float = 30.0) -> None:
    """Run the workers until SIGINT/SIGTERM (or until one of them fails)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_workers(workers, grace_s=grace_s) as tasks:
        stopper: asyncio.Task[Any] = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
    # Every worker's outcome is read (the others fail the same way when Redis is unreachable),
    # so none is left "never retrieved"; the first failure is raised.
    failures = [
        error
        for task in sorted(tasks, key=lambda t: t not in done)  # the one that ended the wait first
        if task.done() and not task.cancelled() and (error := task.exception()) is not None
    ]
    if failures:
        raise failures[0]


def warn_if_local(settings: Settings) -> None:
    if settings.sandbox == "local":
        log.warning(
            "TANDEM_SANDBOX=local: the PR's code and generated tests run as plain "
            "subprocesses on this machine, NOT isolated. Use only for development."
        )
