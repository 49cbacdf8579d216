"""The JS/TS backend's runs through the language seam (issue 20, items 4 and 6): the suite under
coverage, given test files, the base commit (pins, failing candidates, broken existing tests)
and the conventions, on a real tiny vitest project (TypeScript) and a real jest one, in git.
Also the runs' pure reading (:mod:`jobs.languages.javascript.suite_results`) and the install
scripts' setting. Skips, saying why, without Node or the npm registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.repo_config import Dependencies, RepoConfig
from core.settings import Settings
from jobs.languages import language_registry as registry
from jobs.languages.javascript.javascript_backend import JAVASCRIPT, JavaScript
from jobs.languages.javascript.package_job import FilesRun, RunnerError
from jobs.languages.javascript.run_results import Outcome, ReportProblem, RunResults
from jobs.languages.javascript.suite_results import file_outcomes, merge, not_run, suite_run
from jobs.languages.javascript.toolchain import Node
from jobs.languages.language_protocol import InstallRequest
from jobs.languages.suite_run import SuiteRun, TestFailure
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.sandbox.sandbox_protocol import CommandResult
from jobs.testgen import produce_tests
from jobs.testgen.engines import EngineOutcome, Portfolio, Workspace, register
from jobs.testgen.targets import Target
from tests.js_support import base_then_head, node_or_skip, npm_install
from tests.test_js_jest import JEST
from tests.test_js_vitest import VITEST
from tests.test_languages import isolated_registries  # noqa: F401 (a fixture)


def result(returncode: int, output: str = "", timed_out: bool = False) -> CommandResult:
    return CommandResult(returncode=returncode, output=output, duration_s=1.0, timed_out=timed_out)


def test_a_runs_outcomes_read_in_no_runners_terms() -> None:
    passing = RunResults(tests={"t.test.ts > a": Outcome("pass")})
    assert suite_run("vitest", result(0), passing).describe() == "1 passed"
    failing = RunResults(
        tests={"t.test.ts > a": Outcome("pass"), "t.test.ts > g > b": Outcome("fail", "boom")},
        unloaded={"u.test.ts": "Cannot find module './gone'"},
    )
    run = suite_run("jest", result(1), failing)
    assert run.status == "failed" and run.describe() == "2 failed, 1 passed"
    assert run.failures == [
        TestFailure("t.test.ts", "g > b", "boom"),
        TestFailure("u.test.ts", "(load)", "Cannot find module './gone'"),
    ]
    assert run.problem() == "the existing tests ran but istanbul collected no data"
    assert suite_run("vitest", result(1), RunResults()).describe() == "no tests collected"
    # every test passed and the runner still failed: it did not run cleanly, in its own words
    odd = suite_run("vitest", result(1, "Error: Unhandled rejection\n"), passing)
    assert odd.status == "did not run"
    assert odd.problem() == (
        "the existing tests did not run (vitest exit 1): Error: Unhandled rejection"
    )
    no_report = suite_run("jest", result(1), ReportProblem("jest wrote no test report: x"))
    assert no_report.describe() == "jest wrote no test report: x"
    assert suite_run("jest", result(-9, timed_out=True), passing).timed_out
    stopped = not_run("vitest", RunnerError("vitest is not installed in node_modules"))
    assert stopped.problem() == (
        "the existing tests did not run (vitest): vitest is not installed in node_modules"
    )
    assert not_run("jest", RunnerError("jest did not finish in 9 s", timed_out=True)).timed_out


def test_a_coverage_threshold_not_met_is_a_run_and_a_banner_no_reason() -> None:
    passing = RunResults(tests={"t.test.ts > a": Outcome("pass")})
    # ms's jest.config.ts asks 100% of every file: a run of part of the suite misses it
    gate = (
        'Jest: "global" coverage threshold for lines (100%) not met: 60%\n'
        "Test results written to: .tandem-work/baseline.results.json\n"
    )
    assert suite_run("jest", result(1, gate), passing).status == "passed"
    vitest_gate = "ERROR: Coverage for lines (60%) does not meet global threshold (100%)\n"
    assert suite_run("vitest", result(1, vitest_gate), passing).status == "passed"
    # jest's last line on every run is its banner, never the reason it stopped
    odd = suite_run(
        "jest",
        result(1, "TypeError: setup blew up\nTest results written to: .tandem-work/x.json\n"),
        passing,
    )
    assert odd.problem() == "the existing tests did not run (jest exit 1): TypeError: setup blew up"
    # not one file loaded (jest 26 and a setup file that requires `node:fs`): no test ran
    unloaded = RunResults(unloaded={"src/a.spec.ts": "Cannot find module 'node:fs'"})
    none = suite_run("jest", result(1), unloaded)
    assert none.status == "did not run" and none.failures == []
    assert none.problem() == (
        "the existing tests did not run (jest exit 1): Cannot find module 'node:fs'"
    )


def test_packages_runs_merge_to_the_worst_with_every_line() -> None:
    one = SuiteRun("passed", 1.0, "a", passed=2, executed={"a/x.ts": {1}}, measured=True)
    two = SuiteRun("failed", 2.0, "b", failures=[TestFailure("b/t.test.ts", "t", "no")])
    two.executed = {"a/x.ts": {2}, "b/y.ts": {3}}
    merged = merge([one, two])
    assert merged.status == "failed" and merged.passed == 2 and len(merged.failures) == 1
    assert merged.executed == {"a/x.ts": {1, 2}, "b/y.ts": {3}} and merged.measured


def test_base_outcomes_per_file() -> None:
    results = RunResults(
        tests={"a.test.ts > t": Outcome("fail"), "b.test.ts > t": Outcome("pass")},
        unloaded={"c.test.ts": "SyntaxError: missing export"},
    )
    run = FilesRun(result(1), results, refused=("d.test.ts",))
    pinning = file_outcomes(["a.test.ts", "b.test.ts", "c.test.ts", "d.test.ts"], run)
    assert pinning.outcomes == {
        "a.test.ts": "fails",
        "b.test.ts": "passes",
        "c.test.ts": "fails",  # a missing export on the base pins the change
        "d.test.ts": "unknown",
    }
    unknown = file_outcomes(["a.test.ts"], RunnerError("vitest is not installed"))
    assert unknown.outcomes == {"a.test.ts": "unknown"} and "not installed" in unknown.note


VITEST_BASE = """\
type Sign = -1 | 1;

