"""The modules a project's test files import at their top level (pure, but for the walk that
reads them), to tell when the install left out something its tests need.

A test module whose top level imports a module that is not installed cannot even be
collected: pytest stops with "interrupted". A CI that installs the project's extras
(``pip install .[all]``, ``uv sync --all-extras``) has them; Tandem's install reads only the
test extras, so when the tests import what the environment does not have, it installs the
project's other extras too (:func:`jobs.dependencies.install_plan.with_extras`). Only unguarded
imports count (the module body, not inside ``try`` or ``if``): those the project itself expects
to be there.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from jobs.languages.python.testfiles import is_test_file

MAX_TEST_FILES = 2000
MAX_FILE_BYTES = 1_000_000
_SKIP_DIRS = {"node_modules", "site-packages", "__pycache__", "build", "dist"}


def top_level_imports(source: str) -> set[str]:
    """The top-level names a module imports unguarded, at its top level (``import a.b`` and
    ``from a.b import c``: ``a``); relative imports and ``__future__`` left out."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - {"__future__"}


def candidates(checkout: Path) -> list[str]:
    """The names the checkout's test files import that are neither the standard library nor
    the checkout's own top-level modules and packages, sorted. Its own: what lies at the root,
    in ``src/``, or beside a test file (pytest puts a test's directory, or the first one above
    it without ``__init__.py``, on the path), never a module deeper in the package, such as
    a ``preconf/msgspec.py`` that wraps the library of that name."""
    imported: set[str] = set()
    places: set[Path] = {checkout, checkout / "src"}
    # By the file's name alone: a test module or a conftest (a helper module in tests/ is not
    # read, as it may guard what it imports for the tests).
    for path in _python_files(checkout, is_test_file):
        places.update([path.parent, *path.parent.parents])
        text = _read_small(path)
        if text is not None:
            imported |= top_level_imports(text)
    local = {name for place in places if place.is_relative_to(checkout) for name in _names(place)}
    return sorted(imported - local - set(sys.stdlib_module_names))


def own_code_imports(checkout: Path, module: str) -> bool:
    """Whether a Python file of the checkout's own (not a test file; vendored and built trees
    left out) imports ``module`` unguarded at its top level: what the project cannot run
    without."""
    for path in _python_files(checkout, lambda name: not is_test_file(name)):
        text = _read_small(path)
        if text is not None and module in text and module in top_level_imports(text):
            return True
    return False


def _python_files(checkout: Path, named: Callable[[str], bool]) -> Iterator[Path]:
    """The checkout's ``.py`` files whose name `named` takes, at most MAX_TEST_FILES, dot
    folders and vendored or built trees left out."""
    seen = 0
    for root, dirs, files in os.walk(checkout):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        for name in files:
            if not name.endswith(".py") or not named(name):
                continue
            if seen >= MAX_TEST_FILES:
                return
            seen += 1
            yield Path(root) / name


def _read_small(path: Path) -> str | None:
    """`path`'s text, None where it is too large, a link or unreadable."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES or path.is_symlink():
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _names(place: Path) -> set[str]:
    """The top-level module and package names a directory on the path gives."""
    try:
        entries = list(place.iterdir())
    except OSError:
        return set()
    return {e.name.removesuffix(".py") for e in entries if e.is_dir() or e.suffix == ".py"}
