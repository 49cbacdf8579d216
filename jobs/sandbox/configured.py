"""The sandbox the settings name (``TANDEM_SANDBOX``): :func:`open_sandbox` for one part and
:func:`check_sandbox` at worker start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jobs.sandbox.docker import DockerConfig, DockerSandbox, check_docker
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.sandbox.sandbox_protocol import Sandbox, SandboxUnavailable

if TYPE_CHECKING:
    from core.settings import Settings


def open_sandbox(kind: str | Settings, *, run_key: str = "", mount: Path | None = None) -> Sandbox:
    """The sandbox for one part. ``kind`` is ``settings.sandbox`` or the settings themselves
    (the Docker limits come from them). Cheap: a Docker container starts on first use."""
    name = kind if isinstance(kind, str) else kind.sandbox
    if name == "local":
        return LocalSandbox()
    if name == "docker":
        if isinstance(kind, str):
            from core.settings import load_settings

            kind = load_settings()
        return DockerSandbox(DockerConfig.from_settings(kind), run_key=run_key, mount=mount)
    raise SandboxUnavailable(f"TANDEM_SANDBOX={name}: unknown sandbox (use docker or local)")


def check_sandbox(settings: Settings) -> None:
    """At worker start: stop with a clear line if the sandbox cannot work here."""
    if settings.sandbox == "docker":
        check_docker(DockerConfig.from_settings(settings))
    elif settings.sandbox != "local":
        raise SandboxUnavailable(f"TANDEM_SANDBOX={settings.sandbox}: unknown sandbox")
