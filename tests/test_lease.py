"""Leases on running jobs (jobs/lease.py), on real arq workers and a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from arq import Worker, create_pool
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.worker import func
from pydantic import SecretStr
from redis.asyncio import Redis

from core.connections import redis_settings, start_embedded_redis
from core.settings import Settings
from jobs import lease
from jobs.worker import build_workers
from tests.fakegithub import make_app_key

QUEUE = "test:lease"
JOB = "job-1"
KEY = in_progress_key_prefix + JOB


async def hold_until_released(ctx: dict[str, Any]) -> int:
    """Runs until the test releases it, except on a second try, which returns at once."""
    ctx["tries"].append(ctx["job_try"])
    ctx["started"].set()
    if ctx["job_try"] == 1:
        await ctx["release"].wait()
    return int(ctx["job_try"])


async def block_the_loop(ctx: dict[str, Any]) -> None:
    """Blocks the event loop (a synchronous call) for longer than the lease, then runs on."""
    ctx["tries"].append(ctx["job_try"])
    if ctx["job_try"] == 1:
        time.sleep(ctx["block_s"])  # noqa: ASYNC251 - the blocked loop is the point
    await asyncio.sleep(ctx["block_s"])


def shared_ctx(**extra: Any) -> dict[str, Any]:
    return {"tries": [], "started": asyncio.Event(), "release": asyncio.Event(), **extra}


@contextlib.asynccontextmanager
async def held_worker(
    url: str, ctx: dict[str, Any], lease_s: float, **options: Any
) -> AsyncIterator[tuple[Worker, lease.Heartbeat]]:
    worker = Worker(
        functions=[func(hold_until_released), func(block_the_loop)],  # type: ignore[list-item]
        queue_name=QUEUE,
        redis_settings=redis_settings(url),
        handle_signals=False,
        poll_delay=0.05,
        keep_result=0,
        allow_abort_jobs=True,
        ctx=ctx,
        **options,
    )
    heartbeat = lease.hold(worker, lease_s)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker, heartbeat
    finally:
        ctx["release"].set()
        await heartbeat.stop({})  # also when close() cannot reach Redis to call on_shutdown
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await worker.close()
        await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    client = await create_pool(redis_settings(redis_url))
    yield client
    await client.aclose()


async def eventually(
    condition: Callable[[], Awaitable[bool] | bool], what: str, limit_s: float = 20
) -> None:
    deadline = time.monotonic() + limit_s
    while not await answer(condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def answer(value: Awaitable[bool] | bool) -> bool:
    return await value if inspect.isawaitable(value) else value


async def job_gone(redis: Redis) -> bool:
    return not await redis.exists(job_key_prefix + JOB, KEY)


async def test_a_running_jobs_lease_is_short_and_renewed_past_its_length(
    redis_url: str, pool: ArqRedis
) -> None:
    lease_s = 1.5
    ctx = shared_ctx()
    async with held_worker(redis_url, ctx, lease_s):
        await pool.enqueue_job("hold_until_released", _job_id=JOB, _queue_name=QUEUE)
        await asyncio.wait_for(ctx["started"].wait(), 20)
        assert 0 < await pool.pttl(KEY) <= lease_s * 1000  # not arq's 310 s
        await asyncio.sleep(2 * lease_s)
        assert await pool.exists(KEY), "the lease lapsed although its worker is alive"
        assert 0 < await pool.pttl(KEY) <= lease_s * 1000
        ctx["release"].set()
        await eventually(lambda: job_gone(pool), "the job to finish")
    assert ctx["tries"] == [1]


async def test_a_finished_jobs_key_is_not_made_again(redis_url: str, pool: ArqRedis) -> None:
    lease_s = 0.9
    seen_after_end: list[int] = []

    async def linger(ctx: dict[str, Any]) -> None:
        # arq deleted the key already, but the job's task is still running here: heartbeats
        # during this time must not bring the key back.
        await asyncio.sleep(lease_s)
        seen_after_end.append(await pool.exists(KEY))

    ctx = shared_ctx()
    ctx["release"].set()
    async with held_worker(redis_url, ctx, lease_s, after_job_end=linger):
        await pool.enqueue_job("hold_until_released", _job_id=JOB, _queue_name=QUEUE)
        await eventually(lambda: job_gone(pool), "the job to finish")
        await eventually(lambda: bool(seen_after_end), "after_job_end")
    assert seen_after_end == [0]
    assert not await pool.exists(KEY)
    assert await lease.renew(pool, ["never-ran"], lease_s) == [False]
    assert not await pool.exists(in_progress_key_prefix + "never-ran")


async def test_an_expired_lease_lets_another_worker_run_the_job(
    redis_url: str, pool: ArqRedis
) -> None:
    lease_s = 1.5
    ctx = shared_ctx()
    async with held_worker(redis_url, ctx, lease_s) as (first, heartbeat):
        await pool.enqueue_job("hold_until_released", _job_id=JOB, _queue_name=QUEUE)
        await asyncio.wait_for(ctx["started"].wait(), 20)
        # The first worker stops as a killed one would: no more polling, no more renewals,
        # while its job still "runs".
        assert first.main_task is not None
        first.main_task.cancel()
        await heartbeat.stop({})
        async with held_worker(redis_url, ctx, lease_s):
            await eventually(lambda: job_gone(pool), "the second worker to run the job")
    assert ctx["tries"] == [1, 2]


async def test_the_heartbeat_rides_out_a_redis_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lease_s = 3.0
    server = start_embedded_redis(tmp_path / "redis", persist=True)
    client = await create_pool(redis_settings(server.url))
    ctx = shared_ctx()
    try:
        async with held_worker(server.url, ctx, lease_s) as (_, heartbeat):
            await client.enqueue_job("hold_until_released", _job_id=JOB, _queue_name=QUEUE)
            await asyncio.wait_for(ctx["started"].wait(), 20)
            with caplog.at_level(logging.WARNING, logger="jobs.lease"):
                server.stop()
                await eventually(
                    lambda: "could not renew job leases" in caplog.text,
                    "a renewal to fail",
                )
                server = start_embedded_redis(tmp_path / "redis", port=server.port, persist=True)
            # Past the lease since the last renewal before the restart: only renewals after it
            # keep the key.
            await asyncio.sleep(lease_s + heartbeat.interval_s)
            assert heartbeat.task is not None and not heartbeat.task.done()
            assert await client.exists(KEY), "the lease lapsed after Redis came back"
    finally:
        await client.aclose()
        server.stop()


async def test_a_blocked_event_loop_is_logged(
    redis_url: str, pool: ArqRedis, caplog: pytest.LogCaptureFixture
) -> None:
    lease_s = 0.9
    ctx = shared_ctx(block_s=1.5)  # the lease lapses, and the beat after it is late
    with caplog.at_level(logging.WARNING, logger="jobs.lease"):
        async with held_worker(redis_url, ctx, lease_s):
            await pool.enqueue_job("block_the_loop", _job_id=JOB, _queue_name=QUEUE)
            await eventually(lambda: job_gone(pool), "the job to finish")
    assert "the event loop was blocked" in caplog.text
    assert f"the lease of job {JOB} lapsed while it runs here" in caplog.text
    # The limit the warnings are about: the lapsed job was taken again (here by its own worker,
    # whose poll ran before the heartbeat), while its first try still ran.
    assert ctx["tries"] == [1, 2]


def test_both_tandem_workers_hold_leases(tmp_path: Path) -> None:
    private, _ = make_app_key()
    settings = Settings(
        github_app_id=1,
        github_private_key=SecretStr(private.decode()),
        redis_url="redis://127.0.0.1:1/0",
        data_dir=tmp_path,
        sandbox="local",
    )
    workers = build_workers(settings)
    assert [w.in_progress_timeout_s for w in workers] == [lease.LEASE_S] * 2
