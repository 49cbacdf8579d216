"""Installing the PR's own dependencies in the sandbox before its tests run.

A repository whose code imports its dependencies fails its baseline and every generated test
with ImportError when the tests run with the sandbox's bare tools. So before the baseline,
Tandem installs what the repository declares:

- :mod:`jobs.dependencies.install_plan` (pure): which project and requirements files to install, as
  pip arguments (:func:`plan_install`, its data in :mod:`jobs.dependencies.plan_model`), read
  from tox (:mod:`jobs.dependencies.tox`, its factor conditions for the sandbox's Python in
  :mod:`jobs.dependencies.toxfactors`), pyproject.toml, setup.cfg, setup.py
  (:mod:`jobs.dependencies.setuppy`, never run) and requirements files; the version a
  git-versioned project is built as (:mod:`jobs.dependencies.vcsversion`); the plans to try
  when one does not install or run (:mod:`jobs.dependencies.fallbacks`);
- :mod:`jobs.dependencies.owncommand` (pure): the project's own test command, from its tox
  env's commands or its nox sessions (:mod:`jobs.dependencies.noxfile`, read with ``ast``), or
  its CI workflows' steps (:mod:`jobs.dependencies.workflows`), read by
  :mod:`jobs.dependencies.testcommand` into the options and paths the baseline's pytest takes,
  or the unittest arguments it runs; where it comes from a workflow, what that job installs
  (:mod:`jobs.dependencies.workflow_install`) is the environment when no tox env names one;
- :mod:`jobs.dependencies.policy` (pure): what a requirements file may ask for (only the
  configured package index, only files inside the checkout); a refused file is left out with
  one note line saying which line and why;
- :mod:`jobs.dependencies.install`: the install itself (:func:`install_dependencies`), into a
  venv in the checkout (:mod:`jobs.dependencies.environment`), with a network only where pip
  runs (:mod:`jobs.dependencies.pip_install`, reading back :mod:`jobs.dependencies.pip_log`),
  bounded in time; a failed install is not fatal, the check run says what failed;
- :mod:`jobs.dependencies.setup_commands`: the repository's own preparation
  (``test_generation.setup``), run after the install (:func:`run_setup`).
"""

from jobs.dependencies.install import (
    ENV_DIR,
    CheckoutFiles,
    InstallOutcome,
    already_satisfied,
    failure_line,
    install_dependencies,
    summary_line,
)
from jobs.dependencies.install_plan import InstallPlan, MemoryFiles, Source, plan_install
from jobs.dependencies.policy import RepoFiles, UnreadableFile, check_requirements_file
from jobs.dependencies.setup_commands import SetupOutcome, run_setup

__all__ = [
    "ENV_DIR",
    "CheckoutFiles",
    "InstallOutcome",
    "InstallPlan",
    "MemoryFiles",
    "RepoFiles",
    "SetupOutcome",
    "Source",
    "UnreadableFile",
    "already_satisfied",
    "check_requirements_file",
    "failure_line",
    "install_dependencies",
    "plan_install",
    "run_setup",
    "summary_line",
]
