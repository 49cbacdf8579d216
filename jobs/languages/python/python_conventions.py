"""A Python repository's own test conventions (:func:`detect`), read from its files (parsed, never
executed), for the agent's prompt and the output folder
(:meth:`jobs.languages.python.python_backend.Python.conventions`)."""

from __future__ import annotations

import ast
import tomllib
from collections import Counter
from pathlib import Path, PurePosixPath

from jobs.languages.conventions import Conventions
from jobs.languages.python.testfiles import is_test_file

_SKIP_DIRS = {".git", ".tandem-work", "node_modules", ".venv", "venv", "site-packages", ".tox"}
_MAX_FILES = 5000


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    stack = [root]
    while stack and len(found) < _MAX_FILES:
        here = stack.pop()
        try:
            entries = sorted(here.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in _SKIP_DIRS and not entry.name.startswith("."):
                    stack.append(entry)
            elif entry.suffix == ".py":
                found.append(entry.relative_to(root).as_posix())
    return found


def fixtures_in(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                text = ast.unparse(target)
                if text.endswith("fixture"):
                    names.append(node.name)
    return names


def _pytest_config(root: Path) -> str | None:
    for name in ("pytest.ini", "tox.ini", "setup.cfg"):
        path = root / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if "[pytest]" in text or "[tool:pytest]" in text:
                return name
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8", errors="replace"))
        except tomllib.TOMLDecodeError:
            return None
        if "pytest" in data.get("tool", {}):
            return "pyproject.toml ([tool.pytest.ini_options])"
    return None


def detect(root: Path) -> Conventions:
    files = _walk(root)
    # Test modules only: a conftest or a helper in tests/ says nothing of how tests are named.
    tests = [f for f in files if is_test_file(f, conftest=False, in_test_folder=False)]
    dirs = Counter(str(PurePosixPath(f).parent) for f in tests)
    suffix_style = sum(1 for f in tests if PurePosixPath(f).name.endswith("_test.py"))
    naming = "<name>_test.py" if tests and suffix_style > len(tests) / 2 else "test_<name>.py"
    unittest_files = 0
    for path in tests[:50]:
        text = (root / path).read_text(encoding="utf-8", errors="replace")
        if "unittest.TestCase" in text or "(TestCase)" in text:
            unittest_files += 1
    framework = "unittest" if tests and unittest_files > len(tests[:50]) / 2 else "pytest"
    fixtures: dict[str, list[str]] = {}
    for path in files:
        if PurePosixPath(path).name == "conftest.py":
            names = fixtures_in((root / path).read_text(encoding="utf-8", errors="replace"))
            if names:
                fixtures[path] = names
    example = min(tests, key=lambda f: abs((root / f).stat().st_size - 1500)) if tests else None
    return Conventions(
        framework=framework,
        test_dirs=[d for d, _ in dirs.most_common()],
        naming=naming,
        fixtures=fixtures,
        config=_pytest_config(root),
        test_files=len(tests),
        example=example,
    )
