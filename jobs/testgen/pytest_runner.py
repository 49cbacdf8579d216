"""pytest runs in the sandbox, optionally under coverage.py, and what they report.

Everything that executes the repository's code runs through ``sandbox.run``: the launcher
(:mod:`jobs.sandbox.scripts.run_pytest`, in the work dir of :mod:`jobs.sandbox.workdir`) runs
pytest as the project configures it, under ``coverage run`` when measuring, and the worker reads
back what it wrote there: JUnit XML, coverage.py's JSON report, the modules the run imported.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jobs.sandbox import Sandbox, decisive_line, last_line
from jobs.sandbox.workdir import LAUNCHER, MODULES_SUFFIX, RC_FILE, WORK_DIR, prepare
from jobs.testgen.line_sets import Lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestFailure:
    __test__ = False  # not a pytest class

    classname: str  # "tests.test_x" or "tests.test_x.TestClass"
    name: str  # "test_name" or "test_name[param]"
    message: str

    @property
    def nodeid(self) -> str:
        return f"{self.classname}::{self.name}"

    def function_in(self, path: str) -> str | None:
        """The top-level function this failure is, when it is one, in test file ``path``."""
        module = PurePosixPath(path).with_suffix("").as_posix().replace("/", ".")
        if self.classname == module and self.name.isidentifier():
            return self.name
        return None


@dataclass
class PytestRun:
    """One pytest run of some test paths, optionally under coverage."""

    returncode: int
    timed_out: bool
    duration_s: float
    output: str
    executed: Lines = field(default_factory=dict)  # empty when not measured
    statements: Lines = field(default_factory=dict)
    failures: list[TestFailure] = field(default_factory=list)
    passed: int = 0
    measured: bool = False
    # module name -> the file it was imported from (real path), when the run recorded them
    modules: dict[str, str] = field(default_factory=dict)
    # The checkout-relative record of what each test ran of the ``per_test`` files
    # (scripts/tandem_per_test.py), when the run wrote one: the mutant runner's map.
    per_test: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe(self) -> str:
        """One line about how the run went, for the check run."""
        if self.timed_out:
            return f"timed out after {self.duration_s:.0f} s"
        if self.returncode == 0:
            return f"{self.passed} passed"
        if self.returncode == 5:
            return "no tests collected"
        if self.returncode == 2:
            return "interrupted (collection errors)"
        if self.returncode == 1:
            return f"{len(self.failures)} failed, {self.passed} passed"
        return f"pytest exited {self.returncode}: {last_line(self.output)}"

    def problem(self) -> str | None:
        """Why this run of the existing tests is not a baseline to trust, or None: it did not
        run (a pytest exit other than 0, 1 and 5 — no tests — or a timeout), or it ran under
        coverage and no data came back."""
        if self.timed_out:
            return f"the existing tests timed out after {self.duration_s:.0f} s"
        if self.returncode not in (0, 1, 5):
            what = {2: "were interrupted", 3: "hit an internal error", 4: "were misconfigured"}
            return (
                f"the existing tests {what.get(self.returncode, 'did not run')} "
                f"(pytest exit {self.returncode}): {decisive_line(self.output)}"
            )
        if self.returncode in (0, 1) and not self.executed:
            return "the existing tests ran but coverage.py collected no data"
        return None

    def failure_text(self, limit: int = 3) -> str:
        if self.timed_out:
            return self.describe()
        if self.failures:
            shown = "; ".join(f"{f.nodeid}: {f.message}" for f in self.failures[:limit])
            more = len(self.failures) - limit
            return shown + (f" (and {more} more)" if more > 0 else "")
        return self.describe()


def pytest_args(junit: str) -> list[str]:
    return ["-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit2", f"--junitxml={junit}"]


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
) -> PytestRun:
    """Run pytest on ``paths`` (all the repo's tests when empty) in the sandbox. Measured, it
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
    run = PytestRun(
        returncode=result.returncode,
        timed_out=result.timed_out,
        duration_s=result.duration_s,
        output=result.output,
    )
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
