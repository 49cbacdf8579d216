"""The baseline by the project's own test command (:mod:`jobs.dependencies.owncommand`: its
tox env's, else its nox session's, else its CI workflow's). Where that runs pytest, the
baseline's pytest takes its options and, when Tandem names no test paths, its paths; of those
options, the ones that decide how the tests import, collect and warn (``-p``, ``-W``, ``-c``,
``-o``, ``--import-mode``, ...) every later pytest run of the project takes too, through the
launchers. Where it runs the suite with ``python -m unittest`` (or ``coverage run ... -m
unittest``) and never with pytest, the baseline runs it.

Its interpreter's warning filters (``python -W error -m unittest``) are its baseline
interpreter's, and every later pytest run takes them as pytest's ``-W``, as a pytest command's.

pytest collects plain ``TestCase`` classes, but not unittest's ``load_tests`` protocol: a suite
built by ``load_tests`` (markdown's) is not the suite pytest finds, and pytest can stop at its
collection. Such a project's baseline runs its own command instead
(:mod:`jobs.sandbox.scripts.run_unittest`), under coverage.py, with unittest's own result of
each test (JUnit XML in pytest's form) and the per-test record the mutant runner reads, each
test named as pytest names it. Only the baseline: candidates are still validated with pytest,
which runs plain ``TestCase`` files as well.

:func:`own_unittest` reads the command (pure: file texts in); :func:`run_baseline` is the one
place that picks the runner, for the worker and the suites bench alike.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from jobs.dependencies.environment import sandbox_python
from jobs.dependencies.owncommand import own_command
from jobs.dependencies.pip_log import CheckoutFiles
from jobs.dependencies.policy import RepoFiles
from jobs.dependencies.testcommand import TestCommand
from jobs.dependencies.tox import TOOLS_PYTHON
from jobs.dependencies.toxfactors import Python
from jobs.languages.python.pytest_runner import (
    per_test_record,
    read_junit,
    read_modules,
    read_report,
    run_pytest,
    write_own_options,
)
from jobs.languages.python.unnamed_tests import python_files_option
from jobs.languages.suite_run import NotRun, SuiteRun
from jobs.sandbox import Sandbox, decisive_line, last_line
from jobs.sandbox.workdir import MODULES_SUFFIX, RC_FILE, WORK_DIR, copy_script, prepare

LAUNCHER = f"{WORK_DIR}/run_unittest.py"
# The interpreter's filter for coverage.py's own warnings: the last -W given comes first
COVERAGE_WARNINGS = "default::coverage.exceptions.CoverageWarning"


def own_unittest(files: RepoFiles, python: Python = TOOLS_PYTHON) -> list[str] | None:
    """unittest's arguments (``["discover", "tests"]``) when the project's own test command
    (its tox env's, else its nox session's: :mod:`jobs.dependencies.owncommand`) runs its suite
    with ``-m unittest`` and none of its commands runs pytest; else None."""
    command = own_command(files, python)
    return list(command.args) if command is not None and command.runner == "unittest" else None


async def run_baseline(
    sandbox: Sandbox,
    checkout: Path,
    paths: list[str],
    *,
    timeout_s: float,
    per_test: list[str] | None = None,
) -> SuiteRun:
    """The measured baseline: the project's own unittest command where it has one (``paths``
    then do not apply: its command names what it runs), else pytest on ``paths`` with the
    options of the project's own pytest command, and on that command's paths where ``paths``
    is empty (the whole suite)."""
    python = await sandbox_python(sandbox, checkout)  # tox's factors depend on it
    command = await asyncio.to_thread(own_command, CheckoutFiles(checkout), python)
    # how its tests import, collect and warn: for this run and every later one (candidates,
    # the base commit's, the mutants'), which the launchers give pytest first
    how: tuple[str, ...] = command.how if command is not None else ()
    # a root tests.py of unittest cases (json-patch's): pytest's default names miss it
    unnamed = await asyncio.to_thread(python_files_option, checkout, how)
    await asyncio.to_thread(write_own_options, checkout, [*how, *unnamed])
    if command is not None and command.runner == "unittest":
        return await run_unittest(
            sandbox, checkout, list(command.args), tag="baseline", timeout_s=timeout_s,
            per_test=per_test, warnings=list(command.warnings),
        )  # fmt: skip
    args = pytest_arguments(command, paths)
    return await run_pytest(
        sandbox,
        checkout,
        args,
        tag="baseline",
        timeout_s=timeout_s,
        measure=True,
        per_test=per_test,
    )


def pytest_arguments(command: TestCommand | None, paths: list[str]) -> list[str]:
    """pytest's arguments for the baseline: the own command's options that choose which tests
    run (those that decide how, every run takes: :func:`write_own_options`), then ``paths``,
    or, where none are given, the command's own paths."""
    if command is None or command.runner != "pytest":
        return paths
    return [*command.which, *(paths or command.paths)]


