"""istanbul's ``coverage-final.json`` as line sets (pure: report text in, line sets out).

vitest (``--coverage.reporter=json``, either provider) and jest (``--coverageReporters=json``)
write the same istanbul format: per absolute file path, a ``statementMap`` (statement id ->
its start and end) and ``s`` (statement id -> times it ran). A line counts as executable when a
statement *starts* on it, and as covered when any statement starting on it ran: the same rule as
coverage.py's statement lines for Python, so a multi-line statement is one line (its first), and
a closing brace or a comment is no line at all. The result plugs into
:mod:`jobs.testgen.line_sets` (repository-relative path -> line numbers).

Before vitest 4 the v8 provider counted one statement per line; vitest 4 and the istanbul
provider count real statements. Both read the same way here.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobs.testgen.line_sets import ChangedCoverage, Lines


@dataclass(frozen=True)
class Coverage:
    statements: Lines  # lines where a statement starts, per repository-relative path
    executed: Lines  # those of them where a statement that starts there ran
    skipped: tuple[str, ...] = ()  # report entries that were not well-formed, and why


@dataclass(frozen=True)
class ReportError:
    reason: str


def _relative(path: str, root: str) -> str | None:
    """``path`` relative to the checkout ``root`` (both absolute, POSIX), None outside it."""
    normal = posixpath.normpath(path)
    base = posixpath.normpath(root)
    if normal == base or not normal.startswith(base.rstrip("/") + "/"):
        return None
    return normal[len(base.rstrip("/")) + 1 :]


def _start_line(location: Any) -> int | None:
    if not isinstance(location, Mapping):
        return None
    start = location.get("start")
    line = start.get("line") if isinstance(start, Mapping) else None
    return line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None


def parse_report(text: str | bytes, root: str) -> Coverage | ReportError:
    """The statement and executed lines of every file under ``root`` in the report."""
    try:
        data = json.loads(text)
    except ValueError as e:
        return ReportError(f"coverage-final.json is not valid JSON ({e})")
    if not isinstance(data, dict):
        return ReportError("coverage-final.json is not a JSON object")
    statements: Lines = {}
    executed: Lines = {}
    skipped: list[str] = []
    for key, entry in data.items():
        if isinstance(entry, Mapping) and isinstance(entry.get("data"), Mapping):
            entry = entry["data"]  # istanbul's older wrapped form
        if not isinstance(entry, Mapping):
            skipped.append(f"{key}: not an object")
            continue
        path = entry.get("path") if isinstance(entry.get("path"), str) else key
        relative = _relative(str(path), root)
        if relative is None:
            continue  # outside the checkout: the runner's own files, a linked package
        statement_map, counts = entry.get("statementMap"), entry.get("s")
        if not isinstance(statement_map, Mapping) or not isinstance(counts, Mapping):
            skipped.append(f"{relative}: no statementMap or s")
            continue
        lines, ran = statements.setdefault(relative, set()), executed.setdefault(relative, set())
        for statement, location in statement_map.items():
            line = _start_line(location)
            if line is None:
                continue
            lines.add(line)
            count = counts.get(statement)
            if isinstance(count, int | float) and count > 0:
                ran.add(line)
    return Coverage(statements, executed, tuple(skipped))


def changed_coverage(coverage: Coverage, changed: Lines) -> ChangedCoverage:
    """The changed lines that are statements, and which of them ran. A changed file the report
    does not name (no test imported it, and the run did not ``include`` it) has no known
    statements, so it counts nothing either way."""
    executable = {p: lines & coverage.statements.get(p, set()) for p, lines in changed.items()}
    covered = {p: lines & coverage.executed.get(p, set()) for p, lines in executable.items()}
    return ChangedCoverage(executable, covered)