export function sign(x: number): Sign | 0 {
  if (x > 0) {
    return 1;
  }
  return -1;
}
"""
VITEST_HEAD = """\
type Sign = -1 | 1;

export function sign(x: number): Sign | 0 {
  if (x > 0) {
    return 1;
  }
  if (x < 0) {
    return -1;
  }
  return 0;
}
"""
VITEST_EXISTING = """\
import { expect, test } from "vitest";
import { sign } from "../src/calc";

test("positive", () => {
  expect(sign(3)).toBe(1);
});
test("zero was negative", () => {
  expect(sign(0)).toBe(-1);
});
"""
VITEST_NEW = """\
import { expect, test } from "vitest";
import { sign } from "../src/calc";

test("zero is zero", () => {
  expect(sign(0)).toBe(0);
});
"""
JEST_BASE = VITEST_BASE.replace("type Sign = -1 | 1;\n", "// signs\n").replace(
    "export function sign(x: number): Sign | 0 {", "function sign(x) {"
)
JEST_HEAD = VITEST_HEAD.replace("type Sign = -1 | 1;\n", "// signs\n").replace(
    "export function sign(x: number): Sign | 0 {", "function sign(x) {"
)
JEST_EXISTING = (
    VITEST_EXISTING.replace('import { expect, test } from "vitest";\n', "")
    .replace('import { sign } from "../src/calc";', 'const { sign } = require("../src/calc");')
    .lstrip("\n")
)
JEST_NEW = (
    VITEST_NEW.replace('import { expect, test } from "vitest";\n', "")
    .replace('import { sign } from "../src/calc";', 'const { sign } = require("../src/calc");')
    .lstrip("\n")
)


@dataclass(frozen=True)
class Project:
    manifest: dict[str, object]
    source: str
    base: str
    head: str
    existing: str  # the existing test file: one test breaks with the change
    existing_text: str
    new: str  # a candidate that pins the change
    new_text: str


EXPORTS = "module.exports = { sign };\n"
PROJECTS = {
    "vitest": Project(
        {"type": "module", "devDependencies": {"vitest": VITEST}},
        "src/calc.ts",
        VITEST_BASE,
        VITEST_HEAD,
        "test/calc.test.ts",
        VITEST_EXISTING,
        "test/zero.test.ts",
        VITEST_NEW,
    ),
    "jest": Project(
        {"devDependencies": {"jest": JEST}},
        "src/calc.js",
        JEST_BASE + EXPORTS,
        JEST_HEAD + EXPORTS,
        "test/calc.test.js",
        JEST_EXISTING,
        "test/zero.test.js",
        JEST_NEW,
    ),
}


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


def make_project(checkout: Path, project: Project) -> str:
    """The project at its base commit, then the change; the base commit's sha."""
    files = {
        "package.json": json.dumps({"name": "tiny", "private": True, **project.manifest}),
        ".gitignore": "node_modules/\n.tandem-work/\n",
        project.source: project.base,
        project.existing: project.existing_text,
    }
    base_sha = base_then_head(checkout, files, {project.source: project.head})
    return base_sha


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["vitest", "jest"])
async def test_the_backends_runs_on_a_real_project(node: Node, tmp_path: Path, runner: str) -> None:
    checkout = tmp_path / "checkout"
    project = PROJECTS[runner]
    base_sha = make_project(checkout, project)
    source, existing_path, new_path = project.source, project.existing, project.new
    new_text = project.new_text
    sources = {source: {7, 8, 9, 10}}
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout)
        suite = await JAVASCRIPT.run_suite(sandbox, checkout, sources, timeout_s=300)
        (checkout / new_path).write_text(new_text)
        measured = await JAVASCRIPT.run_tests(
            sandbox, checkout, [new_path], tag="v1", timeout_s=300, measure=True
        )
        plain = await JAVASCRIPT.run_tests(
            sandbox, checkout, [new_path], tag="v2", timeout_s=300, measure=False
        )
        kept = {new_path: new_text}
        pinning = await JAVASCRIPT.pin_on_base(sandbox, checkout, base_sha, kept, timeout_s=300)
        failing = await JAVASCRIPT.tests_failing_on_base(
            sandbox, checkout, base_sha, kept, timeout_s=300
        )
        broken = await JAVASCRIPT.broken_on_base(
            sandbox, checkout, base_sha, suite.failures, timeout_s=300
        )
    finally:
        await sandbox.close()

    # the existing tests: one breaks with the change; the changed file's lines, from istanbul
    assert suite.status == "failed", suite.output
    assert suite.describe() == "1 failed, 1 passed"
    assert suite.failures == [
        TestFailure(existing_path, "zero was negative", suite.failures[0].message)
    ]
    assert suite.measured and suite.problem() is None
    assert suite.statements[source] >= {4, 5, 7, 8, 10}
    assert suite.executed[source] >= {4, 5, 7, 10}
    assert 8 not in suite.executed[source]  # nothing asks for a negative number
    # a candidate alone, measured and not
    assert measured.ok and measured.passed == 1 and measured.measured, measured.output
    assert measured.executed[source] >= {4, 7, 10} and 5 not in measured.executed[source]
    assert plain.ok and plain.passed == 1 and not plain.measured, plain.output
    # on the base commit it fails: it pins the change
    assert pinning.outcomes == {new_path: "fails"}, pinning.note
    assert failing == {(new_path, "zero is zero")}
    zero_line = project.existing_text.splitlines().index('test("zero was negative", () => {') + 1
    # the existing test that fails now passed on the base commit: broken by the change
    assert [(b.path, b.nodeid, b.line) for b in broken.broken] == [
        (existing_path, f"{existing_path} > zero was negative", zero_line)
    ], broken
    assert broken.preexisting == broken.new == broken.unchecked == 0

    conventions = JAVASCRIPT.conventions(checkout, sources)
    text = conventions.describe()
    assert f"The runner is {runner}" in text and "never another runner" in text
    assert f"A test of `{source}` goes at `test/calc.test." in text, text
    assert ("ES modules" in text) == (runner == "vitest"), text


