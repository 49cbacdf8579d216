"""jest runs: the suite once with coverage and each test's lines (through a wrapper config that
keeps the project's own setup files and test match), given files on the head, and on the base
commit. Real git, Node and jest; skips, saying why, without Node or the npm registry."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from jobs.languages.javascript import jest_runs
from jobs.languages.javascript.base_runs import run_on_base
from jobs.languages.javascript.coverage import Coverage
from jobs.languages.javascript.measured_run import PerTestLines
from jobs.languages.javascript.package_job import FilesRun, PackageJob
from jobs.languages.javascript.run_results import Outcome, RunResults
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox.local_sandbox import LocalSandbox
from tests.js_support import base_then_head, node_or_skip, npm_install

JEST = "30.2.0"
BASE = """\
function sign(x) {
  if (x > 0) {
    return 1;
  }
  return -1;
}
module.exports = { sign };
"""
HEAD = """\
function sign(x) {
  if (x > 0) {
    return 1;
  }
  if (x < 0) {
    return -1;
  }
  return 0;
}
module.exports = { sign };
"""
TESTS = """\
const { sign } = require("../src/calc");

describe("signs", () => {
  describe("of numbers", () => {
    test("positive", () => {
      expect(sign(3)).toBe(1);
    });
  });
});
test("zero is zero", () => {
  expect(sign(0)).toBe(0);
});
test("set up by the project", () => {
  expect(global.PROJECT_SETUP).toBe(1);
});
test("wrong on purpose", () => {
  expect(sign(-2)).toBe(2);
});
test("sees a bare jest's argv", () => {
  // in band (one test file), a CLI's program.parse() reads this: its CI gives none of Tandem's
  expect(process.argv.join(" ")).not.toMatch(/--(coverage|json|ci|config)/);
});
"""
CONFIG = """\
module.exports = {
  testMatch: ["<rootDir>/test/**/*.test.js"],
  setupFilesAfterEnv: ["<rootDir>/test/setup.js"],
  // ms's gate: a run of part of the suite (one file, the changed files' coverage) misses it
  collectCoverage: true,
  coverageThreshold: { global: { lines: 100, statements: 100 } },
};
"""

PASSING = """const { sign } = require("../src/calc");

