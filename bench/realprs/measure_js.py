"""Measurement of a JavaScript/TypeScript case, the twin of :mod:`bench.realprs.measure`: the
package installed the way its lockfile says (once, in the head's worktree; the other worktrees
link that ``node_modules``), the changed lines of its non-test sources, and runs of its own
runner (vitest or jest, as ``cases.toml`` says) with istanbul JSON coverage and a JSON report
of each test's outcome.

The runs are the bench's own (the runner's command line, built here), but two pure readers come
from Tandem: istanbul's ``coverage-final.json`` as line sets (a changed line counts when a
statement starts on it) and the runners' JSON report as outcomes. The same rules on both sides
keep the columns comparable; a bug in them would show on both.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
from pathlib import Path

from unidiff import PatchSet

from bench.realprs.cases import Case
from bench.realprs.gitrun import git
from bench.realprs.measure import MeasureError, TestRun
from jobs.dependencies.pip_log import CheckoutFiles
from jobs.languages.javascript.coverage import ReportError, parse_report
from jobs.languages.javascript.package_managers import find_package_manager, install_command
from jobs.languages.javascript.packages import Problem, find_package, is_source
from jobs.languages.javascript.run_results import RunResults, parse_results
from jobs.languages.javascript.toolchain import Node, NodeUnavailable, find_node


def node() -> Node:
    found = find_node()
    if isinstance(found, NodeUnavailable):
        raise MeasureError(found.reason)
    return found


def changed_lines(clone: Path, base: str, head: str, package: str) -> dict[str, set[int]]:
    """Added or modified lines (in the head) of each changed JS/TS source of the package."""
    patch = PatchSet(git(clone, "diff", "--no-color", "-U0", f"{base}..{head}"))
    prefix = "" if package in ("", ".") else package.rstrip("/") + "/"
    lines: dict[str, set[int]] = {}
    for changed in patch:
        path = changed.path
        if changed.is_removed_file or not path.startswith(prefix) or not is_source(path):
            continue
        added = {ln.target_line_no for hunk in changed for ln in hunk if ln.is_added}
        if added:
            lines[path] = {n for n in added if n is not None}
    return lines


def install(checkout: Path, case: Case, timeout: float) -> None:
    """The lockfile-exact install of the case's package (scripts off), in ``checkout``."""
    files = CheckoutFiles(checkout)
    package = find_package(files, posixpath.normpath(f"{case.package}/package.json"))
    if package is None or isinstance(package, Problem):
        raise MeasureError(f"no package at {case.package}: {package}")
    manager = find_package_manager(files, package)
    if isinstance(manager, Problem):
        raise MeasureError(str(manager))
    command = install_command(manager)
    runner = node()
    argv = runner.command(command)
    done = subprocess.run(
        argv,
        cwd=checkout / command.cwd if command.cwd else checkout,
        env=runner.environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise MeasureError(f"{' '.join(command.args[:2])} failed: {tail}")


def link_modules(installed: Path, checkout: Path) -> None:
    """Every ``node_modules`` folder of ``installed`` linked at the same place in ``checkout``."""
    for folder in installed.rglob("node_modules"):
        if "node_modules" in folder.relative_to(installed).parts[:-1]:
            continue
        target = checkout / folder.relative_to(installed)
        if target.exists() or target.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(folder, target, target_is_directory=True)


def modules_folder(checkout: Path, package_dir: Path, runner: str) -> str:
    """The ``node_modules`` that holds the runner, relative to the package: the package's own or,
    in a workspace whose install hoisted it (change-case's npm workspaces), the nearest one above
    it in the checkout."""
    folder = package_dir
    while True:
        if (folder / "node_modules" / runner).is_dir():
            return os.path.relpath(folder / "node_modules", package_dir)
        if folder == checkout or folder == folder.parent:
            return "node_modules"
        folder = folder.parent


def _runner_args(
    case: Case, files: list[str], sources: list[str], out: Path, modules: str = "node_modules"
) -> list[str]:
    report_dir, outcomes = out / "coverage", out / "results.json"
    if case.runner == "vitest":
        # --passWithNoTests: a spec file that only holds data for the others (path-to-regexp's
        # cases.spec.ts) is "No test suite found", a failed file, unless the flag is given, as
        # such a project's own test script gives it
        args = [f"{modules}/vitest/vitest.mjs", "run", *files, "--passWithNoTests"]
        args += ["--coverage.enabled"]
        args += ["--coverage.reporter=json", f"--coverage.reportsDirectory={report_dir}"]
        args += ["--coverage.reportOnFailure", "--reporter=json", f"--outputFile.json={outcomes}"]
        return args + [f"--coverage.include={s}" for s in sources]
    # jest: the paths first, since its list options swallow what follows them
    args = [f"{modules}/jest/bin/jest.js", *files, "--ci", "--coverage", "--json"]
    args += [f"--outputFile={outcomes}", f"--coverageDirectory={report_dir}"]
    args += [f"--collectCoverageFrom={s}" for s in sources]
    return [*args, "--coverageReporters=json"]


# jest runs the tests in its own process when it has one worker (as on 2 cores), and there a test
# that parses process.argv (commander's `program.parse()`) would read the bench's options as its
# own. So the options go to jest-cli's run() and process.argv is a bare `jest`'s.
_JEST_LAUNCHER = """\
const path = require("path");
const args = process.argv.slice(2);
process.argv.length = 2;
const jest = require("fs").realpathSync(path.resolve(JEST));
require(require.resolve("jest-cli", { paths: [jest] })).run(args);
"""


def runner_command(
    case: Case, files: list[str], sources: list[str], out: Path, modules: str = "node_modules"
) -> list[str]:
    """The node command line of a run whose reports go to ``out`` (made already), run from the
    case's package; jest through a launcher written there."""
    args = _runner_args(case, files, sources, out, modules)
    if case.runner == "jest":
        launcher = out / "jest-launcher.cjs"
        jest = json.dumps(f"{modules}/jest")
        launcher.write_text(_JEST_LAUNCHER.replace("(JEST)", f"({jest})"))
        args = [str(launcher), *args[1:]]
    return [str(node().path), *args]


def run_tests(
    case: Case, checkout: Path, files: list[str], sources: list[str], label: str, timeout: float
) -> TestRun:
    """The runner on ``files`` (all of the suite when empty) in the case's package, under
    coverage of the changed ``sources`` (repository-relative)."""
    package_dir = checkout / case.package
    out = checkout.parent / f"{label}.js"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # the runner runs in the package, so the paths it is given are the package's
    relative = [os.path.relpath(checkout / s, package_dir) for s in sources]
    tests = [os.path.relpath(checkout / f, package_dir) for f in files]
    modules = modules_folder(checkout, package_dir, case.runner)
    command = runner_command(case, tests, relative, out, modules)
    try:
        done = subprocess.run(
            command,
            cwd=package_dir,
            env={**node().environment(), "CI": "1", "NO_COLOR": "1", **case.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        returncode: int | None = done.returncode
        tail = (done.stdout + done.stderr).strip().splitlines()[-8:]
    except subprocess.TimeoutExpired:
        returncode, tail = None, [f"timed out after {timeout:.0f} s"]
    run = TestRun(returncode=returncode, tail=tail)
    root = checkout.resolve()
    try:
        results = parse_results((out / "results.json").read_bytes(), root)
    except OSError:
        results = None
    if isinstance(results, RunResults):
        run.passed = [t for t, o in results.tests.items() if o.status == "pass"]
        run.failed = [t for t, o in results.tests.items() if o.status == "fail"]
        run.failed += [f"{f} (did not load)" for f in results.unloaded]
    try:
        coverage = parse_report((out / "coverage" / "coverage-final.json").read_bytes(), str(root))
    except OSError:
        return run
    if not isinstance(coverage, ReportError):
        run.covered = {s: coverage.executed.get(s, set()) for s in sources}
        run.statements = {s: coverage.statements.get(s, set()) for s in sources}
    return run
