"""compose.yaml, the deployment people copy: checked against the code it runs (commands the
CLI accepts, settings that exist), since `docker compose` itself is not on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.settings import Settings
from tandem.cli_parser import parser

COMPOSE = Path(__file__).resolve().parents[1] / "compose.yaml"


def services() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())  # merge keys (<<) resolved
    return data["services"]


def test_web_worker_and_redis_with_aof_and_health_checks() -> None:
    found = services()
    assert {"web", "worker", "redis"} <= set(found)
    redis = found["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert "redis-data:/data" in redis["volumes"]
    assert redis["healthcheck"]["test"][-1] == "ping"
    assert "/healthz" in " ".join(found["web"]["healthcheck"]["test"])
    for name in ("web", "worker"):
        assert found[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert found[name]["environment"]["TANDEM_REDIS_URL"] == "redis://redis:6379/0"
    worker = found["worker"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in worker["volumes"]
    assert worker["environment"]["TANDEM_SANDBOX"] == "docker"
    assert found["sandbox-image"]["image"] == Settings.model_fields["sandbox_image"].default


def test_commands_and_settings_are_tandems() -> None:
    known = {f"TANDEM_{name.upper()}" for name in Settings.model_fields} | {"TANDEM_LOG_FORMAT"}
    for name, service in services().items():
        if name in ("redis", "sandbox-image"):
            continue
        parser().parse_args(service["command"])  # exits on an unknown command or option
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name}: {sorted(unknown)} are not Tandem settings"


def test_worker_health_check_probes_the_workers_health_port() -> None:
    worker = services()["worker"]
    args = parser().parse_args(worker["command"])
    assert args.health_port is not None and args.health_host == "127.0.0.1"
    probe = " ".join(worker["healthcheck"]["test"])
    assert f"http://127.0.0.1:{args.health_port}/healthz" in probe
    assert not worker["healthcheck"].get("disable", False)
