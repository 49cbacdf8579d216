"""A Redis restart (#11): redis-server with its append-only file is killed (SIGKILL) and started
again on the same port and directory, under the real arq workers, the worker's health endpoint,
`tandem worker` as a process, and the web app. The worker waits it out and keeps its running
job; deliveries meanwhile are refused with 503, so that GitHub redelivers them. Also the ways a
connection fails outside redis-py's retry (a Redis that drops new clients, a connection lost
between WATCH and EXEC), and a stop during an outage."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from arq import create_pool
from arq.connections import ArqRedis
from arq.constants import job_key_prefix
from arq.worker import func
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import create_app
from core.connections import (
    CONTROL_QUEUE,
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
from jobs.worker import build_workers, running_workers, stop_workers
from tests.fakegithub import make_app_key
from tests.fakegithub.payloads import webhook_request
from tests.test_app import HEAD, SECRET, pr_payload
from tests.test_state import make_pr
from tests.waiting import wait_until

# The issue's own bounds: unhealthy while Redis is gone, healthy "within seconds" of its return.
WITHIN_S = 15.0


@dataclass
class RestartableRedis:
    """A redis-server with its append-only file in `data_dir`, killed and started again on the
    same port and directory as an orchestrator restarts it."""

    data_dir: Path
    server: EmbeddedRedis

    @property
    def url(self) -> str:
        return self.server.url

    def kill(self) -> None:
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait()

    def restart(self) -> None:
        self.server = start_embedded_redis(self.data_dir, port=self.server.port)


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    data_dir = tmp_path / "redis"
    redis = RestartableRedis(data_dir, start_embedded_redis(data_dir, persist=True))
    yield redis
    redis.server.stop()


@pytest.fixture
async def pool(aof_redis: RestartableRedis) -> AsyncIterator[ArqRedis]:
    # The test's own view of Redis, with no retry: it is not used while Redis is away.
    pool = await create_pool(redis_settings(aof_redis.url))
    yield pool
    await pool.aclose()


def worker_settings(tmp_path: Path, redis_url: str) -> Settings:
    private, _ = make_app_key()
    return Settings(  # type: ignore[call-arg]
        redis_url=redis_url,
        github_app_id=1,
        github_private_key=SecretStr(private.decode()),
        sandbox="local",
        data_dir=tmp_path / "data",
    )


async def health_status(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url) as response:
        return response.status


async def wait_health(http: aiohttp.ClientSession, url: str, status: int) -> float:
    """Seconds until the health endpoint answers `status` (at most WITHIN_S)."""
    started = time.monotonic()
    deadline = started + WITHIN_S
    while (found := await health_status(http, url)) != status:
        assert time.monotonic() < deadline, f"health still {found}, not {status}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_worker_keeps_its_running_job_through_a_redis_restart(
    tmp_path: Path, aof_redis: RestartableRedis, pool: ArqRedis
) -> None:
    held, release = asyncio.Event(), asyncio.Event()
    picked_up: list[float] = []
    collected: list[str] = []

    async def held_review(ctx: dict[str, Any], state: RunState) -> PartResult:
        held.set()
        await release.wait()
        return PartResult(part="review_refactoring", status="ok", headline="done in the outage")

    async def tests_after_restart(ctx: dict[str, Any], state: RunState) -> PartResult:
        picked_up.append(time.monotonic())
        return PartResult(part="generate_tests", status="ok", headline="ran after the restart")

    async def collect(ctx: dict[str, Any], key: str) -> str:
        collected.append(key)
        return "collected"

    parts = [
        func(part_job("review_refactoring", held_review), name="review_refactoring"),
        func(part_job("generate_tests", tests_after_restart), name="generate_tests"),
    ]
    workers = build_workers(
        worker_settings(tmp_path, aof_redis.url),
        control=[func(collect, name="collect")],  # type: ignore[list-item]
        parts=parts,  # type: ignore[arg-type]
    )
    port = free_port()
    health_url = f"http://127.0.0.1:{port}/healthz"
    health = await serve_health(workers, "127.0.0.1", port)
    pr = make_pr()
    key = pr.run_key
    store = RunStore(pool)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            assert await health_status(http, health_url) == 503  # not polling yet
            async with running_workers(workers, grace_s=5) as tasks:
                await store.begin(pr, ["review_refactoring", "generate_tests"], "{}")
                await pool.enqueue_job(
                    "review_refactoring",
                    key,
                    _job_id=part_job_id("review_refactoring", key),
                    _queue_name=PARTS_QUEUE,
                )
                await wait_until(held.is_set, "the review part to start")
                await wait_health(http, health_url, 200)

                aof_redis.kill()
                await wait_health(http, health_url, 503)
                # The part finishes while Redis is away: its result and fan-in wait for Redis.
                release.set()
                await asyncio.sleep(1)
                assert [t for t in tasks if t.done()] == [], "a worker ended with Redis"
                async with http.get(health_url) as response:
                    body = await response.json()
                assert body["status"] == "unhealthy"
                assert body["queues"][PARTS_QUEUE]["running_jobs"] == 1

                aof_redis.restart()
                back = time.monotonic()
                await pool.enqueue_job(
                    "generate_tests",
                    key,
                    _job_id=part_job_id("generate_tests", key),
                    _queue_name=PARTS_QUEUE,
                )
                await wait_health(http, health_url, 200)

                await wait_until(lambda: picked_up, "the part enqueued after the restart to start")
                await wait_until(lambda: collected == [key], "collect after both parts", WITHIN_S)
                state = await store.load(key)
                assert state is not None
                assert state.results["review_refactoring"].headline == "done in the outage"
                assert state.results["generate_tests"].headline == "ran after the restart"
                assert state.pending == 0
                assert picked_up[0] - back < WITHIN_S
                assert [t for t in tasks if t.done()] == []
    finally:
        await health.cleanup()


async def test_a_redis_that_drops_new_clients_does_not_end_the_worker(
    tmp_path: Path, aof_redis: RestartableRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Connections redis-py checks out of its pool fail outside its retry: here Redis accepts
    them and closes them at once (max number of clients reached)."""
    ran: list[str] = []

    async def quick_review(ctx: dict[str, Any], state: RunState) -> PartResult:
        ran.append(state.key)
        return PartResult(part="review_refactoring", status="ok", headline="ran")

    workers = build_workers(
        worker_settings(tmp_path, aof_redis.url),
        parts=[func(part_job("review_refactoring", quick_review), name="review_refactoring")],  # type: ignore[list-item]
    )
    port = free_port()
    health_url = f"http://127.0.0.1:{port}/healthz"
    health = await serve_health(workers, "127.0.0.1", port)
    admin = Redis.from_url(aof_redis.url, single_connection_client=True)
    try:
        async with (
            running_workers(workers, grace_s=5) as tasks,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
        ):
            await wait_health(http, health_url, 200)
            await admin.config_set("maxclients", 1)  # this connection is the one
            await admin.client_kill_filter(_type="normal", skipme=True)
            await wait_health(http, health_url, 503)
            # Polls fail and are tried again: wait for the worker to say so, then check that no
            # worker ended meanwhile. Which it says first depends on a race inside redis-py:
            # when Redis's refusal arrives before the pool checks the new connection, the
            # ConnectionError escapes the retry; when it arrives after, the retry takes it and
            # the poll stalls. Both must leave the worker waiting (the escape alone is pinned
            # by the WATCH test below).
            told = ("Redis unavailable (ConnectionError", "Redis has not answered for")
            deadline = time.monotonic() + 60
            while not any(line in caplog.text for line in told):
                assert time.monotonic() < deadline, caplog.text[-2000:]
                await asyncio.sleep(0.1)
            assert [t for t in tasks if t.done()] == [], "a worker ended"

            await admin.config_set("maxclients", 10000)
            await wait_health(http, health_url, 200)
            pr = make_pr()
            store = RunStore(admin)
            await store.begin(pr, ["review_refactoring"], "{}")
            pool = await create_pool(redis_settings(aof_redis.url))
            try:
                await pool.enqueue_job(
                    "review_refactoring",
                    pr.run_key,
                    _job_id=part_job_id("review_refactoring", pr.run_key),
                    _queue_name=PARTS_QUEUE,
                )
            finally:
                await pool.aclose()
            await wait_until(lambda: ran == [pr.run_key], "a job after Redis took clients again")
            assert [t for t in tasks if t.done()] == []
    finally:
        await admin.aclose()
        await health.cleanup()


