"""Changed-line coverage as line sets, and their arithmetic.

A measurement is a set of executed statement lines per file. Runs are combined as set unions:
"baseline + new file" is the baseline's lines plus the lines the new file's own run executed,
so each candidate costs one coverage run, not a rerun of the whole suite. Which changed lines
are statements is the language's (``Language.changed_executable``; Python's parses a file no
test imported, never runs it: :mod:`jobs.languages.python.python_statements`).
"""

from __future__ import annotations

from dataclasses import dataclass

Lines = dict[str, set[int]]  # repo-relative path -> line numbers


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
