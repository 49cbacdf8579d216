"""Runs inside the sandbox, with the tools' python (``python -I tools_view.py VIEW NAME...``):
makes VIEW a folder of symlinks to the named distributions of the tools' environment and to
everything they require, their top-level modules and their metadata. The project's environment
adds VIEW instead of the tools' whole site-packages (``jobs.dependencies.install``), so its tests
import pytest, coverage and what its own install found already installed, and nothing else of
the tools'. Standard library and ``packaging`` (a dependency of pytest) only.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import sys

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


def main(view: str, names: list[str]) -> None:
    os.makedirs(view, exist_ok=True)
    for dist in closure(names):
        base = str(dist.locate_file(""))
        for name in sorted(top_level(dist)):
            source = os.path.join(base, name)
            target = os.path.join(view, name)
            if os.path.lexists(source) and not os.path.lexists(target):
                os.symlink(source, target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
