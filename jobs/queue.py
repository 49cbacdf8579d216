"""The one adapter over arq: the only module that knows arq's private names and Redis keys.

arq is the queue: Redis keys per job, a sorted set per queue, a worker that polls it. Tandem
needs a few things arq does not offer as public API, and each of them is here, so that an arq
upgrade is checked in one place (arq 0.28; tests/test_lease.py, tests/test_redis_outage.py and
tests/test_runs.py run them against a real redis-server):

- **the job ids**: deterministic, from a run's key, so a duplicate delivery cannot start a
  second copy of a job (arq refuses a job id whose job or result exists);
- **enqueue** a job by name on a queue;
- **abort**: write the abort request arq's workers read, without waiting for the job's result;
- **liveness**: whether any of some jobs is still queued or running;
- **the in-progress keys** the lease renews (`jobs.lease`), and the TTL a worker gives them;
- **`QueueWorker`**, arq's Worker with the overrides the steady worker needs (`jobs.outage`):
  a start-up probe without the pool's retry, a job slot given back when taking a job fails
  before arq could, and one poll round trip as a hook.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import redis.exceptions
from arq import Worker
from arq.connections import ArqRedis, create_pool
from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import Serializer, serialize_job
from arq.utils import timestamp_ms


def job_key(job_id: str) -> str:
    """The Redis key arq keeps a queued job under."""
    return job_key_prefix + job_id


def result_key(job_id: str) -> str:
    """The Redis key arq keeps a finished job's result under."""
    return result_key_prefix + job_id


def now_ms() -> int:
    """arq's clock: what it scores queued jobs by."""
    return timestamp_ms()


def job_bytes(
    function: str, args: tuple[Any, ...], enqueue_ms: int, serializer: Serializer | None
) -> bytes:
    """A job as arq itself stores it (no kwargs, first try), for a script that enqueues it."""
    return serialize_job(function, args, {}, None, enqueue_ms, serializer=serializer)


def part_job_id(part: str, key: str) -> str:
    return f"{part}:{key}"


def collect_job_id(key: str) -> str:
    return f"collect:{key}"


def start_job_id(key: str, request_id: str) -> str:
    return f"start_run:{key}:{request_id}"


async def enqueue(redis: ArqRedis, function: str, *args: Any, job_id: str, queue: str) -> bool:
    """Queue `function(*args)` as job `job_id` on `queue`; False if that job id is already
    queued, running or has a result kept."""
    return await redis.enqueue_job(function, *args, _job_id=job_id, _queue_name=queue) is not None


async def request_abort(redis: ArqRedis, job_ids: Iterable[str]) -> None:
    # arq's Job.abort() then waits for the result by polling; the run does not need to wait,
    # so only the abort request is written, exactly as Job.abort does it.
    await redis.zadd(abort_jobs_ss, {job_id: timestamp_ms() for job_id in job_ids})


async def forget_aborts(redis: ArqRedis, job_ids: list[str]) -> None:
    """Drop abort requests for `job_ids`. An abort request outlives a job that had already
    finished, so a job id used again (a restarted run) would be aborted before it starts."""
    await redis.zrem(abort_jobs_ss, *job_ids)


async def any_alive(redis: ArqRedis, job_ids: Iterable[str]) -> bool:
    """Whether any of `job_ids` is still queued or running."""
    names = [f"{prefix}{j}" for j in job_ids for prefix in (job_key_prefix, in_progress_key_prefix)]
    return bool(await redis.exists(*names))


def in_progress_key(job_id: str) -> str:
    """The key arq sets while a worker runs `job_id`: the job's lease (`jobs.lease`)."""
    return in_progress_key_prefix + job_id


def set_in_progress_ttl(worker: Worker, ttl_s: float) -> None:
    """Make `worker` give the in-progress key of each job it takes a TTL of `ttl_s`."""
    # arq 0.28 uses this attribute only there (Worker.start_jobs); tests/test_lease.py checks
    # that a taken job's key lives no longer than the lease.
    worker.in_progress_timeout_s = ttl_s


PollRound = Callable[[], Awaitable[None]]


class QueueWorker(Worker):
    """arq's Worker with the overrides of its private methods that the steady worker needs;
    a subclass wraps each poll round trip in `poll_round`."""

    async def main(self) -> None:
        if self._pool is None and self.redis_settings is not None:
            # A start-up check without the pool's retry: a worker that cannot reach Redis when
            # it starts stops after arq's own connection retries, since it never had a Redis.
            plain = dataclasses.replace(self.redis_settings, retry=None, retry_on_error=None)
            probe = await create_pool(plain)
            await probe.aclose()
        await super().main()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq counts a job against max_jobs before its WATCH ... EXEC that marks it in progress
        # and gives the slot back only when EXEC fails. A connection error before EXEC (one
        # redis-py cannot retry: a lost WATCH, or a connection it checks out outside its retry)
        # would keep the slot for good. Taken one job at a time, such a job is known: its slot
        # is given back, the job stays queued, and the error goes on to the poll round.
        for job_id in job_ids:
            earlier = self.tasks.get(job_id.decode())
            try:
                await super().start_jobs([job_id])
            except (redis.exceptions.RedisError, OSError):
                if self.tasks.get(job_id.decode()) is earlier:  # counted, never started
                    self._release_sem_dec_counter_on_complete()
                raise

    async def _poll_iteration(self) -> None:
        await self.poll_round(super()._poll_iteration)

    async def poll_round(self, poll: PollRound) -> None:
        """One round trip of arq's main loop (`poll`: take due jobs, abort, health check)."""
        await poll()
