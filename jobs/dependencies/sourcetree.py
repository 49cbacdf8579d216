"""The last fallback when the project itself does not build here (pure): its declared
dependencies installed without it, and its tests run from the source tree.

A build backend may need more than the package index: jaraco's projects build with
``coherent.licensed``, which downloads the licence text, and a sandbox with only the index
cannot build them. A person would still run the tests from the checkout, with what the
project declares installed; :func:`from_source_tree` is that plan, and the install note says
so with a ⚠️ (the installed package's metadata, entry points and compiled parts are missing,
so a test that needs them fails where it would pass in the project's CI). Only a static
``[project]`` table gives the dependencies without building: a project whose dependencies are
``dynamic`` (setup.py) has no such plan.
"""

from __future__ import annotations

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
    followed. None: no static ``[project]`` dependencies to read."""
    project = _project_table(files)
    dynamic = project.get("dynamic") if project is not None else None
    if project is None or (isinstance(dynamic, list) and "dependencies" in dynamic):
        return None
    name = canonicalize_name(str(project.get("name", "")))
    optional = project.get("optional-dependencies")
    optional = optional if isinstance(optional, dict) else {}
    found: list[str] = []
    seen: set[str] = set()

    def add(lines: object) -> None:
        for line in lines if isinstance(lines, list) else []:
            try:
                requirement = Requirement(str(line))
            except InvalidRequirement:
                continue  # pip would refuse the project too; nothing better to do here
            if canonicalize_name(requirement.name) == name:
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

    add(project.get("dependencies", []))
    for extra in extras:
        follow(extra)
    return list(dict.fromkeys(found))


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
                source = Source("pyproject.toml", "tree", requirements=tuple(declared))
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
