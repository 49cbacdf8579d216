"""Shared fixtures and the suite's xdist set-up.

Fixtures: a real redis-server per test session (so per xdist worker), flushed between tests; the
in-process harness (tests/harness.py); a Docker engine and the sandbox image built from the
Dockerfile, once per content hash even with several xdist workers (skipped, with the reason,
where no engine answers). Hooks: the `slow` marks of other modules, the xdist groups of tests
that would see each other on two workers, a tmux socket directory per worker, and the OpenHands
SDK imported before the first test."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis
from filelock import FileLock
from redis.asyncio import Redis

from core.connections import EmbeddedRedis, start_embedded_redis
from jobs.sandbox import SandboxUnavailable, docker_client

if TYPE_CHECKING:
    from tests.harness import Harness, HarnessFactory

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = os.environ.get("TANDEM_TEST_BASE_IMAGE", "tandem-base:trixie")

# Slow tests in modules whose owners mark nothing themselves (yet): module file name -> test
# function names, or None for the whole module. Every test that uses Docker is slow anyway.
# The tests of this round's own modules carry `@pytest.mark.slow` where they are defined.
SLOW_ELSEWHERE: dict[str, frozenset[str] | None] = {
    "test_delivery.py": None,
    "test_testgen_modes.py": None,
    "test_testgen.py": frozenset(
        {
            "test_validation_prunes_failing_functions_and_discards_flaky",
            "test_coverage_filter_keeps_only_files_that_add_changed_lines",
            "test_pynguin_engine_writes_tests_that_pass_validation",
            "test_baseline_survives_awkward_repos",
            "test_plan_prioritises_uncovered_lines_and_caps_files",
            "test_baseline_measures_changed_lines",
        }
    ),
    "test_dependencies.py": frozenset(
        {
            "test_local_install_makes_the_baseline_pass_without_touching_the_workers_venv",
            "test_a_pin_of_a_package_the_worker_has_goes_to_the_environment_only",
            "test_a_failing_install_is_a_note_and_the_run_goes_on",
            "test_a_timeout_and_a_refusal_are_notes",
            "test_produce_tests_installs_before_the_baseline_and_says_so",
            "test_the_agents_local_terminal_imports_the_installed_dependencies",
        }
    ),
    "test_agent.py": frozenset(
        {
            "test_scripted_agent_writes_files_and_runs_commands",
            "test_wall_time_interrupts_a_long_terminal_command",
            "test_slow_llm_hits_wall_time_limit",
            "test_cancellation_from_another_thread_stops_the_agent",
        }
    ),
}
DOCKER_GROUP = "docker"
# Modules whose tests look at machine-wide state (`ps` for the agent's commands): one worker.
SAME_WORKER = {"test_agent.py": "agent-processes"}
_TMUX_DIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker gets its own tmux socket directory, so the agent tests' "no tmux server
    left" checks see only this worker's agents (OpenHands and jobs.agent honour TMUX_TMPDIR)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and "TMUX_TMPDIR" not in os.environ:
        os.environ["TMUX_TMPDIR"] = tempfile.mkdtemp(prefix=f"tandem-tmux-{worker}-")
        config.stash[_TMUX_DIR] = os.environ["TMUX_TMPDIR"]


def pytest_unconfigure(config: pytest.Config) -> None:
    made = config.stash.get(_TMUX_DIR, None)
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow tests (see SLOW_ELSEWHERE) and keep tests that would see each other on
    one xdist worker: every Docker test (a worker's start-up reaps containers of dead processes
    on this host, which would race the orphan test of another worker) and SAME_WORKER."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if "engine" in uses:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group(DOCKER_GROUP))
        elif item.path.name in SAME_WORKER:
            item.add_marker(pytest.mark.xdist_group(SAME_WORKER[item.path.name]))
        names = SLOW_ELSEWHERE.get(item.path.name, frozenset())
        function = getattr(item, "originalname", item.name)
        if names is None or function in names:
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Import the OpenHands SDK (about 5 s, more on a busy machine) once per process before any
    test runs when the collected tests use the agent, so that no test's own timing (the agent
    tests assert how fast an outage ends a run) includes it. Serially, some earlier test paid
    it; with xdist, whichever test a worker happens to run first would."""
    if session.items and "jobs.agent" in sys.modules:
        importlib.import_module("openhands.sdk")


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
async def make_harness(tmp_path: Path, redis_url: str) -> AsyncIterator[HarnessFactory]:
    """`await make_harness(**options)` opens the in-process harness (tests.harness.open_harness
    takes the options); everything opened is closed after the test, last opened first."""
    from tests.harness import open_harness  # here, so a broken jobs/ leaves other tests alone

    async with contextlib.AsyncExitStack() as stack:
        opened = 0

        async def make(**options: Any) -> Harness:
            nonlocal opened
            opened += 1
            root = tmp_path if opened == 1 else tmp_path / f"harness-{opened}"
            return await stack.enter_async_context(open_harness(root, redis_url, **options))

        yield make


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    """The in-process harness with its defaults (tests/harness.py)."""
    opened: Harness = await make_harness()
    return opened


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
    """The Dockerfile's `sandbox` target, built once per content hash. A file lock keyed by the
    tag makes a second xdist worker (or a second test session) wait for the first one's build
    and then find the image, instead of building it again."""
    import docker.errors

    tag = sandbox_image_tag()
    lock_path = Path(tempfile.gettempdir()) / f"{tag.replace(':', '-')}.build.lock"
    with FileLock(lock_path):
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