class DropAfterWatch:
    """A TCP relay in front of Redis that, once armed, lets one WATCH through, passes its reply
    back and then closes that connection: the connection dies in the middle of arq taking a
    job, between its WATCH and EXEC."""

    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.armed = False
        self.dropped = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.relay, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.redis_port)
        watched = asyncio.Event()

        async def upstream() -> None:
            while data := await client_in.read(65536):
                if self.armed and b"\r\nWATCH\r\n" in data:
                    self.armed = False
                    watched.set()
                server_out.write(data)
                await server_out.drain()

        async def downstream() -> None:
            while data := await server_in.read(65536):
                client_out.write(data)
                await client_out.drain()
                if watched.is_set():  # WATCH answered: now the connection dies
                    self.dropped.set()
                    return

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for writer in (client_out, server_out):
            writer.close()


async def test_a_connection_lost_while_taking_a_job_keeps_the_slot_and_the_job(
    tmp_path: Path, redis_url: str, redis_server: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    async def quick_review(ctx: dict[str, Any], state: RunState) -> PartResult:
        ran.append(state.key)
        return PartResult(part="review_refactoring", status="ok", headline="ran")

    relay = DropAfterWatch(redis_server.port)
    relayed_url = await relay.start()
    workers = build_workers(
        worker_settings(tmp_path, relayed_url),
        max_parts=1,  # a slot lost for good would leave none
        parts=[func(part_job("review_refactoring", quick_review), name="review_refactoring")],  # type: ignore[list-item]
    )
    pool = await create_pool(redis_settings(redis_url))
    try:
        async with running_workers(workers, grace_s=5) as tasks:
            await wait_until(lambda: all(w.answered_at for w in workers), "the workers to poll")
            keys = []
            for sha in ("1" * 40, "2" * 40):
                pr = make_pr(sha)
                await RunStore(pool).begin(pr, ["review_refactoring"], "{}")
                keys.append(pr.run_key)
            relay.armed = True
            for key in keys:
                await pool.enqueue_job(
                    "review_refactoring",
                    key,
                    _job_id=part_job_id("review_refactoring", key),
                    _queue_name=PARTS_QUEUE,
                )
            await asyncio.wait_for(relay.dropped.wait(), WITHIN_S)
            await wait_until(lambda: sorted(ran) == sorted(keys), "both jobs to run")
            assert [t for t in tasks if t.done()] == []
            assert "Redis unavailable (WatchError" in caplog.text
    finally:
        await pool.aclose()
        await relay.close()


async def test_stopping_during_an_outage_does_not_wait_for_redis(
    tmp_path: Path, aof_redis: RestartableRedis
) -> None:
    workers = build_workers(worker_settings(tmp_path, aof_redis.url))
    tasks = [asyncio.create_task(w.async_run()) for w in workers]
    await wait_until(lambda: all("session" in w.ctx for w in workers), "the workers to start")
    aof_redis.kill()
    await asyncio.wait_for(stop_workers(workers, tasks, grace_s=1, close_s=1), timeout=30)
    assert all(t.done() for t in tasks)


async def test_deliveries_during_an_outage_get_503_and_their_redelivery_202(
    aof_redis: RestartableRedis, pool: ArqRedis
) -> None:
    settings = Settings(webhook_secret=SecretStr(SECRET), redis_url=aof_redis.url)  # type: ignore[call-arg]
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        body, headers = webhook_request("pull_request", pr_payload(), SECRET, "outage-1")
        assert (await client.get("/healthz")).status == 200

        aof_redis.kill()
        during = await client.post("/webhook", data=body, headers=headers)
        assert during.status == 503
        assert (await during.json()) == {"error": "queue unavailable, please redeliver"}
        assert (await client.get("/healthz")).status == 503

        aof_redis.restart()
        assert (await client.get("/healthz")).status == 200
        # GitHub's redelivery carries the same delivery id: it is not taken for a duplicate.
        again = await client.post("/webhook", data=body, headers=headers)
        assert again.status == 202
        assert [j.decode() for j in await pool.zrange(CONTROL_QUEUE, 0, -1)] == [
            f"start_run:octo/demo#3@{HEAD}"
        ]
    finally:
        await client.close()


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_status(url: str, status: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while http_status(url) != status:
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(
                f"no {status} from {url}; worker exit {process.poll()}:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.1)


@pytest.mark.slow
def test_tandem_worker_process_survives_a_redis_restart(
    tmp_path: Path, aof_redis: RestartableRedis
) -> None:
    """The measurement of #11 as a test: `tandem worker` exited with status 1 while Redis was
    down. Now it stays, says 503 on its health port, and takes jobs again after the restart."""
    private, _ = make_app_key()
    key_path = tmp_path / "app.pem"
    key_path.write_bytes(private)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")},
        "TANDEM_REDIS_URL": aof_redis.url,
        "TANDEM_GITHUB_APP_ID": "1",
        "TANDEM_GITHUB_PRIVATE_KEY_PATH": str(key_path),
        "TANDEM_SANDBOX": "local",
        "TANDEM_DATA_DIR": str(tmp_path / "data"),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    log = tmp_path / "worker.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "tandem.cli", "worker", "--health-port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_status(url, 200, process, log)
        aof_redis.kill()
        wait_status(url, 503, process, log)
        time.sleep(2)
        assert process.poll() is None, log.read_text()
        aof_redis.restart()
        wait_status(url, 200, process, log)

        # A real job after the restart: cancelling the runs of a PR that has none.
        async def enqueue_and_wait() -> None:
            pool = await create_pool(redis_settings(aof_redis.url))
            try:
                job = await pool.enqueue_job(
                    "cancel_pr_runs", "octo/demo", 7, "test", _queue_name=CONTROL_QUEUE
                )
                assert job is not None

                async def done() -> bool:
                    return not await pool.exists(job_key_prefix + job.job_id)

                deadline = time.monotonic() + 30
                while not await done():
                    assert time.monotonic() < deadline, log.read_text()
                    await asyncio.sleep(0.1)
            finally:
                await pool.aclose()

        asyncio.run(enqueue_and_wait())
        assert "cancel_pr_runs" in log.read_text() and "no run" in log.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def test_an_outage_that_stalls_first_still_tells_its_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll that stalls past STALL_S and then fails outside the retry: the stall and the
    error's cause are each logged once per outage, and an answer ends the outage."""
    import jobs.outage as outage

    monkeypatch.setattr(outage, "STALL_S", 0.01)
    monkeypatch.setattr(outage, "RECONNECT_CAP_S", 0.0)
    worker = object.__new__(outage.SteadyWorker)
    worker.queue_name = "tandem:test"
    worker.answered_at = time.monotonic()
    worker.waiting_since = None
    worker.error_told = False
    release = asyncio.Event()

    async def stalls_then_fails() -> None:
        await release.wait()
        raise ConnectionError("max number of clients reached")

    async def fails() -> None:
        raise ConnectionError("max number of clients reached")

    async def answers() -> None:
        return None

    first = asyncio.create_task(worker.poll_round(stalls_then_fails))
    await wait_until(lambda: "has not answered" in caplog.text, "the stall is told")
    release.set()
    await first
    await worker.poll_round(fails)
    assert caplog.text.count("Redis unavailable (ConnectionError") == 1
    await worker.poll_round(answers)
    assert "Redis answers again" in caplog.text
    assert worker.waiting_since is None and worker.error_told is False
