"""Claim a delivery and enqueue its job in one Redis round trip.

arq's `enqueue_job` takes three round trips (WATCH, EXISTS, then MULTI/PSETEX/ZADD/EXEC) and the
de-duplication SET NX a fourth; at intake rates those round trips were most of a delivery's cost
(issue 17). This does the same in one Lua script, which Redis runs atomically:

1. ``SET tandem:delivery:<id> 1 NX EX <ttl>``: a delivery id seen before is a duplicate, and
   nothing else happens;
2. a job id whose job or result key exists is already queued (arq's own rule, which makes the
   deterministic job ids absorb a second delivery of the same head);
3. otherwise ``PSETEX arq:job:<id>`` with the job serialized by arq's own `serialize_job` (so
   the worker reads it unchanged) and ``ZADD`` it to the queue, scored now, expiring after the
   pool's `expires_extra_ms`, exactly as `enqueue_job` writes a job that is not deferred.

Deliveries that arrive together share a round trip: calls wait while one batch is on its way
and go together in the next pipeline, sent as redis-py's pipeline would but packed by hiredis
(not a transaction: each script is atomic by itself, and Redis runs them in order, so two
deliveries of one id in a batch are still one and a duplicate). On a busy machine every round
trip also waits for Redis's process to be scheduled, so fewer of them is what lets intake keep
up (issue 17). Scripts are sent with EVAL, which needs no NOSCRIPT handling after a Redis
restart; Redis caches the compiled script by its hash.
"""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import hiredis
import redis.exceptions
from arq.connections import ArqRedis

from jobs import queue

# KEYS: delivery key (or "" for none), job key, result key, queue.
# ARGV: delivery ttl in s, job expiry in ms, serialized job, job id, score.
_CLAIM_AND_ENQUEUE = """
if KEYS[1] ~= '' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
if redis.call('EXISTS', KEYS[2], KEYS[3]) > 0 then
  return 2
end
redis.call('PSETEX', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
return 1
"""


class Enqueued(Enum):
    DUPLICATE_DELIVERY = 0
    QUEUED = 1
    JOB_EXISTS = 2


_Call = tuple[tuple[Any, ...], "asyncio.Future[Any]"]


class ClaimAndEnqueue:
    """The script's calls, batched per round trip on one pool."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool
        self._pending: list[_Call] = []
        self._sender: asyncio.Task[None] | None = None

    async def __call__(
        self,
        function: str,
        *args: Any,
        job_id: str,
        queue_name: str,
        delivery_key: str | None,
        delivery_ttl_s: int,
    ) -> Enqueued:
        """Claim `delivery_key` (unless None: already claimed by this delivery) and enqueue
        `function(*args)` as arq job `job_id` on `queue_name`."""
        now_ms = queue.now_ms()
        job = queue.job_bytes(function, args, now_ms, self.pool.job_serializer)
        keys = [delivery_key or "", queue.job_key(job_id), queue.result_key(job_id), queue_name]
        argv = [delivery_ttl_s, self.pool.expires_extra_ms, job, job_id, now_ms]
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((("EVAL", _CLAIM_AND_ENQUEUE, len(keys), *keys, *argv), done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_all())
        return Enqueued(int(await done))

    async def _send_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            await self._send(batch)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            results = await self._round_trip([command for command, _ in batch])
        except Exception as exc:  # every caller gets it: Redis away means 503 for each
            results = [exc] * len(batch)
        for (_, done), result in zip(batch, results, strict=True):
            if done.done():  # its request went away meanwhile
                continue
            if isinstance(result, BaseException):
                done.set_exception(result)
            else:
                done.set_result(result)

    async def _round_trip(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """What redis-py's pipeline (transaction=False) does, with the commands packed by
        hiredis in C: redis-py's asyncio client packs in Python, which cost more per delivery
        than the rest of the round trip (issue 17). A script's error is its reply alone."""
        packed = b"".join([hiredis.pack_command(command) for command in commands])
        pool = self.pool.connection_pool
        connection = await pool.get_connection()
        try:
            await connection.send_packed_command(packed)
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except redis.exceptions.ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            # Replies left unread would answer the next caller's commands.
            await connection.disconnect(nowait=True)
            raise
        finally:
            await pool.release(connection)