async def run_unittest(
    sandbox: Sandbox,
    checkout: Path,
    args: list[str],
    *,
    tag: str,
    timeout_s: float,
    per_test: list[str] | None = None,
    warnings: list[str] | None = None,
) -> SuiteRun:
    """``python -m unittest ARGS`` under coverage.py in the sandbox, read as pytest's run is;
    ``warnings``: the interpreter's ``-W`` filters of the project's command (``python -W error
    -m unittest``), which the launcher's interpreter takes, and after them one that shows
    coverage.py's own warnings (no data, a module never imported) rather than raising them: the
    project's command runs without coverage, so they are no error of its suite."""
    prepare(checkout)
    copy_script("run_unittest.py", checkout / LAUNCHER)
    junit, data = f"{WORK_DIR}/{tag}.xml", f"{WORK_DIR}/{tag}.coverage"
    report, modules = f"{WORK_DIR}/{tag}.json", f"{WORK_DIR}/{tag}{MODULES_SUFFIX}"
    record_spec, record = f"{WORK_DIR}/{tag}.per-test-spec.json", per_test_record(tag)
    for stale in (junit, data, report, modules, record_spec, record):
        (checkout / stale).unlink(missing_ok=True)
    recording: list[str] = []
    if per_test:
        spec = {"files": sorted(per_test), "out": record}
        (checkout / record_spec).write_text(json.dumps(spec), encoding="utf-8")
        recording = ["--per-test", record_spec]
    python = sandbox.python
    filters = [*warnings, "-W", COVERAGE_WARNINGS] if warnings else []
    command = [
        python, *filters, LAUNCHER, "--junit", junit, "--modules", modules, *recording, "--sysmon",
        "--coverage", data, RC_FILE, "--", *args,
    ]  # fmt: skip
    result = await sandbox.run(command, cwd=checkout, timeout_s=timeout_s)
    run = unittest_run(result.returncode, result.timed_out, result.duration_s, result.output)
    if (checkout / junit).is_file():
        run.failures, run.passed = read_junit(checkout / junit)
    elif run.status in ("passed", "failed"):  # the launcher itself stopped: no result
        run.status, run.not_run = "did not run", _not_run(result.returncode, result.output)
    run.modules = read_modules(checkout / modules)
    if per_test and (checkout / record).is_file():
        run.per_test = record
    if (checkout / data).exists():
        done = await sandbox.run(
            [python, "-m", "coverage", "json", f"--rcfile={RC_FILE}", f"--data-file={data}",
             "-o", report, "-q"],
            cwd=checkout, timeout_s=max(30.0, timeout_s / 4),
        )  # fmt: skip
        if done.returncode == 0:
            run.executed, run.statements = read_report(checkout / report)
            run.measured = True
    return run


def _not_run(returncode: int, output: str) -> NotRun:
    return NotRun(
        f"unittest exit {returncode}",
        f"unittest exited {returncode}: {last_line(output)}",
        decisive_line(output),
    )


def unittest_run(returncode: int, timed_out: bool, duration_s: float, output: str) -> SuiteRun:
    """The launcher's exit status read as :class:`SuiteRun`: 0 passed, 1 some failed, 5 no
    tests, anything else did not run."""
    if timed_out:
        return SuiteRun("timed out", duration_s, output, returncode=returncode)
    status = {0: "passed", 1: "failed", 5: "no tests"}.get(returncode)
    if status is None:
        not_run = _not_run(returncode, output)
        return SuiteRun("did not run", duration_s, output, returncode=returncode, not_run=not_run)
    return SuiteRun(status, duration_s, output, returncode=returncode)  # type: ignore[arg-type]
