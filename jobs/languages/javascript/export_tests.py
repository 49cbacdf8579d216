"""The tests the JS/TS characterization engine writes from the probe's outcomes (pure): one
``describe`` per changed function or member, one ``it`` per candidate (:mod:`.export_candidates`)
that behaved the same twice (with the setup its expression needs), asserting what the
head's code did: ``toEqual`` a value (or its JSON text, for a value with no source form that has
one), ``toThrow`` an error's message, ``resolves``/``rejects``
for a promise. Written in the package's own style (:class:`.suite_layout.TestLayout`): its
runner, ESM or CommonJS, its globals or imported ones.

What it does not write: a value with no source form (a function, a class instance with no
fields: "opaque"), a call whose two runs differ ("unstable"), and imports a CommonJS test file
cannot say (a default export) or whose names would mean two things.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from jobs.languages.javascript.export_candidates import Candidate, Import, import_lines
from jobs.languages.javascript.export_probe import ProbeOutcome, runner_import
from jobs.languages.javascript.suite_layout import TestLayout

MAX_NAME = 80
MAX_MESSAGE = 200
MAX_TESTS = 12  # per function: the calls that differ on the base first, then new behaviours


@dataclass
class Written:
    text: str | None  # the test file, None when no call gave a test
    tests: int = 0
    changed: int = 0  # of them on calls whose outcome differs on the base commit
    killing: int = 0  # of them on calls that tell a surviving mutant apart from the head
    skipped: Counter[str] = field(default_factory=Counter)  # kind -> calls not written


def case_name(group: str, label: str, taken: set[str]) -> str:
    """A name a runner's ``-t`` pattern matches plainly: letters, digits and a few marks."""
    words = re.sub(r'(?<![\w"])(""|\'\'|``)(?![\w"])', "empty string", label)
    shown = re.sub(r"[^\w ,.=-]+", " ", f"{group} with {words or 'no arguments'}")
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
    if outcome.kind == "json":
        return f"expect(JSON.stringify({call})).toEqual({outcome.source});"
    if outcome.kind == "throws":
        return f"expect(() => {call}).toThrow({expected});"
    if outcome.kind == "rejects":
        return f"await expect({call}).rejects.toThrow({expected});"
    return None


def asserted(outcomes: Iterable[ProbeOutcome]) -> set[int]:
    """The candidates (indexes) whose outcome a test could assert."""
    return {o.index for o in outcomes if _assertion(o, "x") is not None}


def chosen(
    outcomes: list[ProbeOutcome],
    changed: Collection[tuple[str, int]],
    limit: int = MAX_TESTS,
    killing: Sequence[tuple[str, int]] = (),
) -> list[ProbeOutcome]:
    """A function's outcomes to write, at most ``limit`` and one more for each call in
    ``killing`` (those that tell a surviving mutant apart, in their order: each survivor's first
    call first): those on calls that behave differently on the base commit first, then the
    killing calls, then one per behaviour not yet shown, then the rest, each group in call
    order."""
    ordered = sorted(outcomes, key=lambda o: o.index)
    first = [o for o in ordered if (o.function, o.index) in changed]
    by_call = {(o.function, o.index): o for o in ordered}
    kills = [by_call[k] for k in killing if k in by_call and by_call[k] not in first]
    limit += min(len(kills), MAX_TESTS)
    first += kills
    seen = {(o.kind, o.source, o.message) for o in first}
    new = []
    for o in ordered:
        if o not in first and (o.kind, o.source, o.message) not in seen:
            seen.add((o.kind, o.source, o.message))
            new.append(o)
    rest = [o for o in ordered if o not in first and o not in new]
    return (first + new + rest)[:limit]


def _case(candidate: Candidate, outcome: ProbeOutcome, title: str) -> str:
    lines = [line for line in candidate.setup.splitlines() if line.strip()]
    if outcome.kind == "throws" and lines:
        # the probe ran the setup inside the call, and a throw may be the setup's own
        # (`program.hook(", ", …)` refuses the event before `parseAsync` runs)
        inner = "".join(f"      {line}\n" for line in lines)
        block = f"{{\n{inner}      return {candidate.expression};\n    }}"
        assertion = _assertion(outcome, "__TANDEM_CALL__")
        assert assertion is not None
        assertion = assertion.replace("() => __TANDEM_CALL__", f"() => {block}", 1)
        return f"  it({json.dumps(title)}, () => {{\n    {assertion}\n  }});\n"
    assertion = _assertion(outcome, candidate.expression)
    assert assertion is not None
    asynchronous = "async " if assertion.startswith("await") else ""
    setup = "".join(f"    {line}\n" for line in lines)
    return f"  it({json.dumps(title)}, {asynchronous}() => {{\n{setup}    {assertion}\n  }});\n"


