"""What the offline engines (all of which write Python tests) read of a Python project: a source
file's importable module (:func:`module_for`) and the project's test files, whose literal calls
are type evidence and seeds (:func:`test_sources`). Read, never executed."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from jobs.languages.python.testfiles import is_test_file

# The test files read as evidence (literal calls, seeds) by the offline engines.
MAX_TEST_FILES = 300
MAX_TEST_FILE_BYTES = 300_000


def module_for(checkout: Path, path: str) -> tuple[str, str] | None:
    """(import root relative to the checkout, dotted module name) of a source file."""
    pure = PurePosixPath(path)
    if pure.suffix != ".py" or not all(p.isidentifier() for p in [*pure.parts[:-1], pure.stem]):
        return None
    parts = [pure.stem] if pure.stem != "__init__" else []
    parent = pure.parent
    # Climb while the directory is a package; the first non-package is the import root.
    while parent != PurePosixPath(".") and (checkout / parent / "__init__.py").exists():
        parts.insert(0, parent.name)
        parent = parent.parent
    if not parts:
        return None
    return parent.as_posix(), ".".join(parts)


def test_sources(checkout: Path) -> dict[str, str]:
    """The repository's test files (bounded), whose literal calls are type evidence."""
    found: dict[str, str] = {}
    for path in sorted(checkout.rglob("*.py")):
        relative = path.relative_to(checkout)
        if any(p.startswith(".") or p in ("node_modules", "site-packages") for p in relative.parts):
            continue
        if not is_test_file(relative.as_posix()) or path.stat().st_size > MAX_TEST_FILE_BYTES:
            continue
        found[relative.as_posix()] = path.read_text(encoding="utf-8", errors="replace")
        if len(found) >= MAX_TEST_FILES:
            break
    return found
