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
import importlib.metadata
import logging
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from core.repo_config import Dependencies
from jobs import git
from jobs.dependencies import testimports
from jobs.dependencies.install_plan import (
    InstallPlan,
    declared_extras,
    loosen,
    plan_install,
    project_alone,
    with_extras,
)
from jobs.dependencies.policy import UnreadableFile
from jobs.dependencies.tox import TOOLS_PYTHON
from jobs.sandbox import (
    CommandResult,
    Sandbox,
    decisive_line,
    last_line,
    sums_up,
    tail,
    workdir,
)

log = logging.getLogger(__name__)

ENV_DIR = f"{workdir.WORK_DIR}/env"
TMP_DIR = f"{workdir.WORK_DIR}/pip-tmp"
PIP_LOG = f"{TMP_DIR}/pip.log"  # whole, where the output is a tail
MAX_INSTALL_S = 600.0
MAX_FILE_BYTES = 1_000_000
MAX_PIP_LOG_BYTES = 20_000_000

OUTPUT_TAIL = 4000

_SUCCESS = re.compile(r"^Successfully installed (.+)$", re.M)
_SATISFIED = re.compile(r"Requirement already satisfied: ([A-Za-z0-9][A-Za-z0-9._-]*)")
_GLOB = re.compile(r"[*?\[\\]")  # special in .git/info/exclude patterns


@dataclass(frozen=True)
class CheckoutFiles:
    """A checkout's files for the planner: reads only regular files inside it (symlinks
    resolved), at most MAX_FILE_BYTES."""

    root: Path

    def _resolve(self, path: str) -> Path:
        return (self.root / path).resolve()

    def inside(self, path: str) -> bool:
        return self._resolve(path).is_relative_to(self.root.resolve())

    def read(self, path: str) -> str | None:
        target = self.root / path
        if not target.exists() and not target.is_symlink():
            return None
        if not self.inside(path):
            raise UnreadableFile("points outside the repository")
        real = self._resolve(path)
        if not real.is_file():
            return None
        if real.stat().st_size > MAX_FILE_BYTES:
            raise UnreadableFile(f"larger than {MAX_FILE_BYTES} bytes")
        try:
            return real.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UnreadableFile(f"cannot be read ({type(e).__name__})") from None


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
PROBE = "import pytest, coverage"
# Prints the names, one a line, the project's environment cannot import (find_missing.py).
FIND_MISSING = workdir.script_text("find_missing.py")
# Distributions a project's pins may replace in its environment that the measurement needs.
MEASURING = frozenset({"pytest", "coverage", "pluggy", "py", "iniconfig"})
# Makes the project environment's view of the tools (jobs/sandbox/scripts/tools_view.py).
TOOLS_VIEW = workdir.script_text("tools_view.py")
# What the view always holds: what measuring needs (with what they require).
VIEW_ALWAYS = ("pytest", "coverage")


def summary_line(output: str) -> str:
    """The line of pip's output that says what went wrong: its last ERROR line (also one that
    a build subprocess printed, indented), else the last line — never the closing "note: This
    error originates from a subprocess"."""
    return decisive_line(output)


# pip's log prefixes each line with a timestamp; the decisive line is read without it.
_LOG_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:,.]+ ?", re.M)
MAX_LOG_TAIL_BYTES = 500_000


def failure_line(checkout: Path, output: str, since: int = 0) -> str:
    """What went wrong: pip's output's decisive line, unless that only sums up a failed build
    (or frames one: "× Encountered error while generating package metadata.").
    With ``--log``, pip sends a build subprocess's own output ("URLError: …", "RuntimeError: …")
    only to its log (it prints "No available output"): then the line comes from what the log
    got after byte ``since`` (this attempt); pip's own exceptions there sum up as well."""
    line = summary_line(output)
    if not (sums_up(line) or line.startswith("×") or "No available output" in output):
        return line
    try:
        with (checkout / PIP_LOG).open("rb") as f:
            f.seek(0, 2)
            f.seek(max(since, f.tell() - MAX_LOG_TAIL_BYTES))
            log = f.read().decode("utf-8", "replace")
    except OSError:
        return line
    return summary_line(_LOG_STAMP.sub("", log)) if log.strip() else line