def write_tests(
    layout: TestLayout,
    at: tuple[str, str],
    candidates: list[Candidate],
    outcomes: list[ProbeOutcome],
    changed: Collection[tuple[str, int]] = (),
    killing: Sequence[tuple[str, int]] = (),
) -> Written:
    """The test file at ``at[0]`` for the changed source ``at[1]`` (both package-relative) from
    the probe's ``outcomes`` of ``candidates``; ``changed``: the (group, index) whose outcome
    differs on the base commit; ``killing``: those that tell a surviving mutant apart."""
    written = Written(None)
    blocks: list[str] = []
    imports: list[Import] = []
    for group in dict.fromkeys(c.group for c in candidates):
        taken: set[str] = set()
        writable = []
        for outcome in (o for o in outcomes if o.function == group):
            if not 0 <= outcome.index < len(candidates):
                continue
            if _assertion(outcome, "x") is None:
                written.skipped[outcome.kind] += 1
            else:
                writable.append(outcome)
        cases = []
        for outcome in chosen(writable, changed, killing=killing):
            candidate = candidates[outcome.index]
            title = case_name(group, candidate.label, taken)
            cases.append(_case(candidate, outcome, title))
            imports += candidate.imports
            written.changed += (group, outcome.index) in changed
            written.killing += (group, outcome.index) in killing
        if cases:
            blocks.append(f"describe({json.dumps(group)}, () => {{\n{''.join(cases)}}});\n")
            written.tests += len(cases)
    lines = import_lines(layout, at[0], at[1], imports) if blocks else None
    if lines is None:
        if blocks:
            written.skipped["imports CommonJS cannot say"] += written.tests
            written.tests = written.changed = written.killing = 0
        return written
    written.text = _unchecked(layout, at[0]) + runner_import(layout) + lines + "\n"
    written.text += "\n".join(blocks)
    return written


def _unchecked(layout: TestLayout, path: str) -> str:
    """``// @ts-nocheck`` for a TypeScript test file jest runs: ts-jest type-checks the file
    and refuses all of it for one call whose argument its type does not allow (cron-parser's
    `new CronDate({})`, colord's `getDeltaE00(7, 7)`), and the calls vary an argument's kind
    on purpose; vitest runs such a file as it is."""
    typescript = path.endswith((".ts", ".tsx", ".mts", ".cts"))
    return "// @ts-nocheck\n" if layout.runner == "jest" and typescript else ""


_DESCRIBE = re.compile(r'describe\(("[^"\\]*"), \(\) => \{$')
_IT = re.compile(r'  it\(("[^"\\]*"), (?:async )?\(\) => \{$')


def pruned(text: str, names: set[str]) -> str | None:
    """The test file ``text``, as :func:`write_tests` writes it, without the tests ``names``
    ("describe > title", as the runners name a failure) and the describe blocks left empty; None
    where a name is no such test (a file of another's making) or where no test would be left."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    group: str | None = None
    start = kept_here = kept = 0
    found: set[str] = set()
    index = 0
    while index < len(lines):
        line = lines[index].rstrip("\n")
        if (opening := _DESCRIBE.match(line)) is not None:
            group, start, kept_here = json.loads(opening[1]), len(out), 0
        elif group is not None and (test := _IT.match(line)) is not None:
            end = index
            while end < len(lines) and lines[end].rstrip("\n") != "  });":
                end += 1
            name = f"{group} > {json.loads(test[1])}"
            if name in names:
                found.add(name)
            else:
                out += lines[index : end + 1]
                kept_here += 1
                kept += 1
            index = end + 1
            continue
        elif group is not None and line == "});":
            group = None
            if not kept_here:
                del out[start:]
                index += 1
                continue
        out.append(lines[index])
        index += 1
    return "".join(out) if found == names and kept else None
