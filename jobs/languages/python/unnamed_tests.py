"""Test modules pytest's default names miss: a ``tests.py`` that holds the project's tests (json-
patch's, beside its module at the root, run by ``python tests.py`` from its makefile and CI; a
Django app's). pytest collects only ``test_*.py`` and ``*_test.py`` unless told, so its baseline
found none of them ("Existing tests: none found") while they run every changed line.

:func:`python_files_option` is the ``-o python_files=…`` every pytest run of the project then
takes (the baseline, candidates, the base commit's, the mutants'), through the launchers' own
options: pytest's default names and ``tests.py``. It is given only where such a module holds
tests (a ``unittest.TestCase`` or a ``test_`` function) and the project's pytest config and its
own command name no ``python_files`` of their own (theirs decide then).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from jobs.dependencies.pip_log import CheckoutFiles
from jobs.dependencies.pytestconfig import read_pytest_config
from jobs.languages.python.testfiles import UNNAMED_TEST_MODULES

DEFAULT_NAMES = ("test_*.py", "*_test.py")  # pytest's python_files
# a module that holds tests pytest collects: a TestCase subclass or a test function
HOLDS_TESTS = re.compile(rb"^(?:class \w+\(.*TestCase\)|def test_\w*\()", re.MULTILINE)
SKIPPED_FOLDERS = frozenset(
    {".git", ".tox", ".nox", ".venv", "venv", "node_modules", "build", "dist", "site-packages"}
)
MAX_DEPTH = 4
MAX_FILES = 20_000  # entries walked: a huge tree is not searched to its end
MAX_BYTES = 1_000_000


def modules_with_tests(checkout: Path) -> list[str]:
    """Checkout-relative paths of the modules named :data:`UNNAMED_TEST_MODULES` that hold
    tests."""
    found = []
    for path in _named(checkout):
        try:
            with path.open("rb") as f:
                text = f.read(MAX_BYTES)
        except OSError:
            continue
        if HOLDS_TESTS.search(text):
            found.append(path.relative_to(checkout).as_posix())
    return sorted(found)


def _named(checkout: Path) -> Iterator[Path]:
    seen = 0
    for folder, dirs, files in os.walk(checkout):
        depth = len(Path(folder).relative_to(checkout).parts)
        dirs[:] = [
            d
            for d in dirs
            if depth < MAX_DEPTH and d not in SKIPPED_FOLDERS and not d.startswith(".")
        ]
        seen += len(files) + len(dirs)
        for name in files:
            path = Path(folder) / name
            if name in UNNAMED_TEST_MODULES and not path.is_symlink():
                yield path
        if seen > MAX_FILES:
            return


def python_files_option(checkout: Path, own_options: Iterable[str]) -> list[str]:
    """``["-o", "python_files=test_*.py *_test.py tests.py"]`` where a ``tests.py`` holds
    tests and neither the project's pytest config nor its own command's options
    (``own_options``) set ``python_files``; else none."""
    if any("python_files" in word for word in own_options):
        return []
    config = read_pytest_config(CheckoutFiles(checkout), [])
    if config is not None:
        try:
            text = (checkout / config.path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        if "python_files" in text:
            return []
    if not modules_with_tests(checkout):
        return []
    return ["-o", "python_files=" + " ".join([*DEFAULT_NAMES, *sorted(UNNAMED_TEST_MODULES)])]
