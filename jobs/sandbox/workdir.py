"""The sandbox's work dir: where Tandem's scratch files live in the checkout, and what is in it.

The sandbox sees the checkout and nothing else, so everything Tandem hands a sandboxed command
(coverage's rc file, the launchers and other scripts of :mod:`jobs.sandbox.scripts`, the
project's environment) and everything such a command hands back (reports, JUnit XML) is a file
under :data:`WORK_DIR`. Both test generation and the dependency install use this layout, so it
lives here, below both of them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from jobs.sandbox.scripts.tandem_pytest_plugins import (
    LEFT_OUT,
    OWN_OPTIONS,
    PROJECT_DISTS,
    TOOLS_PTH,
)

__all__ = [
    "ALL_TOOLS",
    "COVERAGE_RC",
    "LAUNCHER",
    "LEFT_OUT",
    "MODULES_SUFFIX",
    "OWN_OPTIONS",
    "PER_TEST_COPY",
    "PLUGINS_COPY",
    "PROJECT_DISTS",
    "RC_FILE",
    "SCRIPTS",
    "TOOLS_ENV",
    "TOOLS_PTH",
    "VIEW_DIR",
    "WORK_DIR",
    "copy_script",
    "prepare",
    "script_text",
    "write_fresh",
]

WORK_DIR = ".tandem-work"
RC_FILE = f"{WORK_DIR}/coveragerc"
# The repository's own coverage/pytest-cov settings are ignored: our rc decides what's measured.
COVERAGE_RC = """[run]
source = .
relative_files = True
omit =
    .tandem-work/*
    */site-packages/*
[report]
ignore_errors = True
include_namespace_packages = True
"""
SCRIPTS = Path(__file__).with_name("scripts")
# The pytest launcher (scripts/run_pytest.py) and the module every launcher imports from beside
# itself (scripts/tandem_pytest_plugins.py: its name is what the launchers import).
LAUNCHER = f"{WORK_DIR}/run_pytest.py"
PLUGINS_COPY = "tandem_pytest_plugins.py"
# Beside it, what the launchers import to record the lines each test runs.
PER_TEST_COPY = "tandem_per_test.py"
# Which tools the project environment's TOOLS_PTH adds. By default only the view (VIEW_DIR): the
# measuring tools (pytest, coverage and what they import) and the tools' distributions the
# project's own install asked for; the project's tests never see the engines' or the worker's
# 200-odd others, which can be the project itself under another version. With TOOLS_ENV=all
# (set by ALL_TOOLS): all of them, for the engines (Pynguin, CrossHair) and for pip, so what the
# tools have is not fetched again.
TOOLS_ENV = "TANDEM_TOOLS"
ALL_TOOLS = f"{TOOLS_ENV}=all"  # an argument of `env`
VIEW_DIR = "tandem-view"  # in the project environment's prefix
# Beside each launcher run: the modules the run imported and their files (JSON), to tell when
# the project's tests imported a changed module from somewhere other than the checkout.
MODULES_SUFFIX = ".modules.json"


def script_text(name: str) -> str:
    """The text of a script of :mod:`jobs.sandbox.scripts`, for ``python -c``."""
    return (SCRIPTS / name).read_text(encoding="utf-8")


def copy_script(name: str, to: Path) -> None:
    """Copy a script of :mod:`jobs.sandbox.scripts` to ``to`` (see :func:`copy_fresh`)."""
    copy_fresh(SCRIPTS / name, to)


def _new_file(to: Path) -> int:
    """A descriptor for ``to`` as a new file: whatever the sandbox left there (a symlink
    included) is removed first, never followed."""
    to.unlink(missing_ok=True)
    return os.open(to, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)


def copy_fresh(source: Path, to: Path) -> None:
    """Copy one of Tandem's own files to ``to`` as a new file: never through whatever the
    sandbox left there (a symlink is replaced, not followed)."""
    with os.fdopen(_new_file(to), "wb") as out, source.open("rb") as data:
        shutil.copyfileobj(data, out)


def write_fresh(text: str, to: Path) -> None:
    """Write ``text`` to ``to`` as a new file, like :func:`copy_fresh`."""
    with os.fdopen(_new_file(to), "w", encoding="utf-8") as out:
        out.write(text)


def prepare(checkout: Path) -> None:
    """Make the work dir with the coverage rc and the pytest launcher in it."""
    work = checkout / WORK_DIR
    # The PR's tree can hold a `.tandem-work` of its own: a symlink (out of the checkout) or a
    # file is replaced, never written through.
    if work.is_symlink() or (work.exists() and not work.is_dir()):
        work.unlink()
    work.mkdir(exist_ok=True)
    write_fresh(COVERAGE_RC, checkout / RC_FILE)
    copy_script("run_pytest.py", checkout / LAUNCHER)
    copy_script(PLUGINS_COPY, work / PLUGINS_COPY)
    copy_script(PER_TEST_COPY, work / PER_TEST_COPY)
    # Keep the scratch directory out of `git status` and out of delivered commits.
    with contextlib.suppress(OSError):
        exclude = checkout / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        text = exclude.read_text() if exclude.exists() else ""
        if f"/{WORK_DIR}/" not in text:
            exclude.write_text(text + f"\n/{WORK_DIR}/\n")
