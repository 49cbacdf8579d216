"""The project's environment in the checkout (``.tandem-work/env``, see
:mod:`jobs.dependencies.install`): making it and its view of the measuring tools, what the
install outcome says, and which python the sandbox runs."""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from jobs.dependencies.install_plan import InstallPlan
from jobs.dependencies.pip_log import ENV_DIR, TMP_DIR
from jobs.dependencies.tox import TOOLS_PYTHON
from jobs.sandbox import CommandResult, Sandbox, last_line, workdir


@functools.cache
def tool_versions() -> dict[str, str]:
    """The distributions of the environment the measuring tools come from (this process's:
    the project environment sees pytest and what it imports from here), name -> version."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), dist.version)
    return found


@dataclass
class InstallOutcome:
    status: Literal["nothing", "installed", "failed", "refused"]
    plan: InstallPlan = field(default_factory=InstallPlan)
    note: str | None = None  # one line for the check run
    python: str | None = None  # the environment's interpreter, once installed
    packages: list[str] = field(default_factory=list)  # what pip installed ("name-version")
    duration_s: float = 0.0
    output: str = ""  # pip's output, the tail


# Run by the sandbox's own python (jobs/sandbox/scripts/make_env.py).
BOOTSTRAP = workdir.script_text("make_env.py")
# What measuring needs of the project's environment: pytest and coverage import, and coverage is
# at least 7.0 (``--data-file`` came in 6.3, ``[report] include_namespace_packages`` in 7.0). A
# project that pins an older one for its own CI (pypika: ``coverage==5.1``) would otherwise run
# its tests and measure nothing; it gives way to the sandbox's own, like a pin that fails to import.
MIN_COVERAGE = (7, 0)
PROBE = (
    "import sys, pytest, coverage\n"
    f"if coverage.version_info < {MIN_COVERAGE!r}:\n"
    "    sys.exit(f'coverage {coverage.__version__} is older than "
    f"{MIN_COVERAGE[0]}.{MIN_COVERAGE[1]}, which Tandem measures with')"
)
# Prints the names, one a line, the project's environment cannot import (find_missing.py).
FIND_MISSING = workdir.script_text("find_missing.py")
# Distributions a project's pins may replace in its environment that the measurement needs.
MEASURING = frozenset({"pytest", "coverage", "pluggy", "py", "iniconfig"})
# Makes the project environment's view of the tools (jobs/sandbox/scripts/tools_view.py).
TOOLS_VIEW = workdir.script_text("tools_view.py")
# Finds the environment's pytest plugins pytest cannot load (jobs/sandbox/scripts/check_plugins.py).
CHECK_PLUGINS = workdir.script_text("check_plugins.py")
# What the view always holds: what measuring needs (with what they require).
VIEW_ALWAYS = ("pytest", "coverage")


PYTHON_VERSION = "import sys; print(*sys.version_info[:2])"


async def sandbox_python(sandbox: Sandbox, checkout: Path) -> tuple[int, int]:
    """The (major, minor) of the sandbox's python, which the environment is made with (tox's
    conditional deps depend on it); the tools' own when it does not answer."""
    try:
        said = await sandbox.run(
            [sandbox.python, "-I", "-c", PYTHON_VERSION], cwd=checkout, timeout_s=60
        )
        major, minor = (int(word) for word in said.output.split()[-2:])
    except Exception:  # an engine that went away is reported by the install itself
        return TOOLS_PYTHON
    return (major, minor) if said.returncode == 0 else TOOLS_PYTHON


def work_dir(checkout: Path) -> None:
    """``.tandem-work`` as a real directory of the checkout, with no environment in it yet."""
    work = checkout / workdir.WORK_DIR
    if work.is_symlink() or (work.exists() and not work.is_dir()):
        raise RuntimeError(f"the repository has its own {workdir.WORK_DIR}")
    workdir.prepare(checkout)
    env = checkout / ENV_DIR
    if env.is_symlink() or env.is_file():
        env.unlink()
    elif env.exists():
        shutil.rmtree(env)
    (checkout / TMP_DIR).mkdir(exist_ok=True)