def log_size(checkout: Path) -> int:
    try:
        return (checkout / PIP_LOG).stat().st_size
    except OSError:
        return 0


def installed_packages(output: str) -> list[str]:
    found = _SUCCESS.findall(output)
    return found[-1].split() if found else []


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
    python = await sandbox_python(sandbox, checkout)
    plan = await asyncio.to_thread(
        functools.partial(plan_install, index=network != "none", python=python),
        CheckoutFiles(checkout),
        config or Dependencies(),
    )
    plan = plan.known_as(tool_versions())
    refused = "; ".join(plan.refused)
    if sandbox.python.startswith(f"{checkout / ENV_DIR}/"):  # this sandbox has it already
        return InstallOutcome("installed", plan, python=sandbox.python)
    if plan.empty:
        note = f"Dependencies: not installed: {refused}." if refused else None
        return InstallOutcome("refused" if refused else "nothing", plan, note)
    outcome = InstallOutcome("failed", plan)
    untracked: set[str] | None = None
    try:
        _work_dir(checkout)
        untracked = await _untracked(checkout)
        outcome = await _install(sandbox, checkout, plan, network, deadline, extra_pip_args)
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


def _work_dir(checkout: Path) -> None:
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


async def _install(
    sandbox: Sandbox,
    checkout: Path,
    plan: InstallPlan,
    network: str,
    deadline: float,
    extra_pip_args: Sequence[str],
) -> InstallOutcome:
    what = plan.describe()

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    made = await make_environment(sandbox, checkout, timeout_s=min(120.0, left()))
    if made.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: could not create an environment for {what}: {last_line(made.output)}",
            output=tail(made.output, OUTPUT_TAIL),
        )
    python = str(checkout / ENV_DIR / "bin" / "python")

    since = [0]  # where in pip's log the last attempt began

    async def pip_install(plan: InstallPlan) -> CommandResult:
        since[0] = log_size(checkout)
        async with sandbox.networked(network) as box:
            return await box.run(
                [
                    "env",
                    f"TMPDIR={checkout / TMP_DIR}",
                    workdir.ALL_TOOLS,  # what the tools have counts as installed: not fetched again
                    *(f"{name}={value}" for name, value in plan.environment().items()),
                    python,
                    "-I",
                    "-m",
                    "pip",
                    *plan.pip_args(),
                    "--log",
                    str(checkout / PIP_LOG),
                    *extra_pip_args,
                ],
                cwd=checkout,
                timeout_s=left(),
            )

    result = await pip_install(plan)
    if result.returncode != 0 and not result.timed_out:
        # A pinned requirements file made for another Python (pip-compile's lock): once more
        # with its loose source, or without it where the project declares its own.
        loose = await asyncio.to_thread(loosen, plan, CheckoutFiles(checkout))
        if loose is not None:
            first = failure_line(checkout, result.output, since[0])
            plan, what = loose, loose.describe()
            plan = replace(plan, loosened=(*plan.loosened[:-1], f"{plan.loosened[-1]} ({first})"))
            result = await pip_install(plan)
    if result.returncode != 0 and not result.timed_out:
        alone = project_alone(plan, failure_line(checkout, result.output, since[0]))
        if alone is not None:
            plan, what = alone, alone.describe()
            result = await pip_install(plan)
    output = tail(result.output, OUTPUT_TAIL)
    if result.timed_out:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installing from {what} timed out after {result.duration_s:.0f} s; "
            "the tests ran without them",
            output=output,
        )
    if result.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installing from {what} failed (pip exit {result.returncode}): "
            f"{failure_line(checkout, result.output, since[0])}. The tests ran without them",
            output=output,
        )
    packages = installed_packages(result.output)
    asked = _record_project_dists(checkout)
    view = await make_view(sandbox, checkout, asked, timeout_s=min(60, left()))
    if view.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installed from {what}, but the view of the measuring tools could "
            f"not be made ({last_line(view.output)}); the tests ran without them",
            output=output,
        )
    probe = await sandbox.run([python, "-I", "-c", PROBE], cwd=checkout, timeout_s=min(60, left()))
    replaced: list[str] = []
    if probe.returncode != 0 and (replaced := measuring_tools_among(packages)):
        # The project pins its own (often old) pytest or coverage, which does not import here:
        # take them out of its environment, so that the tools' copies behind it are used.
        names = [package.rsplit("-", 1)[0] for package in replaced]
        pip = ["env", workdir.ALL_TOOLS, python, "-I", "-m", "pip"]  # pip may be only the tools'
        await sandbox.run(
            [*pip, "uninstall", "-y", "--no-input", *names],
            cwd=checkout,
            timeout_s=min(120, max(1.0, left())),
        )
        probe = await sandbox.run(
            [python, "-I", "-c", PROBE], cwd=checkout, timeout_s=min(60, max(1.0, left()))
        )
    if probe.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installed from {what}, but then pytest/coverage did not import "
            f"({last_line(probe.output)}); the tests ran without them",
            output=output,
        )
    more = await _extras_for_missing_imports(sandbox, checkout, plan, python, left())
    if more is not None:
        # The project's other extras, for the modules its tests import that the install left
        # out; kept only when pip installs them (the first install stands either way).
        again = await pip_install(more)
        if again.returncode == 0 and not again.timed_out:
            plan, what = more, more.describe()
            packages = list(dict.fromkeys([*packages, *installed_packages(again.output)]))
            asked = _record_project_dists(checkout)
            await make_view(sandbox, checkout, asked, timeout_s=min(60, left()))
        else:
            why = "timed out" if again.timed_out else summary_line(again.output)
            said = more.loosened[-1].replace(" were installed too", " did not install")
            plan = replace(plan, loosened=(*plan.loosened, f"{said} ({why})"))
    note = f"Dependencies: installed from {what} ({len(packages)} package(s))"
    if replaced:
        note += (
            f"; its pins of {', '.join(replaced)} did not import on this Python, so the "
            "sandbox's own are used"
        )
    return InstallOutcome(
        "installed",
        plan,
        note,
        python=python,
        packages=[p for p in packages if p not in replaced],
        output=output,
    )


