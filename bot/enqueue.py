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
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.commands.core import AsyncScript

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


class ClaimAndEnqueue:
    """The script, registered once per pool (redis-py sends it by its sha and loads it again
    after a Redis restart emptied the script cache)."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool
        self.script: AsyncScript = pool.register_script(_CLAIM_AND_ENQUEUE)

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
        now_ms = timestamp_ms()
        job = serialize_job(function, args, {}, None, now_ms, serializer=self.pool.job_serializer)
        keys = [delivery_key or "", job_key_prefix + job_id, result_key_prefix + job_id, queue_name]
        argv: list[Any] = [delivery_ttl_s, self.pool.expires_extra_ms, job, job_id, now_ms]
        return Enqueued(int(await self.script(keys=keys, args=argv)))
