"""Selection per test for JS/TS (:mod:`jobs.languages.javascript.js_per_test`): the split of a
candidate file into its tests and its writing back with some of them, the judging of a measured
run, the base commit's and the mutants' verdicts per test (pure, on plain data); and the whole
selection on a real vitest and a real jest project, in git. The real ones skip, saying why,
without Node or the npm registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.languages.javascript import javascript_runs
from jobs.languages.javascript.js_per_test import (
    failing_labels,
    judge,
    relabeled,
    select_tests,
    split_files,
)
from jobs.languages.javascript.measured_run import PerTestLines
from jobs.languages.javascript.package_job import RunnerError
from jobs.languages.javascript.run_results import Outcome as TestOutcome
from jobs.languages.javascript.run_results import RunResults
from jobs.languages.javascript.split_tests import (
    SplitFile,
    changed_functions,
    parse_split,
    with_tests,
)
from jobs.languages.javascript.toolchain import Node
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.testgen.per_test_selection import Options, PerTestSelection
from jobs.testgen.proof.mutants import Mutant
from jobs.testgen.proof.score import MutantScore, Outcome
from jobs.testgen.test_choice import Measured
from tests.js_support import node_or_skip, npm_install
from tests.test_js_runs import PROJECTS, make_project

# As characterize-js writes a file: one describe per function, one `it` per call.
WRITTEN = """\
import { describe, expect, it } from "vitest";
import { sign } from "../src/calc";

describe("sign", () => {
  it("sign with 0", () => {
    expect(sign(0)).toEqual(0);
  });
  it("sign with 0 again", () => {
    expect(sign(0)).toBe(0);
  });
  it("sign with -2", () => {
    expect(sign(-2)).toEqual(-1);
  });
  it("sign with 1 is five", () => {
    expect(sign(1)).toEqual(5);
  });
});

