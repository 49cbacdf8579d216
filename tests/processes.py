"""Tandem as processes next to the fakes: the environment a `tandem worker` needs to reach the
fake GitHub, the scripted LLM and a Redis, starting one in its own process group, and stopping
it (gently, or with SIGKILL as a crash would). Used by tests/test_worker_kill.py and bench/soak.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

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
