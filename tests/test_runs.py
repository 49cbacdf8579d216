"""run_part: every way a part can end becomes a result, and the last one enqueues collect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq import create_pool
from arq.connections import ArqRedis

from core.connections import CONTROL_QUEUE, redis_settings
from core.settings import Settings
from jobs.runs import GIVE_UP_AFTER_TRIES, run_part
from jobs.state import PartResult, RunState, RunStore
from tests.test_state import make_pr


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    redis = await create_pool(redis_settings(redis_url))
    yield redis
    await redis.aclose()


def context(pool: ArqRedis, **extra: Any) -> dict[str, Any]:
    return {"redis": pool, "settings": Settings(), "job_try": 1, **extra}  # type: ignore[call-arg]


async def ok_review(ctx: dict[str, Any], state: RunState) -> PartResult:
    return PartResult(part="review_refactoring", status="ok", headline="0 review finding(s)")


async def test_budget_overrun_is_reported_and_fans_in(pool: ArqRedis) -> None:
    pr = make_pr()
    await RunStore(pool).begin(pr, ["generate_tests", "review_refactoring"], "{}")
    called = asyncio.Event()

    async def endless(ctx: dict[str, Any], state: RunState) -> PartResult:
        called.set()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    ctx = context(pool, part_budgets={"generate_tests": 0.2})
    assert await run_part(ctx, "generate_tests", pr.run_key, endless) == "generate_tests failed"
    assert called.is_set()
    assert await pool.zcard(CONTROL_QUEUE) == 0  # one part still pending
    await run_part(ctx, "review_refactoring", pr.run_key, ok_review)
    state = await RunStore(pool).load(pr.run_key)
    assert state is not None
    assert state.results["generate_tests"].headline == "test generation timed out"
    assert "within 0 s" in state.results["generate_tests"].summary
    assert [j.decode() for j in await pool.zrange(CONTROL_QUEUE, 0, -1)] == [
        f"collect:{pr.run_key}"
    ]


async def test_exception_becomes_a_result_without_secrets(pool: ArqRedis) -> None:
    pr = make_pr()
    await RunStore(pool).begin(pr, ["generate_tests"], "{}")

    async def leaky(ctx: dict[str, Any], state: RunState) -> PartResult:
        raise RuntimeError("clone of https://x-access-token:ghs_SECRET@host failed")

    ctx = context(pool, tokens={"ghs_SECRET"})
    await run_part(ctx, "generate_tests", pr.run_key, leaky)
    state = await RunStore(pool).load(pr.run_key)
    assert state is not None
    summary = state.results["generate_tests"].summary
    assert "RuntimeError" in summary and "ghs_SECRET" not in summary and "***" in summary


async def test_repeated_crashes_end_in_a_reported_failure(pool: ArqRedis) -> None:
    pr = make_pr()
    await RunStore(pool).begin(pr, ["review_refactoring"], "{}")

    async def never(ctx: dict[str, Any], state: RunState) -> PartResult:
        raise AssertionError("a part that crashed its worker twice is not run a third time")

    ctx = context(pool, job_try=GIVE_UP_AFTER_TRIES)
    await run_part(ctx, "review_refactoring", pr.run_key, never)
    state = await RunStore(pool).load(pr.run_key)
    assert state is not None
    assert "interrupted 2 times" in state.results["review_refactoring"].summary
    assert await pool.zcard(CONTROL_QUEUE) == 1


async def test_cancelled_run_does_no_work(pool: ArqRedis) -> None:
    pr = make_pr()
    store = RunStore(pool)
    await store.begin(pr, ["review_refactoring"], "{}")
    await store.cancel(pr.run_key, "superseded")

    async def never(ctx: dict[str, Any], state: RunState) -> PartResult:
        raise AssertionError("must not run")

    assert await run_part(context(pool), "review_refactoring", pr.run_key, never) == (
        "run is cancelled"
    )
    assert await pool.zcard(CONTROL_QUEUE) == 0
