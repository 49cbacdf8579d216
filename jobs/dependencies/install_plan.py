"""The install plan (pure: file texts in, pip arguments out): what of the PR's dependencies to
install, by :func:`plan_install`.

With ``test_generation.dependencies.install: auto`` it looks at the repository root. A tox
configuration whose base test environment names deps or extras comes first and alone: it says
exactly how the suite runs (:mod:`jobs.dependencies.tox`; the project with tox's extras, tox's
deps and the requirements files they name). Without one, it finds

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
says so. :class:`MemoryFiles` feeds the planner plain data.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from dependency_groups import DependencyGroupResolver
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from core.repo_config import Dependencies
from jobs.dependencies.policy import (
    RepoFiles,
    UnreadableFile,
    check_requirements_file,
    direct_reference,
    read_noting,
)
from jobs.dependencies.pytestconfig import pytest_needs
from jobs.dependencies.setuppy import SetupPy, read_setup_py
from jobs.dependencies.tox import TOOLS_PYTHON, ToxEnv, read_tox
from jobs.dependencies.toxfactors import Python
from jobs.dependencies.vcsversion import PretendVersion, pretend_version

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

NO_INDEX_ARGS = ("--no-index", "--no-build-isolation")


@dataclass(frozen=True)
class MemoryFiles:
    """Plain data for the planner: repository-relative path -> text."""

    files: Mapping[str, str]

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def inside(self, path: str) -> bool:
        return True  # no symlinks in plain data; `..` is caught before this is asked


@dataclass(frozen=True)
class Source:
    path: str  # "pyproject.toml", "setup.py", "requirements-dev.txt"
    # groups: dependency groups only; tox: tox's base test environment (jobs.dependencies.tox);
    # pytest: what the project's pytest configuration needs (jobs.dependencies.pytestconfig)
    kind: Literal["project", "groups", "requirements", "tox", "pytest"]
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    # The groups' requirements, resolved (includes followed), each as packaging writes it
    requirements: tuple[str, ...] = ()
    pretend: PretendVersion | None = None  # a project whose version comes from git
    files: tuple[tuple[str, str], ...] = ()  # tox: ("-r" or "-c", repository path)
    section: str = ""  # tox, pytest: where in the file, "[testenv]"
    why: tuple[str, ...] = ()  # pytest: what each requirement is for
    editable: bool = True  # tox: the project is installed too (no skip_install)

    def describe(self) -> str:
        more = []
        if self.extras:
            more.append("extras " + ", ".join(self.extras))
        if self.groups:
            more.append("groups " + ", ".join(self.groups))
        if self.kind == "pytest":
            return f"`{self.path}` {self.section} ({', '.join(self.why)})"
        if self.kind == "tox":
            deps = [*(f"`{f}`" for _, f in self.files), *self.requirements]
            shown = ", ".join(deps[:4]) + (f" and {len(deps) - 4} more" if len(deps) > 4 else "")
            more = [f"deps {shown}"] if deps else []
            more += [f"extras {', '.join(self.extras)}"] if self.extras else []
            return f"`{self.path}` {self.section} ({'; '.join(more)})"
        return f"`{self.path}`" + (f" ({'; '.join(more)})" if more else "")

    def pip_args(self) -> list[str]:
        if self.kind == "requirements":
            return ["-r", f"./{self.path}"]
        if self.kind == "pytest":
            return list(self.requirements)
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        editable = self.kind == "project" or (self.kind == "tox" and self.editable)
        args = ["-e", f".{extras}"] if editable else []
        for option, path in self.files:
            args.extend([option, f"./{path}"])
        return [*args, *self.requirements]


@dataclass(frozen=True)
class InstallPlan:
    sources: tuple[Source, ...] = ()
    refused: tuple[str, ...] = ()  # one line per file left out: which line and why
    index: bool = True  # False: --no-index (no network to reach one)
    loosened: tuple[str, ...] = ()  # what :func:`loosen` changed, a sentence each

    @property
    def empty(self) -> bool:
        return not self.sources

    def pip_args(self) -> list[str]:
        """The arguments after ``python -m pip``."""
        args = [
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--progress-bar=off",
            "--no-warn-script-location",
            "--retries=2",
            "--timeout=30",
        ]
        if not self.index:
            args.extend(NO_INDEX_ARGS)
        for source in self.sources:
            args.extend(source.pip_args())
        return args

    def describe(self) -> str:
        names = [s.describe() for s in self.sources]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def known_as(self, versions: Mapping[str, str]) -> InstallPlan:
        """The plan with each git-versioned project built as the version ``versions`` has of
        it (:meth:`.vcsversion.PretendVersion.known_as`)."""
        sources = tuple(
            replace(s, pretend=s.pretend.known_as(versions)) if s.pretend else s
            for s in self.sources
        )
        return replace(self, sources=sources)

    def environment(self) -> dict[str, str]:
        """Variables pip (and so the build backends it runs) gets besides the sandbox's."""
        return {s.pretend.variable: s.pretend.version for s in self.sources if s.pretend}

    def notes(self) -> list[str]:
        """What the install summary says about how the plan builds the project."""
        return [*(s.pretend.describe() for s in self.sources if s.pretend), *self.loosened]


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
    else:
        project = _project(files, refused)
        tox = read_tox(files, refused, python)
        if tox is not None:
            # tox says how the suite runs: its environment alone, as tox would make it
            source = _tox_source(files, tox, project, refused)
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
    return InstallPlan(tuple(sources), tuple(dict.fromkeys(refused)), index)


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


