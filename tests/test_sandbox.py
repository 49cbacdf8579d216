"""The Docker sandbox against a real engine (skipped, with the reason, where none answers).

The `engine` and `sandbox_image` fixtures are in tests/conftest.py: the image is built once per
content hash of the Dockerfile and pyproject.toml from the Dockerfile's `sandbox` target (about
10-60 s the first time, nothing afterwards) on the local base image that
scripts/build-base-image makes (TANDEM_TEST_BASE_IMAGE overrides it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from jobs.sandbox import (
    LABEL,
    LABEL_RUN,
    DockerConfig,
    DockerSandbox,
    LocalSandbox,
    SandboxUnavailable,
    check_sandbox,
    open_sandbox,
    reap_orphans,
    worker_identity,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(sandbox_image: str) -> DockerConfig:
    return DockerConfig(image=sandbox_image, cpus=1.0, memory_mb=256, pids=64, tmp_mb=64)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    path = tmp_path / "checkout"
    path.mkdir()
    (path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (path / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
    return path


def run_containers(engine: Any, key: str) -> list[Any]:
    return engine.containers.list(all=True, filters={"label": f"{LABEL_RUN}={key}"})


async def test_tests_run_inside_a_container_with_the_checkout(
    engine: Any, config: DockerConfig, checkout: Path
) -> None:
    sandbox = DockerSandbox(config, run_key="test-inside", mount=checkout)
    try:
        result = await sandbox.run(
            [sandbox.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_calc.py"],
            cwd=checkout,
            timeout_s=60,
        )
        assert result.returncode == 0, result.output
        assert "1 passed" in result.output
        # coverage and pynguin are there too; the hostname is the container's
        tools = await sandbox.run(
            ["sh", "-c", "hostname; python -c 'import coverage, pynguin; print(\"tools ok\")'"],
            cwd=checkout,
            timeout_s=60,
        )
        assert tools.output.split() == ["sandbox", "tools", "ok"], tools.output
        # files it writes land in the checkout, owned by the worker
        wrote = await sandbox.run(["sh", "-c", "echo hi > out.txt"], cwd=checkout, timeout_s=10)
        assert wrote.returncode == 0
        assert (checkout / "out.txt").read_text() == "hi\n"
        assert (checkout / "out.txt").stat().st_uid == os.getuid()
        assert len(run_containers(engine, "test-inside")) == 1  # one container for the part
    finally:
        await sandbox.close()
    assert run_containers(engine, "test-inside") == []


async def test_no_network_and_no_secrets(
    engine: Any, config: DockerConfig, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_GITHUB_PRIVATE_KEY", "-----BEGIN secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("TANDEM_LLM_API_KEY", "sk-secret")
    sandbox = DockerSandbox(config, run_key="test-secrets", mount=checkout)
    try:
        env = await sandbox.run(["env"], cwd=checkout, timeout_s=10)
        assert "secret" not in env.output
        assert "TANDEM_" not in env.output and "TOKEN" not in env.output
        probe = textwrap.dedent(
            """
            import os, socket
            print(sorted(os.listdir("/sys/class/net")))
            for host in ("1.1.1.1", "172.17.0.1"):
                try:
                    socket.create_connection((host, 80), timeout=2)
                    print("reached", host)
                except OSError as e:
                    print("unreachable", host, e.errno)
            """
        )
        net = await sandbox.run(["python", "-c", probe], cwd=checkout, timeout_s=30)
        assert net.output.splitlines()[0] == "['lo']", net.output
        assert "reached" not in net.output, net.output
        host_config = engine.api.inspect_container(sandbox.container_id)["HostConfig"]
        assert host_config["NetworkMode"] == "none"
        assert host_config["ReadonlyRootfs"] is True
        assert host_config["CapDrop"] == ["ALL"]
        assert host_config["NanoCpus"] == 1_000_000_000
        assert host_config["Memory"] == 256 * 1024 * 1024
        assert host_config["PidsLimit"] == 64
    finally:
        await sandbox.close()


async def test_fork_bomb_and_memory_hog_are_contained(
    engine: Any, config: DockerConfig, checkout: Path
) -> None:
    sandbox = DockerSandbox(config, run_key="test-limits", mount=checkout)
    try:
        bomb = textwrap.dedent(
            """
            import os, time
            n = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                    n += 1
            except OSError:
                print("fork refused after", n)
            """
        )
        result = await sandbox.run(["python", "-c", bomb], cwd=checkout, timeout_s=5)
        assert "fork refused after" in result.output, result.output
        assert int(result.output.split()[-1]) < config.pids
        # the sleepers keep the pids: the timeout (or the next run) must not be blocked by them
        hog = "b = bytearray(1024 * 1024 * 1024); print('allocated')"
        result = await sandbox.run(["python", "-c", hog], cwd=checkout, timeout_s=30)
        assert result.returncode == 137 or "MemoryError" in result.output, result
        assert "allocated" not in result.output
        # the container is still usable after both
        after = await sandbox.run(["echo", "still here"], cwd=checkout, timeout_s=10)
        assert after.output == "still here\n"
    finally:
        await sandbox.close()


async def test_a_timeout_kills_the_command_and_everything_it_started(
    engine: Any, config: DockerConfig, checkout: Path
) -> None:
    sandbox = DockerSandbox(config, run_key="test-timeout", mount=checkout)
    try:
        started = time.monotonic()
        result = await sandbox.run(
            ["sh", "-c", "sleep 300 & echo started; sleep 301"], cwd=checkout, timeout_s=1
        )
        assert result.timed_out and result.returncode == -9
        assert time.monotonic() - started < 10
        left = await sandbox.run(
            ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"], cwd=checkout, timeout_s=10
        )
        assert "sleep 300" not in left.output and "sleep 301" not in left.output, left.output
    finally:
        await sandbox.close()
    assert run_containers(engine, "test-timeout") == []


def test_orphans_of_a_killed_worker_are_reaped_at_start(
    engine: Any, sandbox_image: str, checkout: Path
) -> None:
    # A worker process starts a sandbox container and is killed mid-job (SIGKILL).
    script = textwrap.dedent(
        f"""
        import asyncio, sys, time
        from pathlib import Path
        from jobs.sandbox import DockerConfig, DockerSandbox
        async def main():
            box = DockerSandbox(DockerConfig(image={sandbox_image!r}), run_key="test-orphan",
                                mount=Path({str(checkout)!r}))
            await box.run(["true"], cwd=Path({str(checkout)!r}), timeout_s=30)
            print(box.container_id, flush=True)
            time.sleep(600)
        asyncio.run(main())
        """
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    orphan = worker.stdout.readline().strip()
    worker.kill()
    worker.wait()
    assert [c.id for c in run_containers(engine, "test-orphan")] == [orphan]

    # A container of a live worker (this process) is left alone.
    live = engine.containers.run(
        sandbox_image,
        ["sleep", "60"],
        detach=True,
        auto_remove=True,
        network_mode="none",
        labels={
            LABEL: "1",
            LABEL_RUN: "test-live",
            "tandem.host": socket.gethostname(),
            "tandem.worker": worker_identity(),
        },
    )
    try:
        # The worker's start-up check reaps.
        check_sandbox(Settings(sandbox="docker", sandbox_image=sandbox_image))
        assert run_containers(engine, "test-orphan") == []
        assert [c.id for c in run_containers(engine, "test-live")] == [live.id]
        assert reap_orphans(engine) == []
    finally:
        live.remove(force=True)


def test_a_missing_image_is_refused_at_start(engine: Any) -> None:
    with pytest.raises(SandboxUnavailable, match="docker build --target sandbox"):
        check_sandbox(Settings(sandbox="docker", sandbox_image="tandem-sandbox:no-such-tag"))


def test_open_sandbox_kinds() -> None:
    assert isinstance(open_sandbox("local"), LocalSandbox)
    docker = open_sandbox(Settings(sandbox="docker", sandbox_memory_mb=512), run_key="k")
    assert isinstance(docker, DockerSandbox)
    assert docker.config.memory_mb == 512 and docker.run_key == "k"


async def test_the_agents_terminal_runs_inside_the_container(
    engine: Any, config: DockerConfig, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real agent loop (scripted LLM over HTTP): its terminal commands run in the part's
    container (no network, no secrets), its file editor writes the same bind-mounted files."""
    import asyncio

    from jobs.agent import AgentLimits, LLMSettings, run_agent
    from tests.llmserver import ScriptedLLM, finish, terminal, tool_call

    monkeypatch.setenv("TANDEM_WEBHOOK_SECRET", "whsec-do-not-leak")
    probe = "hostname > where.txt; env > env.txt; ls /sys/class/net > net.txt"
    server = ScriptedLLM(
        [
            tool_call(
                "file_editor",
                command="create",
                path=str(checkout / "test_more.py"),
                file_text="from calc import add\n\ndef test_more():\n    assert add(2, 2) == 4\n",
            ),
            terminal(probe),
            terminal("python -m pytest -q -p no:cacheprovider test_more.py > pytest.txt"),
            finish("done"),
        ]
    )
    await server.start()
    sandbox = DockerSandbox(config, run_key="test-agent", mount=checkout)
    try:
        shell = await sandbox.terminal_command(checkout)
        outcome = await asyncio.to_thread(
            run_agent,
            checkout,
            "Write tests.",
            LLMSettings(model="openai/gpt-4o-mini", base_url=server.url, api_key="sk-test-key"),
            AgentLimits(max_iterations=10, wall_time_s=90),
            shell=shell,
        )
        assert outcome.status == "finished", outcome
        assert (checkout / "where.txt").read_text().strip() == "sandbox"
        assert (checkout / "net.txt").read_text().split() == ["lo"]
        env = (checkout / "env.txt").read_text()
        assert "do-not-leak" not in env and "sk-test-key" not in env and "TANDEM_" not in env
        assert "1 passed" in (checkout / "pytest.txt").read_text()
    finally:
        await sandbox.close()
        await server.close()
    assert run_containers(engine, "test-agent") == []


