"""arq's Worker, riding out a Redis outage instead of ending with it.

The workers' pool retries every command until Redis answers (core.connections
.worker_redis_settings), so during an outage a poll round trip of arq's main loop simply lasts
as long as the outage, and a running job's writes wait in the same way. This subclass adds
what that leaves open:

- the time of the last poll round trip Redis answered, which is the worker's health
  (jobs.health: unhealthy once Redis has not answered for `STALL_S`);
- a log line when Redis stops answering and one when it answers again;
- the connection errors the retry does not absorb (below), which would end arq's main loop.

What needs arq's private methods is in `jobs.queue.QueueWorker`, which this builds on: the
start-up check without that retry (a worker that cannot reach Redis when it starts stops with
arq's own connection retries, one clear line from the CLI, since it never had a Redis), the job
slot a connection error would keep taken for good, and the poll round trip as a hook.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import redis.exceptions

from core.connections import RECONNECT_CAP_S
from jobs.queue import PollRound, QueueWorker

log = logging.getLogger(__name__)

# Redis on the same network answers a poll in about a millisecond, every 50 ms: this long
# without an answer is an outage.
STALL_S = 3.0


class SteadyWorker(QueueWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # When Redis last answered a poll (time.monotonic()); None before the first one.
        self.answered_at: float | None = None
        self.waiting_since: float | None = None
        # Whether this outage's first error has been logged: a stall may be logged before it,
        # and the error says why Redis is away, so both are told once per outage.
        self.error_told = False

    def silent_for(self) -> float | None:
        """Seconds since Redis last answered this worker's poll; None before the first poll."""
        return None if self.answered_at is None else time.monotonic() - self.answered_at

    async def poll_round(self, poll: PollRound) -> None:
        began = time.monotonic()
        iteration = asyncio.ensure_future(poll())
        try:
            done, _ = await asyncio.wait({iteration}, timeout=STALL_S)
            if not done:
                self.waiting_since = began if self.answered_at is None else self.answered_at
                log.warning(
                    "%s: Redis has not answered for %.0f s; waiting for it (running jobs go on)",
                    self.queue_name,
                    time.monotonic() - self.waiting_since,
                )
            await iteration
        except asyncio.CancelledError:
            iteration.cancel()
            raise
        except (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.WatchError,
            OSError,
        ) as exc:
            # What the pool's retry leaves out ends arq's main loop: redis-py checks a
            # connection it hands out (ConnectionPool.get_connection) outside the retry, so a
            # Redis that accepts and drops new clients ("max number of clients reached") fails
            # a command at once, and a command while WATCHing is never retried. Poll again after
            # the reconnect backoff's cap; jobs in progress go on.
            if self.waiting_since is None:
                self.waiting_since = began if self.answered_at is None else self.answered_at
            if not self.error_told:
                self.error_told = True
                log.warning(
                    "%s: Redis unavailable (%s: %s); polling again (running jobs go on)",
                    self.queue_name,
                    type(exc).__name__,
                    exc,
                )
            await asyncio.sleep(RECONNECT_CAP_S)
            return
        self.answered_at = time.monotonic()
        if self.waiting_since is not None:
            log.info(
                "%s: Redis answers again after %.1f s",
                self.queue_name,
                self.answered_at - self.waiting_since,
            )
            self.waiting_since = None
        self.error_told = False