def _tox_source(
    files: RepoFiles, tox: ToxEnv, project: Source | None, refused: list[str]
) -> Source | None:
    included: list[tuple[str, str]] = []
    for option, path in tox.files:
        problem = check_requirements_file(files, path)
        if problem is None:
            included.append((option, path))
        else:
            refused.append(problem)
    editable = tox.install_project and project is not None and project.kind == "project"
    if not editable and not tox.requirements and not included:
        return None
    return Source(
        tox.path,
        "tox",
        tox.extras if editable else (),
        requirements=tox.requirements,
        pretend=project.pretend if editable and project else None,
        files=tuple(included),
        section=tox.section,
        editable=editable,
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


def _dependency_groups(
    table: object, refused: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The test/dev groups of a ``[dependency-groups]`` table and their requirements, resolved
    (PEP 735: ``include-group`` followed, names normalised), each once, in order. A table that
    does not resolve gives no groups and one line in ``refused``."""
    if table is None:
        return (), ()
    where = "`pyproject.toml` [dependency-groups]"
    if not isinstance(table, dict):
        refused.append(f"{where}: not a table; the groups are not installed")
        return (), ()
    by_name = {str(canonicalize_name(name)): name for name in table if isinstance(name, str)}
    groups = tuple(by_name[name] for name in PROJECT_EXTRAS if name in by_name)
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


PIN_MARKERS = ("autogenerated by pip-compile", "uv pip compile", "pip-compile")
MIN_PINNED = 0.8  # the share of a file's requirements pinned with == that makes it a lock file


def looks_pinned(text: str) -> bool:
    """Whether a requirements file is a lock (pip-compile's or uv's output, or nearly every
    requirement pinned with ``==``), made for one Python and platform."""
    if any(marker in text for marker in PIN_MARKERS):
        return True
    requirements = [
        line.split("#", 1)[0].strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    ]
    pinned = [r for r in requirements if "==" in r]
    return len(requirements) >= 2 and len(pinned) >= MIN_PINNED * len(requirements)


def loosen(plan: InstallPlan, files: RepoFiles) -> InstallPlan | None:
    """The plan to try when pip could not resolve ``plan`` and it has pinned requirements files
    (a pip-compile lock made for another Python): each lock replaced by the loose ``.in`` file
    it was compiled from, or, without one, left out where the project itself is installed (its
    own extras and groups then say what the tests need). None: nothing to loosen."""
    has_project = any(s.kind == "project" or (s.kind == "tox" and s.editable) for s in plan.sources)
    said: list[str] = []

    def replacement(path: str) -> str | None:
        """The file to use instead of a lock ("" to leave it out), None to keep it."""
        try:
            text = files.read(path)
        except UnreadableFile:
            return None
        if text is None or not looks_pinned(text):
            return None
        loose = path.removesuffix(".txt") + ".in" if path.endswith(".txt") else None
        try:
            found = loose is not None and files.read(loose) is not None
        except UnreadableFile:
            found = False
        if loose is not None and found and check_requirements_file(files, loose) is None:
            said.append(
                f"The pinned `{path}` did not resolve here, so `{loose}` (its loose source) was "
                "used instead"
            )
            return loose
        if has_project:
            said.append(
                f"The pinned `{path}` did not resolve here, so it was left out and the "
                "project's own declared dependencies used"
            )
            return ""
        return None

    sources: list[Source] = []
    for source in plan.sources:
        if source.kind == "requirements":
            instead = replacement(source.path)
            if instead is None:
                sources.append(source)
            elif instead:
                sources.append(Source(instead, "requirements"))
        elif source.kind == "tox" and source.files:
            kept: list[tuple[str, str]] = []
            for option, path in source.files:
                instead = replacement(path) if option == "-r" else None
                if instead is None:
                    kept.append((option, path))
                elif instead:
                    kept.append((option, instead))
            sources.append(replace(source, files=tuple(kept)))
        else:
            sources.append(source)
    if not said or not sources:
        return None
    return replace(plan, sources=tuple(sources), loosened=(*plan.loosened, *said))


def project_alone(plan: InstallPlan, why: str) -> InstallPlan | None:
    """The plan to try when pip could not install ``plan`` (``why``: its decisive line) and
    requirements files stand beside the project: the project alone, with its own declared
    dependencies. Root requirements files are often a developer's whole environment (docs,
    benchmarks, a C extension that does not build here) rather than what the tests need, and a
    person would drop them before giving up. None: no project, or no requirements file, to
    drop. tox's deps are never dropped: they say exactly how the suite runs."""
    if not any(s.kind == "project" for s in plan.sources):
        return None
    dropped = [s.path for s in plan.sources if s.kind == "requirements"]
    if not dropped:
        return None
    names = ", ".join(f"`{path}`" for path in dropped)
    said = (
        f"{names} did not install here ({why}), so the project was installed with its own "
        "declared dependencies alone"
    )
    return replace(
        plan,
        sources=tuple(s for s in plan.sources if s.kind != "requirements"),
        loosened=(*plan.loosened, said),
    )


def declared_extras(files: RepoFiles) -> tuple[str, ...]:
    """Every extra the project declares, in order: ``[project.optional-dependencies]``, else
    setup.py's literal ``extras_require`` and setup.cfg's ``[options.extras_require]``."""
    names: list[str] = []
    try:
        text = files.read("pyproject.toml")
        project = tomllib.loads(text).get("project") if text is not None else None
    except (UnreadableFile, tomllib.TOMLDecodeError):
        project = None
    optional = project.get("optional-dependencies") if isinstance(project, dict) else None
    if isinstance(optional, dict):
        names.extend(name for name in optional if isinstance(name, str))
    else:
        try:
            setup_py = files.read("setup.py")
            setup_cfg = files.read("setup.cfg")
        except UnreadableFile:
            setup_py = setup_cfg = None
        if setup_py is not None:
            names.extend(read_setup_py(setup_py).extras)
        if setup_cfg is not None:
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read_string(setup_cfg)
            except configparser.Error:
                pass
            else:
                if parser.has_section("options.extras_require"):
                    names.extend(parser.options("options.extras_require"))
    return tuple(dict.fromkeys(n for n in names if _EXTRA_NAME.match(n)))


_EXTRA_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


def with_extras(
    plan: InstallPlan, extras: tuple[str, ...], missing: list[str]
) -> InstallPlan | None:
    """The plan to install next when the project's tests import modules (``missing``) that its
    environment does not have: the project with all its declared ``extras``, as a CI that
    installs ``.[all]`` or ``--all-extras`` has it. None: the project is not installed
    editable by the plan, or it has no extra the plan lacks."""
    sources: list[Source] = []
    added: tuple[str, ...] = ()
    for source in plan.sources:
        editable = source.kind == "project" or (source.kind == "tox" and source.editable)
        if editable and not added:
            added = tuple(e for e in extras if e not in source.extras)
            source = replace(source, extras=(*source.extras, *added))
        sources.append(source)
    if not added:
        return None
    shown = ", ".join(f"`{name}`" for name in missing[:3])
    shown += f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    said = (
        f"Its tests import {shown}, which its install did not provide, so its extras "
        f"{', '.join(added)} were installed too"
    )
    return replace(plan, sources=tuple(sources), loosened=(*plan.loosened, said))
