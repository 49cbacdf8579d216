"""Changed-line coverage as line sets, and their arithmetic.

A measurement is a set of executed statement lines per file. Runs are combined as set unions:
"baseline + new file" is the baseline's lines plus the lines the new file's own run executed,
so each candidate costs one coverage run, not a rerun of the whole suite. The only thing done to
PR code outside the sandbox is *parsing* it (``coverage.parser.PythonParser``) to know which
changed lines are statements, for files that no test imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coverage.parser import PythonParser

Lines = dict[str, set[int]]  # repo-relative path -> line numbers


def _parsed(checkout: Path, path: str) -> tuple[list[str], PythonParser] | None:
    from coverage.parser import PythonParser

    try:
        text = (checkout / path).read_text(encoding="utf-8", errors="replace")
        parser = PythonParser(text=text, filename=path)
        parser.parse_source()
    except Exception:  # a syntax error or anything else: nothing measurable
        return None
    return text.splitlines(), parser


def executable_lines(checkout: Path, path: str) -> set[int]:
    """Statement lines of a file no test imported (parsed, never executed)."""
    parsed = _parsed(checkout, path)
    return set(parsed[1].statements) if parsed else set()


def statement_starts(checkout: Path, path: str, lines: set[int]) -> set[int]:
    """The first lines of the statements that ``lines`` of a Python file are part of. Coverage
    counts a multi-line statement on its first line only, so a change to an element of a
    multi-line literal or call (a dict entry, a list item, an argument) changes that statement:
    without this it was "no changed statement", and nothing was tested. Blank and comment-only
    lines change no statement. A file that does not parse, or is not Python, keeps its lines."""
    return _starts(_parsed(checkout, path) if path.endswith(".py") else None, lines)


def _starts(parsed: tuple[list[str], PythonParser] | None, lines: set[int]) -> set[int]:
    if parsed is None:
        return lines
    text, parser = parsed
    code = {n for n in lines if 0 < n <= len(text) and text[n - 1].strip()[:1] not in ("", "#")}
    return set(parser.first_lines(code))


@dataclass
class ChangedCoverage:
    """Changed executable lines and which of them some run covered."""

    executable: Lines  # changed lines that are statements, per file
    covered: Lines

    @property
    def total(self) -> int:
        return sum(len(lines) for lines in self.executable.values())

    @property
    def covered_count(self) -> int:
        return sum(len(self.covered.get(p, set()) & ls) for p, ls in self.executable.items())

    def percent(self) -> int:
        return round(100 * self.covered_count / self.total) if self.total else 100

    def uncovered(self, path: str) -> set[int]:
        return self.executable.get(path, set()) - self.covered.get(path, set())


def changed_executable(checkout: Path, changed: dict[str, set[int]], statements: Lines) -> Lines:
    result: Lines = {}
    for path, lines in changed.items():
        known = statements.get(path)
        python = path.endswith(".py")
        # one parse serves both: the statements of a file no run measured, and the starts
        parsed = _parsed(checkout, path) if python or known is None else None
        if known is None:
            known = set(parsed[1].statements) if parsed else set()
        result[path] = _starts(parsed if python else None, lines) & known
    return result


def union(*measurements: Lines) -> Lines:
    merged: Lines = {}
    for lines in measurements:
        for path, numbers in lines.items():
            merged.setdefault(path, set()).update(numbers)
    return merged


def restrict(lines: Lines, to: Lines) -> Lines:
    return {p: lines.get(p, set()) & wanted for p, wanted in to.items()}


def count(lines: Lines) -> int:
    return sum(len(v) for v in lines.values())


def gained(candidate: Lines, before: Lines, among: Lines | None = None) -> Lines:
    """Lines ``candidate`` executed that ``before`` did not (only ``among`` when given)."""
    scope = candidate if among is None else restrict(candidate, among)
    out = {p: ls - before.get(p, set()) for p, ls in scope.items()}
    return {p: ls for p, ls in out.items() if ls}
