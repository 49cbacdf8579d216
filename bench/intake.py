"""How fast the web tier accepts `pull_request` deliveries, against a bare aiohttp server.

Starts a real redis-server, Tandem's web tier as `tandem serve` runs it (its own process, INFO
logging to a file as in production, no worker), and a bare aiohttp server that reads the body
and answers 202 (its own process too, started the same way). One aiohttp client in this
process sends signed deliveries, `--concurrency` at a time, in rounds of `--requests` each:

- `bare 202`: the same `pull_request` bodies to the bare server (what aiohttp costs alone);
- `ping`: signature check and answer in Tandem's app;
- `pull_request.opened`: signature, decision, de-duplication and arq enqueue in Tandem's app,
  each delivery with a new delivery id and head sha, so every one is enqueued.

The kinds alternate within each round and their order flips from round to round, because this
machine is shared and noisy. It prints each round's rates and the medians, and the two ratios
that count: accepted deliveries per second against the bare server, and against `ping`; and
each server's CPU time per request (from /proc), which the other load on the machine barely
moves. At the end it checks that Redis holds one queued job per accepted delivery.

    .venv/bin/python -m bench.intake [--requests 2000] [--concurrency 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import redis
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.connections import CONTROL_QUEUE, free_port, start_embedded_redis
from tests.fakegithub import pull_request_event, webhook_request

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
Request = tuple[bytes, dict[str, str]]


@dataclass
class Kind:
    name: str
    url: str
    pid: int = 0
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # the server's CPU per request
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (Linux's /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    session: aiohttp.ClientSession, kind: Kind, requests: list[Request], concurrency: int
) -> float:
    """Send `requests` with `concurrency` clients; record latencies and statuses; return the
    rate in requests per second."""
    pending = iter(requests)

    async def client() -> None:
        for body, headers in pending:
            started = time.perf_counter()
            async with session.post(kind.url, data=body, headers=headers) as response:
                await response.read()
                kind.statuses[response.status] = kind.statuses.get(response.status, 0) + 1
            kind.latencies_ms.append((time.perf_counter() - started) * 1000)

    cpu_before = cpu_seconds(kind.pid)
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    kind.cpu_ms.append((cpu_seconds(kind.pid) - cpu_before) * 1000 / len(requests))
    return len(requests) / elapsed


def opened_deliveries(first: int, count: int) -> list[Request]:
    return [
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
        for n in range(first, first + count)
    ]


async def wait_until_up(
    session: aiohttp.ClientSession, url: str, server: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{server.args!r} exited with {server.returncode}")
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 60 s")


@contextmanager
def server(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def run(count: int, concurrency: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        embedded = start_embedded_redis(Path(tmp) / "redis", persist=False)
        try:
            await compare(Path(tmp), embedded.url, count, concurrency, rounds)
        finally:
            embedded.stop()


async def compare(tmp: Path, redis_url: str, count: int, concurrency: int, rounds: int) -> None:
    tandem_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "TANDEM_WEBHOOK_SECRET": SECRET,
        "TANDEM_REDIS_URL": redis_url,
        "TANDEM_LOG_LEVEL": "INFO",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    tandem_cmd = [sys.executable, "-m", "tandem.cli", "serve", "--port", str(tandem_port)]
    bare_cmd = [sys.executable, "-m", "bench.intake", "--bare-server", str(bare_port)]
    cwd_env = {**env, "PYTHONPATH": str(ROOT)}
    warmup = 200
    opened_rounds = [opened_deliveries(warmup + r * count, count) for r in range(rounds)]
    pings = [webhook_request("ping", {"zen": "bench"}, SECRET) for _ in range(count)]
    bare = Kind("bare aiohttp 202", f"http://127.0.0.1:{bare_port}/webhook")
    ping = Kind("tandem ping", f"http://127.0.0.1:{tandem_port}/webhook")
    opened = Kind("tandem pull_request", f"http://127.0.0.1:{tandem_port}/webhook")
    with (
        server(tandem_cmd, cwd_env, tmp / "tandem.log") as tandem_process,
        server(bare_cmd, cwd_env, tmp / "bare.log") as bare_process,
    ):
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency)
        ) as session:
            bare.pid, ping.pid, opened.pid = (
                bare_process.pid,
                tandem_process.pid,
                tandem_process.pid,
            )
            await wait_until_up(session, f"http://127.0.0.1:{tandem_port}/healthz", tandem_process)
            await wait_until_up(session, f"http://127.0.0.1:{bare_port}/healthz", bare_process)
            # Warm-up: connections open, code paths and caches warm, in every server.
            await measure(session, bare, opened_rounds[0][:warmup], concurrency)
            await measure(session, ping, pings[:warmup], concurrency)
            await measure(session, opened, opened_deliveries(0, warmup), concurrency)
            for kind in (bare, ping, opened):
                kind.latencies_ms.clear()
                kind.statuses.clear()
                kind.cpu_ms.clear()
            print(
                f"round  {'bare 202/s':>11}{'ping/s':>9}{'opened/s':>10}"
                f"{'vs bare':>9}{'vs ping':>9}"
            )
            for r in range(rounds):
                plan: list[tuple[Kind, list[Request]]] = [
                    (bare, opened_rounds[r]),
                    (ping, pings),
                    (opened, opened_rounds[r]),
                ]
                for kind, requests in plan if r % 2 == 0 else reversed(plan):
                    kind.rates.append(await measure(session, kind, requests, concurrency))
                print(
                    f"{r + 1:>5}  {bare.rates[-1]:>11.0f}{ping.rates[-1]:>9.0f}"
                    f"{opened.rates[-1]:>10.0f}{opened.rates[-1] / bare.rates[-1]:>9.2f}"
                    f"{opened.rates[-1] / ping.rates[-1]:>9.2f}"
                )
    queued = redis.Redis.from_url(redis_url).zcard(CONTROL_QUEUE)
    report(count, concurrency, len(opened_rounds[0][0][0]), bare, ping, opened)
    expected = warmup + rounds * count
    print(f"jobs queued in Redis: {queued} of {expected} deliveries accepted")
    if queued != expected or set(opened.statuses) != {202}:
        raise SystemExit("not every delivery was accepted and enqueued: see the statuses above")


def report(count: int, concurrency: int, size: int, *kinds: Kind) -> None:
    bare, ping, opened = kinds
    print(f"\nrequests per round and kind {count}, concurrency {concurrency}, payload {size} bytes")
    print(
        f"{'kind':<22}{'median/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/req':>11}  statuses"
    )
    for kind in kinds:
        lat = kind.latencies_ms
        print(
            f"{kind.name:<22}{statistics.median(kind.rates):>9.0f}{percentile(lat, 0.5):>9.2f}"
            f"{percentile(lat, 0.95):>9.2f}{percentile(lat, 0.99):>9.2f}"
            f"{statistics.median(kind.cpu_ms):>11.3f}  {kind.statuses}"
        )
    # The median of each round's ratio: both sides of a ratio saw the same moment's load.
    vs_bare = statistics.median(o / b for o, b in zip(opened.rates, bare.rates, strict=True))
    vs_ping = statistics.median(o / p for o, p in zip(opened.rates, ping.rates, strict=True))
    print(f"pull_request accepted per second / bare aiohttp 202: {vs_bare:.2f}x (median of rounds)")
    print(f"pull_request accepted per second / tandem ping:      {vs_ping:.2f}x (median of rounds)")
    # CPU time barely depends on what else the machine runs; rates do.
    cpu = statistics.median(opened.cpu_ms) / statistics.median(bare.cpu_ms)
    print(f"server CPU per request, pull_request / bare aiohttp 202: {cpu:.2f}x")


def bare_server(port: int) -> None:
    """What aiohttp alone costs: read the body, answer 202."""

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"accepted": "bare"}, status=202)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=25 * 1024 * 1024)
    app.router.add_post("/webhook", accept)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
    else:
        asyncio.run(run(args.requests, args.concurrency, args.rounds))
