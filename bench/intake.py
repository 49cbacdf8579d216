"""How fast the web tier answers a pull_request delivery (GitHub allows 10 s; Tandem aims for
milliseconds).

Runs the real aiohttp app on 127.0.0.1 against a real redis-server and sends signed deliveries:
`ping` (signature check only: the baseline) and `pull_request.opened` (signature, de-duplication
SET NX, decision, arq enqueue). Prints latency percentiles and the ratio to the baseline, taken in
the same run because this machine is noisy.

    .venv/bin/python -m bench.intake [--requests 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import create_app
from bot.connections import free_port, start_embedded_redis
from bot.settings import Settings
from tests.fakegithub import pull_request_event, webhook_request

SECRET = "bench-secret"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    session: aiohttp.ClientSession,
    url: str,
    requests: list[tuple[bytes, dict[str, str]]],
    concurrency: int,
) -> tuple[list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    async def client() -> None:
        while not queue.empty():
            body, headers = queue.get_nowait()
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, statuses


async def main(count: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis = start_embedded_redis(Path(tmp) / "redis", persist=False)
        try:
            settings = Settings(webhook_secret=SecretStr(SECRET), redis_url=redis.url)  # type: ignore[call-arg]
            runner = web.AppRunner(create_app(settings), access_log=None)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            url = f"http://127.0.0.1:{port}/webhook"
            pings = [webhook_request("ping", {"zen": "bench"}, SECRET) for _ in range(count)]
            opened = [
                webhook_request(
                    "pull_request",
                    pull_request_event(
                        action="opened",
                        repo_full_name="octo/bench",
                        number=n + 1,
                        head_sha=f"{n:040x}",
                        base_sha="f" * 40,
                        clone_url="http://127.0.0.1:1/git/octo/bench.git",
                        installation_id=1,
                    ),
                    SECRET,
                )
                for n in range(count)
            ]
            async with aiohttp.ClientSession() as session:
                await measure(session, url, pings[:100], concurrency)  # warm-up
                ping_ms, ping_status = await measure(session, url, pings, concurrency)
                pr_ms, pr_status = await measure(session, url, opened, concurrency)
            await runner.cleanup()
        finally:
            redis.stop()

    size = len(opened[0][0])
    print(f"requests per kind {count}, concurrency {concurrency}, payload {size} bytes")
    print(f"{'kind':<22}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}  statuses")
    for name, values, status in (
        ("ping (baseline)", ping_ms, ping_status),
        ("pull_request.opened", pr_ms, pr_status),
    ):
        print(
            f"{name:<22}{percentile(values, 0.5):>9.2f}{percentile(values, 0.95):>9.2f}"
            f"{percentile(values, 0.99):>9.2f}{max(values):>9.2f}  {status}"
        )
    ratio = statistics.median(pr_ms) / statistics.median(ping_ms)
    print(f"median ratio opened/ping: {ratio:.2f} (the cost of de-duplication and enqueue)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency))
