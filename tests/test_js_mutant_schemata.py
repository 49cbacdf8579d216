"""Many mutants in one runner process (:mod:`jobs.languages.javascript.mutant_schemata`): the
copies' names and first line, and reading a batch's run as one run per mutant (pure); then a
real tiny vitest package whose mutants get the same outcome batched as in a process each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.languages.javascript import javascript_runs
from jobs.languages.javascript.js_mutants import run_mutants
from jobs.languages.javascript.mutant_record import read_record
from jobs.languages.javascript.mutant_schemata import (
    BatchFailed,
    Planned,
    copy_path,
    snapshot_path,
    split_results,
    switched_test,
)
from jobs.languages.javascript.package_job import FilesRun
from jobs.languages.javascript.run_results import Outcome, RunResults
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.sandbox.sandbox_protocol import CommandResult
from jobs.testgen.proof.measure import TestFiles
from jobs.testgen.proof.score import Outcome as MutantOutcome
from tests.js_support import node_or_skip, npm_install
from tests.test_js_mutants import mutant
from tests.test_js_runs import PROJECTS


def test_a_copy_sits_beside_its_test_file_with_the_tag_before_its_first_dot() -> None:
    assert copy_path("test/a.test.ts", 3) == "test/a.tandem-m3.test.ts"
    assert copy_path("index.spec.js", 12) == "index.tandem-m12.spec.js"
    assert copy_path("__tests__/a", 1) == "__tests__/a.tandem-m1"


def test_the_switch_is_set_on_the_first_line_after_a_directive_or_shebang() -> None:
    setter = switched_test("", 4).rstrip()
    assert setter.startswith('Reflect.set(globalThis, "__tandemMutant", 4);') and "\n" not in setter
    assert switched_test('import "x";\ntest();\n', 4) == f'{setter} import "x";\ntest();\n'
    strict = switched_test('"use strict";\nrequire("x");\n', 4)
    assert strict == f'"use strict"; {setter}\nrequire("x");\n'
    assert switched_test("#!/usr/bin/env node\nrun();\n", 4) == (
        f"#!/usr/bin/env node\n{setter} run();\n"
    )


def batch_run(tests: dict[str, str], unloaded: dict[str, str] | None = None) -> FilesRun:
    results = RunResults({t: Outcome(s) for t, s in tests.items()}, unloaded or {})
    return FilesRun(
        CommandResult(returncode=1, output="", duration_s=1.0, timed_out=False), results
    )


ONE = Planned(mutant(id="m1"), 1, ("t/a.test.ts",))
TWO = Planned(mutant(id="m2"), 2, ("t/a.test.ts",))


def test_a_copys_failing_test_that_passed_in_the_control_counts_for_its_mutant_alone() -> None:
    run = batch_run(
        {
            "t/a.test.ts > x": "pass",
            "t/a.test.ts > flaky": "fail",  # failed with no mutant on: kills nothing
            "t/a.tandem-m1.test.ts > x": "fail",
            "t/a.tandem-m1.test.ts > flaky": "fail",
            "t/a.tandem-m2.test.ts > x": "pass",
            "t/a.tandem-m2.test.ts > flaky": "fail",
        }
    )
    found = split_results(run, [ONE, TWO], frozenset({"t/a.test.ts > x"}))
    assert not isinstance(found, BatchFailed)
    first, second = found["m1"].results, found["m2"].results
    assert isinstance(first, RunResults) and isinstance(second, RunResults)
    assert {t: o.status for t, o in first.tests.items()} == {
        "t/a.test.ts > x": "fail",
        "t/a.test.ts > flaky": "skip",
    }
    assert {t: o.status for t, o in second.tests.items()} == {
        "t/a.test.ts > x": "pass",
        "t/a.test.ts > flaky": "skip",
    }


def test_a_copy_that_did_not_load_is_its_mutants_own_outcome() -> None:
    run = batch_run(
        {"t/a.test.ts > x": "pass", "t/a.tandem-m2.test.ts > x": "pass"},
        unloaded={"t/a.tandem-m1.test.ts": "SyntaxError"},
    )
    found = split_results(run, [ONE, TWO], frozenset({"t/a.test.ts > x"}))
    assert not isinstance(found, BatchFailed)
    first = found["m1"].results
    assert isinstance(first, RunResults)
    assert first.tests == {} and first.unloaded == {"t/a.test.ts": "SyntaxError"}


def test_a_schema_that_changes_the_control_or_copies_not_collected_fail_the_batch() -> None:
    passed = frozenset({"t/a.test.ts > x"})
    changed = batch_run({"t/a.test.ts > x": "fail", "t/a.tandem-m1.test.ts > x": "fail"})
    assert split_results(changed, [ONE], passed) == BatchFailed(
        "with no mutant on, the schema changed `t/a.test.ts > x`", fatal=True
    )
    uncollected = batch_run({"t/a.test.ts > x": "pass"})
    assert split_results(uncollected, [ONE], passed) == BatchFailed(
        "the runner did not collect `t/a.tandem-m1.test.ts`", fatal=True
    )


SOURCE = """\
export function grade(n: number): string {
  if (n < 0) throw new Error("negative");
  const tens = Math.floor(n / 10);
  return tens > 8 ? "A" : tens > 6 ? "B" : "C";
}
export function label(n: number): string {
  return `${grade(n)}:${n}`;
}
"""
TEST = """\
import { expect, test } from "vitest";
import { grade, label } from "../src/grade";

