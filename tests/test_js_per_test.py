"""Which lines each vitest test runs, from one run: the wrapper config, the records, and a real
TypeScript project end to end (its lines shifted by what the transform removes, so an unmapped
line would be wrong). Skips, saying why, without Node or the npm registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.languages.javascript import vitest
from jobs.languages.javascript.coverage import Coverage
from jobs.languages.javascript.export_probe import probe_source
from jobs.languages.javascript.measured_run import RECORDER, read_records
from jobs.languages.javascript.package_job import PackageJob, RunnerError
from jobs.languages.javascript.run_results import RunResults
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.languages.javascript.vitest_per_test import (
    ISTANBUL,
    SETUP,
    VitestPerTestRun,
    ensure_istanbul,
    run_per_test,
    wrapper_config,
)
from jobs.sandbox.local_sandbox import LocalSandbox
from tests.js_support import node_or_skip, npm_install
from tests.test_js_export_engine import JEST_CJS
from tests.test_js_export_engine import VITEST as VITEST_LAYOUT
from tests.test_js_vitest import VITEST


def test_the_wrapper_imports_the_projects_config_and_adds_the_setup_file() -> None:
    text = wrapper_config(Path("/c/pkg/vitest.config.ts"), Path("/c/.tandem-work/s.mjs"))
    assert text.startswith('import base from "/c/pkg/vitest.config.ts";\n')
    assert 'typeof base === "function" ? base(env) : base' in text
    assert '[...[test.setupFiles ?? []].flat(), "/c/.tandem-work/s.mjs"]' in text
    assert "const base = {};" in wrapper_config(None, Path("/s.mjs"))


def test_records_are_read_relative_to_the_checkout(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    records = tmp_path / "records"
    records.mkdir()
    lines = [
        {"file": f"{root}/src/a.test.ts", "test": "(load)", "state": "load", "lines": {}},
        {
            "file": f"{root}/src/a.test.ts",
            "test": "group > adds",
            "state": "pass",
            "lines": {f"{root}/src/a.ts": [3, 4], "/elsewhere/lib.ts": [1]},
        },
    ]
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"file": "trunc'
    (records / "1-1.jsonl").write_text(text)
    (records / "2-1.jsonl").write_text(
        json.dumps({"file": "/outside/x.test.ts", "test": "t", "state": "pass", "lines": {}})
    )

    found = read_records(records, root)

    assert found.lines == {
        "src/a.test.ts > (load)": {},
        "src/a.test.ts > group > adds": {"src/a.ts": {3, 4}},
    }
    assert found.outcomes == {
        "src/a.test.ts > (load)": "load",
        "src/a.test.ts > group > adds": "pass",
    }


# A worker's store as istanbul leaves it for a TypeScript file: one statement, with a source map
RECORD_ONE = """\
const { makeRecorder } = require(process.argv[2]);
globalThis.__coverage__ = {
  "/c/src/a.ts": {
    s: { 0: 0 },
    statementMap: { 0: { start: { line: 2, column: 0 }, end: { line: 2, column: 9 } } },
    inputSourceMap: { version: 3, sources: ["a.ts"], names: [], mappings: "AAAA" },
  },
};
const recorder = makeRecorder("__coverage__");
const before = recorder.counters();
globalThis.__coverage__["/c/src/a.ts"].s[0] = 1;
recorder.record("/c/test/a.test.ts", "adds", "ran", before);
recorder.record("/c/test/a.test.ts", "adds again", "ran", before);
"""


@pytest.mark.slow
async def test_a_recorder_without_its_source_map_library_says_so(
    node: Node, tmp_path: Path
) -> None:
    """Where @jridgewell/trace-mapping cannot be loaded (neither from the provider nor the
    project), the lines of a mapped file are left out, and the record says why once per
    worker, where before it was silently empty."""
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere/package.json").write_text('{"name": "nowhere"}')
    script = tmp_path / "record.cjs"
    script.write_text(RECORD_ONE)
    records = tmp_path / "records"
    env = {
        "TANDEM_PER_TEST_DIR": str(records),
        "TANDEM_PROVIDER_PACKAGE": str(tmp_path / "nowhere/package.json"),
    }
    sandbox = LocalSandbox()
    try:
        ran = await sandbox.run(
            [*env_prefix(env), str(node.path), str(script), str(RECORDER)],
            cwd=tmp_path / "nowhere",
            timeout_s=60,
        )
    finally:
        await sandbox.close()
    assert ran.returncode == 0, ran.output

    found = read_records(records, Path("/c"))

    assert found.lines == {"test/a.test.ts > adds": {}, "test/a.test.ts > adds again": {}}
    (problem,) = found.problems
    assert problem.startswith("@jridgewell/trace-mapping did not load (")
    assert str(tmp_path / "nowhere/package.json") in problem
    assert problem.endswith(": no line of a file with a source map is recorded")


@pytest.mark.slow
async def test_a_recorder_maps_through_source_map_where_trace_mapping_is_missing(
    node: Node, tmp_path: Path
) -> None:
    """jest 27 (css-what's) maps coverage with `source-map` 0.6, and trace-mapping is not
    installed: the recorder maps through that library, where it said only "did not load" and
    recorded no line, so every mutant ran against every test file."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text('{"name": "project", "private": true}')
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, project, "source-map@0.6.1")
        script = tmp_path / "record.cjs"
        script.write_text(RECORD_ONE.replace("line: 2,", "line: 1,"))
        records = tmp_path / "records"
        env = {"TANDEM_PER_TEST_DIR": str(records)}
        ran = await sandbox.run(
            [*env_prefix(env), str(node.path), str(script), str(RECORDER)],
            cwd=project,
            timeout_s=60,
        )
    finally:
        await sandbox.close()
    assert ran.returncode == 0, ran.output

    found = read_records(records, Path("/c"))

    assert found.problems == set()
    assert found.lines["test/a.test.ts > adds"] == {"src/a.ts": {1}}


