"""Running tests on the pull request's base commit, in the same sandbox as the head: the one
place for both "do the kept tests pin the change?" and "which existing tests does the change
break?" (the pure half, what a run found, its classification and rendering, is :mod:`.pin`).

The base tree is :mod:`.base_tree`'s: the base commit's files under the checkout's scratch
directory, with the kept test files copied in.

**The run** (:func:`run_on_base`) is pytest with cwd = the base tree, ``--rootdir`` it and the
base tree's own pytest config (or an empty one: never the head's, which sits two directories
up), through :data:`LAUNCHER`. The dependency environment may hold the head project
installed *editable* (``.pth`` paths and setuptools' finder mappings pointing into the
checkout), so before pytest starts the launcher maps every import path inside the checkout
(outside ``.tandem-work``) to the same path in the base tree: the base run imports the base
code. A small plugin keeps only the wanted tests (``only``) and writes each test's outcome,
its node id and the JUnit address it has (classname, name), to a JSON file the worker reads
back (bounded, validated: the sandbox wrote it). ``--continue-on-collection-errors``: a file
that does not import on the base (it uses what the change adds) must not stop the others.

The two questions: :func:`pin_on_base` (the passing candidates, before selection, so that a
coverage tie goes to a pinning test) and :func:`broken_on_base` (only the head baseline's
failing tests, found by their JUnit address). Each gets a fresh base tree, removed afterwards,
and answers "not run" rather than failing when the wall time left is short or the tree cannot
be written.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from jobs.dependencies.install import CheckoutFiles
from jobs.dependencies.pytestconfig import read_pytest_config
from jobs.languages.python.pytest_runner import read_own_options
from jobs.languages.suite_run import TestFailure
from jobs.sandbox import Sandbox, workdir
from jobs.testgen.base_tree import BaseTree, BaseTreeError, base_tree, inside, place, safe_relative
from jobs.testgen.pin import (
    BaseRun,
    BaseTest,
    BrokenTests,
    Located,
    Pinning,
    classify_broken,
    classify_pinning,
)

MAX_RESULTS_BYTES = 20_000_000
LAUNCHER = f"{workdir.WORK_DIR}/run_base_pytest.py"
EMPTY_INI = f"{workdir.WORK_DIR}/base-pytest.ini"


def pytest_config(root: Path) -> Path | None:
    """The base tree's own pytest config file, as pytest would pick it in that directory (the
    same reader as the install's: :func:`jobs.dependencies.pytestconfig.read_pytest_config`);
    else its pyproject.toml, which still marks the root."""
    found = read_pytest_config(CheckoutFiles(root), [])
    if found is not None:
        return root / found.path
    pyproject = root / "pyproject.toml"
    return pyproject if pyproject.is_file() and not pyproject.is_symlink() else None


def own_config(root: Path, options: list[str]) -> Path | None:
    """The config file the project's own pytest command names (``-c FILE``,
    ``--config-file=FILE``: the launchers give the head's run its options, and the base run's
    ``-c`` replaces it), in the base tree; None where it names none or that file is not there."""
    named: str | None = None
    for i, word in enumerate(options):
        name, _, value = word.partition("=")
        if name in ("-c", "--config-file") and not value and i + 1 < len(options):
            named = options[i + 1]
        elif name == "--config-file" and value:
            named = value
        elif word.startswith("-c") and len(word) > 2:
            named = word[2:]
    if named is None or Path(named).is_absolute():
        return None
    found = root / named
    return found if inside(root, found) and found.is_file() and not found.is_symlink() else None


@dataclass(frozen=True)
class OnlyTests:
    """The tests of a base run's paths that run: those whose JUnit address (classname, name)
    is among ``cases``, and every test of ``files``."""

    cases: Collection[tuple[str, str]]
    files: Collection[str] = ()


async def run_on_base(
    sandbox: Sandbox,
    checkout: Path,
    base: BaseTree,
    paths: list[str],
    *,
    tag: str,
    timeout_s: float,
    only: OnlyTests | None = None,
) -> BaseRun:
    """Run pytest on ``paths`` (in the base tree) in the sandbox: all their tests, or ``only``
    those."""
    checkout, results, options = await asyncio.to_thread(_prepare_run, checkout, base, tag, only)
    args = [
        sandbox.python,
        str(checkout / LAUNCHER),
        str(checkout),
        *options,
        "-q",
        "-p",
        "no:cacheprovider",
        f"--rootdir={base.root}",
        f"--confcutdir={base.root}",
        "--continue-on-collection-errors",
        "--",
        *paths,
    ]
    result = await sandbox.run(args, cwd=base.root, timeout_s=timeout_s)
    run = BaseRun(result.returncode, result.timed_out, result.duration_s, result.output)
    if not result.timed_out:
        await asyncio.to_thread(read_results, results, run)
    return run


def _prepare_run(
    checkout: Path,
    base: BaseTree,
    tag: str,
    only: OnlyTests | None,
) -> tuple[Path, Path, list[str]]:
    """Write the launcher, the selection and (when the base tree has none) an empty pytest
    config into the scratch directory. Returns the resolved checkout, where the results will
    be, and the launcher's arguments before pytest's (selection, results, ``-c`` config)."""
    checkout = checkout.resolve()
    work = checkout / workdir.WORK_DIR
    if work.is_symlink() or not inside(work, base.root):
        raise BaseTreeError(f"the checkout's {workdir.WORK_DIR} was replaced")
    # The launcher (jobs/sandbox/scripts/run_base_pytest.py) and the module it imports.
    workdir.copy_script("run_base_pytest.py", checkout / LAUNCHER)
    workdir.copy_script(workdir.PLUGINS_COPY, work / workdir.PLUGINS_COPY)
    results = work / f"base-{tag}.json"
    results.unlink(missing_ok=True)
    selected = "-"
    if only is not None:
        selection = work / f"base-{tag}-only.json"
        cases = {"cases": sorted(only.cases), "files": sorted(only.files)}
        workdir.write_fresh(json.dumps(cases), selection)
        selected = str(selection)
    config = own_config(base.root, read_own_options(checkout)) or pytest_config(base.root)
    if config is None:
        config = checkout / EMPTY_INI
        workdir.write_fresh("[pytest]\n", config)
    return checkout, results, [selected, str(results), "-c", str(config)]


def read_results(path: Path, run: BaseRun) -> None:
    """The plugin's JSON into ``run`` (the sandbox wrote it: bounded, and every field checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_RESULTS_BYTES:
                return
            data = json.loads(f.read(MAX_RESULTS_BYTES).decode("utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(data, dict):
        return
    for test in data.get("tests") or []:
        if not isinstance(test, dict):
            continue
        nodeid, address, outcome = test.get("nodeid"), test.get("address"), test.get("outcome")
        if (
            isinstance(nodeid, str)
            and isinstance(address, list)
            and len(address) == 2
            and all(isinstance(a, str) for a in address)
            and outcome in ("passed", "failed", "skipped")
        ):
            run.tests.append(BaseTest(nodeid, (address[0], address[1]), outcome))
    errors = data.get("collect_errors") or []
    run.collect_errors = (
        {e for e in errors if isinstance(e, str)} if isinstance(errors, list) else set()
    )
    run.reported = True


# --- the two questions asked of the base commit ------------------------------------------------

MIN_BASE_S = 10.0  # below this much of the part's wall time left, the base commit is not run
MAX_CHECKED = 500  # failing tests of the baseline checked on the base commit, at most
MAX_PARSE_BYTES = 2_000_000


async def pin_on_base(
    sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
) -> Pinning:
    """Run test files (path -> text, as validated on the head) on the base commit."""
    paths = sorted(files)
    run, refused, note = await _files_on_base(sandbox, checkout, sha, files, timeout_s=timeout_s)
    if run is None:
        return Pinning(dict.fromkeys(paths, "unknown"), note)
    return classify_pinning(paths, run, refused)


async def tests_failing_on_base(
    sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
) -> set[tuple[str, str]] | None:
    """(path, top-level test name) of each test of ``files`` that fails on the base commit (or
    whose file does not import there); None when the run says nothing."""
    run, refused, _ = await _files_on_base(sandbox, checkout, sha, files, timeout_s=timeout_s)
    return None if run is None else failing_tests(files, run, refused)


async def _files_on_base(
    sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
) -> tuple[BaseRun | None, list[str], str]:
    """One run of test files on a fresh base tree: (the run, or None with why, refused)."""
    paths = sorted(files)
    if timeout_s < MIN_BASE_S:
        return None, [], "not run: the wall-time budget was short"
    deadline = time.monotonic() + timeout_s
    try:
        async with base_tree(checkout, sha, timeout_s=min(120.0, timeout_s / 2)) as tree:
            refused = place(tree, files)
            runnable = [p for p in paths if p not in refused]
            if not runnable:
                return None, refused, "no test file could be placed"
            run = await run_on_base(
                sandbox,
                checkout,
                tree,
                runnable,
                tag="pin",
                timeout_s=max(1.0, deadline - time.monotonic()),
            )
    except BaseTreeError as exc:
        return None, [], str(exc)
    return run, refused, ""


async def broken_on_base(
    sandbox: Sandbox,
    checkout: Path,
    sha: str,
    failures: list[TestFailure],
    *,
    timeout_s: float,
) -> BrokenTests:
    """Run the head baseline's failing tests (only those) on the base commit."""
    unique = list({(f.classname, f.name): f for f in failures}.values())
    located = [(f, locate(checkout, f)) for f in unique[:MAX_CHECKED]]
    note = f"only the first {MAX_CHECKED} were checked" if len(unique) > MAX_CHECKED else ""
    located.extend((f, None) for f in unique[MAX_CHECKED:])
    if timeout_s < MIN_BASE_S:
        return classify_broken(located, set(), None, "not run: the wall-time budget was short")
    deadline = time.monotonic() + timeout_s
    try:
        async with base_tree(checkout, sha, timeout_s=min(120.0, timeout_s / 2)) as tree:
            files = {where.path for _, where in located if where is not None}
            missing = {p for p in files if not _regular_file(tree.root, p)}
            cases = {
                (f.classname, f.name)
                for f, where in located
                if where is not None and not where.collection and where.path not in missing
            }
            whole = {
                where.path
                for _, where in located
                if where is not None and where.collection and where.path not in missing
            }
            run = None
            if files - missing:
                run = await run_on_base(
                    sandbox,
                    checkout,
                    tree,
                    sorted(files - missing),
                    tag="broken",
                    timeout_s=max(1.0, deadline - time.monotonic()),
                    only=OnlyTests(cases, whole),
                )
    except BaseTreeError as exc:
        return classify_broken(located, set(), None, str(exc))
    return classify_broken(located, missing, run, note)


def _regular_file(root: Path, path: str) -> bool:
    target = root / path
    return target.is_file() and not target.is_symlink() and inside(root, target)


def locate(checkout: Path, failure: TestFailure) -> Located | None:
    """The head checkout's file and ``def`` line of a failing test, from its JUnit address
    (classname "tests.test_x.TestK", name "test_y[1]"; a collection error has classname ""
    and the module as its name). None when no test file in the checkout matches."""
    collection = not failure.classname
    parts = (failure.name if collection else failure.classname).split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if safe_relative(path) and _regular_file(checkout, path):
            classes = parts[cut:]
            break
    else:
        return None
    if collection:
        return Located(path, path, 1, collection=True) if not classes else None
    nodeid = "::".join([path, *classes, failure.name])
    return Located(path, nodeid, function_line(checkout / path, classes, failure.name))


def function_line(file: Path, classes: list[str], name: str) -> int:
    """The ``def`` line of test ``name`` (parameters aside) inside ``classes``; 1 if not found."""
    function = name.partition("[")[0]
    try:
        if file.stat().st_size > MAX_PARSE_BYTES:
            return 1
        body = ast.parse(file.read_bytes()).body
    except (OSError, SyntaxError, ValueError):
        return 1
    for cls in classes:
        found = [n for n in body if isinstance(n, ast.ClassDef) and n.name == cls]
        if not found:
            return 1
        body = found[0].body
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return node.lineno
    return 1


def failing_tests(files: dict[str, str], run: BaseRun, refused: list[str]) -> set[tuple[str, str]]:
    """(path, top-level test name) failing in one base run of ``files`` (path -> text): a
    failed test (any of a class's), or every test of a file that did not import."""
    if run.problem() is not None:
        return set()
    failing = {
        (t.path, t.nodeid.split("::")[1].split("[")[0])
        for t in run.tests
        if t.outcome == "failed" and t.nodeid.count("::") >= 1 and t.path not in refused
    }
    for path in sorted(run.collect_errors & set(files)):
        if path not in refused:
            failing |= {(path, name) for name in top_level_tests(files[path])}
    return failing


def top_level_tests(text: str) -> list[str]:
    """The names of a test file's top-level test functions and classes (parsed, never run)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    functions = ast.FunctionDef | ast.AsyncFunctionDef
    return [
        node.name
        for node in tree.body
        if (isinstance(node, functions) and node.name.startswith("test"))
        or (isinstance(node, ast.ClassDef) and node.name.startswith("Test"))
    ]
