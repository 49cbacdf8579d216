"""Runs inside the sandbox, with the tools' python
(``python -I tools_view.py VIEW SCRIPTS NAME...``): makes VIEW a folder of symlinks to the named
distributions of the tools' environment and to everything they require, their top-level modules
and their metadata. It also links their native executables into SCRIPTS, the project
environment's ``bin``: ruff's binary, which ``pytest-ruff`` looks for in the scripts folder of
the python that runs it. Their Python console scripts are not linked: those start the tools'
interpreter, with all of the tools' packages. The project's environment adds VIEW instead of the
tools' whole site-packages (``jobs.dependencies.install``), so its tests import pytest, coverage
and what its own install found already installed, and nothing else of the tools'. Standard
library and ``packaging`` (a dependency of pytest) only.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import sys
import sysconfig

from packaging.requirements import InvalidRequirement, Requirement


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level(dist: metadata.Distribution) -> set[str]:
    """The names a distribution puts at the top of site-packages: packages, modules, its
    .dist-info; not scripts (``../../bin``), caches or .pth files (their side effects are the
    tools' business)."""
    names: set[str] = set()
    for file in dist.files or ():
        parts = file.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".pth"):
            continue
        names.add(parts[0])
    if not names:  # no RECORD: a dist-info or egg-info without a file list
        listed = dist.read_text("top_level.txt") or ""
        names.update(line.strip() for line in listed.splitlines() if line.strip())
    return names


def closure(names: list[str]) -> list[metadata.Distribution]:
    """The named distributions and, transitively, what they require in this environment."""
    todo = [normalized(name) for name in names]
    seen: set[str] = set()
    found: list[metadata.Distribution] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(dist)
        for text in dist.requires or ():
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(normalized(requirement.name))
    return found


def native_executables(dist: metadata.Distribution) -> list[str]:
    """The paths of the distribution's files in the tools' scripts folder that are not scripts
    (no ``#!`` line): compiled programs, which need no interpreter."""
    scripts = os.path.realpath(sysconfig.get_path("scripts"))
    found: list[str] = []
    for file in dist.files or ():
        if not file.parts or file.parts[0] != "..":
            continue
        path = os.path.realpath(str(dist.locate_file(file)))
        if os.path.dirname(path) != scripts or not os.path.isfile(path):
            continue
        with open(path, "rb") as program:
            if program.read(2) != b"#!":
                found.append(path)
    return found


def link(source: str, target: str) -> None:
    if os.path.lexists(source) and not os.path.lexists(target):
        os.symlink(source, target)


def main(view: str, scripts: str, names: list[str]) -> None:
    os.makedirs(view, exist_ok=True)
    os.makedirs(scripts, exist_ok=True)
    for dist in closure(names):
        base = str(dist.locate_file(""))
        for name in sorted(top_level(dist)):
            link(os.path.join(base, name), os.path.join(view, name))
        for program in native_executables(dist):
            link(program, os.path.join(scripts, os.path.basename(program)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
