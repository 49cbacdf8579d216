"""A real vitest project end to end: detected, installed with npm from the registry, its suite
run with coverage (the provider installed into Tandem's tools at the project's vitest version),
the report read as changed-line sets. Skips, saying why, without Node or the npm registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.dependencies.install_plan import MemoryFiles
from jobs.languages.javascript.coverage import Coverage, changed_coverage
from jobs.languages.javascript.package_managers import (
    InstallCommand,
    PackageManager,
    find_package_manager,
    install_command,
)
from jobs.languages.javascript.packages import Package, find_package
from jobs.languages.javascript.runner_choice import Runner, find_runner
from jobs.languages.javascript.toolchain import Node, NodeUnavailable, find_node
from jobs.languages.javascript.vitest import (
    PackageAt,
    VitestRun,
    coverage_args,
    escape_glob,
    run_with_coverage,
)
from jobs.sandbox.local_sandbox import LocalSandbox

VITEST = "4.1.2"
CALC = """\
export function sign(x: number): number {
  if (x > 0) {
    return 1;
  }
  if (x < 0) {
    return -1;
  }
  return 0;
}
"""
UNTESTED = """\
export const twice = (x: number): number => {
  const y = x * 2;
  return y;
};
"""
PASSING = """\
import { expect, test } from "vitest";
import { sign } from "./calc";

test("positive", () => {
  expect(sign(3)).toBe(1);
});
"""
# Fails, and still runs lines 5 and 8: the report must come anyway (--coverage.reportOnFailure)
FAILING = """\
import { expect, test } from "vitest";
import { sign } from "./calc";

