"""pytest runs in the sandbox, optionally under coverage.py, and what they report.

Everything that executes the repository's code runs through ``sandbox.run``: the launcher
(:mod:`jobs.sandbox.scripts.run_pytest`, in the work dir of :mod:`jobs.sandbox.workdir`) runs
pytest as the project configures it, under ``coverage run`` when measuring, and the worker reads
back what it wrote there: JUnit XML, coverage.py's JSON report, the modules the run imported.
"""

from __future__ import annotations

import json
import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from jobs.languages.suite_run import Lines, NotRun, Status, SuiteRun, TestFailure
from jobs.sandbox import Sandbox, decisive_line, last_line
from jobs.sandbox.workdir import (
    LAUNCHER,
    MODULES_SUFFIX,
    OWN_OPTIONS,
    RC_FILE,
    WORK_DIR,
    prepare,
    write_fresh,
)

log = logging.getLogger(__name__)


_STATUS: dict[int, Status] = {0: "passed", 1: "failed", 5: "no tests"}
# pytest's exit codes 2, 3 and 4, as "the existing tests <trouble>"
_TROUBLE = {2: "were interrupted", 3: "hit an internal error", 4: "were misconfigured"}


def suite_run(returncode: int, timed_out: bool, duration_s: float, output: str) -> SuiteRun:
    """A pytest run in the runner-neutral terms of :class:`SuiteRun`, read from pytest's exit
    code: 0 passed, 1 some failed, 5 no tests collected, anything else did not run."""
    status: Status | None = None if timed_out else _STATUS.get(returncode)
    not_run = None
    if timed_out:
        status = "timed out"
    elif status is None:
        status = "did not run"
        summary = (
            "interrupted (collection errors)"
            if returncode == 2
            else f"pytest exited {returncode}: {last_line(output)}"
        )
        not_run = NotRun(
            f"pytest exit {returncode}",
            summary,
            decisive_line(output),
            _TROUBLE.get(returncode, "did not run"),
        )
    return SuiteRun(status, duration_s, output, returncode=returncode, not_run=not_run)


def pytest_args(junit: str) -> list[str]:
    return ["-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit2", f"--junitxml={junit}"]


# At most this much of the own options' file is read back (the sandbox could have rewritten it)
MAX_OWN_OPTIONS_BYTES = 64_000


def write_own_options(checkout: Path, options: Iterable[str]) -> None:
    """Every later pytest run of the project in ``checkout`` takes ``options`` first (the
    launchers read them: :data:`jobs.sandbox.workdir.OWN_OPTIONS`): the options of its own test
    command that decide how its tests import, collect and warn
    (:attr:`jobs.dependencies.testcommand.TestCommand.how`)."""
    prepare(checkout)
    write_fresh(json.dumps(list(options)), checkout / WORK_DIR / OWN_OPTIONS)


def read_own_options(checkout: Path) -> list[str]:
    """The options :func:`write_own_options` wrote (none where the file is missing, too large
    or not a list of strings)."""
    try:  # never through a symlink the sandbox left there
        fd = os.open(checkout / WORK_DIR / OWN_OPTIONS, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_OWN_OPTIONS_BYTES + 1)
        told = json.loads(data) if len(data) <= MAX_OWN_OPTIONS_BYTES else None
    except (OSError, ValueError):
        return []
    if not isinstance(told, list):
        return []
    words = [word for word in told if isinstance(word, str)]
    return words if len(words) == len(told) else []


def per_test_record(tag: str) -> str:
    """Where a measured run tagged ``tag`` writes its record of each test (``per_test``)."""
    return f"{WORK_DIR}/{tag}.per-test.json"


