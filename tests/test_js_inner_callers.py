"""Reach of the offline JS/TS engine for a change the module does not export
(``inner_callers.cjs``): the exports that reach the changed declaration through the module's own
calls are the ones tested, with the tests' calls of them and the changed lines' literals, on a
real vitest package whose change is only in private functions (as in defu's ``_defu``)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from jobs.languages.javascript.export_engine import CharacterizeJs
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.testgen.engines.engine_protocol import Workspace
from jobs.testgen.engines.seeds import SeedPlan
from jobs.testgen.targets import Target
from tests.js_support import base_then_head, node_or_skip, npm_install, vitest_ts_files

MERGE_TS = """\
function _merge(base: any, extra: any): any {
  const out = { ...base };
  for (const key in extra) {
    out[key] = extra[key] === undefined ? base[key] : extra[key];
  }
  return out;
}

function _clamp(n: number): number {
  return n > 10 ? 10 : n;
}

export function createMerge() {
  return (...all: any[]) => all.reduce((p, c) => _merge(p, c), {});
}

// a type-only wrapper around the call that makes it (defu's `createDefu() as DefuInstance`)
export const merge = createMerge() as (...all: any[]) => any;
export default merge;

export function mergeAll(list: any[]): any {
  return merge(...list);
}

export function limit(n: number): number {
  return _clamp(n) * 2;
}

export class Entry {
  constructor(public key: string, public n: number) {}
}

export function entries(n: number): Entry[] {
  return [new Entry("n", _clamp(n))];
}

export function untouched(s: string): string {
  return s.toUpperCase();
}
"""
# the base commit: `null` did not overwrite, and the clamp was at 20
BASE_TS = MERGE_TS.replace(
    "extra[key] === undefined ? base[key] : extra[key]", "extra[key] ?? base[key]"
).replace("n > 10 ? 10 : n", "n > 20 ? 20 : n")
MERGE_TEST = """\
import { it, expect } from "vitest";
import merge, { mergeAll, untouched } from "../src/merge";

it("merges", () => { expect(merge({ a: 1 }, { a: null, b: 2 })).toHaveProperty("b"); });
it("merges a list", () => { expect(mergeAll([{ a: 1 }, { a: null }])).toBeTruthy(); });
it("shouts", () => { expect(untouched("x")).toBe("X"); });
"""


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


async def test_a_change_in_private_functions_is_tested_through_the_exports_that_reach_it(
    node: Node, tmp_path: Path
) -> None:
    root = tmp_path / "pkg"
    files = vitest_ts_files(
        {
            "src/merge.ts": BASE_TS,
            "test/merge.test.ts": MERGE_TEST,
        }
    )
    base_sha = base_then_head(root, files, {"src/merge.ts": MERGE_TS})
    await npm_install(LocalSandbox(), node, root)
    lines = MERGE_TS.splitlines()
    changed = [n for n, line in enumerate(lines, 1) if "=== undefined" in line or "n > 10" in line]
    workspace = Workspace(
        LocalSandbox(), root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha
    )
    outcome = await CharacterizeJs().generate(workspace, [Target("src/merge.ts", changed, [])])
    assert outcome.written == ["test/merge.tandem.test.ts"], outcome.notes
    note = outcome.notes[0]
    assert "tried through `createMerge` (reaches _merge)" in note
    assert "`merge` (reaches _merge)" in note and "`mergeAll` (reaches _merge)" in note
    assert "`limit` (reaches _clamp)" in note and "untouched" not in note
    assert note.count("`merge`") == 1  # its named and its default export are one value
    text = (root / "test/merge.tandem.test.ts").read_text()
    # the value a module function makes, called as the project's test calls it
    assert 'import { mergeAll, limit, entries, merge } from "../src/merge";' in text, text
    assert 'expect(merge({ a: 1 }, { a: null, b: 2 })).toEqual({"a": null, "b": 2});' in text
    assert 'expect(mergeAll([{ a: 1 }, { a: null }])).toEqual({"a": null});' in text
    # `limit` nothing calls: the private function's changed literal, at its edge
    assert "expect(limit(11)).toEqual(20);" in text
    # a class instance is said as its own fields, which toEqual compares without the class
    assert 'expect(entries(11)).toEqual([{"key": "n", "n": 10}]);' in text
    # the four behave differently on the base commit: they pin the change
    differ = re.search(r"(\d+) of them on inputs that behave differently", note)
    assert differ and int(differ[1]) >= 4, note
    done = await LocalSandbox().run(
        [
            *env_prefix(),
            str(node.path),
            "node_modules/vitest/vitest.mjs",
            "run",
            "test/merge.tandem.test.ts",
        ],
        cwd=root,
        timeout_s=300,
    )
    assert done.returncode == 0, done.output
