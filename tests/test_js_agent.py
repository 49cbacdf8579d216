"""The OpenHands agent writes JS/TS tests (issue 20, item 5; issue 18, item 4): its prompts take
the package's runner, where each new test goes, the import and the command that runs one file
from the JS backend's conventions, and the files it is judged by are those the runner's config
collects. End to end with the scripted LLM (tests/llmserver.py) and the real OpenHands loop, on a
tiny TypeScript vitest package: first through the stages, then through the App with the fake
GitHub. A Jest test written into the vitest package is not kept. Skips, saying why, without Node
or the npm registry."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.languages.javascript.javascript_backend import JAVASCRIPT
from jobs.languages.javascript.suite_layout import foreign_runner
from jobs.languages.javascript.toolchain import Node
from jobs.languages.python.python_backend import PYTHON
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.testgen import produce_tests
from jobs.testgen.production import Production
from jobs.testgen.prompts import build_prompt
from jobs.testgen.targets import Target
from tests.harness import REPO, Harness, HarnessFactory, first_user_text, push_change
from tests.js_support import node_or_skip, npm_install
from tests.llmserver import ScriptedLLM, ScriptFn, Step, finish, tool_call
from tests.test_js_runs import ONLY_POSITIVE, PROJECTS, locked_project
from tests.test_js_vitest import VITEST

PROJECT = PROJECTS["vitest"]
CHANGED = {PROJECT.source: {7, 8, 9, 10}}
AGENT_PATH = "test/calc.tandem-agent.test.ts"
PROOF_PATH = "test/calc.tandem-agent-proof.test.ts"

VITEST_TEST = """\
import { expect, test } from "vitest";
import { sign } from "../src/calc";

test("zero and negatives", () => {
  expect(sign(0)).toBe(0);
  expect(sign(-2)).toBe(-1);
});
"""
# A first test that covers every changed line but lets `return -1` → `return -2` live, and
# what the agent writes when a proof round names that mutant.
LOOSE_TEST = VITEST_TEST.replace("expect(sign(-2)).toBe(-1)", "expect(sign(-2)).toBeLessThan(0)")
PROOF_TEST = """\
import { expect, test } from "vitest";
import { sign } from "../src/calc";

test("a negative number's sign is exactly -1", () => {
  expect(sign(-2)).toBe(-1);
});
"""
# What the peers' users complain of: a Jest test in a vitest package.
JEST_TEST = """\
import { describe, expect, it, jest } from "@jest/globals";
import { sign } from "../src/calc";

describe("sign", () => {
  it("zero", () => {
    const spy = jest.fn(sign);
    expect(spy(0)).toBe(0);
  });
});
"""


def vitest_package(root: Path, config: str | None = None) -> None:
    (root / "src").mkdir(parents=True)
    manifest = {"name": "tiny", "type": "module", "devDependencies": {"vitest": VITEST}}
    (root / "package.json").write_text(json.dumps(manifest))
    (root / "src" / "calc.ts").write_text(PROJECT.head)
    if config is not None:
        (root / "vitest.config.ts").write_text(config)


# --- the prompts and the new files, read (no Node needed) ------------------------------------


def test_the_prompt_names_the_packages_runner_path_import_and_command(tmp_path: Path) -> None:
    vitest_package(tmp_path)
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "calc.test.ts").write_text(ONLY_POSITIVE)
    conventions = JAVASCRIPT.conventions(tmp_path, CHANGED)
    target = Target(PROJECT.source, [7, 8, 10], ["sign"], [7, 8, 10], ["sign"])

    prompt = build_prompt([target], tmp_path, conventions)

    assert prompt.startswith(
        f"You are writing vitest tests for a pull request in the repository at {tmp_path}."
    )
    assert f"the test of `src/calc.ts` at `{AGENT_PATH}`" in prompt
    assert "never another runner (jest tests are not kept)" in prompt
    assert f"In `{AGENT_PATH}`, import the code under test as `../src/calc`." in prompt
    assert "pytest" not in prompt.replace(str(tmp_path), "") and "test_<module>" not in prompt
    # vitest is not installed here: the command falls back to npx; installed, it is the
    # package's own binary (the end-to-end tests below run the prompt's command)
    assert "- Run them with `npx vitest run <file>` and fix them until they pass." in prompt
    terms = conventions.prompting()
    assert terms.runner == "vitest" and terms.run == "npx vitest run <file>"


def test_the_new_files_are_those_the_runner_collects(tmp_path: Path) -> None:
    """Only where the vitest config's include looks, and only test names; Python's rule is
    pytest's names, as before."""
    vitest_package(tmp_path, 'export default { test: { include: ["spec/**/*.spec.ts"] } };\n')
    untracked = [
        "spec/calc.tandem-agent.spec.ts",  # collected
        "test/calc.test.ts",  # a test's name, but the config does not look there
        "spec/helpers.ts",  # not a test's name
        "spec/calc.spec.py",
        "elsewhere/calc.spec.ts",  # no package.json above it... the root's: not included
    ]
    assert JAVASCRIPT.tests_among(tmp_path, untracked) == ["spec/calc.tandem-agent.spec.ts"]
    python = ["tests/test_a.py", "a_test.py", "tests/helpers.py", "tests/conftest.py", "x.ts"]
    assert PYTHON.tests_among(tmp_path, python) == ["tests/test_a.py", "a_test.py"]


