"""The last fallback when the project itself does not build here (pure): its declared
dependencies installed without it, and its tests run from the source tree.

A build backend may need more than the package index: jaraco's projects build with
``coherent.licensed``, which downloads the licence text, and a sandbox with only the index
cannot build them. A person would still run the tests from the checkout, with what the
project declares installed; :func:`from_source_tree` is that plan, and the install note says
so with a ⚠️ (the installed package's metadata, entry points and compiled parts are missing,
so a test that needs them fails where it would pass in the project's CI). Only a static
``[project]`` table, or without one ``setup.cfg``'s ``install_requires`` (where ``setup.py`` does
not name its own), gives the dependencies without building: a project whose dependencies are
``dynamic`` (setup.py) has no such plan.
"""

from __future__ import annotations

import configparser
import tomllib
from dataclasses import replace

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from jobs.dependencies.plan_model import InstallPlan, Source
from jobs.dependencies.policy import RepoFiles, UnreadableFile


def _project_table(files: RepoFiles) -> dict[str, object] | None:
    try:
        text = files.read("pyproject.toml")
        data = tomllib.loads(text) if text is not None else {}
    except (UnreadableFile, tomllib.TOMLDecodeError):
        return None
    project = data.get("project")
    return project if isinstance(project, dict) else None


def declared_requirements(files: RepoFiles, extras: tuple[str, ...]) -> list[str] | None:
    """What ``pip install .[extras]`` would install besides the project: ``[project]``'s
    dependencies and those of each extra, an extra naming the project itself (``app[test]``)
    followed; without a ``[project]`` table, ``setup.cfg``'s static ones. None: no static
    dependencies to read."""
    project = _project_table(files)
    if project is None:
        return _setup_cfg_requirements(files, extras)
    dynamic = project.get("dynamic")
    if isinstance(dynamic, list) and "dependencies" in dynamic:
        return None
    optional = project.get("optional-dependencies")
    return _with_extras(
        str(project.get("name", "")),
        _strings(project.get("dependencies", [])),
        {str(k): _strings(v) for k, v in optional.items()} if isinstance(optional, dict) else {},
        extras,
    )


def _setup_cfg_requirements(files: RepoFiles, extras: tuple[str, ...]) -> list[str] | None:
    """``setup.cfg``'s ``[options] install_requires`` and ``[options.extras_require]``, where
    they are static: not a ``file:`` directive, and no ``setup.py`` that names its own
    ``install_requires`` (which would win). None otherwise."""
    try:
        text = files.read("setup.cfg")
        setup_py = files.read("setup.py")
    except UnreadableFile:
        return None
    if text is None or (setup_py is not None and "install_requires" in setup_py):
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_section("options"):
        return None
    requires = parser.get("options", "install_requires", fallback="")
    optional = (
        dict(parser.items("options.extras_require"))
        if parser.has_section("options.extras_require")
        else {}
    )
    if any(v.strip().startswith("file:") for v in [requires, *optional.values()]):
        return None
    return _with_extras(
        parser.get("metadata", "name", fallback=""),
        _lines(requires),
        {k: _lines(v) for k, v in optional.items()},
        extras,
    )


def _with_extras(
    name: str, dependencies: list[str], optional: dict[str, list[str]], extras: tuple[str, ...]
) -> list[str]:
    """``dependencies`` and those of each of ``extras`` (``optional``: by extra), an extra that
    names the project itself followed."""
    own = canonicalize_name(name)
    found: list[str] = []
    seen: set[str] = set()

    def add(lines: list[str]) -> None:
        for line in lines:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue  # pip would refuse the project too; nothing better to do here
            if canonicalize_name(requirement.name) == own:
                for extra in sorted(requirement.extras):
                    follow(extra)
            else:
                found.append(str(requirement))

    def follow(extra: str) -> None:
        key = canonicalize_name(extra)
        if key in seen:
            return
        seen.add(key)
        add(next((v for k, v in optional.items() if canonicalize_name(k) == key), []))

    add(dependencies)
    for extra in extras:
        follow(extra)
    return list(dict.fromkeys(found))


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _lines(value: str) -> list[str]:
    """A setup.cfg list: a requirement a line, comments and blank lines left out."""
    return [
        line.split(" #", 1)[0].strip()
        for line in value.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def from_source_tree(plan: InstallPlan, files: RepoFiles, why: str) -> InstallPlan | None:
    """The plan to try when pip could not install ``plan`` (``why``: its decisive line) and
    the plan builds the project: the same plan with the project's declared dependencies (and
    those of the extras it asked for) instead of the project. None: the plan does not build
    the project, or its dependencies cannot be read without building it."""
    sources: list[Source] = []
    changed = False
    for source in plan.sources:
        if source.builds_project:
            declared = declared_requirements(files, source.extras)
            if declared is None:
                return None
            changed = True
            if source.kind == "project":
                path = "pyproject.toml" if _project_table(files) is not None else "setup.cfg"
                source = Source(path, "tree", requirements=tuple(declared))
            else:
                requirements = tuple(dict.fromkeys([*declared, *source.requirements]))
                source = replace(
                    source, extras=(), editable=False, pretend=None, requirements=requirements
                )
        sources.append(source)
    if not changed:
        return None
    said = (
        f"⚠️ Built from the source tree: the project's own build failed here ({why}), so its "
        "declared dependencies were installed without it and its tests import it from the "
        "checkout"
    )
    return replace(plan, sources=tuple(sources), loosened=(*plan.loosened, said))


def import_root(entries: dict[str, list[str]]) -> str:
    """Where the project's modules are imported from in the checkout: ``src`` for a src
    layout (a ``src`` folder holding a package or module), else the checkout's root.
    ``entries``: the names in the checkout's root (``""``) and in its ``src`` folder."""
    inside = entries.get("src", [])
    if "src" in entries.get("", []) and any(
        n.endswith(".py") or "." not in n for n in inside if not n.startswith((".", "_"))
    ):
        return "src"
    return "."