async def run_pytest(
    sandbox: Sandbox,
    checkout: Path,
    paths: list[str],
    *,
    tag: str,
    timeout_s: float,
    measure: bool,
    per_test: list[str] | None = None,
) -> SuiteRun:
    """Run pytest on ``paths`` (all the repo's tests when empty; the baseline puts the
    options of the project's own pytest command before them) in the sandbox. Measured, it
    also records, for each test, the lines it ran of the ``per_test`` files (repo-relative):
    the mutants of those files then run against the tests that ran them, learnt here once."""
    prepare(checkout)
    junit = f"{WORK_DIR}/{tag}.xml"
    data = f"{WORK_DIR}/{tag}.coverage"
    report = f"{WORK_DIR}/{tag}.json"
    modules = f"{WORK_DIR}/{tag}{MODULES_SUFFIX}"
    record_spec = f"{WORK_DIR}/{tag}.per-test-spec.json"
    record = per_test_record(tag)
    for stale in (junit, data, report, modules, record_spec, record):
        (checkout / stale).unlink(missing_ok=True)
    python = sandbox.python
    if measure:
        recording: list[str] = []
        if per_test:
            spec = {"files": sorted(per_test), "out": record}
            (checkout / record_spec).write_text(json.dumps(spec), encoding="utf-8")
            recording = ["--per-test", record_spec]
        command = [
            python,
            LAUNCHER,
            "--modules",
            modules,
            *recording,
            "--sysmon",  # no dynamic contexts here: the fast core measures the same lines
            "--coverage",
            "run",
            f"--rcfile={RC_FILE}",
            f"--data-file={data}",
            "-m",
            "pytest",
        ]
    else:
        command = [python, LAUNCHER]
    result = await sandbox.run(
        [*command, *pytest_args(junit), *paths], cwd=checkout, timeout_s=timeout_s
    )
    run = suite_run(result.returncode, result.timed_out, result.duration_s, result.output)
    run.failures, run.passed = read_junit(checkout / junit)
    run.modules = read_modules(checkout / modules)
    if measure and per_test and (checkout / record).is_file():
        run.per_test = record
    if measure and (checkout / data).exists():
        json_run = await sandbox.run(
            [
                python,
                "-m",
                "coverage",
                "json",
                f"--rcfile={RC_FILE}",
                f"--data-file={data}",
                "-o",
                report,
                "-q",
            ],
            cwd=checkout,
            timeout_s=max(30.0, timeout_s / 4),
        )
        if json_run.returncode == 0:
            run.executed, run.statements = read_report(checkout / report)
            run.measured = True
        else:
            log.info("coverage json failed: %s", last_line(json_run.output))
    return run


def read_modules(path: Path) -> dict[str, str]:
    """The launcher's record of imported modules; empty when it wrote none or garbage (the
    project's code ran in that process and could have written anything there)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


# Folders a project's importable code commonly lives under (src layout and the like): a file
# under one of them is also a module named without it.
_SOURCE_ROOTS = frozenset({"src", "lib", "python"})


def module_names(path: str) -> list[str]:
    """The names a repo-relative .py file is imported as: ``src/pkg/mod.py`` → ``src.pkg.mod``
    and ``pkg.mod``; a package's ``__init__.py`` is the package."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts:
        return []
    names = [".".join(parts)]
    if len(parts) > 1 and parts[0] in _SOURCE_ROOTS:
        names.append(".".join(parts[1:]))
    return names


def imported_elsewhere(
    changed: Iterable[str], modules: dict[str, str], checkout: str
) -> list[tuple[str, str]]:
    """The changed modules that a run imported from a file outside the checkout (or from the
    project's environment inside it, a copy made by a non-editable install): its tests then
    ran against another copy of the code. ``(module, file)`` pairs, sorted. ``checkout`` is
    the real path of the checkout as the run saw it."""
    root = checkout.rstrip("/") + "/"
    work = root + WORK_DIR + "/"
    found: set[tuple[str, str]] = set()
    for path in changed:
        if not path.endswith(".py"):
            continue
        for name in module_names(path):
            where = modules.get(name)
            if where is None:
                continue
            if not where.startswith(root) or where.startswith(work):
                found.add((name, where))
    return sorted(found)


def read_report(path: Path) -> tuple[Lines, Lines]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    executed: Lines = {}
    statements: Lines = {}
    files = data.get("files") if isinstance(data, dict) else None
    for name, info in (files or {}).items():
        if not isinstance(info, dict):
            continue
        rel = PurePosixPath(str(name).replace("\\", "/")).as_posix().removeprefix("./")
        ran = {int(n) for n in info.get("executed_lines", [])}
        missing = {int(n) for n in info.get("missing_lines", [])}
        executed[rel] = ran
        statements[rel] = ran | missing
    return executed, statements


def read_junit(path: Path) -> tuple[list[TestFailure], int]:
    """Failing tests and the number that passed, from pytest's JUnit XML."""
    try:
        root = ET.parse(path).getroot()  # written by pytest in the checkout; no DTDs/entities
    except (OSError, ET.ParseError):
        return [], 0
    failures: list[TestFailure] = []
    passed = 0
    for case in root.iter("testcase"):
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            if case.find("skipped") is None:
                passed += 1
            continue
        message = " ".join((bad.get("message") or bad.text or "failed").split())[:300]
        failures.append(TestFailure(case.get("classname", ""), case.get("name", ""), message))
    return failures, passed