# Lines 1-2 are a type alias the transform removes: unmapped, every line below would be off.
CALC = """\
type Sign = -1 | 0 | 1;

export function sign(x: number): Sign {
  if (x > 0) {
    return 1;
  }
  if (x < 0) {
    return -1;
  }
  return 0;
}
"""
TESTS = """\
import { describe, expect, test } from "vitest";
import { sign } from "../src/calc";

test("positive", () => {
  expect(sign(3)).toBe(1);
});
describe("signs", () => {
  test("negative", () => {
    expect(sign(-3)).toBe(-1);
  });
});
test("set up by the project", () => {
  expect((globalThis as { PROJECT_SETUP?: number }).PROJECT_SETUP).toBe(1);
});
"""
FAILING = """\
import { expect, test } from "vitest";
import { sign } from "../src/calc";

test("zero is wrong here", () => {
  expect(sign(0)).toBe(5);
});
"""
# The project's own config: tests only under test/, and a setup file of its own, both kept
CONFIG = """\
import { defineConfig } from "vitest/config";

export default defineConfig(() => ({
  test: { include: ["test/**/*.test.ts"], setupFiles: ["./test/setup.ts"] },
}));
"""


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


@pytest.mark.slow
async def test_each_tests_lines_in_one_vitest_run(node: Node, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    files = {
        "package.json": json.dumps(
            {
                "name": "tiny",
                "private": True,
                "type": "module",
                "devDependencies": {"vitest": VITEST},
            }
        ),
        "vitest.config.ts": CONFIG,
        "src/calc.ts": CALC,
        "test/setup.ts": "(globalThis as { PROJECT_SETUP?: number }).PROJECT_SETUP = 1;\n",
        "test/calc.test.ts": TESTS,
        "test/zero.test.ts": FAILING,
        "src/ignored.test.ts": 'import { test } from "vitest";\ntest("never", () => {});\n',
    }
    for path, text in files.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_text(text)
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout)
        run = await run_per_test(
            sandbox,
            node,
            PackageJob(checkout, checkout, ["src/calc.ts"], tmp_path / "tools", timeout_s=240),
        )
    finally:
        await sandbox.close()

    assert isinstance(run, VitestPerTestRun), run
    assert run.provider == f"@vitest/coverage-istanbul {VITEST}"
    assert run.result.returncode == 1, run.result.output  # the failing test
    per_test = run.per_test
    assert per_test.lines["test/calc.test.ts > positive"] == {"src/calc.ts": {4, 5}}
    assert per_test.lines["test/calc.test.ts > signs > negative"] == {"src/calc.ts": {4, 7, 8}}
    assert per_test.lines["test/zero.test.ts > zero is wrong here"] == {"src/calc.ts": {4, 7, 10}}
    assert per_test.outcomes["test/zero.test.ts > zero is wrong here"] == "fail"
    # the project's setup file still ran, and its include still decides what is collected
    assert per_test.outcomes["test/calc.test.ts > set up by the project"] == "pass"
    assert not [test for test in per_test.outcomes if test.startswith("src/")]
    # the whole run's report agrees with the union of the tests' lines
    assert isinstance(run.coverage, Coverage), run.coverage
    union = set().union(*(lines.get("src/calc.ts", set()) for lines in per_test.lines.values()))
    assert run.coverage.executed["src/calc.ts"] == union == {4, 5, 7, 8, 10}
    assert (checkout / ".tandem-work" / SETUP.name).is_file()
    # each test's outcome from the JSON report, under the same ids as its lines
    assert isinstance(run.results, RunResults), run.results
    assert set(run.results.tests) == set(per_test.lines) - {
        "test/calc.test.ts > (load)",
        "test/zero.test.ts > (load)",
    }
    failed = run.results.failed()
    assert list(failed) == ["test/zero.test.ts > zero is wrong here"]
    message = failed["test/zero.test.ts > zero is wrong here"].message
    assert message.startswith("AssertionError: expected ") and message.endswith(
        " to be 5 // Object.is equality"
    )