test("positive", () => {
  expect(sign(3)).toBe(1);
});
"""


def test_the_wrapper_keeps_the_projects_config_and_adds_the_setup_file() -> None:
    text = jest_runs.wrapper_config(Path("/c/p/jest.config.js"), Path("/c/p"), Path("/w/s.cjs"))
    assert 'return require("/c/p/jest.config.js");' in text
    assert 'config.rootDir = path.resolve("/c/p", config.rootDir ?? ".");' in text
    assert '[...(config.setupFilesAfterEnv ?? []), "/w/s.cjs"]' in text
    assert '"/\\\\.tandem\\\\-work/"' in text
    field = jest_runs.wrapper_config(Path("/c/p/package.json"), Path("/c/p"), Path("/s.cjs"))
    assert 'return require("/c/p/package.json").jest;' in field
    assert "return {};" in jest_runs.wrapper_config(None, Path("/c/p"), Path("/s.cjs"))


def test_a_typescript_config_is_read_by_the_projects_own_jest_config() -> None:
    text = jest_runs.wrapper_config(
        Path("/c/p/jest.config.ts"), Path("/c/p"), Path("/w/s.cjs"), Path("/c/p/node_modules/jest")
    )
    assert 'realpathSync("/c/p/node_modules/jest/package.json")' in text
    assert 'reader.readInitialOptions("/c/p/jest.config.ts", ' in text
    assert '[...(config.setupFilesAfterEnv ?? []), "/w/s.cjs"]' in text
    with pytest.raises(ValueError, match="jest_dir"):
        jest_runs.wrapper_config(Path("/c/p/jest.config.ts"), Path("/c/p"), Path("/w/s.cjs"))
    # jest-config has readInitialOptions from 29.2 on
    assert [
        jest_runs.reads_typescript_config(v) for v in ("30.0.5", "29.2.0", "29.1.2", "27.5.1", None)
    ] == [True, True, False, False, False]


def test_records_take_the_reports_ids() -> None:
    records = PerTestLines(
        lines={"t.test.js > a b c": {"src/x.js": {2}}, "t.test.js > (load)": {}},
        outcomes={"t.test.js > a b c": "ran", "t.test.js > (load)": "load"},
        problems={"@jridgewell/trace-mapping did not load"},
    )
    results = RunResults(tests={"t.test.js > a > b c": Outcome("fail", "boom")})
    renamed = jest_runs.by_report_ids(records, results)
    assert renamed.lines == {"t.test.js > a > b c": {"src/x.js": {2}}, "t.test.js > (load)": {}}
    assert renamed.outcomes == {"t.test.js > a > b c": "fail", "t.test.js > (load)": "load"}
    # css-what's jest 27 has no trace-mapping: the mutants' notes must still say so
    assert renamed.problems == {"@jridgewell/trace-mapping did not load"}


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


@pytest.mark.slow
async def test_a_jest_suite_per_test_then_on_the_base_commit(node: Node, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    files = {
        "package.json": json.dumps(
            {"name": "p", "private": True, "devDependencies": {"jest": JEST}}
        ),
        "jest.config.js": CONFIG,
        ".gitignore": "node_modules/\n",
        "src/calc.js": BASE,
        "test/setup.js": "global.PROJECT_SETUP = 1;\n",
    }
    base_sha = base_then_head(checkout, files, {"src/calc.js": HEAD})
    (checkout / "test/calc.test.js").write_text(TESTS)
    # not under test/: the project's testMatch never collects it
    (checkout / "src/stray.test.js").write_text('test("stray", () => {});\n')

    job = PackageJob(checkout, checkout, ["src/calc.js"], tmp_path / "tools", timeout_s=300)
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout)
        run = await jest_runs.run_per_test(sandbox, node, job)
        kept = {"test/calc.test.js": TESTS}
        base = await run_on_base(jest_runs.run_files, sandbox, node, job, base_sha, kept)
        (checkout / "test/pass.test.js").write_text(PASSING)
        alone = await jest_runs.run_files(sandbox, node, job, ["test/pass.test.js"])
        measured = await jest_runs.run_per_test(
            sandbox, node, replace(job, tests=("test/pass.test.js",))
        )
    finally:
        await sandbox.close()

    assert isinstance(run, jest_runs.JestPerTestRun), run
    assert run.note is None
    assert run.result.returncode == 1, run.result.output  # the test that fails on purpose
    assert isinstance(run.results, RunResults), run.results
    assert {t: o.status for t, o in run.results.tests.items()} == {
        "test/calc.test.js > signs > of numbers > positive": "pass",
        "test/calc.test.js > zero is zero": "pass",
        "test/calc.test.js > set up by the project": "pass",
        "test/calc.test.js > wrong on purpose": "fail",
        "test/calc.test.js > sees a bare jest's argv": "pass",
    }
    lines = run.per_test.lines
    assert lines["test/calc.test.js > signs > of numbers > positive"] == {"src/calc.js": {2, 3}}
    assert lines["test/calc.test.js > zero is zero"] == {"src/calc.js": {2, 5, 8}}
    assert lines["test/calc.test.js > wrong on purpose"] == {"src/calc.js": {2, 5, 6}}
    assert run.per_test.outcomes["test/calc.test.js > wrong on purpose"] == "fail"
    assert isinstance(run.coverage, Coverage), run.coverage
    # line 10 ran as the test file loaded the module: its own record, no test's
    assert lines["test/calc.test.js > (load)"] == {"src/calc.js": {10}}
    assert run.coverage.executed["src/calc.js"] == {2, 3, 5, 6, 8, 10}

    # every test passed: the project's coverage threshold fails neither run
    assert isinstance(alone, FilesRun) and alone.result.returncode == 0, alone
    assert isinstance(measured, jest_runs.JestPerTestRun), measured
    assert measured.result.returncode == 0, measured.result.output

    assert isinstance(base, FilesRun) and isinstance(base.results, RunResults), base
    on_base = {t: o.status for t, o in base.results.tests.items()}
    assert on_base["test/calc.test.js > zero is zero"] == "fail"  # it pins the change
    assert on_base["test/calc.test.js > signs > of numbers > positive"] == "pass"


TS_CONFIG = """\
import type { Config } from "jest";

const config: Config = {
  testMatch: ["<rootDir>/test/**/*.test.js"],
  setupFilesAfterEnv: ["<rootDir>/test/setup.js"],
};

export default config;
"""


@pytest.mark.slow
async def test_a_typescript_jest_config_still_gives_each_tests_lines(
    node: Node, tmp_path: Path
) -> None:
    """ms's jest.config.ts: jest-config reads it (Node strips its types), and the wrapper adds
    the recorder to it; before, that suite ran without a record of what each test ran. Laid out
    as pnpm does (ms uses pnpm): ``node_modules/jest`` a link, and jest-config reachable only from
    where it leads."""
    checkout = tmp_path / "checkout"
    files = {
        "package.json": json.dumps(
            {"name": "p", "private": True, "devDependencies": {"jest": JEST}}
        ),
        "jest.config.ts": TS_CONFIG,
        ".gitignore": "node_modules/\n",
        "src/calc.js": BASE,
        "test/setup.js": "global.PROJECT_SETUP = 1;\n",
        "test/calc.test.js": TESTS,
    }
    base_then_head(checkout, files, {"src/calc.js": HEAD})
    job = PackageJob(checkout, checkout, ["src/calc.js"], tmp_path / "tools", timeout_s=300)
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout)
        modules = checkout / "node_modules"
        store = modules / ".pnpm/jest@30/node_modules"
        for name in ("jest", "jest-cli", "jest-config", "@jest/core"):
            (store / name).parent.mkdir(parents=True, exist_ok=True)
            (modules / name).rename(store / name)
        (modules / "jest").symlink_to(store / "jest", target_is_directory=True)
        run = await jest_runs.run_per_test(sandbox, node, job)
    finally:
        await sandbox.close()
    assert isinstance(run, jest_runs.JestPerTestRun), run
    assert run.note is None, run.note
    assert isinstance(run.results, RunResults), run.result.output
    assert run.results.tests["test/calc.test.js > set up by the project"].status == "pass"
    lines = run.per_test.lines
    assert lines["test/calc.test.js > zero is zero"] == {"src/calc.js": {2, 5, 8}}
