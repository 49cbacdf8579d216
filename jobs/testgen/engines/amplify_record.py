"""Which project tests test amplification (:mod:`.amplify`) varies: read from the baseline's
per-test record (``.tandem-work/baseline.per-test.json``), the lines of the changed files each
passing test ran. Reads what the sandbox wrote: bounded, every field checked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

MAX_RECORD_BYTES = 50_000_000
NEAR_LINES = 200  # a test that ran no line of the changed file this close is not near it


def tests_that_ran(
    record: Path, changed: Mapping[str, set[int]]
) -> dict[str, dict[str, int]] | None:
    """Test file -> label (``Class.test`` or ``test``) -> how many changed lines it ran, of
    the passing tests the record saw run one; None without a record (bounded, every field
    checked: the sandbox wrote it). Where no test ran a changed line (a branch only an input
    no test gives takes), those that ran the lines of the changed files nearest them, within
    NEAR_LINES, count instead, the nearer the more: their inputs are the closest to the change
    the project holds (a schema of the keyword beside the changed one)."""
    entries = _passed_lines(record)
    if entries is None:
        return None
    found = _ranked(entries, lambda path, lines: len(lines & changed.get(path, set())))
    if not found:
        found = _ranked(entries, lambda path, lines: _nearness(lines, changed.get(path, set())))
    return found


def _ranked(
    entries: list[tuple[str, dict[str, set[int]]]],
    score: Callable[[str, set[int]], int],
) -> dict[str, dict[str, int]]:
    """Test file -> label -> the test's score (the sum over the files it ran), where not 0."""
    found: dict[str, dict[str, int]] = {}
    for nodeid, lines in entries:
        hits = sum(score(path, numbers) for path, numbers in lines.items())
        path, *names = nodeid.split("::")
        if names and hits:
            label = ".".join(n.split("[", 1)[0] for n in names)
            tests = found.setdefault(path, {})
            tests[label] = max(tests.get(label, 0), hits)
    return found


def _nearness(lines: set[int], changed: set[int]) -> int:
    """NEAR_LINES less the distance from the nearest of `lines` to a changed line; 0 when
    none is within NEAR_LINES."""
    distance = min((abs(a - b) for a in lines for b in changed), default=NEAR_LINES)
    return max(0, NEAR_LINES - distance)


def _passed_lines(record: Path) -> list[tuple[str, dict[str, set[int]]]] | None:
    """The record's passing tests, each with the lines of the watched files it ran; None
    without a record."""
    try:
        fd = os.open(record, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_RECORD_BYTES:
                return None
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    entries = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        return None
    found: list[tuple[str, dict[str, set[int]]]] = []
    for nodeid, entry in entries.items():
        if not isinstance(entry, dict) or entry.get("passed") is not True:
            continue
        lines = entry.get("lines")
        found.append(
            (
                str(nodeid),
                {
                    str(path): set(numbers)
                    for path, numbers in (lines.items() if isinstance(lines, dict) else ())
                    if isinstance(numbers, list) and all(type(n) is int for n in numbers)
                },
            )
        )
    return found
