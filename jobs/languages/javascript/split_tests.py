"""JS/TS test files split into their tests, and written back with some of them (pure): what
``split_tests.cjs`` read with the TypeScript compiler API (each ``it``/``test`` and ``describe``
statement's lines and name) in, texts out. Used by per-test selection (:mod:`.js_per_test`).

A test's name is the runners' (``describe > … > title``, as :mod:`.run_results` names it after
its file); a file is written back by removing the lines of the tests not kept, and of every
``describe`` left with no test, so what stays is the engine's text, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobs.testgen import line_sets


def canonical(name: str) -> str:
    """A test's id or name without the empty titles some runners put in it: vitest 0.x names
    the file's own suite "", so its report says ``file >  > describe > title``."""
    return " > ".join(part for part in name.split(" > ") if part)


@dataclass(frozen=True)
class JsTest:
    """One test of a candidate file."""

    __test__ = False  # not a pytest class

    origin: str  # its file, checkout-relative
    name: str  # "describe > title", as the runners name it
    first: int  # its statement's lines, 1-based
    last: int
    source: str  # its lines' text

    @property
    def label(self) -> str:
        return f"{self.origin}::{self.name}"

    @property
    def test_id(self) -> str:
        """Its id in a run's outcomes (:mod:`.run_results`)."""
        return f"{self.origin} > {self.name}"


@dataclass(frozen=True)
class Block:
    name: str
    first: int
    last: int


@dataclass
class SplitFile:
    path: str
    text: str
    tests: list[JsTest] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    problem: str | None = None  # why it could not be split


@dataclass
class Split:
    files: list[SplitFile] = field(default_factory=list)
    # "path::qualified name" of each function of the changed sources -> its changed lines
    functions: dict[str, line_sets.Lines] = field(default_factory=dict)


def parse_split(data: Any, texts: dict[str, str], changed: line_sets.Lines) -> Split:
    """``split_tests.cjs``'s JSON for the files ``texts`` (path -> text) and the changed sources'
    ``changed`` lines. A file the script said nothing of cannot be split."""
    found = Split()
    files = data.get("files") if isinstance(data, dict) else None
    files = files if isinstance(files, dict) else {}
    for path, text in sorted(texts.items()):
        entry = files.get(path)
        if not isinstance(entry, dict):
            found.files.append(SplitFile(path, text, problem="the splitter said nothing of it"))
            continue
        lines = text.split("\n")
        try:
            tests = [
                JsTest(
                    path,
                    str(t["name"]),
                    int(t["first"]),
                    int(t["last"]),
                    "\n".join(lines[int(t["first"]) - 1 : int(t["last"])]),
                )
                for t in entry.get("tests") or []
            ]
            blocks = [
                Block(str(b["name"]), int(b["first"]), int(b["last"]))
                for b in entry.get("blocks") or []
            ]
        except (KeyError, TypeError, ValueError):
            found.files.append(SplitFile(path, text, problem="the splitter's answer is malformed"))
            continue
        problem = entry.get("problem")
        if problem is None and not tests:
            problem = "it has no test"
        found.files.append(SplitFile(path, text, tests, blocks, str(problem) if problem else None))
    found.functions = changed_functions(
        data.get("functions") if isinstance(data, dict) else {}, changed
    )
    return found


def changed_functions(spans: Any, changed: line_sets.Lines) -> dict[str, line_sets.Lines]:
    """ "path::qualified name" of the innermost function holding each changed line -> those
    lines; lines outside every function are left out (as Python's are)."""
    functions: dict[str, line_sets.Lines] = {}
    spans = spans if isinstance(spans, dict) else {}
    for path, lines in sorted(changed.items()):
        mine: list[tuple[int, int, str]] = []
        for span in spans.get(path) or []:
            try:
                mine.append((int(span[0]), int(span[1]), str(span[2])))
            except (IndexError, TypeError, ValueError):
                continue
        for line in sorted(lines):
            around = [s for s in mine if s[0] <= line <= s[1]]
            if around:
                name = max(around, key=lambda s: (s[0], -s[1]))[2]  # the innermost
                functions.setdefault(f"{path}::{name}", {}).setdefault(path, set()).add(line)
    return functions


def with_tests(file: SplitFile, kept: set[str]) -> str | None:
    """``file``'s text with only the tests named in ``kept`` (and the describes that hold one);
    None when none of its tests is kept."""
    if not any(t.name in kept for t in file.tests):
        return None
    drop: set[int] = set()
    for test in file.tests:
        if test.name not in kept:
            drop.update(range(test.first, test.last + 1))
    for block in file.blocks:
        inside = [t for t in file.tests if block.first <= t.first and t.last <= block.last]
        if not any(t.name in kept for t in inside):
            drop.update(range(block.first, block.last + 1))
    out: list[str] = []
    for number, line in enumerate(file.text.split("\n"), start=1):
        if number in drop:
            continue
        if not line.strip() and out and not out[-1].strip() and number - 1 in drop:
            continue  # a blank line that separated what was removed
        out.append(line)
    return "\n".join(out)
