"""A small git repository with one pull-request-like change, for `tandem run --demo`: the
main job on a fresh machine, with no GitHub, no Redis server and no LLM account needed.

The base commit has a package with one function and one test; the head commit adds functions
whose new lines the existing test does not cover, plus one function more complex than it needs
to be, so both parts have something to say.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from jobs import git

BASE_FILES = {
    "README.md": "# shapes\n\nA tiny package Tandem's demo writes tests for.\n",
    "shapes/__init__.py": "",
    "shapes/geometry.py": """def area(w, h):
    return w * h
""",
    "tests/__init__.py": "",
    "tests/test_geometry.py": """from shapes.geometry import area


def test_area():
    assert area(2, 3) == 6
""",
}

HEAD_FILES = {
    "shapes/geometry.py": """def area(w, h):
    if w < 0 or h < 0:
        raise ValueError("negative size")
    return w * h


def perimeter(w, h):
    if w < 0 or h < 0:
        raise ValueError("negative size")
    return 2 * (w + h)


def kind(w, h):
    if w == h:
        return "square"
    if w > h:
        return "wide"
    return "tall"


def label(w, h, unit, rounded, verbose, precision, sep):
    if verbose:
        if rounded:
            if unit == "cm":
                if precision:
                    return f"{round(w, precision)}{sep}{round(h, precision)} cm ({kind(w, h)})"
                return f"{round(w)}{sep}{round(h)} cm ({kind(w, h)})"
            elif unit == "mm":
                return f"{round(w)}{sep}{round(h)} mm ({kind(w, h)})"
            elif unit == "in":
                return f"{round(w)}{sep}{round(h)} in ({kind(w, h)})"
            else:
                return f"{round(w)}{sep}{round(h)} ({kind(w, h)})"
        else:
            if unit == "cm":
                return f"{w}{sep}{h} cm ({kind(w, h)})"
            elif unit == "mm":
                return f"{w}{sep}{h} mm ({kind(w, h)})"
            elif unit == "in":
                return f"{w}{sep}{h} in ({kind(w, h)})"
            elif unit == "m":
                return f"{w / 100}{sep}{h / 100} m ({kind(w, h)})"
            else:
                return f"{w}{sep}{h} ({kind(w, h)})"
    return f"{w}{sep}{h}"
""",
}

DEMO_ENV = {
    "GIT_AUTHOR_NAME": "Tandem demo",
    "GIT_AUTHOR_EMAIL": "demo@tandem.invalid",
    "GIT_COMMITTER_NAME": "Tandem demo",
    "GIT_COMMITTER_EMAIL": "demo@tandem.invalid",
}


def _git(repo: Path, *args: str) -> None:
    git.run(repo, *args, env=DEMO_ENV)


def _write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def make_demo_repo(path: Path) -> Path:
    """(Re)create the demo repository at `path`: branch `main` (base) and `feature` (head,
    checked out). Returns `path`."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    _git(path, "init", "--quiet", "--initial-branch=main")
    _write(path, BASE_FILES)
    _git(path, "add", "--all")
    _git(path, "commit", "--quiet", "-m", "shapes: area")
    _git(path, "checkout", "--quiet", "-b", "feature")
    _write(path, HEAD_FILES)
    _git(path, "commit", "--quiet", "--all", "-m", "shapes: perimeter, kind and label")
    return path
