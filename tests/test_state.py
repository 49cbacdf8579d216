"""Run state semantics against a real redis-server: fan-in, idempotence, cancel, supersede."""

import asyncio

from redis.asyncio import Redis

from bot.event_plan import PullRequestRef
from jobs.state import PartResult, RunStore


def make_pr(sha: str = "a" * 40, updated_at: str = "2026-11-25T08:00:00Z") -> PullRequestRef:
    return PullRequestRef(
        installation_id=1,
        repo="octo/demo",
        number=7,
        head_sha=sha,
        head_ref="feature",
        head_repo="octo/demo",
        base_sha="b" * 40,
        base_ref="main",
        clone_url="http://x/octo/demo.git",
        head_clone_url="http://x/octo/demo.git",
        draft=False,
        fork=False,
        author="alice",
        updated_at=updated_at,
    )


def result(part: str, status: str = "ok") -> PartResult:
    return PartResult(part=part, status=status, headline=f"{part} {status}")  # type: ignore[arg-type]


async def test_begin_is_idempotent(redis_client: Redis) -> None:
    store = RunStore(redis_client)
    pr = make_pr()
    first = await store.begin(pr, ["generate_tests", "review_refactoring"], "{}")
    assert (first.outcome, first.previous) == ("new", None)
    again = await store.begin(pr, ["generate_tests", "review_refactoring"], "{}")
    assert again.outcome == "exists"
    state = await store.load(pr.run_key)
    assert state is not None and state.pending == 2 and state.status == "running"
    assert state.pr == pr


async def test_last_part_brings_pending_to_zero_once(redis_client: Redis) -> None:
    store = RunStore(redis_client)
    pr = make_pr()
    await store.begin(pr, ["generate_tests", "review_refactoring"], "{}")
    assert await store.record(pr.run_key, result("generate_tests")) == 1
    # at-least-once: the same part repeating must not count twice
    assert await store.record(pr.run_key, result("generate_tests", "failed")) == 1
    assert await store.record(pr.run_key, result("review_refactoring")) == 0
    state = await store.load(pr.run_key)
    assert state is not None
    assert state.results["generate_tests"].status == "ok"  # first result wins
    assert await store.claim_collect(pr.run_key)
    assert not await store.claim_collect(pr.run_key)


async def test_concurrent_parts_exactly_one_sees_zero(redis_url: str) -> None:
    for attempt in range(20):
        clients = [Redis.from_url(redis_url) for _ in range(2)]
        pr = make_pr(sha=f"{attempt:040x}")
        await RunStore(clients[0]).begin(pr, ["generate_tests", "review_refactoring"], "{}")
        pendings = await asyncio.gather(
            RunStore(clients[0]).record(pr.run_key, result("generate_tests")),
            RunStore(clients[1]).record(pr.run_key, result("review_refactoring")),
        )
        assert sorted(pendings) == [0, 1]
        for client in clients:
            await client.aclose()


async def test_cancel_stops_fan_in_and_collect(redis_client: Redis) -> None:
    store = RunStore(redis_client)
    pr = make_pr()
    await store.begin(pr, ["generate_tests", "review_refactoring"], "{}")
    assert await store.cancel(pr.run_key, "superseded by abc")
    assert not await store.cancel(pr.run_key, "again")
    assert await store.record(pr.run_key, result("generate_tests")) == -1
    assert not await store.claim_collect(pr.run_key)
    state = await store.load(pr.run_key)
    assert state is not None and state.status == "cancelled"
    assert state.reason == "superseded by abc"
    assert (await store.begin(pr, ["generate_tests"], "{}")).outcome == "cancelled"
    assert (await store.begin(pr, ["generate_tests"], "{}", restart=True)).outcome == "new"


async def test_cancel_before_begin_makes_late_start_a_no_op(redis_client: Redis) -> None:
    store = RunStore(redis_client)
    pr = make_pr()
    assert await store.cancel(pr.run_key, "superseded")
    assert (await store.begin(pr, ["generate_tests"], "{}")).outcome == "cancelled"


async def test_collecting_run_cannot_be_cancelled(redis_client: Redis) -> None:
    store = RunStore(redis_client)
    pr = make_pr()
    await store.begin(pr, ["review_refactoring"], "{}")
    assert await store.record(pr.run_key, result("review_refactoring")) == 0
    assert await store.claim_collect(pr.run_key)
    assert not await store.cancel(pr.run_key, "too late")
    await store.release_collect(pr.run_key)
    assert await store.claim_collect(pr.run_key)


async def test_new_head_reports_previous_and_old_delivery_is_stale(redis_client: Redis) -> None:
    store = RunStore(redis_client)
    old = make_pr(sha="1" * 40, updated_at="2026-11-25T08:00:00Z")
    new = make_pr(sha="2" * 40, updated_at="2026-11-25T08:05:00Z")
    assert (await store.begin(old, ["generate_tests"], "{}")).previous is None
    begin = await store.begin(new, ["generate_tests"], "{}")
    assert (begin.outcome, begin.previous) == ("new", old.run_key)
    assert await store.current_key("octo/demo", 7) == new.run_key
    older = make_pr(sha="3" * 40, updated_at="2026-11-25T07:00:00Z")
    assert (await store.begin(older, ["generate_tests"], "{}")).outcome == "stale"
    assert await store.current_key("octo/demo", 7) == new.run_key


def test_part_result_annotations_round_trip_and_read_older_results() -> None:
    from core.github import Annotation

    note = Annotation("a.py", 1, 2, "warning", "long function", title="Length")
    result = PartResult(part="review_refactoring", status="ok", headline="1", annotations=[note])
    assert PartResult.model_validate_json(result.model_dump_json()).annotations == [note]
    older = {"path": "a.py", "start_line": 1, "end_line": 2, "level": "warning", "message": "m"}
    (read,) = PartResult.model_validate(
        {"part": "review_refactoring", "status": "ok", "headline": "1", "annotations": [older]}
    ).annotations
    assert read == Annotation("a.py", 1, 2, "warning", "m")
