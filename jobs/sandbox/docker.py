"""The ``docker`` sandbox (production): one container per part, on the worker's Docker engine.

:class:`DockerSandbox` starts its container on first use and removes it in ``close()``. The
checkout is bind-mounted at its own path (its ``.git`` read-only on top, :func:`sandbox_volumes`),
so ``cwd`` and every path in it mean the same inside and outside. The container has no network
(``network_mode=none``), CPU, memory, pids and /tmp-size limits, a read-only root file system,
no capabilities, no new privileges, and an environment of a few harmless variables: no GitHub
token, no LLM key, no ``TANDEM_*``. Its init (PID 1, tini) and ``sleep`` run as ``nobody``;
commands run as the worker's uid:gid so files they write in the checkout belong to the worker.
A command past its wall time is killed with every other process of that uid in the container
(``kill -KILL -1``; PID 1 survives, so the container stays usable); if even that does not end
it, the container is killed and the next command gets a fresh one.

Containers carry labels (``tandem.sandbox``, ``tandem.run``, ``tandem.host``,
``tandem.worker``; the worker's :func:`worker_identity` tells a reused pid apart): a worker
reaps, at start, the containers of workers on its host that are gone (:func:`reap_orphans`,
called by :func:`check_docker`). As a last resort every container ends itself after
``sandbox_max_lifetime_s`` (its ``sleep`` exits, the engine auto-removes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from jobs.sandbox.sandbox_protocol import (
    OUTPUT_LIMIT,
    CommandResult,
    Sandbox,
    SandboxUnavailable,
    tail,
)

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

OCI_EXEC_FAILED = "OCI runtime exec failed"
EXEC_RETRY_DELAY_S = 1.0

LABEL = "tandem.sandbox"
LABEL_RUN = "tandem.run"
LABEL_HOST = "tandem.host"
LABEL_WORKER = "tandem.worker"
# Where the sandbox image keeps its tools (Dockerfile target `sandbox`).
SANDBOX_PATH = "/opt/sandbox/bin:/usr/local/bin:/usr/bin:/bin"
NOBODY = "65534:65534"
KILL_GRACE_S = 10.0


@dataclass(frozen=True)
class DockerConfig:
    image: str = "tandem-sandbox:latest"
    cpus: float = 1.0
    memory_mb: int = 2048
    pids: int = 256
    tmp_mb: int = 512
    max_lifetime_s: float = 6 * 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DockerConfig:
        return cls(
            image=settings.sandbox_image,
            cpus=settings.sandbox_cpus,
            memory_mb=settings.sandbox_memory_mb,
            pids=settings.sandbox_pids,
            tmp_mb=settings.sandbox_tmp_mb,
            max_lifetime_s=settings.sandbox_max_lifetime_s,
        )


def docker_client() -> Any:
    """A client for the engine named by DOCKER_HOST (default: the local socket)."""
    import docker

    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as e:
        raise SandboxUnavailable(
            f"TANDEM_SANDBOX=docker: no Docker engine answers ({type(e).__name__}: {e})"
        ) from None
    return client


def _process_start(pid: int) -> str | None:
    """The start time of `pid` in clock ticks since boot (tells a reused pid apart)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def worker_identity(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}/{pid}/{_process_start(pid) or '?'}"


def _worker_alive(identity: str) -> bool:
    try:
        host, pid_text, started = identity.split("/")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another host's worker reaps its own
    now = _process_start(pid)
    if now is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return started == "?"
    return now == started


def reap_orphans(client: Any | None = None) -> list[str]:
    """Remove sandbox containers left by workers on this host that are no longer running
    (killed mid-job, crashed, machine rebooted). Returns the names removed."""
    client = client or docker_client()
    host = socket.gethostname()
    removed = []
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        labels = container.labels or {}
        if labels.get(LABEL_HOST) != host or _worker_alive(labels.get(LABEL_WORKER, "")):
            continue
        with contextlib.suppress(Exception):
            container.remove(force=True)
            removed.append(container.name)
    if removed:
        log.warning("reaped %d orphaned sandbox container(s): %s", len(removed), removed)
    return removed


_DEV_ONLY = "or set TANDEM_SANDBOX=local for development (not isolated)"


def check_docker(config: DockerConfig) -> None:
    """At worker start: an engine answers, the image is there, orphans are gone. Otherwise
    stop with one line that names the fix."""
    import docker.errors

    try:
        client = docker_client()
    except SandboxUnavailable as e:
        where = os.environ.get("DOCKER_HOST") or "the local socket /var/run/docker.sock"
        cause = str(e).removeprefix("TANDEM_SANDBOX=docker: no Docker engine answers ")
        if cause.startswith("(") and cause.endswith(")"):
            cause = cause[1:-1]
        raise SandboxUnavailable(
            " ".join(
                f"TANDEM_SANDBOX=docker: no Docker engine answers at {where}; start one (or "
                f"point DOCKER_HOST at one; in a container, mount the engine's socket and add its "
                f"group: --group-add), "
                f"{_DEV_ONLY}. Cause: {cause}".split()
            )
        ) from None
    try:
        client.images.get(config.image)
    except docker.errors.ImageNotFound:
        client.close()
        raise SandboxUnavailable(
            f"TANDEM_SANDBOX=docker: sandbox image {config.image} not found; build it in a "
            f"checkout of Tandem with `docker build --target sandbox -t {config.image} .`, "
            f"{_DEV_ONLY}"
        ) from None
    reap_orphans(client)
    client.close()