@pytest.mark.slow
@pytest.mark.parametrize("allowed", [False, True])
async def test_install_scripts_stay_off_unless_the_config_allows_them(
    node: Node, tmp_path: Path, allowed: bool
) -> None:
    """The project's own postinstall writes a file: only with ``install_scripts: true``."""
    checkout = tmp_path / "checkout"
    (checkout / "src").mkdir(parents=True)
    postinstall = "node -e \"require('fs').writeFileSync('ran', '')\""
    manifest = {
        "name": "scripted",
        "private": True,
        "scripts": {"test": "jest", "postinstall": postinstall},
    }
    (checkout / "package.json").write_text(json.dumps(manifest))
    (checkout / "src" / "a.js").write_text("module.exports = 1;\n")
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout, "--package-lock-only")
        (checkout / "ran").unlink(missing_ok=True)
        dependencies = Dependencies(install_scripts=True) if allowed else Dependencies()
        request = InstallRequest(sandbox, checkout, dependencies, tmp_path / "data", "none", 240)
        installed = await JAVASCRIPT.install(request, {"src/a.js": {1}})
    finally:
        await sandbox.close()
    assert installed.status == "installed", installed
    assert ("--ignore-scripts" in (installed.note or "")) is not allowed, installed.note
    assert (checkout / "ran").exists() is allowed
    assert Dependencies().install_scripts is False