@pytest.mark.parametrize(
    ("text", "runner", "why"),
    [
        (JEST_TEST, "vitest", "is written for jest (it uses `@jest/globals`)"),
        ("const { sign } = require('../src/calc');\nit('x', () => { jest.mock('./a'); });\n",
         "vitest", "is written for jest (it uses `jest.`)"),
        (VITEST_TEST, "jest", "is written for vitest (it uses `vitest`)"),
        ("it('x', () => { const f = vi.fn(); expect(f).not.toHaveBeenCalled(); });\n", "jest",
         "is written for vitest (it uses `vi.`)"),
        (VITEST_TEST, "vitest", None),
        (JEST_TEST, "jest", None),
        ("const f = navi.fn(obj.vi.fn, myjest.fn);\n", "jest", None),  # other objects' fn
        ("const f = obj.jest.fn(myjest.mock);\n", "vitest", None),
    ],
)  # fmt: skip
def test_a_test_for_another_runner_is_named(text: str, runner: str, why: str | None) -> None:
    found = foreign_runner(text, runner)
    assert (found.split(",")[0] if found else None) == why


# --- the agent through the real stages --------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


def writes(text: str, proof: str | None = None) -> ScriptFn:
    """An agent that writes ``text`` at the path the first prompt gives the changed source's
    test, and ``proof`` (if any) beside it when a proof round names surviving mutants, then
    finishes; every later conversation (a fix round) finishes at once."""

    def script(body: dict[str, Any]) -> Step | None:
        prompt = first_user_text(body)
        checkout = re.search(r"repository at (/\S+?)\.\n", prompt)
        where = re.search(r"the test of `src/calc\.ts` at `([^`]+)`", prompt)
        if checkout is None or any(m.get("role") == "assistant" for m in body["messages"]):
            return finish("done")
        if where is not None:
            path = f"{checkout.group(1)}/{where.group(1)}"
            return tool_call("file_editor", command="create", path=path, file_text=text)
        if proof is not None and "Tandem put small bugs (mutants)" in prompt:
            path = f"{checkout.group(1)}/{PROOF_PATH}"
            return tool_call("file_editor", command="create", path=path, file_text=proof)
        return finish("done")

    return script


async def agent_run(node: Node, tmp_path: Path, script: ScriptFn) -> tuple[Production, ScriptedLLM]:
    files = {PROJECT.source: PROJECT.base, PROJECT.existing: ONLY_POSITIVE}
    checkout, base_sha = await locked_project(node, tmp_path, files, {PROJECT.source: PROJECT.head})
    config = RepoConfig.model_validate({"test_generation": {"engine": "openhands"}})
    async with ScriptedLLM(script) as llm:
        settings = Settings(
            llm_model="openai/scripted",
            llm_base_url=llm.url,
            llm_api_key=SecretStr("sk-test"),
            sandbox="local",
            data_dir=tmp_path / "data",
            test_timeout_s=300,
        )  # type: ignore[call-arg]
        production = await produce_tests(
            LocalSandbox(), checkout, CHANGED, config, settings, base_sha=base_sha
        )
    return production, llm


def prompts(llm: ScriptedLLM) -> list[str]:
    """Each conversation's prompt, in order."""
    return list(dict.fromkeys(first_user_text(r) for r in llm.requests))


