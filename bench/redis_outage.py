"""How fast the worker recovers from a Redis restart.

Runs the real arq workers (`jobs.worker.build_workers`) and the worker's health endpoint against
a real redis-server with its append-only file. Each round: a part job is in progress, Redis is
killed (SIGKILL), the part finishes during the outage, Redis is started again on the same port
and directory `--outage` seconds after the kill, and a second part job is enqueued at once.
Measured from the moment the restarted Redis answers a PING:

- healthy:  the worker's GET /healthz answers 200 again;
- recorded: the part that finished during the outage has its result in the run's hash;
- picked:   the job enqueued after the restart has started.

    .venv/bin/python -m bench.redis_outage [--rounds 5] [--outage 5]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import logging
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from arq import create_pool
from arq.worker import func
from pydantic import SecretStr

from bot.event_plan import PullRequestRef
from core.connections import (
    PARTS_QUEUE,
    EmbeddedRedis,
    free_port,
    redis_settings,
    start_embedded_redis,
)
from core.settings import Settings
from jobs.health import serve_health
from jobs.queue import part_job_id
from jobs.runs import part_job
from jobs.state import PartResult, RunState, RunStore
from jobs.worker import build_workers, running_workers
from tests.fakegithub import make_app_key

FIGURES = ("healthy", "recorded", "picked")


def pull_request(round_no: int) -> PullRequestRef:
    return PullRequestRef(
        installation_id=1,
        repo="octo/bench",
        number=round_no,
        head_sha=f"{round_no:040x}",
        head_ref="feature",
        head_repo="octo/bench",
        base_sha="b" * 40,
        base_ref="main",
        clone_url="http://127.0.0.1:1/octo/bench.git",
        head_clone_url="http://127.0.0.1:1/octo/bench.git",
        draft=False,
        fork=False,
        author="alice",
        updated_at="2026-11-25T08:00:00Z",
    )


async def until(condition: Callable[[], Awaitable[bool]], what: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while not await condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Bench:
    """The workers' stand-in parts, the Redis they use and the health endpoint's URL."""

    server: EmbeddedRedis
    health_url: str
    http: aiohttp.ClientSession
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    picked: list[float] = field(default_factory=list)

    async def is_held(self) -> bool:
        return self.held.is_set()

    async def healthy(self, status: int = 200) -> bool:
        async with self.http.get(self.health_url) as response:
            return response.status == status

    async def one_round(self, round_no: int, outage_s: float) -> dict[str, float]:
        self.held.clear()
        self.release.clear()
        self.picked.clear()
        pr = pull_request(round_no)
        key = pr.run_key
        pool = await create_pool(redis_settings(self.server.url))
        await RunStore(pool).begin(pr, ["review_refactoring", "generate_tests"], "{}")
        await pool.enqueue_job(
            "review_refactoring",
            key,
            _job_id=part_job_id("review_refactoring", key),
            _queue_name=PARTS_QUEUE,
        )
        await until(self.is_held, "the held part to start")
        await until(self.healthy, "health 200 before the kill")
        await pool.aclose()

        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait()
        killed = time.monotonic()
        await until(lambda: self.healthy(503), "health 503")
        self.release.set()  # the part ends during the outage
        await asyncio.sleep(max(0.0, killed + outage_s - time.monotonic()))
        self.server = start_embedded_redis(self.server.data_dir, port=self.server.port)
        back = time.monotonic()  # it answered a PING
        pool = await create_pool(redis_settings(self.server.url))
        await pool.enqueue_job(
            "generate_tests",
            key,
            _job_id=part_job_id("generate_tests", key),
            _queue_name=PARTS_QUEUE,
        )
        store = RunStore(pool)
        marks: dict[str, float] = {}

        async def all_seen() -> bool:
            now = time.monotonic()
            if "healthy" not in marks and await self.healthy():
                marks["healthy"] = now
            state = await store.load(key)
            if "recorded" not in marks and state and "review_refactoring" in state.results:
                marks["recorded"] = now
            if self.picked and "picked" not in marks:
                marks["picked"] = self.picked[0]
            return len(marks) == len(FIGURES)

        await until(all_seen, "every figure", limit_s=60)
        await pool.aclose()
        return {name: at - back for name, at in marks.items()}


async def main(rounds: int, outage_s: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="tandem-outage-bench-"))
    server = start_embedded_redis(root / "redis", persist=True)
    private, _ = make_app_key()
    settings = Settings(  # type: ignore[call-arg]
        redis_url=server.url,
        github_app_id=1,
        github_private_key=SecretStr(private.decode()),
        sandbox="local",
        data_dir=root / "data",
    )
    port = free_port()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        bench = Bench(server, f"http://127.0.0.1:{port}/healthz", http)

        async def held_review(ctx: dict[str, Any], state: RunState) -> PartResult:
            bench.held.set()
            await bench.release.wait()
            return PartResult(part="review_refactoring", status="ok", headline="held")

        async def quick_tests(ctx: dict[str, Any], state: RunState) -> PartResult:
            bench.picked.append(time.monotonic())
            return PartResult(part="generate_tests", status="ok", headline="quick")

        async def collect(ctx: dict[str, Any], key: str) -> str:
            return "collected"

        workers = build_workers(
            settings,
            control=[func(collect, name="collect")],  # type: ignore[list-item]
            parts=[
                func(part_job("review_refactoring", held_review), name="review_refactoring"),
                func(part_job("generate_tests", quick_tests), name="generate_tests"),
            ],
        )
        health = await serve_health(workers, "127.0.0.1", port)
        figures: dict[str, list[float]] = {name: [] for name in FIGURES}
        try:
            async with running_workers(workers, grace_s=5):
                for round_no in range(1, rounds + 1):
                    marks = await bench.one_round(round_no, outage_s)
                    for name in FIGURES:
                        figures[name].append(marks[name])
                    shown = ", ".join(f"{n} {marks[n] * 1000:.0f} ms" for n in FIGURES)
                    print(f"round {round_no}: {shown}")
        finally:
            await health.cleanup()
            bench.server.stop()
    print(f"outage {outage_s:.0f} s, {rounds} rounds; seconds after the restarted Redis answered:")
    for name, values in figures.items():
        print(
            f"  {name:<9} median {statistics.median(values):.2f}  "
            f"min {min(values):.2f}  max {max(values):.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--outage", type=float, default=5.0, help="seconds Redis is away")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.outage))
