"""Runs inside the sandbox, imported by the pytest launchers (``run_pytest.py``,
``run_base_pytest.py``, ``run_mutants.py``) from the work dir beside them: the arguments they add
to pytest's. Standard library only.

First, the options of the project's own pytest command that decide how its tests import, collect
and warn (``-p``, ``-W``, ``-c``, ``-o``, ``--import-mode``, ...: :data:`OWN_OPTIONS`, written by
the baseline): every run of its tests takes them, as its CI's does.

pytest-cov, when the project uses it, is told ``--no-cov``: under our ``coverage run`` its own
tracer would replace ours ("No data was collected"), and a project's ``--cov-fail-under`` would
fail every run of a single generated test file. pytest-xdist, when it loads, is told ``-n 0``:
its workers (a project's ``addopts = --numprocesses=auto``) are other processes, which our
``coverage run`` does not follow (bidict's tests ran there and left only its import-time lines
covered). And pytest plugins load only where the project
asked for them: from its own environment (the PR's dependencies, installed by
jobs.dependencies), from the checkout, or distributions its install resolved to that the tools'
environment already had (:data:`PROJECT_DISTS`, written by the install). The tools' environment
(the sandbox's, or in local mode the worker's own: pytest-asyncio, hypothesis, anyio, ...) adds
none: the project never asked for them, one deprecation warning of theirs is an INTERNALERROR
under a project's ``filterwarnings = error``, and loading them costs more than a small test
file's whole run (about 1.5 s a pytest start in a worker's venv).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import sysconfig

# In the project's environment (sys.prefix): the names, one a line, of the distributions its
# install found already satisfied by the tools' environment.
PROJECT_DISTS = "tandem-project-dists.txt"
# In the project's environment (sys.prefix): the pytest plugins, one a line, that the install
# found pytest cannot load (check_plugins.py). They are left out of every run, which they would
# stop with exit 3, and the install's note says so.
LEFT_OUT = "tandem-left-out-plugins.txt"
# In the work dir, beside this file: the options of the project's own pytest command that decide
# how its tests import, collect and warn (JSON, a list of strings; written by the baseline:
# jobs.languages.python.own_options). Every pytest run of the project takes them, first.
OWN_OPTIONS = "tandem-own-pytest-options.json"
# In the project environment's site-packages: puts the tools behind the project's own
# (jobs.dependencies.install). Named to sort after every other .pth file: site processes them in
# name order, and an editable install's path entry (flit's `<name>.pth`, hatchling's
# `_<name>.pth`) must come before the tools, or the tools' copy of the same package wins.
TOOLS_PTH = "zz_tandem_tools.pth"


def _norm(name: str | None) -> str:
    return re.sub(r"[-_.]+", "-", name or "").lower()


def extra_args() -> list[str]:
    """pytest's extra arguments, for the cwd the tests run in (called after the launcher has set
    up ``sys.path``: what pytest-cov and the plugins are is what pytest will find)."""
    extra = own_options(os.path.join(os.path.dirname(os.path.abspath(__file__)), OWN_OPTIONS))
    extra += ["--no-cov"] if importlib.util.find_spec("pytest_cov") is not None else []
    # Never collect the work dir this file is in (the launchers, the project's environment): a
    # project's own norecursedirs replaces pytest's default `.*`, and its --doctest-modules or
    # a linter plugin (pytest-ruff) would import or check our files (inflect: exit 3).
    extra += [f"--ignore={os.path.dirname(os.path.abspath(__file__))}"]
    own = [os.path.realpath(os.getcwd())]
    asked: set[str] = set()
    if os.path.exists(os.path.join(sysconfig.get_paths()["purelib"], TOOLS_PTH)):
        own += [os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")]
        try:
            with open(os.path.join(sys.prefix, PROJECT_DISTS), encoding="utf-8") as f:
                asked = {_norm(line.strip()) for line in f}
        except OSError:
            pass
    roots = tuple(own)
    for dist in importlib.metadata.distributions():
        names = [ep.name for ep in dist.entry_points if ep.group == "pytest11"]
        where = os.path.realpath(str(dist.locate_file("")))
        if names and not where.startswith(roots) and _norm(dist.metadata["Name"]) not in asked:
            extra += [arg for name in names for arg in ("-p", "no:" + name)]
    try:
        with open(os.path.join(sys.prefix, LEFT_OUT), encoding="utf-8") as f:
            extra += [arg for line in f if line.strip() for arg in ("-p", "no:" + line.strip())]
    except OSError:
        pass
    off = any(word.endswith("no:xdist") for word in extra)  # -p no:xdist, -pno:xdist
    if importlib.util.find_spec("xdist") is not None and not off:
        extra += ["-n", "0"]
    return extra


def own_options(path: str) -> list[str]:
    """The project's own options (:data:`OWN_OPTIONS`); none where the file is missing or is
    not a list of strings."""
    try:
        with open(path, encoding="utf-8") as f:
            told = json.load(f)
    except (OSError, ValueError):
        return []
    ok = isinstance(told, list) and all(isinstance(word, str) for word in told)
    return list(told) if ok else []