describe("positive", () => {
  it("sign with 3", () => {
    expect(sign(3)).toEqual(1);
  });
});
"""
SPLIT = {
    "files": {
        "t/a.test.ts": {
            "tests": [
                {"name": "sign > sign with 0", "first": 5, "last": 7},
                {"name": "sign > sign with 0 again", "first": 8, "last": 10},
                {"name": "sign > sign with -2", "first": 11, "last": 13},
                {"name": "sign > sign with 1 is five", "first": 14, "last": 16},
                {"name": "positive > sign with 3", "first": 20, "last": 22},
            ],
            "blocks": [
                {"name": "sign", "first": 4, "last": 17},
                {"name": "positive", "first": 19, "last": 23},
            ],
        },
        "t/b.test.ts": {"tests": [], "blocks": [], "problem": "a test at line 3 has no title"},
    },
    "functions": {"src/calc.ts": [[2, 10, "sign"], [4, 6, "sign.inner"], [12, 14, "other"]]},
}


def split_file() -> SplitFile:
    split = parse_split(SPLIT, {"t/a.test.ts": WRITTEN}, {})
    return split.files[0]


def test_a_file_is_split_into_its_tests_with_the_runners_names() -> None:
    split = parse_split(SPLIT, {"t/a.test.ts": WRITTEN, "t/b.test.ts": "x", "t/c.test.ts": "y"}, {})
    a, b, c = split.files
    assert [t.name for t in a.tests][:2] == ["sign > sign with 0", "sign > sign with 0 again"]
    assert a.tests[0].label == "t/a.test.ts::sign > sign with 0"
    assert a.tests[0].test_id == "t/a.test.ts > sign > sign with 0"
    assert (
        a.tests[2].source
        == '  it("sign with -2", () => {\n    expect(sign(-2)).toEqual(-1);\n  });'
    )
    assert (b.problem, c.problem) == (
        "a test at line 3 has no title",
        "the splitter said nothing of it",
    )


def test_a_file_is_written_back_with_only_its_kept_tests() -> None:
    file = split_file()
    kept = with_tests(file, {"sign > sign with -2"})
    assert kept == (
        'import { describe, expect, it } from "vitest";\n'
        'import { sign } from "../src/calc";\n'
        "\n"
        'describe("sign", () => {\n'
        '  it("sign with -2", () => {\n'
        "    expect(sign(-2)).toEqual(-1);\n"
        "  });\n"
        "});\n"
    )
    both = with_tests(file, {"sign > sign with 0", "positive > sign with 3"})
    assert both is not None and "sign with -2" not in both and 'describe("positive"' in both
    assert with_tests(file, set()) is None


def test_a_pin_is_named_after_the_innermost_function_holding_the_changed_line() -> None:
    found = changed_functions(SPLIT["functions"], {"src/calc.ts": {3, 5, 13, 20}})
    assert found == {
        "src/calc.ts::sign": {"src/calc.ts": {3}},
        "src/calc.ts::sign.inner": {"src/calc.ts": {5}},
        "src/calc.ts::other": {"src/calc.ts": {13}},
    }


def test_the_measured_run_keeps_the_tests_that_passed_with_their_changed_lines() -> None:
    file = split_file()
    results = RunResults(
        tests={
            "t/a.test.ts > sign > sign with 0": TestOutcome("pass"),
            "t/a.test.ts > sign > sign with -2": TestOutcome("pass"),
            "t/a.test.ts > sign > sign with 1 is five": TestOutcome("fail", "expected 1 to be 5"),
            "t/a.test.ts > positive > sign with 3": TestOutcome("skip"),
        }
    )
    per_test = PerTestLines(
        lines={
            "t/a.test.ts > sign > sign with 0": {"src/calc.ts": {2, 6, 9}},
            "t/a.test.ts > sign > sign with -2": {"src/calc.ts": {6, 7}, "src/x.ts": {1}},
            "t/a.test.ts > (load)": {"src/calc.ts": {1, 2}},
        }
    )
    out = PerTestSelection()
    changed = {"src/calc.ts": {2, 6, 7, 9}}
    passed, loading = judge(file, results, per_test, changed, out)
    assert [(m.case.name, m.lines) for m in passed] == [
        ("sign > sign with 0", {"src/calc.ts": {2, 6, 9}}),
        ("sign > sign with -2", {"src/calc.ts": {6, 7}}),
    ]
    assert loading == {"src/calc.ts": {2}}
    assert dict(out.dropped) == {
        "t/a.test.ts::sign > sign with 0 again": "did not run (not in the runner's report)",
        "t/a.test.ts::sign > sign with 1 is five": "failed: expected 1 to be 5",
        "t/a.test.ts::positive > sign with 3": "skipped",
    }
    # vitest 0.x names the file's own suite "": its ids have an empty title, read as none
    old = RunResults(tests={"t/a.test.ts >  > sign > sign with 0": TestOutcome("pass")})
    old_lines = PerTestLines(lines={"t/a.test.ts >  > sign > sign with 0": {"src/calc.ts": {9}}})
    (found,), _ = judge(file, old, old_lines, changed, PerTestSelection())
    assert (found.case.name, found.lines) == ("sign > sign with 0", {"src/calc.ts": {9}})
    # a file that did not load drops every test of it, saying so; so does a runner that did not run
    unloaded = PerTestSelection()
    gone = RunResults(unloaded={"t/a.test.ts": "SyntaxError: x"})
    assert judge(file, gone, per_test, changed, unloaded) == ([], {})
    assert {why for _, why in unloaded.dropped} == {"did not load: SyntaxError: x"}
    stopped = PerTestSelection()
    judge(file, RunnerError("vitest is not installed"), per_test, changed, stopped)
    assert len(stopped.dropped) == 5


def test_a_test_failing_on_the_base_pins_but_a_file_that_did_not_load_there_does_not() -> None:
    file = split_file()
    pool = [Measured(t, {}) for t in file.tests[:3]]
    failing = {
        ("t/a.test.ts", "sign > sign with 0"),
        ("t/a.test.ts", "(load)"),
        ("t/a.test.ts", "sign > sign with 1 is five"),  # not in the pool: it failed on the head
        ("t/a.test.ts", " > sign > sign with -2"),  # as vitest 0.x names it
    }
    assert failing_labels(failing, pool) == {
        "t/a.test.ts::sign > sign with 0",
        "t/a.test.ts::sign > sign with -2",
    }


def test_a_mutants_killers_become_the_labels_of_the_candidate_tests() -> None:
    mutant = Mutant(
        "src/calc.ts:6:0", "src/calc.ts", 6, (6, 6), "sign", "comparison", "x", 6, 6, "y", ()
    )
    killed = Outcome(
        mutant,
        "killed",
        by="candidate",
        killers=("t/a.test.ts > sign > sign with 0", "t/other.test.ts > gone"),
    )
    score = relabeled(MutantScore(outcomes=[killed]), {"t/a.test.ts > sign > sign with 0": "L"})
    assert score.outcomes[0].killers == ("L",)


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


def candidate_for(runner: str) -> str:
    """WRITTEN for the project's runner: vitest's imports, or jest's globals and require."""
    if runner == "vitest":
        return WRITTEN
    return WRITTEN.replace('import { describe, expect, it } from "vitest";\n', "").replace(
        'import { sign } from "../src/calc";', 'const { sign } = require("../src/calc");'
    )


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["vitest", "jest"])
async def test_the_tests_worth_keeping_are_chosen_one_by_one(
    node: Node, tmp_path: Path, runner: str
) -> None:
    """One measured run, the base commit, the choice and the validation runs, through the
    project's own runner: the test that pins the change and the one that runs a line nothing
    else runs are kept; a failing, a duplicate and a test of no changed line are not."""
    checkout = tmp_path / "checkout"
    project = PROJECTS[runner]
    base_sha = make_project(checkout, project)
    path = project.new
    (checkout / path).write_text(candidate_for(runner))
    changed = {project.source: {7, 8, 10}}  # `if (x < 0)`, `return -1`, `return 0`
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout)

        async def on_base(files: dict[str, str]) -> set[tuple[str, str]] | None:
            return await javascript_runs.tests_failing_on_base(
                sandbox, checkout, base_sha, files, timeout_s=300
            )

        options = Options(runs=2, timeout_s=300, on_base=on_base)
        split = await split_files(sandbox, node, checkout, [path], changed, 300)
        out = await select_tests(
            sandbox, checkout, [path], SuiteRun("passed", 1, ""), changed, options
        )
    finally:
        await sandbox.close()

    assert not isinstance(split, str), split
    assert [t.name for t in split.files[0].tests][-1] == "positive > sign with 3"
    assert split.functions == {f"{project.source}::sign": {project.source: {7, 8, 10}}}
    kept = {t.name for t in out.tests if t.kept}
    assert kept == {"sign > sign with 0", "sign > sign with -2"}, "\n".join(
        f"{t.label}: {t.reason}" for t in out.tests
    )
    reasons = {t.label.split("::")[1]: t.reason for t in out.tests}
    assert "fails on the base commit: pins the change to `sign`" in reasons["sign > sign with 0"]
    assert reasons["sign > sign with 1 is five"].startswith("failed:")
    assert "covers no changed line" in reasons["positive > sign with 3"]
    assert out.pinning >= {f"{path}::sign > sign with 0", f"{path}::sign > sign with 0 again"}
    assert out.covered == {project.source: {7, 8, 10}}
    assert out.pytest_runs == 2  # the measured run, then one more of the kept tests
    text = (checkout / path).read_text()
    assert out.kept_files == {path: text}
    assert "sign with 0 again" not in text and "positive" not in text and "five" not in text
    (verdict,) = out.verdicts
    assert verdict.kept and verdict.reason.startswith("kept 2 of 5 test(s), each passed 2/2 runs")


