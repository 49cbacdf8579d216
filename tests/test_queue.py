"""The arq adapter (jobs/queue.py) is the only module that knows arq's private names; the
run's lifecycle has no module calling back into jobs/runs.py; start_run's pure decisions."""

from __future__ import annotations

import ast
import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from arq import Worker, create_pool
from arq.connections import ArqRedis

from core.connections import PARTS_QUEUE, redis_settings
from core.repo_config import RepoConfig
from jobs import queue
from jobs.notices import BUSY_MESSAGE
from jobs.runs import Refusal, choose_parts, fan_out, join_existing
from jobs.state import PartResult, RunOptions, RunState
from tests.test_state import make_pr

ROOT = Path(__file__).resolve().parent.parent
ADAPTER = ROOT / "jobs" / "queue.py"
# arq's modules of Redis keys and internals; arq.connections, arq.worker and arq.typing are
# its public API.
PRIVATE_MODULES = {"arq.constants", "arq.jobs", "arq.utils"}


def arq_private_names() -> set[str]:
    """Worker's private methods and attributes, and enqueue_job's underscore options."""
    names = {n for n in dir(Worker) if n.startswith("_") and not n.startswith("__")}
    names |= {"_pool"}  # set in Worker.__init__, so not in dir(Worker)
    names |= {p for p in inspect.signature(ArqRedis.enqueue_job).parameters if p.startswith("_")}
    return names


def uses_of_arq_privates(path: Path, private: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module in PRIVATE_MODULES:
            found.append(f"{node.lineno}: from {node.module} import …")
        elif isinstance(node, ast.Attribute) and node.attr in private:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in private:
            found.append(f"{node.lineno}: def {node.name}")
        elif isinstance(node, ast.keyword) and node.arg in private:
            found.append(f"{node.lineno}: {node.arg}=")
    return found


def product_modules() -> list[Path]:
    return [p for package in ("bot", "jobs", "tandem") for p in (ROOT / package).rglob("*.py")]


def test_only_the_adapter_touches_arqs_private_names() -> None:
    private = arq_private_names()
    assert {"_poll_iteration", "_job_id", "_queue_name"} <= private
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in product_modules()
        if path != ADAPTER
        if (uses := uses_of_arq_privates(path, private))
    }
    assert offenders == {}
    assert uses_of_arq_privates(ADAPTER, private)  # the check sees what it looks for


def test_nothing_in_the_lifecycle_calls_back_into_runs() -> None:
    importers = set()
    for path in product_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                node.module == "jobs.runs"
                or (node.module == "jobs" and any(a.name == "runs" for a in node.names))
            ):
                importers.add(str(path.relative_to(ROOT)))
    # The worker registers its jobs; the part registry names the type of a part's work.
    assert importers == {"jobs/worker.py", "jobs/part_work.py"}


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    redis = await create_pool(redis_settings(redis_url))
    yield redis
    await redis.aclose()


async def test_a_job_id_is_queued_once_and_alive_until_gone(pool: ArqRedis) -> None:
    job_id = queue.collect_job_id("octo/demo#7@abc")
    assert not await queue.any_alive(pool, [job_id])
    assert await queue.enqueue(pool, "collect", "k", job_id=job_id, queue="q")
    assert not await queue.enqueue(pool, "collect", "k", job_id=job_id, queue="q")
    assert await queue.any_alive(pool, ["other", job_id])
    await queue.request_abort(pool, [job_id, "other"])
    await queue.forget_aborts(pool, ["other"])
    assert [j.decode() for j in await pool.zrange("arq:abort", 0, -1)] == [job_id]


def test_choose_parts() -> None:
    pr = make_pr()
    config = RepoConfig()
    both = ["generate_tests", "review_refactoring"]
    assert choose_parts(config, pr, "opened", RunOptions()) == both
    off = RepoConfig.model_validate({"enabled": False})
    refusal = choose_parts(off, pr, "opened", RunOptions())
    assert isinstance(refusal, Refusal) and refusal.outcome == "disabled by config"
    # A trigger rule skips a pull_request event quietly, but not someone asking.
    assert choose_parts(config, pr, "edited", RunOptions()) == Refusal(
        "skipped: pull_request.edited is not in triggers.events"
    )
    asked = RunOptions(trigger="command", parts=["review_refactoring"])
    assert choose_parts(config, pr, "edited", asked) == ["review_refactoring"]
    no_review = RepoConfig.model_validate({"refactoring_review": {"enabled": False}})
    refusal = choose_parts(no_review, pr, "opened", asked)
    assert refusal == Refusal(
        "no parts enabled", "Refactoring review is switched off in `.github/tandem.yml`."
    )


def run_state(status: str, request_id: str = "") -> RunState:
    return RunState(
        key="k",
        status=status,
        pr=make_pr(),
        check_run_id=None,
        pending=1,
        parts=["review_refactoring"],
        results={},
        reason="",
        started_at=None,
        config="{}",
        options=RunOptions(request_id=request_id),
    )


def test_join_existing() -> None:
    event, asked = RunOptions(), RunOptions(trigger="command", request_id="comment:1")
    assert join_existing(run_state("running"), event) is None
    assert join_existing(run_state("running", "comment:1"), asked) is None  # a repeated job
    assert join_existing(run_state("running", "comment:2"), asked) == Refusal("busy", BUSY_MESSAGE)
    assert join_existing(run_state("collecting"), asked) == Refusal("busy", BUSY_MESSAGE)
    assert join_existing(run_state("collecting"), event) == Refusal("run already collecting")
    assert join_existing(None, event) == Refusal("run already gone")


async def test_a_start_joining_a_running_run_enqueues_that_runs_parts(redis_url: str) -> None:
    """A pull_request event (both parts) that joins a /generate-tests run of the same head (its
    tests only) enqueues the tests part, the one that run's collect waits for, and no other."""
    redis = await create_pool(redis_settings(redis_url))
    try:
        state = run_state("running")
        state.parts = ["generate_tests"]
        assert await fan_out({"redis": redis}, state, "d-1") == "started k (d-1)"
        assert await redis.zrange(PARTS_QUEUE, 0, -1) == [b"generate_tests:k"]
        # A part with a result is not run again.
        state.parts = ["generate_tests", "review_refactoring"]
        done = PartResult(part="review_refactoring", status="ok", headline="reviewed")
        state.results = {"review_refactoring": done}
        await redis.delete(PARTS_QUEUE, "arq:job:generate_tests:k")
        await fan_out({"redis": redis}, state, "d-2")
        assert await redis.zrange(PARTS_QUEUE, 0, -1) == [b"generate_tests:k"]
    finally:
        await redis.aclose()
