"""Test-side waiting: for the fakes' recorded state, and for the whole system to be quiescent.

The product itself never polls. Tests do, in two ways:

- `wait_until` waits for something that should happen (a check run, a reply);
- `wait_quiescent` is the barrier for "nothing happened": it waits until Redis says no work is
  left anywhere (both arq queues empty, no arq job in progress, no run still running or
  collecting), so a test can then assert that nothing was enqueued, posted or started. A wrongly
  started job keeps the barrier closed until it is done, and what it did is then there to see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from core.connections import CONTROL_QUEUE, PARTS_QUEUE
from jobs.state import run_hash

QUEUES = (CONTROL_QUEUE, PARTS_QUEUE)

# One atomic look at everything that means "work is still going on". KEYS: the arq queues
# (zsets: a job stays in its queue until it finished, so a job that enqueues a follow-up does
# so before it leaves). ARGV[1]: the in-progress key prefix, ARGV[2]: the run hash prefix.
# Returns one line per busy thing; empty when the system is quiescent.
_ACTIVITY = """
local busy = {}
for _, queue in ipairs(KEYS) do
  local queued = redis.call('ZRANGE', queue, 0, -1)
  for _, job in ipairs(queued) do table.insert(busy, 'queued in ' .. queue .. ': ' .. job) end
end
for _, key in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do
  table.insert(busy, key)
end
for _, key in ipairs(redis.call('KEYS', ARGV[2] .. '*')) do
  if redis.call('TYPE', key).ok == 'hash' then
    local status = redis.call('HGET', key, 'status')
    if status == 'running' or status == 'collecting' then
      table.insert(busy, key .. ' is ' .. status)
    end
  end
end
return busy
"""

QUIESCENT_POLL_S = 0.05

# How long a test waits for an event before it fails instead of hanging. It is a safety net, not
# a timing claim: tests return as soon as the event happens, and on a loaded 2-core machine (CI
# beside benchmarks) a run with real engines, Docker or the agent loop can take minutes, which a
# 60 s net turned into failures that said nothing about the code.
EVENT_LIMIT_S = 600.0


async def wait_until(
    condition: Callable[[], Any], what: str, limit_s: float = EVENT_LIMIT_S
) -> Any:
    """The first truthy value of `condition()`, checked every 50 ms for up to `limit_s`."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while not (value := condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def activity(redis: Redis) -> list[str]:
    """What is still queued, in progress or running, in one atomic read of Redis."""
    found = await redis.eval(  # type: ignore[misc]
        _ACTIVITY, len(QUEUES), *QUEUES, in_progress_key_prefix, run_hash("")
    )
    return [item.decode() if isinstance(item, bytes) else str(item) for item in found]


async def wait_quiescent(redis: Redis, limit_s: float = EVENT_LIMIT_S) -> None:
    """Return once no work is queued, in progress or running (see the module docstring)."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while busy := await activity(redis):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still busy after {limit_s:.0f} s: {busy}")
        await asyncio.sleep(QUIESCENT_POLL_S)


def wait_quiescent_blocking(redis_url: str, limit_s: float = EVENT_LIMIT_S) -> None:
    """`wait_quiescent` for synchronous tests (the end-to-end test's processes)."""

    async def wait() -> None:
        client = Redis.from_url(redis_url)
        try:
            await wait_quiescent(client, limit_s)
        finally:
            await client.aclose()

    asyncio.run(wait())
