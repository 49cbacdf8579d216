"""Import arrows the layout promises, read from the source (an AST walk, nothing imported).

- The dependency install (jobs/dependencies) sits below test generation (jobs/testgen, which
  imports it): it must not import jobs.testgen, or the two import each other. The Python
  test-file predicate it shares with test generation (jobs/languages/python/testfiles) imports
  nothing of Tandem.
- The sandbox scripts (jobs/sandbox/scripts) run in the sandbox's python, where Tandem's own
  packages are not installed: they import none of them.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TANDEM_PACKAGES = ("bot", "jobs", "tandem")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (absolute names; relative ones resolved
    against the file's package)."""
    package = path.relative_to(ROOT).parent.as_posix().replace("/", ".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def imports_of(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / folder).rglob("*.py")
        for name in imported_modules(path)
        if name in forbidden or name.startswith(tuple(f"{f}." for f in forbidden))
    )


def test_the_dependency_install_does_not_import_test_generation() -> None:
    assert imports_of("jobs/dependencies", ("jobs.testgen",)) == []
    # The check sees what it looks for: test generation does import the install.
    assert imports_of("jobs/testgen", ("jobs.dependencies",))


def test_the_python_test_file_predicate_imports_nothing_of_tandem() -> None:
    """The dependency install uses it, below test generation (and the package inits it loads
    on the way import nothing either)."""
    for module in ("__init__.py", "python/__init__.py", "python/testfiles.py"):
        found = imported_modules(ROOT / "jobs/languages" / module)
        assert not [m for m in found if m.split(".")[0] in TANDEM_PACKAGES], module
    assert imports_of("jobs/dependencies", ("jobs.languages.python.testfiles",))


def test_the_sandbox_scripts_import_nothing_of_tandem() -> None:
    assert imports_of("jobs/sandbox/scripts", TANDEM_PACKAGES) == []
    assert imports_of("jobs/sandbox", TANDEM_PACKAGES)  # the check sees what it looks for


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, folders: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of ``folders`` it imports, anywhere in it (under ``TYPE_CHECKING``
    and inside functions too). ``from pkg import name`` is an arrow to the module ``pkg.name``
    where there is one, else to ``pkg`` (a package's ``__init__``)."""
    files = {module_name(root, p): p for folder in folders for p in (root / folder).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:  # relative: against the file's package
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    source = f"{base}.{source}" if source else base
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.add(submodule if submodule in files else source)
        graph[module] = {t for t in targets if t in files and t != module}
    return graph


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_jobs_and_bot_import_no_module_in_a_circle() -> None:
    found = circle(import_graph(ROOT, ("jobs", "bot")))
    assert found is None, "an import circle: " + " -> ".join(found or [])


@pytest.mark.parametrize(
    "module",
    [
        "jobs.languages.python.python_backend",
        "jobs.languages.javascript.javascript_backend",
        "jobs.dependencies.install",
        "jobs.testgen.engines.registry",
    ],
)
def test_a_module_other_code_starts_from_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """The circle check sees arrows between modules, not the package ``__init__`` that importing
    a submodule runs first: importing the Python backend first once met the amplification
    engine half made (base_commit -> jobs.testgen -> its engines -> amplify -> base_commit)."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_circle_check_sees_imports_under_type_checking_and_in_functions(
    tmp_path: Path,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n"
    )
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from . import a\n")
    (tmp_path / "pkg" / "c.py").write_text("from pkg import a, b\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.c"] == {"pkg.a", "pkg.b"}
    assert sorted(circle(graph) or []) == ["pkg.a", "pkg.a", "pkg.b"]


def shared_file_names(root: Path, folders: tuple[str, ...]) -> dict[str, list[str]]:
    """File name -> the modules of ``folders`` that have it, where more than one does
    (package ``__init__.py`` files aside)."""
    places: dict[str, list[str]] = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if path.name != "__init__.py":
                places.setdefault(path.name, []).append(path.relative_to(root).as_posix())
    return {name: paths for name, paths in places.items() if len(paths) > 1}


def test_no_two_product_modules_share_a_file_name() -> None:
    """Each file name says what it does: two ``report.py`` files would be two jobs under one
    name, and a traceback or an import would not say which."""
    assert shared_file_names(ROOT, (*TANDEM_PACKAGES, "core")) == {}


def test_the_shared_name_check_sees_files_in_different_packages(tmp_path: Path) -> None:
    for folder in ("bot", "jobs/review", "jobs/testgen"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "bot" / "report.py").write_text("")
    (tmp_path / "jobs/review" / "report.py").write_text("")
    (tmp_path / "jobs/testgen" / "tests_report.py").write_text("")
    assert shared_file_names(tmp_path, ("bot", "jobs")) == {
        "report.py": ["bot/report.py", "jobs/review/report.py"]
    }
