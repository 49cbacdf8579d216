"""vitest 0.x, still locked by many packages (defu, destr and scule at vitest 0.34): its CLI has
no ``--exclude`` and refuses the whole run over it, so the engine's probe and every candidate
came back with no outcome. A run of given files there is retried without the option. Before
0.32 a hook's context names its test ``meta``, not ``task``: the per-test setup file read
``task`` and failed every test of knitwork's (vitest 0.31), whose baseline then had no data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.languages.javascript import vitest_per_test
from jobs.languages.javascript.package_job import FilesRun, PackageJob
from jobs.languages.javascript.run_results import Outcome, RunResults
from jobs.languages.javascript.toolchain import Node
from jobs.languages.javascript.vitest_files import run_files
from jobs.languages.javascript.vitest_per_test import VitestPerTestRun, run_per_test
from jobs.sandbox.local_sandbox import LocalSandbox
from tests.js_support import node_or_skip, npm_install

TEST = """\
import { expect, test } from "vitest";
import { twice } from "../src/twice";

test("doubles", () => { expect(twice(2)).toBe(4); });
test("zero", () => { expect(twice(0)).toBe(0); });
"""


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


async def test_a_vitest_without_the_exclude_option_still_runs_the_files(
    node: Node, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "src").mkdir(parents=True)
    (checkout / "test").mkdir()
    manifest = {"name": "p", "private": True, "type": "module"}
    manifest["devDependencies"] = {"vitest": "0.34.6"}  # type: ignore[assignment]
    (checkout / "package.json").write_text(json.dumps(manifest))
    (checkout / "src/twice.ts").write_text("export const twice = (n: number) => n * 2;\n")
    (checkout / "test/twice.test.ts").write_text(TEST)
    sandbox = LocalSandbox()
    await npm_install(sandbox, node, checkout)
    job = PackageJob(checkout, checkout, [], tmp_path / "tools", timeout_s=240)
    run = await run_files(sandbox, node, job, ["test/twice.test.ts"], name="doubles")
    assert isinstance(run, FilesRun) and isinstance(run.results, RunResults), run
    # vitest 0.34's report names the file's top level with an empty title: its key is
    # "file >  > test" (left to the report's reader)
    outcomes = {t.rsplit(" > ", 1)[-1]: o for t, o in run.results.tests.items()}
    assert outcomes == {"doubles": Outcome("pass"), "zero": Outcome("skip")}, run.results


async def test_vitest_before_0_32_records_each_tests_lines(node: Node, tmp_path: Path) -> None:
    run = await _run_on_vitest_0_31(node, tmp_path)
    assert isinstance(run, VitestPerTestRun), run
    assert run.result.returncode == 0, run.result.output
    outcomes = {t.rsplit(" > ", 1)[-1]: o for t, o in run.per_test.outcomes.items()}
    assert outcomes["doubles"] == outcomes["zero"] == "pass", run.per_test.outcomes
    lines = {t.rsplit(" > ", 1)[-1]: ls for t, ls in run.per_test.lines.items()}
    assert lines["doubles"] == {"src/twice.ts": {1}}, run.per_test.lines


async def test_a_failing_setup_file_is_a_note_never_a_failed_test(
    node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the setup file as it was: vitest 0.31's hook context has no `task`
    broken = tmp_path / "setup" / vitest_per_test.SETUP.name
    broken.parent.mkdir()
    text = vitest_per_test.SETUP.read_text().replace("context.task || context.meta", "context.task")
    broken.write_text(text)
    monkeypatch.setattr(vitest_per_test, "SETUP", broken)
    run = await _run_on_vitest_0_31(node, tmp_path)
    assert isinstance(run, VitestPerTestRun), run
    assert run.result.returncode == 0, run.result.output  # the project's tests still pass
    assert [p for p in run.per_test.problems if "per-test setup file failed" in p], run.per_test


async def _run_on_vitest_0_31(node: Node, tmp_path: Path) -> object:
    """The per-test run of a one-test-file package on vitest 0.31."""
    checkout = tmp_path / "checkout"
    (checkout / "src").mkdir(parents=True)
    (checkout / "test").mkdir()
    manifest = {"name": "p", "private": True, "type": "module"}
    manifest["devDependencies"] = {"vitest": "0.31.0"}  # type: ignore[assignment]
    (checkout / "package.json").write_text(json.dumps(manifest))
    (checkout / "src/twice.ts").write_text("export const twice = (n: number) => n * 2;\n")
    (checkout / "test/twice.test.ts").write_text(TEST)
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout)
        job = PackageJob(checkout, checkout, ["src/twice.ts"], tmp_path / "tools", timeout_s=240)
        return await run_per_test(sandbox, node, job)
    finally:
        await sandbox.close()
