"""The repository's own test conventions, read from its files (parsed, never executed)."""

from __future__ import annotations

import ast
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jobs.languages.python.testfiles import is_test_file


@dataclass(frozen=True)
class Prompting:
    """How the agent's prompts (:mod:`jobs.testgen.prompts`) speak of the run's tests: the
    runner, where a new file goes, how to run one file. A language's conventions give it
    (:meth:`Conventions.prompting`); these defaults are pytest's."""

    runner: str = "pytest"  # "You are writing {runner} tests"
    # One rule line of the first prompt (``{out}``: the output folder)
    new_files: str = (
        "Put new test files under `{out}/`, named `test_<module>_tandem.py` "
        "(create the directory first with `mkdir -p {out}` if it does not exist)."
    )
    # Where a proof round's file goes (``{out}``: the output folder)
    proof_file: str = "a new test file under `{out}/`, named `test_<module>_proof_tandem.py`"
    run: str = "python -m pytest -q <file>"  # the command that runs one test file
    rules: tuple[str, ...] = ()  # further rule lines of the first prompt (the runner's)


_SKIP_DIRS = {".git", ".tandem-work", "node_modules", ".venv", "venv", "site-packages", ".tox"}
_MAX_FILES = 5000


@dataclass
class Conventions:
    framework: str  # "pytest" or "unittest"
    test_dirs: list[str]  # most used first
    naming: str  # "test_<name>.py" or "<name>_test.py"
    fixtures: dict[str, list[str]] = field(default_factory=dict)  # conftest path -> names
    config: str | None = None  # where pytest is configured
    test_files: int = 0
    example: str | None = None  # one existing test file, for style

    def prompting(self) -> Prompting:
        """How the agent's prompts speak of these tests: pytest's."""
        return Prompting()

    def describe(self) -> str:
        lines = []
        if self.test_files:
            lines.append(
                f"- {self.test_files} existing test file(s), framework {self.framework}, "
                f"named `{self.naming}`, in " + ", ".join(f"`{d}/`" for d in self.test_dirs[:3])
            )
        else:
            lines.append("- The repository has no tests yet; use plain pytest functions.")
        if self.config:
            lines.append(f"- pytest is configured in `{self.config}`.")
        for conftest, names in list(self.fixtures.items())[:5]:
            shown = ", ".join(f"`{n}`" for n in names[:12])
            lines.append(f"- Fixtures in `{conftest}`: {shown}; reuse them instead of new ones.")
        if self.example:
            lines.append(f"- Follow the style of `{self.example}`.")
        return "\n".join(lines)


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
