"""vitest test files run on the head and on the base commit's sources: a test that checks the
change fails on the base (it pins it), one that checks what did not change passes on both, and
a file importing what the base lacks is told apart. Real git, Node and vitest; skips, saying
why, without Node or the npm registry."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from jobs.languages.javascript.base_runs import run_on_base
from jobs.languages.javascript.package_job import FilesRun, PackageJob
from jobs.languages.javascript.run_results import Outcome, RunResults
from jobs.languages.javascript.toolchain import Node
from jobs.languages.javascript.vitest_files import run_files
from jobs.sandbox.local_sandbox import LocalSandbox
from tests.js_support import node_or_skip, npm_install
from tests.test_js_vitest import VITEST

BASE = """\
export function clamp(x: number, top: number): number {
  return x > top ? top : x;
}
"""
# The change: negative numbers are clamped to 0 now, and a new export
HEAD = """\
export function clamp(x: number, top: number): number {
  if (x < 0) {
    return 0;
  }
  return x > top ? top : x;
}

export const double = (x: number): number => x * 2;
"""
PINS = """\
import { expect, test } from "vitest";
import { clamp } from "../src/clamp";

test("negative is zero now", () => {
  expect(clamp(-5, 10)).toBe(0);
});
test("top stays", () => {
  expect(clamp(50, 10)).toBe(10);
});
"""
NEW_EXPORT = """\
import { expect, test } from "vitest";
import { double } from "../src/clamp";

test("doubles", () => {
  expect(double(2)).toBe(4);
});
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


@pytest.mark.slow
async def test_files_on_the_head_and_on_the_base_commit(node: Node, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "pkg" / "src").mkdir(parents=True)
    manifest = {
        "name": "p",
        "private": True,
        "type": "module",
        "devDependencies": {"vitest": VITEST},
    }
    (checkout / "pkg" / "package.json").write_text(json.dumps(manifest))
    (checkout / "pkg" / "src" / "clamp.ts").write_text(BASE)
    (checkout / ".gitignore").write_text("node_modules/\n")
    git(checkout, "init", "-q")
    git(checkout, "add", ".")
    git(checkout, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    base_sha = git(checkout, "rev-parse", "HEAD")
    (checkout / "pkg" / "src" / "clamp.ts").write_text(HEAD)
    git(checkout, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "head")
    tests = {"pkg/test/clamp.test.ts": PINS, "pkg/test/double.test.ts": NEW_EXPORT}
    for path, text in tests.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_text(text)

    job = PackageJob(checkout, checkout / "pkg", [], tmp_path / "tools", timeout_s=240)
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout / "pkg")
        head = await run_files(sandbox, node, job, ["test/clamp.test.ts", "test/double.test.ts"])
        one = await run_files(sandbox, node, job, ["test/clamp.test.ts"], name="top stays")
        base = await run_on_base(run_files, sandbox, node, job, base_sha, tests)
    finally:
        await sandbox.close()

    assert isinstance(head, FilesRun) and isinstance(head.results, RunResults), head
    assert head.result.returncode == 0, head.result.output
    assert {t: o.status for t, o in head.results.tests.items()} == {
        "pkg/test/clamp.test.ts > negative is zero now": "pass",
        "pkg/test/clamp.test.ts > top stays": "pass",
        "pkg/test/double.test.ts > doubles": "pass",
    }
    assert isinstance(one, FilesRun) and isinstance(one.results, RunResults), one
    assert one.results.tests["pkg/test/clamp.test.ts > top stays"] == Outcome("pass")
    assert one.results.tests["pkg/test/clamp.test.ts > negative is zero now"].status == "skip"

    assert isinstance(base, FilesRun) and isinstance(base.results, RunResults), base
    on_base = base.results.tests
    assert on_base["pkg/test/clamp.test.ts > negative is zero now"].status == "fail"
    assert (
        "expected -5 to be +0" in on_base["pkg/test/clamp.test.ts > negative is zero now"].message
    )
    assert on_base["pkg/test/clamp.test.ts > top stays"].status == "pass"
    # `double` is missing on the base: the test ran and failed (a pin), or its file did not load
    assert (
        on_base.get("pkg/test/double.test.ts > doubles", Outcome("pass")).status == "fail"
        or "pkg/test/double.test.ts" in base.results.unloaded
    )
    assert base.refused == ()
    # the base tree is gone, and the head's node_modules with it only unlinked
    assert not list((checkout / ".tandem-work").glob("base-*"))
    assert (checkout / "pkg" / "node_modules" / "vitest" / "package.json").is_file()
