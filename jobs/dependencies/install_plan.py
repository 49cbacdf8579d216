"""The install plan (pure: file texts in, pip arguments out): what of the PR's dependencies to
install, by :func:`plan_install`.

With ``test_generation.dependencies.install: auto`` it looks at the repository root. A tox
configuration whose base test environment names deps or extras comes first and alone: it says
exactly how the suite runs (:mod:`jobs.dependencies.tox`; the project with tox's extras, tox's
deps and the requirements files they name). Without one, where the project's test command comes
from its CI workflow, what that job installs before it (:mod:`jobs.dependencies.workflow_install`)
comes next and alone, built the same way; where it comes from a nox session, what that session's
``session.install(...)`` calls install, read the same way. Without either, it finds

- the project: ``pyproject.toml`` with ``[project]`` or ``[build-system]``, or ``setup.py`` /
  ``setup.cfg``, installed **editable** (``-e .[test,dev]``, only the extras among
  ``test, tests, testing, dev`` that exist, from ``[project.optional-dependencies]``,
  ``setup.cfg`` or ``setup.py``'s literal ``extras_require``). Editable matters: the tests
  must import the checkout's files, which coverage measures, not a copy in site-packages;
- PEP 735 dependency groups of those names in ``pyproject.toml`` (with a project or without
  one), resolved here, ``include-group`` and all, by the PyPA library ``dependency-groups``,
  and given to pip as plain requirements. Not pip's ``--group``: that needs pip 25.1, and the
  pip that installs is whatever the tools' environment has (a Tandem installed with a plain
  ``pip install`` into a Python 3.12 venv has pip 23.2). A group table that does not resolve
  (a cycle, a bad requirement, a missing group) leaves the groups out with one line saying why;
- requirements files: ``requirements.txt``, ``requirements-dev.txt``, ``test-requirements.txt``
  and the other usual names (:data:`REQUIREMENTS_FILES`).

A project whose version comes from git (setuptools-scm, hatch-vcs) gets it from the environment
(:mod:`jobs.dependencies.vcsversion`, :meth:`InstallPlan.environment`): Tandem's checkout has no
tags. ``setup.py`` is read with :mod:`ast` (:mod:`jobs.dependencies.setuppy`), never run here.

All of them go to one ``pip install`` (one resolution). ``requirements: [paths]`` installs
exactly those files instead. Nothing found: nothing installed, no note. A requirements file
the policy (:mod:`jobs.dependencies.policy`) refuses, or a project whose declared dependencies
are direct references, is left out with one line in :attr:`InstallPlan.refused`; the rest is
installed. When pip cannot install a plan with a pinned requirements file (pip-compile's lock,
often made for another Python), :func:`loosen` gives the plan to try once more: the lock's
loose ``.in`` source instead, or, where the project itself is installed, no lock; the summary
says so. :class:`MemoryFiles` feeds the planner plain data. The plan's data is in
:mod:`jobs.dependencies.plan_model`, the plans to try after a failure in
:mod:`jobs.dependencies.fallbacks` (both re-exported here).
"""

from __future__ import annotations

import configparser
import tomllib
from dataclasses import replace
from typing import Literal

from dependency_groups import DependencyGroupResolver
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from core.repo_config import Dependencies
from jobs.dependencies.fallbacks import (
    declared_extras,
    looks_pinned,
    loosen,
    project_alone,
    unpinned,
    with_extras,
)
from jobs.dependencies.noxfile import PATH as NOXFILE
from jobs.dependencies.owncommand import command_and_job, own_command
from jobs.dependencies.plan_model import NO_INDEX_ARGS, InstallPlan, MemoryFiles, Source
from jobs.dependencies.policy import (
    RepoFiles,
    check_requirements_file,
    direct_reference,
    read_noting,
)
from jobs.dependencies.pytestconfig import pytest_needs
from jobs.dependencies.setuppy import SetupPy, read_setup_py
from jobs.dependencies.tox import TOOLS_PYTHON, ToxEnv, read_tox
from jobs.dependencies.toxfactors import Python
from jobs.dependencies.vcsversion import pretend_version
from jobs.dependencies.workflow_install import WorkflowEnv, read_install