async def make_environment(sandbox: Sandbox, checkout: Path, *, timeout_s: float) -> CommandResult:
    """Create the project's environment (:data:`BOOTSTRAP`) with the sandbox's current python,
    the tools' one."""
    return await sandbox.run(
        [
            sandbox.python,
            "-I",
            "-c",
            BOOTSTRAP,
            str(checkout / ENV_DIR),
            workdir.VIEW_DIR,
            workdir.TOOLS_PTH,
            workdir.TOOLS_ENV,
        ],
        cwd=checkout,
        timeout_s=timeout_s,
    )


async def make_view(
    sandbox: Sandbox, checkout: Path, asked: Sequence[str], *, timeout_s: float
) -> CommandResult:
    """The environment's view of the tools (jobs/sandbox/scripts/tools_view.py): what measuring
    needs and the tools' distributions in ``asked``. Run with the tools' python."""
    return await sandbox.run(
        [
            sandbox.python,
            "-I",
            "-c",
            TOOLS_VIEW,
            str(checkout / ENV_DIR / workdir.VIEW_DIR),
            str(checkout / ENV_DIR / "bin"),
            *VIEW_ALWAYS,
            *asked,
        ],
        cwd=checkout,
        timeout_s=timeout_s,
    )


async def project_environment(sandbox: Sandbox, checkout: Path, *, timeout_s: float) -> str | None:
    """Make sure the sandbox runs the project's own environment, creating an empty one (no
    dependencies, the view of the measuring tools) when the install made none; None when it is
    in use, else why it could not be made."""
    if sandbox.python.startswith(f"{checkout / ENV_DIR}/"):
        return None
    deadline = time.monotonic() + timeout_s
    try:
        await asyncio.to_thread(work_dir, checkout)
        made = await make_environment(sandbox, checkout, timeout_s=timeout_s)
        if made.returncode != 0:
            return f"could not create an environment: {last_line(made.output)}"
        left = max(1.0, deadline - time.monotonic())
        view = await make_view(sandbox, checkout, [], timeout_s=left)
        if view.returncode != 0:
            return f"could not make its view of the measuring tools: {last_line(view.output)}"
    except Exception as e:  # the engine went away, the repository has its own .tandem-work, ...
        return f"could not create an environment ({type(e).__name__}: {str(e)[:200]})"
    finally:
        shutil.rmtree(checkout / TMP_DIR, ignore_errors=True)
    sandbox.use_python(str(checkout / ENV_DIR / "bin" / "python"))
    return None


async def left_out_plugins(
    sandbox: Sandbox, checkout: Path, python: str, *, timeout_s: float
) -> str | None:
    """The note's sentence for the environment's pytest plugins that pytest cannot load
    (:data:`CHECK_PLUGINS`): the runs leave them out (``LEFT_OUT``, read by the launchers), a
    linter plugin (pytest-flake8) being no part of the project's tests; None when all load."""
    out = checkout / ENV_DIR / workdir.LEFT_OUT
    found = await sandbox.run(
        [python, "-I", "-c", CHECK_PLUGINS, str(out)],
        cwd=checkout,
        timeout_s=timeout_s,
    )
    rows = [line.split("\t") for line in found.output.splitlines() if line.count("\t") == 2]
    return left_out_sentence([(name, dist, error) for name, dist, error in rows])


def left_out_sentence(rows: list[tuple[str, str, str]]) -> str | None:
    """The note's sentence for plugins left out, from ``(entry point, "dist version",
    error)`` rows: each with its own ``-p no:`` and its own error (a person fixes each one
    apart); None for none."""
    if not rows:
        return None
    each = "; ".join(f"`{name}` ({dist}, `-p no:{name}`): {error}" for name, dist, error in rows)
    plural = "s" if len(rows) > 1 else ""
    return (
        f"⚠️ pytest plugin{plural} left out of the runs, as pytest cannot load "
        f"{'them' if plural else 'it'} here: {each}"
    )


def measuring_tools_among(packages: list[str]) -> list[str]:
    """The installed "name-version" entries that are part of the measuring tools (pytest,
    coverage and what pytest itself imports)."""
    return [p for p in packages if canonicalize_name(p.rsplit("-", 1)[0]) in MEASURING]
