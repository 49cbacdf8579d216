"""The `tandem` command as a user runs it: settings errors, and `tandem up` with embedded Redis."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from core.connections import free_port
from tests.fakegithub.payloads import webhook_request


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update(extra)
    return env


def tandem(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tandem.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_invalid_setting_stops_with_one_line() -> None:
    result = tandem("worker", env=clean_env(TANDEM_GITHUB_APP_ID="abc"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("tandem: TANDEM_GITHUB_APP_ID:")


def test_missing_setting_is_named() -> None:
    result = tandem("serve", env=clean_env())
    assert result.returncode == 2
    assert result.stderr.strip() == "tandem: TANDEM_WEBHOOK_SECRET is not set"
    result = tandem("worker", env=clean_env(TANDEM_REDIS_URL="redis://127.0.0.1:1/0"))
    assert result.stderr.strip() == "tandem: TANDEM_GITHUB_APP_ID is not set"


def test_docker_sandbox_without_its_image_is_refused_clearly(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not used")
    result = tandem(
        "worker",
        env=clean_env(
            TANDEM_REDIS_URL="redis://127.0.0.1:1/0",
            TANDEM_GITHUB_APP_ID="1",
            TANDEM_GITHUB_PRIVATE_KEY_PATH=str(key),
            TANDEM_SANDBOX="docker",
            TANDEM_SANDBOX_IMAGE="tandem-sandbox:no-such-tag",
        ),
    )
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    # With an engine: the missing image and how to build it; without one: that none answers.
    assert (
        "sandbox image tandem-sandbox:no-such-tag not found" in line
        and "docker build --target sandbox" in line
    ) or "no Docker engine answers" in line, line


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_up_runs_an_embedded_redis_and_stops_it(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "tandem.cli", "up", "--port", str(port)],
        env=clean_env(TANDEM_DATA_DIR=str(data)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline and status != 200:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                time.sleep(0.1)
        assert status == 200, "tandem up did not become healthy"
        assert b'"github_app_configured": false' in body

        secret = (data / "webhook-secret").read_text().strip()
        assert len(secret) == 64 and (data / "webhook-secret").stat().st_mode & 0o077 == 0
        payload, headers = webhook_request("ping", {"zen": "hi"}, secret)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhook", data=payload, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

        assert list((data / "redis").iterdir()), "embedded redis keeps its data in the data dir"
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, output
    assert secret not in output  # the secret's location is printed, never the secret
    match = re.search(r"embedded redis-server on redis://127.0.0.1:(\d+)/0", output)
    assert match, output
    # the embedded redis-server went away with it
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=int(match.group(1)), socket_connect_timeout=1).ping()


def test_version_and_help_name_no_internals(tmp_path: Path) -> None:
    env = clean_env()
    version = tandem("--version", env=env)
    assert version.returncode == 0 and re.fullmatch(r"tandem \S+\n", version.stdout)
    missing = tandem("config", env=env)
    assert missing.returncode == 2
    assert "{validate,show}" in missing.stderr and "config_command" not in missing.stderr
    for command in (["serve"], ["up"], ["worker"], ["run"], ["config", "validate"]):
        shown = tandem(*command, "--help", env=env)
        assert shown.returncode == 0, shown.stderr
        description = shown.stdout.split("\n\n")[1]
        assert description and not description.startswith(("positional", "options")), command
    assert "(default: 8000)" in tandem("up", "--help", env=env).stdout


def test_config_validate_without_a_file_says_the_defaults_apply(tmp_path: Path) -> None:
    env = clean_env()
    result = subprocess.run(
        [sys.executable, "-m", "tandem.cli", "config", "validate"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ".github/tandem.yml: no such file; the defaults apply\n"
    named = tandem("config", "validate", str(tmp_path / "nope.yml"), env=env)
    assert named.returncode == 2
    assert named.stderr == f"tandem config validate: {tmp_path / 'nope.yml'} does not exist\n"


def test_up_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(TANDEM_DATA_DIR=str(tmp_path / "data"))
        result = tandem("--log-level", "error", "up", "--port", str(port), env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"tandem up: port {port} on 127.0.0.1 is in use; choose another with --port"
    ]
    assert "Traceback" not in result.stderr


def test_worker_without_redis_points_to_tandem_up(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    env = clean_env(
        TANDEM_REDIS_URL=f"redis://127.0.0.1:{free_port()}",
        TANDEM_GITHUB_APP_ID="1",
        TANDEM_GITHUB_PRIVATE_KEY_PATH=str(key),
        TANDEM_WEBHOOK_SECRET="s",
        TANDEM_SANDBOX="local",
    )
    result = tandem("--log-level", "error", "worker", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tandem worker: cannot reach Redis at redis://")
    assert "run `tandem up`, which brings an embedded Redis" in lines[0]


def test_unwritable_report_paths_are_refused_before_the_run(tmp_path: Path) -> None:
    from tandem.cli_parser import PATCH_IN_REPO
    from tandem.run_command import patch_destination, unwritable

    env = clean_env(TANDEM_DATA_DIR=str(tmp_path / "data"))
    for option in ("--json", "--patch"):
        target = tmp_path / "missing-dir" / "out"
        result = tandem("run", "--demo", option, str(target), env=env)
        assert result.returncode == 2, result.stdout
        assert result.stderr.strip().splitlines()[-1] == (
            f"tandem run: cannot write {option} {target}: {target.parent} does not exist"
        )
        assert "changed lines covered" not in result.stdout  # no report: nothing ran
    assert unwritable(tmp_path) == "it is a directory"
    assert unwritable(tmp_path / "new.json") is None
    # A bare --patch lands in the repository, like the fallback when a test file exists.
    assert patch_destination(PATCH_IN_REPO, tmp_path / "repo") == tmp_path / "repo" / (
        "tandem-tests.patch"
    )
    assert patch_destination(Path("x.patch"), tmp_path) == Path("x.patch")
    assert patch_destination(None, tmp_path) is None
