"""The ``typescript`` package that Tandem's scripts parse JS/TS with (the characterization
engine's scan, the mutator): the project's own, else one installed into the part's tools folder
in the checkout's work dir (kept there, so the part installs it once)."""

from __future__ import annotations

from pathlib import Path

from jobs.languages.javascript.toolchain import Node, install_tool
from jobs.languages.javascript.vitest import find_installed
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import Sandbox

TYPESCRIPT = "typescript@5"  # the parser, when the project has none
TOOLS = "js-tools"  # the part's tools folder, in the checkout's work dir


async def typescript_for(
    sandbox: Sandbox, node: Node, checkout: Path, package_dir: Path, timeout_s: float
) -> Path | str:
    """The ``typescript`` package folder to parse with, or why there is none."""
    found = find_installed("typescript", package_dir, checkout)
    if found is not None:
        return found
    folder = checkout / workdir.WORK_DIR / TOOLS / "typescript"
    installed = folder / "node_modules" / "typescript"
    if (installed / "package.json").is_file():
        return installed
    failed = await install_tool(sandbox, node, folder, TYPESCRIPT, timeout_s=timeout_s)
    if failed is not None or not (installed / "package.json").is_file():
        why = failed or "npm installed no typescript"
        return f"installing {TYPESCRIPT} to read the source failed: {why}"
    return installed