__all__ = [
    "NO_INDEX_ARGS",
    "PROJECT_EXTRAS",
    "REQUIREMENTS_FILES",
    "InstallPlan",
    "MemoryFiles",
    "Source",
    "declared_extras",
    "looks_pinned",
    "loosen",
    "plan_install",
    "project_alone",
    "unpinned",
    "with_extras",
]

PROJECT_EXTRAS = ("test", "tests", "testing", "dev")
REQUIREMENTS_FILES = (
    "requirements.txt",
    "requirements-dev.txt",
    "requirements_dev.txt",
    "dev-requirements.txt",
    "requirements-test.txt",
    "requirements_test.txt",
    "requirements-tests.txt",
    "requirements-testing.txt",
    "test-requirements.txt",
    "test_requirements.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/testing.txt",
    "tests/requirements.txt",
)


def plan_install(
    files: RepoFiles, config: Dependencies, *, index: bool = True, python: Python = TOOLS_PYTHON
) -> InstallPlan:
    """What to install, from the repository's files and ``test_generation.dependencies``, for
    the sandbox's ``python`` (major, minor): tox's conditional deps depend on it."""
    if config.install == "none":
        return InstallPlan(index=index)
    sources: list[Source] = []
    refused: list[str] = []
    if config.requirements:
        candidates = list(config.requirements)
        command = own_command(files, python)
    else:
        project = _project(files, refused)
        tox = read_tox(files, refused, python)
        command, job = command_and_job(tox, files, refused)
        ci = read_install(job, refused) if tox is None or not tox.installs else None
        if tox is not None and tox.installs:
            # tox says how the suite runs: its environment alone, as tox would make it
            source = _tox_source(files, tox, project, refused)
            sources.extend([source] if source else [])
            candidates = []
        elif ci is not None:
            # the CI job (or nox session) that runs the tests says what it installs for
            # them: that alone
            source = _workflow_source(files, ci, project, refused)
            sources.extend([source] if source else [])
            candidates = []
        else:
            sources.extend([project] if project else [])
            candidates = [path for path in REQUIREMENTS_FILES if _exists(files, path, refused)]
    for path in candidates:
        problem = check_requirements_file(files, path)
        if problem is None:
            sources.append(Source(path, "requirements"))
        else:
            refused.append(problem)
    needs = _pytest_source(files, sources, refused) if index else None
    if needs is not None:
        sources.append(needs)
    runs = (command.describe(),) if command is not None and command.tells else ()
    return InstallPlan(tuple(sources), tuple(dict.fromkeys(refused)), index, runs=runs)


def _pytest_source(files: RepoFiles, sources: list[Source], refused: list[str]) -> Source | None:
    """What the project's pytest configuration needs that the other sources do not name
    (pytest's own version bounds are always kept: pip joins them with the project's). Only
    with an index: without one, such a requirement would fail the whole install."""
    needs = pytest_needs(files, refused)
    if needs is None:
        return None
    named = {_name(r) for s in sources for r in s.requirements}
    kept = [
        (requirement, why)
        for requirement, why in zip(needs.requirements, needs.why, strict=True)
        if _name(requirement) == "pytest" or _name(requirement) not in named
    ]
    if not kept:
        return None
    return Source(
        needs.config.path,
        "pytest",
        requirements=tuple(r for r, _ in kept),
        section=needs.config.section,
        why=tuple(dict.fromkeys(w for _, w in kept)),
    )


def _name(requirement: str) -> str:
    try:
        return str(canonicalize_name(Requirement(requirement).name))
    except InvalidRequirement:
        return requirement


def _workflow_source(
    files: RepoFiles, ci: WorkflowEnv, project: Source | None, refused: list[str]
) -> Source | None:
    """The CI job's environment, built as tox's is: the project editable (where there is one:
    its tests must import the checkout, whether the job installs it or runs from the tree) with
    the extras the job names, its groups, its -r/-c files and its plain requirements. A nox
    session's installs are read as such a job's (:func:`.owncommand.command_and_job`)."""
    kind: Literal["nox", "workflow"] = "nox" if ci.path == NOXFILE else "workflow"
    included = _allowed_files(files, ci.files, refused)
    editable = project is not None and project.kind == "project"
    extras = (*ci.extras, *(declared_extras(files) if ci.all_extras else ()))
    where = f"`{ci.path}` {ci.section}"
    groups, grouped = _named_groups(
        files, where, ci.groups, ci.default_groups, refused, every=ci.all_groups
    )
    requirements = tuple(dict.fromkeys([*ci.requirements, *grouped]))
    return _declared(
        Source(ci.path, kind, tuple(dict.fromkeys(extras)), groups, section=ci.section),
        project if editable else None,
        requirements,
        included,
    )


