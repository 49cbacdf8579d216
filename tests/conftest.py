"""Shared fixtures: a real redis-server per test session, flushed between tests; a Docker
engine and the sandbox image built from the Dockerfile (skipped, with the reason, where no engine
answers)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from bot.connections import EmbeddedRedis, start_embedded_redis
from jobs.sandbox import SandboxUnavailable, docker_client

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = os.environ.get("TANDEM_TEST_BASE_IMAGE", "tandem-base:trixie")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = start_embedded_redis(tmp_path_factory.mktemp("redis"), persist=False)
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    client = redis.Redis(host="127.0.0.1", port=redis_server.port)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def sandbox_image_tag() -> str:
    digest = hashlib.sha256()
    for name in ("Dockerfile", "pyproject.toml", ".dockerignore"):
        digest.update((ROOT / name).read_bytes())
    return f"tandem-sandbox:test-{digest.hexdigest()[:12]}"


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    try:
        client = docker_client()
    except SandboxUnavailable as e:
        pytest.skip(f"no Docker engine: {e} (.ci/run installs and starts one)")
    yield client
    client.close()


@pytest.fixture(scope="session")
def sandbox_image(engine: Any) -> str:
    """The Dockerfile's `sandbox` target, built once per content hash."""
    import docker.errors

    tag = sandbox_image_tag()
    try:
        engine.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    try:
        engine.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"no base image {BASE_IMAGE}: run scripts/build-base-image")
    engine.images.build(
        path=str(ROOT),
        target="sandbox",
        tag=tag,
        buildargs={"BASE_IMAGE": BASE_IMAGE},
        network_mode="host",  # pip reaches the package index; containers never do
        rm=True,
    )
    return tag