# Its second test passes once, then fails: the measured run is its only pass.
FLAKY = """\
import { existsSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sign } from "../src/calc";

const MARK = PATH;

describe("sign", () => {
  it("sign with 0", () => {
    expect(sign(0)).toEqual(0);
  });
  it("sign with -5 once", () => {
    if (existsSync(MARK)) throw new Error("ran before");
    writeFileSync(MARK, "");
    expect(sign(-5)).toEqual(-1);
  });
  it("sign with -2", () => {
    expect(sign(-2)).toEqual(-1);
    expect(sign(-3)).toEqual(-1);
    expect(sign(-4)).toEqual(-1);
    expect(sign(-6)).toEqual(-1);
    expect(sign(-7)).toEqual(-1);
  });
});
"""


@pytest.mark.slow
async def test_a_kept_test_failing_a_later_run_is_dropped_and_the_choice_made_again(
    node: Node, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    project = PROJECTS["vitest"]
    make_project(checkout, project)
    mark = json.dumps(str(tmp_path / "mark"))
    (checkout / project.new).write_text(FLAKY.replace("PATH", mark))
    changed = {project.source: {7, 8, 10}}
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout)
        options = Options(runs=2, timeout_s=300)
        baseline = SuiteRun("passed", 1, "")
        out = await select_tests(sandbox, checkout, [project.new], baseline, changed, options)
    finally:
        await sandbox.close()

    reasons = {t.label.split("::")[1]: (t.kept, t.reason) for t in out.tests}
    # the shorter one won the tie for `return -1` first, and failed its second run
    kept, why = reasons["sign > sign with -5 once"]
    assert not kept and why.startswith("flaky: passed 1 run(s), then run 2 of 2 failed"), why
    assert reasons["sign > sign with -2"][0] and reasons["sign > sign with 0"][0], reasons
    assert out.covered == {project.source: {7, 8, 10}}
    assert out.pytest_runs == 3  # measured, then a run of each round's kept tests
    assert "-5 once" not in (checkout / project.new).read_text()


async def test_with_no_candidates_the_changed_lines_stay_as_the_baseline_covered_them(
    tmp_path: Path,
) -> None:
    # chrono's run: no engine wrote a test, and the check run said "100% -> 0%" and that the
    # tests "could not be judged one by one".
    baseline = SuiteRun("passed", 1, "", executed={"src/a.ts": {3, 4, 9}, "src/b.ts": {1}})
    changed = {"src/a.ts": {3, 4, 5}}
    options = Options(runs=5, timeout_s=60)
    out = await select_tests(LocalSandbox(), tmp_path, [], baseline, changed, options)
    assert out.covered == {"src/a.ts": {3, 4}}
    assert (out.notes, out.verdicts, out.pytest_runs) == ([], [], 0)