def _allowed_files(
    files: RepoFiles, listed: tuple[tuple[str, str], ...], refused: list[str]
) -> tuple[tuple[str, str], ...]:
    """The (option, path) requirement files the policy allows; each other one is a note."""
    included: list[tuple[str, str]] = []
    for option, path in listed:
        problem = check_requirements_file(files, path)
        if problem is None:
            included.append((option, path))
        else:
            refused.append(problem)
    return tuple(included)


def _declared(
    source: Source,
    project: Source | None,
    requirements: tuple[str, ...],
    included: tuple[tuple[str, str], ...],
) -> Source | None:
    """A tox env's or a CI job's environment (``source``: its path, kind, extras, groups and
    section), built the same way: the project editable with the extras where ``project`` is
    given, its requirements and files. None: it installs nothing."""
    if project is None and not requirements and not included:
        return None
    return replace(
        source,
        extras=source.extras if project is not None else (),
        requirements=requirements,
        pretend=project.pretend if project is not None else None,
        files=included,
        editable=project is not None,
    )


def _tox_source(
    files: RepoFiles, tox: ToxEnv, project: Source | None, refused: list[str]
) -> Source | None:
    included = _allowed_files(files, tox.files, refused)
    editable = tox.install_project and project is not None and project.kind == "project"
    groups, grouped = _tox_groups(files, tox, refused)
    requirements = tuple(dict.fromkeys([*tox.requirements, *grouped]))
    return _declared(
        Source(tox.path, "tox", tox.extras, groups, section=tox.section),
        project if editable else None,
        requirements,
        included,
    )


def _exists(files: RepoFiles, path: str, refused: list[str]) -> bool:
    return read_noting(files, path, refused) is not None


def _project(files: RepoFiles, refused: list[str]) -> Source | None:
    """The repository's own project, when it is one pip can install (or, without one,
    pyproject.toml's test/dev dependency groups)."""
    text = read_noting(files, "pyproject.toml", refused)
    data: dict[str, object] = {}
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            refused.append(f"`pyproject.toml`: not valid TOML ({e})")
            return None
    project = data.get("project")
    setup_py_text = read_noting(files, "setup.py", refused)
    has_setup = setup_py_text is not None
    setup_py = read_setup_py(setup_py_text) if setup_py_text is not None else SetupPy()
    setup_cfg = read_noting(files, "setup.cfg", refused)
    is_project = (
        isinstance(project, dict)
        or "build-system" in data
        or has_setup
        or (setup_cfg is not None and "[metadata]" in setup_cfg)
    )
    extras: list[str] = []
    declared: list[str] = []
    if isinstance(project, dict):
        declared.extend(_strings(project.get("dependencies")))
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            extras = [name for name in PROJECT_EXTRAS if name in optional]
            for name in extras:
                declared.extend(_strings(optional[name]))
    else:
        declared_extras = {**setup_py.extras}
        if setup_cfg is not None:
            declared_extras.update({name: [] for name in _setup_cfg_extras(setup_cfg)})
        extras = [name for name in PROJECT_EXTRAS if name in declared_extras]
        for name in extras:
            declared.extend(declared_extras[name])
        if setup_py.problem:
            refused.append(f"`setup.py`: {setup_py.problem}; its extras are not known")
    groups, requirements = _dependency_groups(data.get("dependency-groups"), refused)
    if not is_project and not requirements:
        return None
    where = "pyproject.toml" if text is not None else "setup.py" if has_setup else "setup.cfg"
    for requirement in [*declared, *requirements]:
        why = direct_reference(requirement)
        if why:
            refused.append(f"`{where}`: {requirement!r}: {why}")
            return None
    if not is_project:
        return Source(where, "groups", (), groups, requirements)
    cfg_name, cfg_scm = _setup_cfg_metadata(setup_cfg)
    pretend = pretend_version(
        data,
        name=setup_py.name or cfg_name,
        setup_py_uses_scm=setup_py.uses_scm,
        setup_cfg_uses_scm=cfg_scm,
    )
    return Source(where, "project", tuple(extras), groups, requirements, pretend)


