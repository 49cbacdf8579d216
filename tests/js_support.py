"""What the JS/TS tests share: the Node they run, and an npm install that skips, saying why,
where the npm registry is not reachable (a machine without it cannot run these tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.languages.javascript.toolchain import Node, NodeUnavailable, env_prefix, find_node
from jobs.sandbox.sandbox_protocol import Sandbox

NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET")


def network_trouble(output: str) -> bool:
    return any(e in output for e in NETWORK_ERRORS)


def node_or_skip() -> Node:
    found = find_node()
    if isinstance(found, NodeUnavailable):
        pytest.skip(f"{found.reason} (scripts/bootstrap installs the `js` extra)")
    return found


async def npm_install(
    sandbox: Sandbox, node: Node, folder: Path, *args: str, timeout_s: float = 300
) -> None:
    """``npm install`` in ``folder`` (scripts off), or skip where the registry is out of reach."""
    installed = await sandbox.run(
        [*env_prefix(), *node.npm("install", "--no-audit", "--no-fund", "--ignore-scripts", *args)],
        cwd=folder,
        timeout_s=timeout_s,
    )
    if installed.returncode != 0 and network_trouble(installed.output):
        pytest.skip(f"the npm registry is not reachable: {installed.output[-300:]}")
    assert installed.returncode == 0, installed.output