@pytest.mark.slow
async def test_the_agents_vitest_test_is_validated_by_vitest_and_kept_and_a_proof_round_follows(
    node: Node, tmp_path: Path
) -> None:
    """Its first test covers every changed line, but `return -1` → `return -2` survives it: a
    proof round (issue 19, item 4) names that mutant, and the test the agent writes then is kept
    for the kill alone."""
    production, llm = await agent_run(node, tmp_path, writes(LOOSE_TEST, PROOF_TEST))

    assert not production.problems, production.problems
    assert production.engine_reason == "openhands (openai/scripted)"
    first, proof, *_ = prompts(llm)
    assert first.startswith("You are writing vitest tests")
    # the package's own vitest with Tandem's node, from the package's folder
    command = re.search(r"- Run them with `([^`]+)` and fix them", first)
    assert command is not None
    assert command.group(1) == (
        f"cd {tmp_path / 'checkout'} && {node.path} node_modules/vitest/vitest.mjs run <file>"
    )
    assert proof.startswith("You are writing vitest tests") and "mutants" in proof, proof
    assert "`src/calc.ts`, `sign`" in proof, proof
    assert "line 8: no test notices if `1` becomes `2`" in proof, proof
    assert f"`{AGENT_PATH}`" in proof  # the passing file it already wrote
    assert sorted(production.kept) == sorted([AGENT_PATH, PROOF_PATH]), production.verdicts
    verdicts = {v.path: v for v in production.verdicts}
    assert verdicts[AGENT_PATH].kept and "passed 5/5 runs" in verdicts[AGENT_PATH].reason
    said = verdicts[PROOF_PATH].reason
    assert re.search(r"written in a proof round; kills \d+ mutant", said), said
    assert production.before is not None and production.after is not None
    assert (production.before.covered_count, production.before.total) == (0, 3)
    assert (production.after.covered_count, production.after.total) == (3, 3)
    assert production.pinning is not None
    # sign(0) was -1 on the base; sign(-2) was -1 there too: the proof test pins nothing
    assert production.pinning.outcomes == {AGENT_PATH: "fails", PROOF_PATH: "passes"}


@pytest.mark.slow
async def test_a_jest_test_in_the_vitest_package_is_not_kept(node: Node, tmp_path: Path) -> None:
    """The agent writes a Jest test where vitest runs: it is refused before any run, the agent
    is told why in its fix round, and nothing is kept."""
    production, llm = await agent_run(node, tmp_path, writes(JEST_TEST))

    assert production.kept == {}, production.verdicts
    (verdict,) = production.verdicts
    assert verdict.path == AGENT_PATH and not verdict.kept, verdict
    why = (
        f"`{AGENT_PATH}` is written for jest (it uses `@jest/globals`), and the package's runner "
        "is vitest"
    )
    assert why in verdict.reason, verdict.reason
    fix = prompts(llm)[1]
    assert fix.startswith("You wrote vitest tests") and why in fix
    assert production.before is not None and production.after is not None
    assert production.after.covered_count == production.before.covered_count == 0


# --- through the App: a TypeScript pull request on the fake GitHub -----------------------------


async def lockfile(node: Node, tmp_path: Path, manifest: dict[str, object]) -> str:
    folder = tmp_path / "lock"
    folder.mkdir()
    (folder / "package.json").write_text(json.dumps(manifest))
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, folder, "--package-lock-only")
    finally:
        await sandbox.close()
    return (folder / "package-lock.json").read_text()


@pytest.mark.slow
async def test_a_typescript_pull_request_gets_the_agents_test_on_the_app(
    node: Node, tmp_path: Path, make_harness: HarnessFactory
) -> None:
    """The issue's first done-when, with the scripted LLM against the fake GitHub: the check
    run's test part shows the changed TS lines' coverage going up and the kept vitest test,
    which is delivered."""
    manifest = {"name": "tiny", "private": True, **PROJECT.manifest}
    files = {
        "package.json": json.dumps(manifest),
        "package-lock.json": await lockfile(node, tmp_path, manifest),
        ".gitignore": "node_modules/\n.tandem-work/\n",
        PROJECT.source: PROJECT.base,
        PROJECT.existing: ONLY_POSITIVE,
    }
    harness: Harness = await make_harness(
        script=writes(VITEST_TEST),
        files=files,
        config="test_generation:\n  engine: openhands\n",
        test_timeout_s=300,
    )
    base, head = push_change(harness.github, "feature-sign", {PROJECT.source: PROJECT.head})
    await harness.start("opened", 1, head, base, head_ref="feature-sign")
    run = await harness.completed(head)

    section = run["output"]["summary"].split("### Test generation", 1)[-1]
    section = section.split("### Refactoring review", 1)[0]
    assert run["conclusion"] == "success", section
    assert "changed lines covered: 0% → 100%" in section, section
    assert f"`{AGENT_PATH}`: kept (passed 5/5 runs" in section, section
    tests = (await harness.results(1, head))["generate_tests"]
    assert tests.details["kept"] == [AGENT_PATH], tests.details
    branch = "tandem/tests-pr-1"
    assert [p["title"] for p in harness.github.pulls_for(REPO) if p["head"]["ref"] == branch] == [
        "Tests for #1"
    ]