class _Tail:
    """The last bytes of a stream, bounded, so a flood of output cannot fill memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > 2 * self.limit:
            del self.data[: len(self.data) - self.limit]

    def text(self) -> str:
        return tail(bytes(self.data[-self.limit :]).decode("utf-8", errors="replace"))


class DockerSandbox:
    """One container for one part (see the module docstring). Not safe for concurrent
    ``run`` calls on the same instance; a part runs its commands one after another."""

    kind = "docker"
    python = "python"  # /opt/sandbox/bin/python in the image: pytest, coverage, pynguin

    def __init__(
        self,
        config: DockerConfig,
        *,
        run_key: str = "",
        mount: Path | None = None,
        client: Any | None = None,
        network: str = "none",
    ) -> None:
        self.config = config
        self.run_key = run_key
        self.network = network
        self._path_first: str | None = None
        self.mount = mount.resolve() if mount is not None else None
        self._client: Any = client
        self._container: Any = None
        self._lock = asyncio.Lock()
        self.user = f"{os.getuid()}:{os.getgid()}"
        digest = hashlib.sha256(run_key.encode()).hexdigest()[:12]
        self._name_prefix = f"tandem-sbx-{digest}"
        self.started_s = 0.0  # time spent starting containers (for the benchmark)

    @property
    def container_id(self) -> str | None:
        return None if self._container is None else str(self._container.id)

    def use_python(self, python: str) -> None:
        self.python = python
        self._path_first = str(PurePosixPath(python).parent)

    @contextlib.asynccontextmanager
    async def networked(self, network: str) -> AsyncIterator[Sandbox]:
        """A short-lived container like this one (same image, limits and mount) on ``network``,
        removed on exit; this one keeps ``network_mode=none``. With ``network="none"``: this
        container itself."""
        if network == "none":
            yield self
            return
        box = DockerSandbox(self.config, run_key=self.run_key, mount=self.mount, network=network)
        try:
            yield box
        finally:
            await box.close()

    def _env(self) -> dict[str, str]:
        return {
            "PATH": f"{self._path_first}:{SANDBOX_PATH}" if self._path_first else SANDBOX_PATH,
            "HOME": "/tmp",
            "USER": "sandbox",
            "LOGNAME": "sandbox",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "PYNGUIN_DANGER_AWARE": "1",
        }

    def _start(self, mount: Path) -> Any:
        client = self._client = self._client or docker_client()
        started = time.monotonic()
        container = client.containers.run(
            self.config.image,
            command=["sleep", str(int(self.config.max_lifetime_s))],
            name=f"{self._name_prefix}-{secrets.token_hex(3)}",
            hostname="sandbox",
            detach=True,
            auto_remove=True,  # the lifetime backstop: when sleep ends, the engine removes it
            init=True,  # tini as PID 1 reaps whatever the tests leave behind
            user=NOBODY,
            network_mode=self.network,
            nano_cpus=int(self.config.cpus * 1e9),
            mem_limit=f"{self.config.memory_mb}m",
            memswap_limit=f"{self.config.memory_mb}m",  # no swap
            pids_limit=self.config.pids,
            read_only=True,
            tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={self.config.tmp_mb}m,mode=1777"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            environment=self._env(),
            volumes=sandbox_volumes(mount),
            working_dir=str(mount),
            labels={
                LABEL: "1",
                LABEL_RUN: self.run_key,
                LABEL_HOST: socket.gethostname(),
                LABEL_WORKER: worker_identity(),
            },
        )
        self.started_s += time.monotonic() - started
        log.info(
            "sandbox container %s started for %s (network %s)", container.name, mount, self.network
        )
        return container

    async def ensure_started(self, cwd: Path | None = None) -> Any:
        """Start the part's container (once) with the checkout mounted."""
        async with self._lock:
            if self._container is None:
                mount = self.mount or (_real(cwd) if cwd is not None else None)
                if mount is None:
                    raise ValueError("DockerSandbox needs a directory to mount")
                self.mount = mount
                self._container = await asyncio.to_thread(self._start, mount)
            return self._container

    async def run(self, args: list[str], *, cwd: Path, timeout_s: float) -> CommandResult:
        started = time.monotonic()
        result = await self._run_once(args, cwd=cwd, timeout_s=timeout_s)
        # runc cannot start the exec'd process while the container's cgroup is still at its
        # pids or memory limit (a fork bomb's sleepers, a hog the OOM killer is reaping); the
        # command never ran, so once more after a moment.
        if not result.timed_out and result.output.startswith(OCI_EXEC_FAILED):
            log.warning("sandbox: %s; trying the command again", result.output.strip()[:200])
            await asyncio.sleep(EXEC_RETRY_DELAY_S)
            left = timeout_s - (time.monotonic() - started)
            result = await self._run_once(args, cwd=cwd, timeout_s=max(1.0, left))
        return dataclasses.replace(result, duration_s=time.monotonic() - started)

    async def _run_once(self, args: list[str], *, cwd: Path, timeout_s: float) -> CommandResult:
        started = time.monotonic()
        container = await self.ensure_started(cwd)
        cwd = _real(cwd)
        assert self.mount is not None
        if not cwd.is_relative_to(self.mount):
            raise ValueError(f"{cwd} is outside the sandbox's mount {self.mount}")
        api = self._client.api
        exec_id = (
            await asyncio.to_thread(
                api.exec_create,
                container.id,
                args,
                user=self.user,
                workdir=str(cwd),
                environment=self._env(),
            )
        )["Id"]
        reader = asyncio.ensure_future(asyncio.to_thread(self._collect, exec_id))
        timed_out = False
        try:
            output, code = await asyncio.wait_for(asyncio.shield(reader), timeout_s)
        except TimeoutError:
            timed_out = True
            output, code = await self._stop(container, reader)
        except asyncio.CancelledError:
            await self._stop(container, reader)
            raise
        return CommandResult(
            returncode=-9 if timed_out else (code if code is not None else -1),
            output=output,
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
        )

    async def terminal_command(self, workdir: Path) -> list[str]:
        """The command line of an interactive bash inside the part's container, in `workdir`,
        for the agent's terminal (the OpenHands subprocess terminal runs it on a PTY). It goes
        through the docker CLI, which relays the PTY; the shell gets the sandbox's env only."""
        docker = shutil.which("docker")
        if docker is None:
            raise SandboxUnavailable(
                "TANDEM_SANDBOX=docker: the agent's terminal needs the docker CLI on PATH"
            )
        container = await self.ensure_started(workdir)
        env = [f"--env={name}={value}" for name, value in self._env().items()]
        return [
            docker,
            *([f"--host={os.environ['DOCKER_HOST']}"] if os.environ.get("DOCKER_HOST") else []),
            "exec",
            "--interactive",
            "--tty",
            f"--user={self.user}",
            f"--workdir={_real(workdir)}",
            *env,
            "--env=TERM=xterm",
            str(container.id),
            "bash",
        ]

    def _collect(self, exec_id: str) -> tuple[str, int | None]:
        api = self._client.api
        out = _Tail(OUTPUT_LIMIT * 2)
        for chunk in api.exec_start(exec_id, stream=True):
            out.add(chunk)
        return out.text(), api.exec_inspect(exec_id).get("ExitCode")

    async def _stop(
        self, container: Any, reader: asyncio.Future[tuple[str, int | None]]
    ) -> tuple[str, int | None]:
        """Kill every process the command's uid has in the container; PID 1 (nobody's)
        survives. If the stream still does not end, kill the container itself."""
        try:
            await asyncio.to_thread(
                container.exec_run, ["sh", "-c", "kill -KILL -1"], user=self.user
            )
            return await asyncio.wait_for(asyncio.shield(reader), KILL_GRACE_S)
        except Exception as e:
            log.warning("sandbox: killing the command failed (%s); dropping the container", e)
            await self._discard()
            with contextlib.suppress(Exception):
                return await asyncio.wait_for(reader, KILL_GRACE_S)
            return "", None

    async def _discard(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            await asyncio.to_thread(_remove, container)

    async def close(self) -> None:
        await self._discard()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None


def sandbox_volumes(mount: Path) -> dict[str, dict[str, str]]:
    """The checkout read-write, its `.git` read-only on top: the worker runs git on the host
    on this checkout (status, diff, commit, push with a token in its environment), and a
    planted `core.fsmonitor`, hook, filter or include in `.git` would run there."""
    volumes = {str(mount): {"bind": str(mount), "mode": "rw"}}
    git_dir = mount / ".git"
    if git_dir.is_dir() and not git_dir.is_symlink():
        volumes[str(git_dir)] = {"bind": str(git_dir), "mode": "ro"}
    return volumes


def _real(path: Path) -> Path:
    return path.resolve()


def _remove(container: Any) -> None:
    started = time.monotonic()
    try:
        container.remove(force=True)
    except Exception as e:  # already gone (auto-remove) or the engine is away: reaped later
        if "No such container" not in str(e) and "already in progress" not in str(e):
            log.warning("sandbox container %s not removed: %s", container.name, e)
    log.debug("sandbox container %s removed in %.2fs", container.name, time.monotonic() - started)