def _tox_groups(
    files: RepoFiles, tox: ToxEnv, refused: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The groups tox's ``dependency_groups`` names and their requirements, resolved from
    ``pyproject.toml``'s ``[dependency-groups]`` as tox does; a name the table lacks is a note."""
    where = f"`{tox.path}` {tox.section} dependency_groups"
    return _named_groups(files, where, tox.groups, (), refused)


def _named_groups(
    files: RepoFiles,
    where: str,
    named: tuple[str, ...],
    optional: tuple[str, ...],
    refused: list[str],
    *,
    every: bool = False,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The groups ``named`` (a name the table lacks is a note), ``optional`` (those the table
    has: uv's default groups) or, with ``every``, all of them, and their requirements,
    resolved from ``pyproject.toml``'s ``[dependency-groups]``."""
    if not named and not optional and not every:
        return (), ()
    text = read_noting(files, "pyproject.toml", refused)
    try:
        table = tomllib.loads(text).get("dependency-groups") if text is not None else None
    except tomllib.TOMLDecodeError:
        table = None  # the project planner says so
    names = [n for n in table if isinstance(n, str)] if isinstance(table, dict) else []
    known = {str(canonicalize_name(n)) for n in names}
    for name in named:
        if str(canonicalize_name(name)) not in known:
            refused.append(f"{where} {name!r}: no such group in `pyproject.toml`")
    present = tuple(n for n in optional if str(canonicalize_name(n)) in known)
    wanted = (*named, *present, *(names if every else ()))
    return _dependency_groups(table, refused, wanted) if wanted else ((), ())


def _dependency_groups(
    table: object, refused: list[str], names: tuple[str, ...] = PROJECT_EXTRAS
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The groups ``names`` (by default the test/dev ones) of a ``[dependency-groups]`` table
    that it has, and their requirements, resolved (PEP 735: ``include-group`` followed, names
    normalised), each once, in order. A table that does not resolve gives no groups and one
    line in ``refused``."""
    if table is None:
        return (), ()
    where = "`pyproject.toml` [dependency-groups]"
    if not isinstance(table, dict):
        refused.append(f"{where}: not a table; the groups are not installed")
        return (), ()
    by_name = {str(canonicalize_name(name)): name for name in table if isinstance(name, str)}
    wanted = [str(canonicalize_name(name)) for name in names]
    groups = tuple(dict.fromkeys(by_name[name] for name in wanted if name in by_name))
    requirements: list[str] = []
    try:
        resolver = DependencyGroupResolver(table)
        for group in groups:
            requirements.extend(_for_pip(r) for r in resolver.resolve(group))
    except RecursionError:
        refused.append(f"{where}: includes nest too deeply; the groups are not installed")
        return (), ()
    except (InvalidRequirement, ValueError, TypeError, LookupError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        refused.append(f"{where}: {why[:300]}; the groups are not installed")
        return (), ()
    return groups, tuple(dict.fromkeys(requirements))


def _for_pip(requirement: Requirement) -> str:
    """The requirement as one pip argument: its name normalised, so that pip can read it
    only as a requirement (never as an option, a path or an archive file like ``x.zip``)."""
    written = Requirement(str(requirement))
    written.name = canonicalize_name(written.name)
    return str(written)


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _setup_cfg_extras(text: str) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    if not parser.has_section("options.extras_require"):
        return []
    present = set(parser.options("options.extras_require"))
    return [name for name in PROJECT_EXTRAS if name in present]


def _setup_cfg_metadata(text: str | None) -> tuple[str | None, bool]:
    """setup.cfg's ``[metadata] name``, and whether ``[options] setup_requires`` asks for
    setuptools-scm."""
    if text is None:
        return None, False
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None, False
    name = parser.get("metadata", "name", fallback=None)
    requires = parser.get("options", "setup_requires", fallback="")
    return name, "setuptools_scm" in requires.replace("-", "_")