@pytest.fixture
def git_checkout(checkout: Path) -> Path:
    subprocess.run(["git", "init", "--quiet", str(checkout)], check=True)
    return checkout


async def test_git_metadata_is_read_only_inside(
    engine: Any, config: DockerConfig, git_checkout: Path
) -> None:
    """Code in the container cannot plant git config or hooks that the worker's git would run."""
    checkout = git_checkout
    before = (checkout / ".git/config").read_text()
    sandbox = DockerSandbox(config, run_key="test-git-ro", mount=checkout)
    try:
        plant = await sandbox.run(
            [
                "sh",
                "-c",
                "git config core.fsmonitor 'touch /tmp/x'; "
                "echo 'touch /tmp/x' > .git/hooks/pre-commit; "
                "mv .git .git-moved; rm -rf .git; echo rest > ok.txt",
            ],
            cwd=checkout,
            timeout_s=30,
        )
        assert "Read-only file system" in plant.output, plant.output
        assert (checkout / "ok.txt").read_text() == "rest\n"  # the rest of the checkout is rw
    finally:
        await sandbox.close()
    assert (checkout / ".git/config").read_text() == before
    assert not (checkout / ".git/hooks/pre-commit").exists()
    assert (checkout / ".git").is_dir() and not (checkout / ".git-moved").exists()
