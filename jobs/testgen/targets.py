"""What to write tests for: the changed statements no existing test covers in the changed
source files (which files those are is the language's: :mod:`jobs.languages`), and the
functions those statements are in (the language's ``functions_touching``, which parses the
source, never runs it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jobs.testgen import line_sets

MAX_EXCERPT_LINES = 40
# A source's text and some of its lines in; the qualified names of the functions that hold one
# of them out (the run's language's ``Language.functions_touching``).
FunctionsTouching = Callable[[str, set[int]], list[str]]


@dataclass(frozen=True)
class Target:
    """One changed source file the engine is asked to cover."""

    path: str
    lines: list[int]  # changed lines
    functions: list[str]  # functions with a changed line
    uncovered: list[int] = field(default_factory=list)  # changed statements nothing covers
    uncovered_functions: list[str] = field(default_factory=list)


def plan_targets(
    checkout: Path,
    sources: dict[str, set[int]],
    before: line_sets.ChangedCoverage,
    max_files: int,
    *,
    functions_touching: FunctionsTouching,
    covered_too: bool = False,
) -> tuple[list[Target], list[str]]:
    """Files with uncovered changed statements, most uncovered first, capped at ``max_files``
    (``covered_too``: also those whose changed statements all run, after them), with the
    functions their lines are in (``functions_touching``: the run's language's). Returns the
    targets and one line per file left out."""
    ranked: list[Target] = []
    left_out: list[str] = []
    for path, lines in sources.items():
        text = (checkout / path).read_text(encoding="utf-8", errors="replace")
        uncovered = before.uncovered(path)
        if not uncovered and not (covered_too and before.executable.get(path)):
            if before.executable.get(path):
                left_out.append(f"`{path}`: its changed lines are covered already")
            continue
        ranked.append(
            Target(
                path=path,
                lines=sorted(lines),
                functions=functions_touching(text, lines),
                uncovered=sorted(uncovered),
                uncovered_functions=functions_touching(text, uncovered),
            )
        )
    ranked.sort(key=lambda t: (-len(t.uncovered), t.path))
    for target in ranked[max_files:]:
        what = (
            f"{len(target.uncovered)} uncovered changed line(s)"
            if target.uncovered
            else "its changed lines all run, but their mutants survive"
        )
        left_out.append(f"`{target.path}`: {what}, beyond max_files ({max_files})")
    return ranked[:max_files], left_out


def compress(lines: list[int]) -> str:
    """[1,2,3,7,9,10] -> '1-3, 7, 9-10'"""
    if not lines:
        return ""
    ranges: list[str] = []
    start = previous = lines[0]
    for line in [*lines[1:], None]:
        if line is not None and line == previous + 1:
            previous = line
            continue
        ranges.append(f"{start}-{previous}" if previous != start else str(start))
        if line is not None:
            start = previous = line
    return ", ".join(ranges)


def excerpt(checkout: Path, target: Target) -> str:
    """The target's uncovered lines with their numbers, at most ``MAX_EXCERPT_LINES``."""
    source = (checkout / target.path).read_text(encoding="utf-8", errors="replace").splitlines()
    shown = [n for n in target.uncovered if 0 < n <= len(source)][:MAX_EXCERPT_LINES]
    body = "\n".join(f"{n:>5}  {source[n - 1]}" for n in shown)
    more = len(target.uncovered) - len(shown)
    return body + (f"\n  … and {more} more line(s)" if more > 0 else "")
