"""Import arrows the layout promises, read from the source (an AST walk, nothing imported).

- The dependency install (jobs/dependencies) sits below test generation (jobs/testgen, which
  imports it): it must not import jobs.testgen, or the two import each other.
- The sandbox scripts (jobs/sandbox/scripts) run in the sandbox's python, where Tandem's own
  packages are not installed: they import none of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

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


def test_the_sandbox_scripts_import_nothing_of_tandem() -> None:
    assert imports_of("jobs/sandbox/scripts", TANDEM_PACKAGES) == []
    assert imports_of("jobs/sandbox", TANDEM_PACKAGES)  # the check sees what it looks for
