"""istanbul coverage-final.json -> changed-line sets, over plain data."""

from __future__ import annotations

import json
from typing import Any

from jobs.languages.javascript.coverage import (
    Coverage,
    ReportError,
    changed_coverage,
    parse_report,
)

ROOT = "/tmp/checkout"


def span(start: int, end: int | None = None) -> dict[str, Any]:
    return {"start": {"line": start, "column": 2}, "end": {"line": end or start, "column": None}}


def entry(path: str, statements: dict[str, dict[str, Any]], counts: dict[str, int]) -> Any:
    return {"path": path, "statementMap": statements, "s": counts, "fnMap": {}, "f": {}}


# src/calc.ts as vitest 4's v8 provider reports it after a test called sign(3):
#  1 export function sign(x: number): number {
#  2   if (x > 0) {            <- statement 0 (lines 2-4), ran
#  3     return 1;             <- statement 1, ran
#  4   }
#  5   if (x < 0) {            <- statement 2 (5-7), never ran
#  6     return -1;            <- statement 3
#  7   }
#  8   return 0;               <- statement 4
#  9 }
CALC = entry(
    f"{ROOT}/src/calc.ts",
    {"0": span(2, 4), "1": span(3), "2": span(5, 7), "3": span(6), "4": span(8)},
    {"0": 1, "1": 1, "2": 0, "3": 0, "4": 0},
)


def report(*entries: Any) -> str:
    return json.dumps({e["path"]: e for e in entries})


def test_statement_and_executed_lines() -> None:
    coverage = parse_report(report(CALC), ROOT)
    assert isinstance(coverage, Coverage)
    assert coverage.statements == {"src/calc.ts": {2, 3, 5, 6, 8}}
    assert coverage.executed == {"src/calc.ts": {2, 3}}
    assert coverage.skipped == ()


def test_changed_lines_count_only_where_a_statement_starts() -> None:
    coverage = parse_report(report(CALC), ROOT)
    assert isinstance(coverage, Coverage)
    # 4 and 7 are closing braces, 9 is the function's end: no statement starts there
    changed = changed_coverage(coverage, {"src/calc.ts": {3, 4, 5, 6, 7, 9}})
    assert changed.executable == {"src/calc.ts": {3, 5, 6}}
    assert changed.covered == {"src/calc.ts": {3}}
    assert changed.uncovered("src/calc.ts") == {5, 6}
    assert changed.percent() == 33


def test_a_line_is_covered_when_any_statement_starting_on_it_ran() -> None:
    # `a(); if (x) b();` on one line: the second statement never ran
    line = entry(f"{ROOT}/a.js", {"0": span(1), "1": span(1), "2": span(1)}, {"0": 0, "1": 3})
    coverage = parse_report(report(line), ROOT)
    assert isinstance(coverage, Coverage)
    assert coverage.executed == {"a.js": {1}}


def test_files_outside_the_checkout_and_unnamed_changes() -> None:
    outside = entry("/usr/lib/node_modules/x/index.js", {"0": span(1)}, {"0": 1})
    sibling = entry(f"{ROOT}-other/a.js", {"0": span(1)}, {"0": 1})
    coverage = parse_report(report(CALC, outside, sibling), ROOT + "/")
    assert isinstance(coverage, Coverage)
    assert set(coverage.statements) == {"src/calc.ts"}
    # a changed file no test imported and the run did not include: nothing known, nothing counted
    changed = changed_coverage(coverage, {"src/other.ts": {1, 2}})
    assert changed.total == 0


def test_older_wrapped_entries_are_read() -> None:
    wrapped = json.dumps({CALC["path"]: {"data": CALC}})
    coverage = parse_report(wrapped, ROOT)
    assert isinstance(coverage, Coverage) and coverage.executed == {"src/calc.ts": {2, 3}}


def test_malformed_reports_are_values() -> None:
    assert isinstance(parse_report("{", ROOT), ReportError)
    assert isinstance(parse_report("[]", ROOT), ReportError)
    odd = {
        f"{ROOT}/a.js": 7,
        f"{ROOT}/b.js": {"path": f"{ROOT}/b.js"},
        f"{ROOT}/c.js": entry(f"{ROOT}/c.js", {"0": {"start": "x"}, "1": span(2)}, {"1": 1}),
    }
    coverage = parse_report(json.dumps(odd), ROOT)
    assert isinstance(coverage, Coverage)
    assert coverage.statements == {"c.js": {2}} and coverage.executed == {"c.js": {2}}
    assert len(coverage.skipped) == 2