test("zero", () => {
  expect(sign(0)).toBe(5);
});
"""
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET")


def test_coverage_args_and_literal_globs(tmp_path: Path) -> None:
    args = coverage_args(tmp_path, "@vitest/coverage-istanbul", ["src/pages/[id].ts"])
    assert "--coverage.provider=istanbul" in args
    assert "--coverage.reportOnFailure" in args
    assert args[-1] == "--coverage.include=src/pages/\\[id\\].ts"
    # a lone path is given twice: vitest 0.x takes one `--coverage.include` as a string and
    # covers nothing with it
    assert args.count(args[-1]) == 2
    two = coverage_args(tmp_path, "@vitest/coverage-istanbul", ["a.ts", "b.ts"])
    assert two[-2:] == ["--coverage.include=a.ts", "--coverage.include=b.ts"]
    assert escape_glob("src/a.ts") == "src/a.ts"


@pytest.fixture(scope="module")
def node() -> Node:
    found = find_node()
    if isinstance(found, NodeUnavailable):
        pytest.skip(f"{found.reason} (scripts/bootstrap installs the `js` extra)")
    return found


# Each package manager writes its lockfile first (resolving only), so that the install under
# test is the lockfile-exact one detection chooses: npm ci, pnpm --frozen-lockfile, yarn
# --immutable with the node-modules linker. pnpm and yarn come through corepack.
MANAGERS: dict[str, tuple[str | None, str, tuple[str, ...], tuple[str, ...]]] = {
    # name: (packageManager field, lockfile, the arguments that write it, the install's first two)
    "npm": (
        None,
        "package-lock.json",
        ("install", "--package-lock-only", "--ignore-scripts"),
        ("ci", "--no-audit"),
    ),
    "pnpm": (
        "pnpm@9.15.0",
        "pnpm-lock.yaml",
        ("install", "--lockfile-only", "--ignore-scripts"),
        ("install", "--frozen-lockfile"),
    ),
    "yarn": (
        "yarn@4.5.3",
        "yarn.lock",
        ("install", "--mode=update-lockfile"),
        ("install", "--immutable"),
    ),
}


def network_trouble(output: str) -> bool:
    return any(e in output for e in NETWORK_ERRORS)


@pytest.mark.slow
@pytest.mark.parametrize("manager_name", list(MANAGERS))
async def test_vitest_project_changed_line_coverage(
    node: Node, tmp_path: Path, manager_name: str
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "src").mkdir(parents=True)
    declared, lockfile, lock_args, install_args = MANAGERS[manager_name]
    manifest = {
        "name": "tiny",
        "private": True,
        "type": "module",
        "scripts": {"test": "vitest run"},
        "devDependencies": {"vitest": VITEST},
        **({"packageManager": declared} if declared else {}),
    }
    files = {
        "package.json": json.dumps(manifest),
        "src/calc.ts": CALC,
        "src/untested.ts": UNTESTED,
        "src/calc.test.ts": PASSING,
        "src/zero.test.ts": FAILING,
    }
    for path, text in files.items():
        (checkout / path).write_text(text)

    sandbox = LocalSandbox()
    try:
        unlocked = find_package_manager(MemoryFiles(files), Package("", manifest))
        assert isinstance(unlocked, PackageManager) and unlocked.name == manager_name
        plain = install_command(unlocked)
        lock = InstallCommand(plain.tool, lock_args, "", plain.env)
        locked = await sandbox.run(node.command(lock), cwd=checkout, timeout_s=240)
        if locked.returncode != 0 and network_trouble(locked.output):
            pytest.skip(f"the npm registry is not reachable: {locked.output[-300:]}")
        assert locked.returncode == 0, locked.output
        files[lockfile] = (checkout / lockfile).read_text()
        assert not (checkout / "node_modules" / "vitest").exists()

        # detection picks vitest and the manager; the install it asks for is the one that runs
        package = find_package(MemoryFiles(files), "src/calc.ts")
        assert isinstance(package, Package)
        assert isinstance(find_runner(MemoryFiles(files), package), Runner)
        manager = find_package_manager(MemoryFiles(files), package)
        assert isinstance(manager, PackageManager), manager
        assert (manager.name, manager.lockfile) == (manager_name, lockfile)
        install = install_command(manager)
        assert install.args[:2] == install_args
        installed = await sandbox.run(node.command(install), cwd=checkout, timeout_s=240)
        if installed.returncode != 0 and network_trouble(installed.output):
            pytest.skip(f"the npm registry is not reachable: {installed.output[-300:]}")
        assert installed.returncode == 0, installed.output
        assert not (checkout / "node_modules/@vitest/coverage-v8").exists()

        run = await run_with_coverage(
            sandbox,
            node,
            PackageAt(checkout, checkout),
            include=["src/calc.ts", "src/untested.ts"],
            report_dir=tmp_path / "report",
            tools_dir=tmp_path / "tools",
            timeout_s=240,
        )
    finally:
        await sandbox.close()

    assert isinstance(run, VitestRun), run
    assert run.provider == f"@vitest/coverage-v8 {VITEST} (Tandem's tools)"
    assert run.result.returncode == 1, run.result.output  # the failing test
    assert isinstance(run.coverage, Coverage), run.coverage
    assert run.coverage.statements["src/calc.ts"] == {2, 3, 5, 6, 8}
    # sign(3) ran 2 and 3; sign(0) ran 2, 5 and 8; nothing ran 6
    assert run.coverage.executed["src/calc.ts"] == {2, 3, 5, 8}
    # no test imports untested.ts: included, so its statements are known and uncovered
    assert run.coverage.statements["src/untested.ts"]
    assert run.coverage.executed["src/untested.ts"] == set()
    assert set(run.coverage.statements) == {"src/calc.ts", "src/untested.ts"}  # no test files

    changed = changed_coverage(
        run.coverage, {"src/calc.ts": {4, 5, 6, 7}, "src/untested.ts": {2, 3}}
    )
    assert changed.executable == {"src/calc.ts": {5, 6}, "src/untested.ts": {2, 3}}
    assert changed.covered == {"src/calc.ts": {5}, "src/untested.ts": set()}


async def test_under_pnpms_layout_the_istanbul_provider_is_linked_where_vite_resolves_it(
    tmp_path: Path,
) -> None:
    # pnpm keeps vitest in node_modules/.pnpm/…/node_modules/vitest, and vitest 4.0 imports the
    # provider through vite from the package's folder: the provider must be found from both.
    from jobs.languages.javascript import vitest_per_test
    from jobs.languages.javascript.package_job import PackageJob

    store = tmp_path / "pkg/node_modules/.pnpm/vitest@4.0.16/node_modules"
    (store / "vitest").mkdir(parents=True)
    (store / "vitest/package.json").write_text('{"name": "vitest", "version": "4.0.16"}')
    provider = tmp_path / "tools/@vitest/coverage-istanbul"
    provider.mkdir(parents=True)
    (provider / "package.json").write_text('{"version": "4.0.16"}')
    (store / "@vitest").mkdir()
    (store / "@vitest/coverage-istanbul").symlink_to(provider, target_is_directory=True)
    (tmp_path / "pkg/node_modules/vitest").symlink_to(store / "vitest", target_is_directory=True)
    job = PackageJob(tmp_path, tmp_path / "pkg", [], tmp_path / "tools", 60)
    node = Node(Path("node"), (24, 0, 0), None, None)
    found = await vitest_per_test.ensure_istanbul(
        LocalSandbox(), node, tmp_path / "pkg/node_modules/vitest", job
    )
    assert found == store / "@vitest/coverage-istanbul"
    linked = tmp_path / "pkg/node_modules/@vitest/coverage-istanbul"
    assert linked.is_symlink() and linked.resolve() == provider.resolve()
