"""Tandem as processes next to the fakes: the environment a `tandem worker` needs to reach the
fake GitHub, the scripted LLM and a Redis, starting one in its own process group, and stopping
it (gently, or with SIGKILL as a crash would). Used by tests/test_worker_kill.py,
tests/test_worker_stop.py and bench/soak.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import psutil
from arq import create_pool

from bot.event_plan import pull_request_ref
from core.connections import CONTROL_QUEUE, redis_settings
from tests.fakegithub import FakeGitHubThread
from tests.fakegithub.payloads import pull_request_event

# Whatever the agent's terminal leaves behind when its worker is killed (a tmux server, which
# detaches from the worker's process group) is found through this directory.
TMUX_DIR = "tmux"


def tandem_env(
    root: Path,
    *,
    app_id: int,
    private_key: bytes,
    github_url: str,
    redis_url: str,
    llm_url: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of Tandem processes writing under `root`; `extra` are more variables."""
    key_path = root / "app.pem"
    key_path.write_bytes(private_key)
    (root / TMUX_DIR).mkdir(exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")},
        "TANDEM_GITHUB_APP_ID": str(app_id),
        "TANDEM_GITHUB_PRIVATE_KEY_PATH": str(key_path),
        "TANDEM_GITHUB_API_URL": github_url,
        "TANDEM_REDIS_URL": redis_url,
        "TANDEM_DATA_DIR": str(root / "data"),
        "TANDEM_SANDBOX": "local",
        "TMUX_TMPDIR": str(root / TMUX_DIR),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        **extra,
    }
    if llm_url is not None:
        env.update(
            TANDEM_LLM_MODEL="openai/scripted",
            TANDEM_LLM_BASE_URL=llm_url,
            TANDEM_LLM_API_KEY="sk-test",
        )
    return env


def start_tandem(args: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    """`tandem <args>` in a new session (its own process group), output to `log` (to a pipe,
    `process.stdout`, when `log` is None)."""
    output: IO[bytes] | int = log.open("ab") if log is not None else subprocess.PIPE
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tandem.cli", *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if not isinstance(output, int):
            output.close()  # the child has its own copy


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's whole group, as a crash or an OOM kill would end it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop(process: subprocess.Popen[bytes], timeout_s: float = 30) -> int:
    """SIGTERM, then SIGKILL after `timeout_s`; the exit status."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            kill_hard(process)
    return process.wait()


def kill_left_tmux_servers(root: Path) -> None:
    """Kill the tmux servers that agents of killed workers under `root` left running."""
    for socket in (root / TMUX_DIR).glob("tmux-*/*"):
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, check=False)


def wait_for(condition: Callable[[], Any], limit_s: float, what: str, logs: Path) -> Any:
    """`condition()` once it is true; after `limit_s`, fail with the tails of the logs."""
    deadline = time.monotonic() + limit_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            tails = "".join(
                f"\n--- {log.name} ---\n{log.read_text()[-4000:]}" for log in sorted(logs.glob("*"))
            )
            raise AssertionError(f"timed out waiting for {what}{tails}")
        time.sleep(0.1)
    return value


def enqueue_opened(
    redis_url: str,
    github: FakeGitHubThread,
    repo: str,
    installation: int,
    pull: dict[str, Any],
    base: str,
    head: str,
    delivery_id: str,
) -> None:
    """What the web app does for the pull_request `opened` delivery of `pull`."""
    payload = pull_request_event(
        action="opened",
        repo_full_name=repo,
        number=pull["number"],
        head_sha=head,
        base_sha=base,
        clone_url=github.clone_url(repo),
        installation_id=installation,
    )

    async def enqueue() -> None:
        pool = await create_pool(redis_settings(redis_url))
        pr = pull_request_ref(payload)
        try:
            await pool.enqueue_job(
                "start_run",
                pr.to_dict(),
                delivery_id,
                "opened",
                _job_id=f"start_run:{pr.run_key}",
                _queue_name=CONTROL_QUEUE,
            )
        finally:
            await pool.aclose()

    asyncio.run(enqueue())


ENGINES = ("pynguin", "crosshair", "characterize")  # how their command lines name them


def processes_under(root: Path) -> list[psutil.Process]:
    """Every process of this user whose command line or working directory is under `root`
    (the worker's checkouts are), orphans of a dead parent included."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.uids().real != os.getuid():
                continue
            line = " ".join(process.cmdline())
            cwd = process.cwd()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        if str(root) in line or cwd == str(root) or cwd.startswith(f"{root}/"):
            found.append(process)
    return found


def processes_in_groups(groups: set[int]) -> list[psutil.Process]:
    """The live processes whose process group is one of `groups`. A zombie is not one: it has
    exited and holds nothing, it only waits for its parent (or init) to read its status."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            if os.getpgid(process.pid) in groups and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
    return found


def engine_processes_under(root: Path, engines: tuple[str, ...] = ENGINES) -> list[psutil.Process]:
    """The processes under `root` (see `processes_under`) that run one of the `engines`."""
    found = []
    for process in processes_under(root):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            if any(engine in " ".join(process.cmdline()) for engine in engines):
                found.append(process)
    return found
