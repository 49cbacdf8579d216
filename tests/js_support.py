"""What the JS/TS tests share: the Node they run, and an npm install that skips, saying why,
where the npm registry is not reachable (a machine without it cannot run these tests)."""

from __future__ import annotations

import json
import subprocess
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


def git(cwd: Path, *args: str) -> str:
    """git in ``cwd`` with a fixed identity; its output."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def base_then_head(checkout: Path, files: dict[str, str], head: dict[str, str]) -> str:
    """A repository at ``checkout``: ``files`` committed as the base, then ``head`` (path ->
    text) as the head commit on top; the base commit's sha."""
    for path, text in files.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_text(text)
    git(checkout, "init", "-q")
    git(checkout, "add", ".")
    git(checkout, "commit", "-qm", "base")
    base_sha = git(checkout, "rev-parse", "HEAD")
    for path, text in head.items():
        (checkout / path).write_text(text)
    git(checkout, "commit", "-qam", "head")
    return base_sha


def vitest_ts_files(sources: dict[str, str]) -> dict[str, str]:
    """A private ESM TypeScript package tested by vitest 4.1 (with TypeScript for the engine):
    its ``package.json`` and ``.gitignore``, plus ``sources`` (path -> text)."""
    manifest = {
        "name": "pkg",
        "private": True,
        "type": "module",
        "scripts": {"test": "vitest run"},
        "devDependencies": {"vitest": "4.1.2", "typescript": "5.6.3"},
    }
    return {"package.json": json.dumps(manifest), ".gitignore": "node_modules/\n", **sources}
