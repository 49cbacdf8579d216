"""Installing the PR's dependencies in the sandbox: :func:`install_dependencies`, the I/O half
around the pure plan.

**The environment**: a venv at ``.tandem-work/env`` inside the checkout, made by the sandbox's
own python (:data:`BOOTSTRAP`), with one ``.pth`` file that adds the tools' site-packages
(``site.addsitedir``, so their own ``.pth`` files work too) *after* the venv's. So the PR's pins
win for its own imports (a repo pinned to an older library gets it), pytest, coverage and
pynguin stay importable, and pip, run by the venv's python, installs into the venv only:
``pip`` never uninstalls what lies outside the running environment, so the tools' directory
(with the local sandbox: the worker's own venv) is never written. Why not
``pip install --target`` + ``PYTHONPATH``: ``--target`` ignores ``.pth`` files, so editable
installs (which are ``.pth`` files) would not work, and every command (pytest, coverage,
pynguin, the agent's terminal) would need the variable; a venv is one interpreter path. The
checkout's ``.tandem-work`` is already out of ``git status`` (``.git/info/exclude``), pytest
does not collect it (a dot directory, and a venv), and coverage omits it; files the install
writes elsewhere in the checkout (``build/``, ``*.egg-info``) are added to
``.git/info/exclude`` too, so they never look like new test files. After a successful install
the venv's python must still import pytest and coverage; then ``sandbox.use_python`` makes
every later command (``coverage.run_pytest``, pynguin) use it, and puts its ``bin`` first on
``PATH`` (with Docker, the agent's terminal too).

**Network**: the tests never get one. With Docker the install runs in a separate short-lived
container on ``TANDEM_SANDBOX_INSTALL_NETWORK`` (default ``bridge``), same image, limits and
mount, removed afterwards; nothing it started survives into the part's container, which stays
on ``network_mode=none``. ``none`` means the install runs in the part's container and there is
no package index: pip runs with ``--no-index`` (only what the repository holds, e.g. vendored
packages) and ``--no-build-isolation`` (an isolated build would fetch setuptools from the
index; this way the sandbox's own setuptools builds). The local sandbox has this machine's
network; ``none`` means ``--no-index`` there too.

**Bounds**: the install has a wall time (a share of the part's budget, at most
:data:`MAX_INSTALL_S`), pip's output is kept as a tail and summarised to one line
(:func:`summary_line`). A failed install is not fatal: the tests run with the tools alone and
the check run says what failed. The planner reads the checkout through :class:`CheckoutFiles`
(regular files inside it only, at most :data:`MAX_FILE_BYTES`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from core.repo_config import Dependencies
from jobs import git
from jobs.dependencies.environment import (
    BOOTSTRAP,
    MEASURING,
    PROBE,
    InstallOutcome,
    make_environment,
    make_view,
    measuring_tools_among,
    project_environment,
    sandbox_python,
    tool_versions,
    work_dir,
)
from jobs.dependencies.install_plan import plan_install
from jobs.dependencies.pip_install import Install, install_into
from jobs.dependencies.pip_log import (
    ENV_DIR,
    MAX_FILE_BYTES,
    MAX_PIP_LOG_BYTES,
    PIP_LOG,
    TMP_DIR,
    CheckoutFiles,
    already_satisfied,
    failure_line,
    installed_packages,
    log_size,
    summary_line,
)
from jobs.sandbox import Sandbox

__all__ = [
    "BOOTSTRAP",
    "ENV_DIR",
    "MAX_FILE_BYTES",
    "MAX_PIP_LOG_BYTES",
    "MEASURING",
    "PIP_LOG",
    "PROBE",
    "TMP_DIR",
    "CheckoutFiles",
    "InstallOutcome",
    "already_satisfied",
    "failure_line",
    "install_dependencies",
    "installed_packages",
    "log_size",
    "make_environment",
    "make_view",
    "measuring_tools_among",
    "project_environment",
    "summary_line",
    "tool_versions",
]

log = logging.getLogger(__name__)

MAX_INSTALL_S = 600.0

_GLOB = re.compile(r"[*?\[\\]")  # special in .git/info/exclude patterns


async def install_dependencies(
    sandbox: Sandbox,
    checkout: Path,
    *,
    config: Dependencies | None = None,
    timeout_s: float,
    network: str = "bridge",
    extra_pip_args: Sequence[str] = (),
) -> InstallOutcome:
    """Install the PR's dependencies into a venv in the checkout and switch ``sandbox`` to it.
    ``network``: where pip runs (``TANDEM_SANDBOX_INSTALL_NETWORK``; ``none``: no index).
    Never raises for a failed install: the outcome's note says what happened."""
    started = time.monotonic()
    deadline = started + min(timeout_s, MAX_INSTALL_S)
    checkout = await asyncio.to_thread(checkout.resolve)
    version = await sandbox_python(sandbox, checkout)
    plan = await asyncio.to_thread(
        functools.partial(plan_install, index=network != "none", python=version),
        CheckoutFiles(checkout),
        config or Dependencies(),
    )
    plan = plan.known_as(tool_versions())
    refused = "; ".join(plan.refused)
    if sandbox.python.startswith(f"{checkout / ENV_DIR}/"):  # this sandbox has it already
        return InstallOutcome("installed", plan, python=sandbox.python)
    if plan.empty:
        said = [*([f"Dependencies: not installed: {refused}"] if refused else []), *plan.notes()]
        note = ". ".join(said) + "." if said else None
        return InstallOutcome("refused" if refused else "nothing", plan, note)
    outcome = InstallOutcome("failed", plan)
    untracked: set[str] | None = None
    try:
        work_dir(checkout)
        untracked = await _untracked(checkout)
        run = Install(sandbox, checkout, network, deadline, tuple(extra_pip_args), version)
        outcome = await install_into(run, plan)
    except Exception as e:  # the engine went away, a network does not exist, ...
        log.warning("installing dependencies failed", exc_info=True)
        why = getattr(e, "explanation", None) or str(e)  # docker's APIError: the engine's words
        outcome.note = f"Dependencies: not installed ({type(e).__name__}: {str(why)[:200]})"
    finally:
        shutil.rmtree(checkout / TMP_DIR, ignore_errors=True)
        if untracked is not None:
            await _exclude_new_files(checkout, untracked)
    outcome.duration_s = time.monotonic() - started
    if outcome.python is not None:
        sandbox.use_python(outcome.python)
    if outcome.note and outcome.plan.notes():
        outcome.note = ". ".join([outcome.note.rstrip("."), *outcome.plan.notes()])
    if refused and outcome.note:
        outcome.note = outcome.note.rstrip(".") + f". Not used: {refused}."
    if outcome.note:
        outcome.note = outcome.note if outcome.note.endswith(".") else outcome.note + "."
    return outcome


async def _untracked(checkout: Path) -> set[str]:
    try:
        status = await git.run_async(
            checkout, "status", "--porcelain", "--untracked-files=normal", "-z", timeout_s=60
        )
    except Exception:
        return set()
    return {entry[3:] for entry in status.split("\0") if entry.startswith("?? ")}


async def _exclude_new_files(checkout: Path, before: set[str]) -> None:
    """Keep what the install wrote in the checkout (build/, *.egg-info) out of `git status`,
    where it would look like files the engine wrote."""
    new = sorted((await _untracked(checkout)) - before)
    if not new:
        return
    exclude = checkout / ".git" / "info" / "exclude"
    try:
        text = exclude.read_text() if exclude.exists() else ""
        lines = "".join(f"/{_escape(path)}\n" for path in new if "\n" not in path)
        exclude.write_text(text.rstrip("\n") + "\n" + lines)
    except OSError as e:
        log.warning("could not exclude install artefacts from git status: %s", e)


def _escape(path: str) -> str:
    return _GLOB.sub(lambda m: "\\" + m.group(0), path)
