"""The tests the JS/TS characterization engine writes from the probe's outcomes (pure): one
``describe`` per function, one ``it`` per call that behaved the same twice, asserting what the
head's code did: ``toEqual`` a value, ``toThrow`` an error's message, ``resolves``/``rejects``
for a promise. Written in the package's own style (:class:`.suite_layout.TestLayout`): its
runner, ESM or CommonJS, its globals or imported ones.

What it does not write: a value with no source form (a class instance, a function: "opaque"),
a call whose two runs differ ("unstable"), and a default export in a CommonJS test file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from jobs.languages.javascript.export_calls import ExportedFunction
from jobs.languages.javascript.export_probe import Calls, ProbeOutcome, runner_import
from jobs.languages.javascript.suite_layout import TestLayout

MAX_NAME = 80
MAX_MESSAGE = 200
MAX_TESTS = 12  # per function: the calls that differ on the base first, then new behaviours


@dataclass
class Written:
    text: str | None  # the test file, None when no call gave a test
    tests: int = 0
    changed: int = 0  # of them on calls whose outcome differs on the base commit
    skipped: Counter[str] = field(default_factory=Counter)  # kind -> calls not written


def case_name(function: str, args: tuple[str, ...], taken: set[str]) -> str:
    """A name a runner's ``-t`` pattern matches plainly: letters, digits and a few marks."""
    words = ", ".join("empty string" if a in ('""', "''", "``") else a for a in args)
    shown = re.sub(r"[^\w ,.=-]+", " ", f"{function} with {words or 'no arguments'}")
    name = re.sub(r"\s+", " ", shown).strip()[:MAX_NAME].rstrip()
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name} {n}", n + 1
    taken.add(unique)
    return unique


def _assertion(outcome: ProbeOutcome, call: str) -> str | None:
    message = outcome.message if 0 < len(outcome.message) <= MAX_MESSAGE else ""
    expected = json.dumps(message) if message else ""
    if outcome.kind == "value":
        if outcome.awaited:
            return f"await expect({call}).resolves.toEqual({outcome.source});"
        return f"expect({call}).toEqual({outcome.source});"
    if outcome.kind == "throws":
        return f"expect(() => {call}).toThrow({expected});"
    if outcome.kind == "rejects":
        return f"await expect({call}).rejects.toThrow({expected});"
    return None


def _imports(layout: TestLayout, specifier: str, functions: list[ExportedFunction]) -> str | None:
    named = sorted({f.name for f in functions if f.export == "name"})
    default = next((f.name for f in functions if f.export == "default"), None)
    esm = layout.runner == "vitest" or layout.esm
    if esm:
        parts = [default] if default else []
        if named:
            parts.append("{ " + ", ".join(named) + " }")
        return f"import {', '.join(parts)} from {json.dumps(specifier)};\n"
    if default:
        return None
    return f"const {{ {', '.join(named)} }} = require({json.dumps(specifier)});\n"


def chosen(
    outcomes: list[ProbeOutcome], changed: Collection[tuple[str, int]], limit: int = MAX_TESTS
) -> list[ProbeOutcome]:
    """A function's outcomes to write, at most ``limit``: those on calls that behave
    differently on the base commit first, then one per behaviour not yet shown, then the rest,
    each group in call order."""
    ordered = sorted(outcomes, key=lambda o: o.index)
    first = [o for o in ordered if (o.function, o.index) in changed]
    seen = {(o.kind, o.source, o.message) for o in first}
    new = []
    for o in ordered:
        if o not in first and (o.kind, o.source, o.message) not in seen:
            seen.add((o.kind, o.source, o.message))
            new.append(o)
    rest = [o for o in ordered if o not in first and o not in new]
    return (first + new + rest)[:limit]


def write_tests(
    layout: TestLayout,
    specifier: str,
    calls: Calls,
    outcomes: list[ProbeOutcome],
    changed: Collection[tuple[str, int]] = (),
) -> Written:
    """The test file for one source from the probe's ``outcomes`` of its ``calls``; ``changed``:
    the (function, call index) whose outcome differs on the base commit."""
    written = Written(None)
    blocks: list[str] = []
    used: list[ExportedFunction] = []
    for name, (function, arguments) in calls.items():
        taken: set[str] = set()
        cases: list[str] = []
        mine = [o for o in outcomes if o.function == name and 0 <= o.index < len(arguments)]
        writable = []
        for outcome in mine:
            if _assertion(outcome, "x") is None:
                written.skipped[outcome.kind] += 1
            else:
                writable.append(outcome)
        for outcome in chosen(writable, changed):
            args = arguments[outcome.index]
            assertion = _assertion(outcome, f"{function.name}({', '.join(args)})")
            assert assertion is not None
            asynchronous = "async " if assertion.startswith("await") else ""
            title = json.dumps(case_name(function.name, args, taken))
            cases.append(f"  it({title}, {asynchronous}() => {{\n    {assertion}\n  }});\n")
            written.changed += (name, outcome.index) in changed
        if cases:
            used.append(function)
            blocks.append(f"describe({json.dumps(function.name)}, () => {{\n{''.join(cases)}}});\n")
            written.tests += len(cases)
    imports = _imports(layout, specifier, used) if used else None
    if imports is None:
        if used:
            written.skipped["default export in CommonJS"] += written.tests
            written.tests = written.changed = 0
        return written
    written.text = runner_import(layout) + imports + "\n" + "\n".join(blocks)
    return written