# --- the real stages with the JS backend and a scripted engine ---------------------------------

ONLY_POSITIVE = VITEST_EXISTING.split('test("zero was negative"')[0]
SCRIPTED_TEST = """\
import { expect, test } from "vitest";
import { sign } from "../src/calc";

test("zero and negatives", () => {
  expect(sign(0)).toBe(0);
  expect(sign(-2)).toBe(-1);
});
"""


class JavaScriptBuilding(JavaScript):
    """The JS backend as it is, said to build tests with one scripted engine: what flipping
    ``builds_tests`` for an engine that writes a vitest test would run."""

    builds_tests = True
    engines: tuple[str, ...] = ("scripted-ts",)


class ScriptedTsEngine:
    name = "scripted-ts"
    label = "Scripted TS engine"
    share = 1.0

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        path = f"{workspace.output_dir}/sign.test.ts"
        (workspace.checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (workspace.checkout / path).write_text(SCRIPTED_TEST)
        return EngineOutcome(written=[path], notes=[f"scripted: {targets[0].path}"])


async def locked_project(
    node: Node, tmp_path: Path, files: dict[str, str], head: dict[str, str]
) -> tuple[Path, str]:
    """A tiny vitest package with its lockfile, at its base commit and then ``head``: its
    checkout and the base commit's sha."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    manifest = {"name": "tiny", "private": True, **PROJECTS["vitest"].manifest}
    (checkout / "package.json").write_text(json.dumps(manifest))
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout, "--package-lock-only")
    finally:
        await sandbox.close()
    ignore = {".gitignore": "node_modules/\n.tandem-work/\n"}
    return checkout, base_then_head(checkout, ignore | files, head)


@pytest.mark.slow
@pytest.mark.usefixtures("isolated_registries")
async def test_a_typescript_change_through_the_real_stages(node: Node, tmp_path: Path) -> None:
    """Install (npm ci from the lockfile), the baseline under coverage, the conventions' test
    folder, validation 5/5 by vitest, the keep rule and the base commit, all through the JS
    backend: the TS file's changed-line coverage goes up and the kept test pins the change."""
    registry.register(JavaScriptBuilding())
    register(ScriptedTsEngine(), Portfolio("offline", ("scripted-ts",), label="offline: ts"))
    project = PROJECTS["vitest"]
    files = {project.source: project.base, project.existing: ONLY_POSITIVE}
    checkout, base_sha = await locked_project(node, tmp_path, files, {project.source: project.head})

    config = RepoConfig.model_validate({"test_generation": {"engine": "offline"}})
    settings = Settings(
        llm_model=None, sandbox="local", data_dir=tmp_path / "data", test_timeout_s=300
    )  # type: ignore[call-arg]
    production = await produce_tests(
        LocalSandbox(),
        checkout,
        {project.source: {7, 8, 9, 10}},
        config,
        settings,
        base_sha=base_sha,
    )

    assert production.nothing_to_do is None, (production.nothing_to_do, production.problems)
    assert not production.problems, production.problems
    assert production.baseline == "Existing tests: 1 passed."
    assert "scripted: src/calc.ts" in production.notes
    assert list(production.kept) == ["test/sign.test.ts"], production.verdicts
    assert production.kept["test/sign.test.ts"] == SCRIPTED_TEST
    (verdict,) = production.verdicts
    assert verdict.kept and "passed 5/5 runs" in verdict.reason, verdict
    assert production.before is not None and production.after is not None
    assert (production.before.covered_count, production.before.total) == (0, 3)
    assert (production.after.covered_count, production.after.total) == (3, 3)
    assert production.pinning is not None
    assert production.pinning.outcomes == {"test/sign.test.ts": "fails"}


@pytest.mark.slow
async def test_a_typescript_change_gets_tests_from_the_offline_engine(
    node: Node, tmp_path: Path
) -> None:
    """The default engine without an LLM on a TS change: the JS/TS characterization engine,
    through the real stages, writes a vitest test that raises the changed lines' coverage and
    fails on the base commit; the check run names the engine that ran."""
    project = PROJECTS["vitest"]
    files = {project.source: project.base, project.existing: ONLY_POSITIVE}
    checkout, base_sha = await locked_project(node, tmp_path, files, {project.source: project.head})
    settings = Settings(
        llm_model=None, sandbox="local", data_dir=tmp_path / "data", test_timeout_s=300
    )  # type: ignore[call-arg]
    production = await produce_tests(
        LocalSandbox(), checkout, {project.source: {7, 8, 9, 10}}, RepoConfig(), settings,
        base_sha=base_sha,
    )  # fmt: skip

    assert not production.problems, production.problems
    assert "offline: JS/TS characterization" in production.engine_reason
    assert list(production.kept) == ["test/calc.tandem.test.ts"], production.verdicts
    assert "expect(sign(0)).toEqual(0);" in production.kept["test/calc.tandem.test.ts"]
    assert production.before is not None and production.after is not None
    assert production.before.covered_count < production.after.covered_count
    assert production.pinning is not None
    assert production.pinning.outcomes == {"test/calc.tandem.test.ts": "fails"}


CLASSIFY_BASE = """\
export function classify(n: number): string {
  return n > 10 ? "big" : "small";
}
"""
CLASSIFY_TEST = """\
import { expect, test } from "vitest";
import { classify } from "../src/size";

test("both sides", () => {
  expect(classify(3)).toBe("small");
  expect(classify(20)).toBe("big");
});
"""


@pytest.mark.slow
async def test_where_every_changed_line_ran_a_test_that_pins_the_change_is_kept(
    node: Node, tmp_path: Path
) -> None:
    """The existing test runs the changed line on both sides but never at the edge: the engine
    still compares base and head there, and its test that fails on the base is kept."""
    files = {"src/size.ts": CLASSIFY_BASE, "test/size.test.ts": CLASSIFY_TEST}
    head = {"src/size.ts": CLASSIFY_BASE.replace("n > 10", "n >= 10")}
    checkout, base_sha = await locked_project(node, tmp_path, files, head)
    settings = Settings(
        llm_model=None, sandbox="local", data_dir=tmp_path / "data", test_timeout_s=300
    )  # type: ignore[call-arg]
    production = await produce_tests(
        LocalSandbox(), checkout, {"src/size.ts": {2}}, RepoConfig(), settings, base_sha=base_sha
    )

    assert not production.problems, production.problems
    assert production.before is not None and production.before.covered_count == 1
    assert list(production.kept) == ["test/size.tandem.test.ts"], production.verdicts
    assert 'expect(classify(10)).toEqual("big");' in production.kept["test/size.tandem.test.ts"]
    (verdict,) = [v for v in production.verdicts if v.kept]
    assert "1 test fails on the base commit (they pin the change)" in verdict.reason
    # kept test by test: the one failing on the base says what it pins
    kept = [t for t in production.tests if t["kept"]]
    assert any("fails on the base commit: pins the change" in t["reason"] for t in kept), kept
    assert production.pinning is not None
    assert production.pinning.outcomes == {"test/size.tandem.test.ts": "fails"}


def test_conventions_come_from_the_changed_sources_package(tmp_path: Path) -> None:
    """A workspace member's own runner config decides where its test goes (read, never run)."""
    app = tmp_path / "packages" / "app"
    (app / "src").mkdir(parents=True)
    (tmp_path / "package.json").write_text(json.dumps({"workspaces": ["packages/*"]}))
    (app / "package.json").write_text(
        json.dumps({"name": "app", "type": "module", "devDependencies": {"vitest": VITEST}})
    )
    (app / "vitest.config.ts").write_text(
        'export default { test: { include: ["spec/**/*.spec.ts"] } };\n'
    )
    (app / "src" / "x.ts").write_text("export const x = 1;\n")

    conventions = JAVASCRIPT.conventions(tmp_path, {"packages/app/src/x.ts": {1}})

    text = conventions.describe()
    assert "- The package is `packages/app`" in text
    assert "The runner is vitest" in text and "`spec/**/*.spec.ts`" in text
    assert "A test of `packages/app/src/x.ts` goes at `packages/app/spec/x.spec.ts`." in text
    assert conventions.framework == "vitest"
    none = JAVASCRIPT.conventions(tmp_path, {"elsewhere.ts": {1}}).describe()
    assert "No JavaScript/TypeScript package with a supported runner" in none