async def _extras_for_missing_imports(
    sandbox: Sandbox, checkout: Path, plan: InstallPlan, python: str, timeout_s: float
) -> InstallPlan | None:
    """The plan with all the project's extras when its test files import, unguarded, modules
    its environment cannot find (jobs.dependencies.testimports), else None."""
    names = await asyncio.to_thread(testimports.candidates, checkout)
    if not names:
        return None
    extras = await asyncio.to_thread(declared_extras, CheckoutFiles(checkout))
    if not extras:
        return None
    found = await sandbox.run(
        [python, "-c", FIND_MISSING, *names], cwd=checkout, timeout_s=min(60.0, timeout_s)
    )
    missing = [n for n in found.output.split() if n in names] if found.returncode == 0 else []
    return with_extras(plan, extras, missing) if missing else None


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
        await asyncio.to_thread(_work_dir, checkout)
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


def measuring_tools_among(packages: list[str]) -> list[str]:
    """The installed "name-version" entries that are part of the measuring tools (pytest,
    coverage and what pytest itself imports)."""
    return [p for p in packages if canonicalize_name(p.rsplit("-", 1)[0]) in MEASURING]


def already_satisfied(log_text: str) -> list[str]:
    """The distributions pip's log says the install resolved to but found installed (with the
    tools' site-packages on the venv's path: the tools' copies), sorted, each once."""
    return sorted(set(_SATISFIED.findall(log_text)))


def _record_project_dists(checkout: Path) -> list[str]:
    """Tell the launchers (jobs.sandbox.scripts) which of the tools' distributions the project
    asked for, so their pytest plugins still load; returns them, for the view."""
    try:
        with (checkout / PIP_LOG).open(encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_PIP_LOG_BYTES)
    except OSError:
        text = ""
    asked = already_satisfied(text)
    (checkout / ENV_DIR / workdir.PROJECT_DISTS).write_text("".join(f"{name}\n" for name in asked))
    return asked


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
