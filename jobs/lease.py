"""Leases on running jobs, so the jobs of a worker that was killed run again within a minute.

arq marks a job as running with the key `arq:in-progress:<job id>` (`jobs.queue.in_progress_key`).
It sets the key when a worker takes the job, for the longest job timeout of that worker plus
10 s (over an hour for the parts by default), and deletes it when the job ends. The job stays
in its queue while it runs; once the key is gone, the next worker to poll takes it. So a worker
killed with -9 (or a lost host) holds its jobs until that key expires, and the PR's check run
sits `in_progress` that long.

A lease makes that key short-lived while its holder is alive: the worker sets it for `LEASE_S`
when it takes a job (`jobs.queue.set_in_progress_ttl`: the TTL it gives the key is the lease), and
one heartbeat task per arq worker renews the keys of the jobs it is running every `LEASE_S / 3`
with PEXPIRE. PEXPIRE never creates a key, so a job that ended (arq deleted its key) is never
marked running again. A killed worker stops renewing, its keys expire within `LEASE_S`, and
another worker runs the job again with `job_try` one higher; every job is safe to repeat.

arq's own job timeout (its `wait_for` around the job) and aborts (`allow_abort_jobs`) work on
the job's task, not on this key, so they are unchanged. Limits, both logged when they happen: an
event loop blocked for longer than the lease, or a Redis unreachable for longer than the lease,
lets the key lapse while the job still runs here, and another worker may run it at the same
time (the run's fan-in counts each part once, `jobs.state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq import Worker
from arq.typing import StartupShutdown
from redis.asyncio import Redis
from redis.exceptions import RedisError

from jobs import queue

log = logging.getLogger(__name__)

# Long enough that one missed renewal (a Redis restart, a slow round trip) does not lose the
# lease: it is renewed every LEASE_S / 3.
LEASE_S = 30.0


async def renew(redis: Redis, job_ids: list[str], lease_s: float) -> list[bool]:
    """Set the in-progress keys of `job_ids` to expire `lease_s` from now; for each, whether
    its key was still there. A missing key stays missing."""
    if not job_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.pexpire(queue.in_progress_key(job_id), int(lease_s * 1000))
        return [bool(renewed) for renewed in await pipe.execute()]


class Heartbeat:
    """Renews the leases of the jobs one arq worker is running, from its startup to shutdown."""

    def __init__(self, worker: Worker, lease_s: float) -> None:
        self.worker = worker
        self.lease_s = lease_s
        self.interval_s = lease_s / 3
        self.task: asyncio.Task[None] | None = None

    async def start(self, ctx: dict[str, Any]) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.beat(), name=f"lease {self.worker.queue_name}")

    async def stop(self, ctx: dict[str, Any]) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def beat(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.interval_s
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            late = loop.time() - due
            if late > self.lease_s - self.interval_s:
                log.warning(
                    "the event loop was blocked for %.1f s; the leases of jobs running here may "
                    "have lapsed (lease %.0f s), so another worker may run them as well",
                    late,
                    self.lease_s,
                )
            due = loop.time() + self.interval_s
            try:
                # A Redis that does not answer must not hold up the next renewal.
                async with asyncio.timeout(self.interval_s):
                    await self.renew_running()
            except (RedisError, OSError, TimeoutError) as exc:
                # Transient (a Redis restart): the next beat tries again, and the lease
                # outlasts two missed beats.
                log.warning("could not renew job leases, retrying: %s", exc or type(exc).__name__)

    async def renew_running(self) -> None:
        running = {job_id: t for job_id, t in self.worker.tasks.items() if not t.done()}
        if not running:
            return
        renewed = await renew(self.worker.pool, list(running), self.lease_s)
        for (job_id, task), ok in zip(running.items(), renewed, strict=True):
            # A job that is ending has its key deleted just before its task finishes.
            if not ok and not task.done():
                log.warning(
                    "the lease of job %s lapsed while it runs here; another worker may run it too",
                    job_id,
                )


def _chain(first: StartupShutdown | None, then: StartupShutdown | None) -> StartupShutdown:
    async def hook(ctx: dict[Any, Any]) -> None:
        for step in (first, then):
            if step is not None:
                await step(ctx)

    return hook


def hold(worker: Worker, lease_s: float = LEASE_S) -> Heartbeat:
    """Give the jobs `worker` takes a lease of `lease_s`, renewed while the worker runs."""
    queue.set_in_progress_ttl(worker, lease_s)
    heartbeat = Heartbeat(worker, lease_s)
    worker.on_startup = _chain(worker.on_startup, heartbeat.start)
    worker.on_shutdown = _chain(heartbeat.stop, worker.on_shutdown)
    return heartbeat