test("grades", () => {
  expect(grade(95)).toBe("A");
  expect(grade(10)).toBe("C");
});
test("labels", () => {
  expect(label(75)).toMatch(/:75$/);
});
test("throws", () => {
  expect(() => grade(-1)).toThrow();
});
test("snap", () => {
  expect(label(42)).toMatchSnapshot();
});
"""
# The runners' snapshot of "snap": with CI set, a copy without it would fail
SNAPSHOTS = {
    "vitest": "// Vitest Snapshot v1, https://vitest.dev/guide/snapshot.html\n",
    "jest": "// Jest Snapshot v1, https://jestjs.io/docs/snapshot-testing\n",
}
SNAPSHOT = '\nexports[`snap 1`] = `"C:42"`;\n'


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


JEST_SOURCE = (
    SOURCE.replace("export function", "function").replace(": number", "").replace(": string", "")
    + "module.exports = { grade, label };\n"
)
JEST_TEST = TEST.replace('import { expect, test } from "vitest";\n', "").replace(
    'import { grade, label } from "../src/grade";',
    'const { grade, label } = require("../src/grade");',
)
FILES = {
    "vitest": ("src/grade.ts", SOURCE, "test/grade.test.ts", TEST),
    "jest": ("src/grade.js", JEST_SOURCE, "test/grade.test.js", JEST_TEST),
}


async def both_ways(
    node: Node, checkout: Path, source: str
) -> tuple[dict[bool, dict[str, MutantOutcome]], list[str]]:
    """The package's baseline, then its mutants run in a process each and batched: each way's
    outcomes by mutant id, and the batched run's notes."""
    sandbox = LocalSandbox()
    await npm_install(sandbox, node, checkout)
    changed = {source: {2, 3, 4, 7}}
    assert await javascript_runs.prepare_coverage(sandbox, checkout, sorted(changed)) is None
    await javascript_runs.run_suite(sandbox, checkout, changed, timeout_s=300)
    found, notes = {}, []
    for batched in (False, True):
        measured = await run_mutants(
            sandbox, checkout, changed, TestFiles(), timeout_s=600, batched=batched
        )
        assert measured.problem is None and measured.cut == 0
        found[batched] = {o.mutant.id: o for o in measured.score.outcomes}
        notes = measured.score.notes
    return found, notes


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["vitest", "jest"])
async def test_batched_mutants_get_the_outcomes_they_get_in_a_process_each(
    node: Node, tmp_path: Path, runner: str
) -> None:
    source, text, test, test_text = FILES[runner]
    manifest = {"name": "tiny", "private": True, **PROJECTS[runner].manifest}
    for path, content in {
        source: text,
        test: test_text,
        "package.json": json.dumps(manifest),
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    snapshots = tmp_path / snapshot_path(test)
    snapshots.parent.mkdir()
    snapshots.write_text(SNAPSHOTS[runner] + SNAPSHOT)
    outcomes, notes = await both_ways(node, tmp_path, source)
    found = {k: {m: (o.status, o.by) for m, o in v.items()} for k, v in outcomes.items()}
    assert not [n for n in notes if "a batch of mutants" in n], notes
    assert found[True] == found[False]
    statuses = [status for status, _ in found[True].values()]
    assert statuses.count("killed") >= 5 and "survived" in statuses
    assert (tmp_path / source).read_text() == text
    assert not list((tmp_path / "test").rglob("*.tandem-m*"))  # nor their snapshots
    record = read_record(tmp_path / javascript_runs.test_lines_record(javascript_runs.BASELINE))
    assert f"{test} > snap" in record.passed


# Two more files that run every changed line but check less: a mutant the first file kills
# needs no run on them, a survivor runs on all three.
MORE_TESTS = {
    "test/grade_more.test.ts": 'import { expect, test } from "vitest";\n'
    'import { grade } from "../src/grade";\n\n'
    'test("a top grade", () => {\n  expect(grade(99)).toMatch(/[ABC]/);\n});\n',
    "test/label_more.test.ts": 'import { expect, test } from "vitest";\n'
    'import { label } from "../src/grade";\n\n'
    'test("a label", () => {\n  expect(label(70)).toContain(":");\n});\n',
}


@pytest.mark.slow
async def test_batched_mutants_run_on_more_files_only_while_no_existing_test_killed_them(
    node: Node, tmp_path: Path
) -> None:
    source, text, test, test_text = FILES["vitest"]
    manifest = {"name": "tiny", "private": True, **PROJECTS["vitest"].manifest}
    snapless = test_text.replace("  expect(label(42)).toMatchSnapshot();\n", "")
    files = {source: text, test: snapless, "package.json": json.dumps(manifest), **MORE_TESTS}
    for path, content in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    outcomes, _ = await both_ways(node, tmp_path, source)
    alone, rounds = outcomes[False], outcomes[True]
    assert {k: (o.status, o.by) for k, o in rounds.items()} == {
        k: (o.status, o.by) for k, o in alone.items()
    }
    survivors = [k for k, o in rounds.items() if o.status == "survived"]
    killed = [k for k, o in rounds.items() if o.status == "killed"]
    assert survivors and killed
    assert all(rounds[k].tests == alone[k].tests == 3 for k in survivors)
    # most mutants die on the first file: fewer files ran in all
    assert sum(rounds[k].tests for k in killed) < sum(alone[k].tests for k in killed)


LOOP = """\
export function count(s: string): number {
  let i = 0;
  let n = 0;
  while (i < s.length) {
    if (s[i] === "a") n += 1;
    i += 1;
  }
  return n;
}
"""
LOOP_TEST = """\
import { expect, test } from "vitest";
import { count } from "../src/count";

test("counts", () => {
  expect(count("banana")).toBe(3);
});
"""


@pytest.mark.slow
async def test_a_batched_mutant_that_loops_forever_hangs_its_test_not_the_batch(
    node: Node, tmp_path: Path
) -> None:
    manifest = {"name": "tiny", "private": True, **PROJECTS["vitest"].manifest}
    files = {"src/count.ts": LOOP, "test/count.test.ts": LOOP_TEST}
    for path, content in {**files, "package.json": json.dumps(manifest)}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    sandbox = LocalSandbox()
    await npm_install(sandbox, node, tmp_path)
    changed = {"src/count.ts": {4, 5, 6}}
    assert await javascript_runs.prepare_coverage(sandbox, tmp_path, sorted(changed)) is None
    await javascript_runs.run_suite(sandbox, tmp_path, changed, timeout_s=300)

    measured = await run_mutants(sandbox, tmp_path, changed, TestFiles(), timeout_s=600)
    outcomes = {o.mutant.description: (o.status, o.why) for o in measured.score.outcomes}
    assert measured.problem is None and measured.cut == 0, outcomes
    assert not [n for n in measured.score.notes if "a batch of mutants" in n]
    # `i += 1` removed, or the loop's condition made true: each copy threw past its hit limit
    hung = [d for d, (status, why) in outcomes.items() if status == "timeout"]
    assert len(hung) >= 2 and all("hit limit" in outcomes[d][1] for d in hung), outcomes
    assert [d for d, (status, _) in outcomes.items() if status == "killed"], outcomes
    assert (tmp_path / "src/count.ts").read_text() == LOOP
