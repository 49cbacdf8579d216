"""What a Python test file is: the one predicate every part of Tandem asks (pure, and it imports
nothing of Tandem, so that the dependency install may use it below test generation).

A test module is what pytest collects by default (``python_files = test_*.py *_test.py``),
and a ``tests.py``, which Tandem's pytest runs collect where it holds tests (``unnamed_tests``);
``conftest.py`` supports tests without being one; a file under a ``tests``/``test`` folder is
test code, whatever its name (helpers, fixtures, data). Callers say which of the last two
they count: test generation counts all three as "not source"; the test conventions count only
test modules; the dependency install reads test modules and conftests for their imports.
"""

from __future__ import annotations

from pathlib import PurePosixPath

TEST_FOLDERS = frozenset({"tests", "test"})
# Test modules by a name pytest's defaults miss (a root ``tests.py``: json-patch's, a Django
# app's); Tandem's pytest runs collect them where they hold tests (``unnamed_tests``)
UNNAMED_TEST_MODULES = frozenset({"tests.py"})


def is_test_file(path: str, *, conftest: bool = True, in_test_folder: bool = True) -> bool:
    """Whether the repository-relative ``path`` is Python test code: a test module by its name
    (``test_*``, ``*_test.py``, ``tests.py``); with ``conftest``, a ``conftest.py``; with
    ``in_test_folder``, any file under a ``tests`` or ``test`` folder. The name rule does not
    look at the suffix: callers that walk other files check ``.py`` themselves."""
    pure = PurePosixPath(path)
    name = pure.name
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name in UNNAMED_TEST_MODULES
        or (conftest and name == "conftest.py")
        or (in_test_folder and not TEST_FOLDERS.isdisjoint(pure.parts[:-1]))
    )


def tests_among(untracked: list[str]) -> list[str]:
    """The Python test modules among new files: what pytest collects by default."""
    return [
        path
        for path in untracked
        if path.endswith(".py") and is_test_file(path, conftest=False, in_test_folder=False)
    ]