@pytest.mark.slow
async def test_lines_are_recorded_where_the_provider_is_reached_through_a_link(
    node: Node, tmp_path: Path
) -> None:
    """pnpm's layout (here npm's linked one, the same): only a project's direct dependencies sit
    in its node_modules, each a link into a store, and the istanbul provider Tandem installs is
    linked in beside them. The source-map library is found only from the link's target: looked
    up from the link, every line went unmapped and every test's record came out empty."""
    checkout = tmp_path / "checkout"
    files = {
        "package.json": json.dumps(
            {"name": "linked", "private": True, "devDependencies": {"vitest": VITEST}}
        ),
        "src/calc.ts": CALC,
        # no project setup file here
        "test/calc.test.ts": TESTS[: TESTS.index('test("set up')],
    }
    for path, text in files.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_text(text)
    sandbox = LocalSandbox()
    job = PackageJob(checkout, checkout, ["src/calc.ts"], tmp_path / "tools", timeout_s=240)
    try:
        await npm_install(sandbox, node, checkout, "--install-strategy=linked")
        assert not (checkout / "node_modules" / "@jridgewell").exists()  # the trait itself
        # as the suite's run does: the provider first (linked in), then the measured run
        installed = vitest.runner_entry("vitest", checkout, checkout)
        assert not isinstance(installed, RunnerError), installed
        assert not isinstance(await ensure_istanbul(sandbox, node, installed[0], job), RunnerError)
        run = await run_per_test(sandbox, node, job)
    finally:
        await sandbox.close()

    assert isinstance(run, VitestPerTestRun), run
    assert (checkout / "node_modules" / ISTANBUL).is_symlink()
    assert run.per_test.lines["test/calc.test.ts > positive"] == {"src/calc.ts": {4, 5}}
    assert run.per_test.lines["test/calc.test.ts > signs > negative"] == {"src/calc.ts": {4, 7, 8}}


def test_what_runs_inside_the_runner_names_core_modules_without_node_prefix() -> None:
    """jest before 27 resolves no `node:` specifier: a setup file or probe that requires
    `node:fs` fails every test file it is loaded with (css-what's jest 26: "Cannot find module
    'node:fs'"), and the whole baseline read as broken tests."""
    inside = [RECORDER, RECORDER.with_name("jest_per_test.cjs")]
    for script in inside:
        assert '("node:' not in script.read_text(), script.name
    for layout in (JEST_CJS, VITEST_LAYOUT):
        probe = probe_source(layout, "", [], "/out.json")
        assert '"node:' not in probe and '"fs"' in probe
