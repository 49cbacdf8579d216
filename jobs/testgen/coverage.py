"""Changed-line coverage with coverage.py, measured in the sandbox.

Everything that executes the repository's code runs through ``sandbox.run``; the worker only
writes a coverage rc file into the checkout and reads back the JSON report that coverage.py
wrote there (the sandbox sees the checkout and nothing else, so all scratch files live under
``WORK_DIR`` inside it). The only thing done to PR code outside the sandbox is *parsing* it
(``coverage.parser.PythonParser``) to know which changed lines are statements, for files that
no test imported.

A measurement is a set of executed statement lines per file. Runs are combined as set unions:
"baseline + new file" is the baseline's lines plus the lines the new file's own run executed,
so each candidate costs one coverage run, not a rerun of the whole suite.
"""

from __future__ import annotations

import contextlib
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jobs.sandbox import Sandbox, decisive_line, last_line

log = logging.getLogger(__name__)

WORK_DIR = ".tandem-work"
RC_FILE = f"{WORK_DIR}/coveragerc"
# The repository's own coverage/pytest-cov settings are ignored: our rc decides what's measured.
COVERAGE_RC = """[run]
source = .
relative_files = True
omit =
    .tandem-work/*
    */site-packages/*
[report]
ignore_errors = True
include_namespace_packages = True
"""


Lines = dict[str, set[int]]  # repo-relative path -> line numbers


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


# Runs pytest the way the project configures it (rootdir, ini file, addopts, --import-mode),
# with two exceptions. pytest-cov, when the project uses it, is told `--no-cov`: under our
# `coverage run` its own tracer would replace ours ("No data was collected"), and a project's
# `--cov-fail-under` would fail every run of a single generated test file. And pytest plugins
# load only where the project asked for them: from its own environment (the PR's dependencies,
# installed by jobs.dependencies), from the checkout, or distributions its install resolved
# to that the tools' environment already had (PROJECT_DISTS, written by the install). The
# tools' environment (the sandbox's, or in local mode the worker's own: pytest-asyncio,
# hypothesis, anyio, ...) adds none: the project never asked for them, one deprecation warning
# of theirs is an INTERNALERROR under a project's `filterwarnings = error`, and loading them
# costs more than a small test file's whole run (about 1.5 s a pytest start in a worker's venv).
LAUNCHER = f"{WORK_DIR}/run_pytest.py"
# In the project's environment (sys.prefix): the names, one a line, of the distributions its
# install found already satisfied by the tools' environment.
PROJECT_DISTS = "tandem-project-dists.txt"
# In the project environment's site-packages: puts the tools behind the project's own
# (jobs.dependencies.install). Named to sort after every other .pth file: site processes them in
# name order, and an editable install's path entry (flit's `<name>.pth`, hatchling's
# `_<name>.pth`) must come before the tools, or the tools' copy of the same package wins.
TOOLS_PTH = "zz_tandem_tools.pth"
# Which tools that file adds. By default only the view (VIEW_DIR): the measuring tools (pytest,
# coverage and what they import) and the tools' distributions the project's own install asked
# for; the project's tests never see the engines' or the worker's 200-odd others, which can be
# the project itself under another version. With TOOLS_ENV=all (set by ALL_TOOLS): all of them,
# for the engines (Pynguin, CrossHair) and for pip, so what the tools have is not fetched again.
TOOLS_ENV = "TANDEM_TOOLS"
ALL_TOOLS = f"{TOOLS_ENV}=all"  # an argument of `env`
VIEW_DIR = "tandem-view"  # in the project environment's prefix
# Beside each launcher run: the modules the run imported and their files (JSON), to tell when
# the project's tests imported a changed module from somewhere other than the checkout.
MODULES_SUFFIX = ".modules.json"
# The arguments both launchers (this one and the base commit's, jobs.testgen.base_commit) add
# to pytest's: sets `extra`, runs in the sandbox's python with the cwd the tests run in.
PYTEST_EXTRA_ARGS = f"""\
import importlib.metadata, importlib.util, os, re, sys, sysconfig
extra = ["--no-cov"] if importlib.util.find_spec("pytest_cov") is not None else []
def _norm(name):
    return re.sub(r"[-_.]+", "-", name or "").lower()
own = [os.path.realpath(os.getcwd())]
asked = set()
if os.path.exists(os.path.join(sysconfig.get_paths()["purelib"], "{TOOLS_PTH}")):
    own += [os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")]
    try:
        with open(os.path.join(sys.prefix, "{PROJECT_DISTS}"), encoding="utf-8") as f:
            asked = {{_norm(line.strip()) for line in f}}
    except OSError:
        pass
own = tuple(own)
for dist in importlib.metadata.distributions():
    names = [ep.name for ep in dist.entry_points if ep.group == "pytest11"]
    where = os.path.realpath(str(dist.locate_file("")))
    if names and not where.startswith(own) and _norm(dist.metadata["Name"]) not in asked:
        extra += [arg for name in names for arg in ("-p", "no:" + name)]
"""
_LAUNCHER = (
    """\
import atexit, json, os, sys
sys.path[0] = os.getcwd()  # as `python -m pytest` has it, not this file's directory
args = sys.argv[1:]
if args[:1] == ["--modules"]:
    _modules_out, args = args[1], args[2:]
    def _write_modules():
        found = {}
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                found[name] = os.path.realpath(path)
        with open(_modules_out, "w", encoding="utf-8") as f:
            json.dump(found, f)
    atexit.register(_write_modules)
"""
    + PYTEST_EXTRA_ARGS
    + """\
if args[:1] == ["--coverage"]:
    from coverage.cmdline import main
    sys.exit(main([*args[1:], *extra]))
import pytest
sys.exit(pytest.main([*args, *extra]))
"""
)


def prepare(checkout: Path) -> None:
    (checkout / WORK_DIR).mkdir(exist_ok=True)
    (checkout / RC_FILE).write_text(COVERAGE_RC)
    (checkout / LAUNCHER).write_text(_LAUNCHER)
    # Keep the scratch directory out of `git status` and out of delivered commits.
    with contextlib.suppress(OSError):
        exclude = checkout / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        text = exclude.read_text() if exclude.exists() else ""
        if f"/{WORK_DIR}/" not in text:
            exclude.write_text(text + f"\n/{WORK_DIR}/\n")


def pytest_args(junit: str) -> list[str]:
    return ["-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit2", f"--junitxml={junit}"]


async def run_pytest(
    sandbox: Sandbox,
    checkout: Path,
    paths: list[str],
    *,
    tag: str,
    timeout_s: float,
    measure: bool,
) -> PytestRun:
    """Run pytest on ``paths`` (all the repo's tests when empty) in the sandbox."""
    prepare(checkout)
    junit = f"{WORK_DIR}/{tag}.xml"
    data = f"{WORK_DIR}/{tag}.coverage"
    report = f"{WORK_DIR}/{tag}.json"
    modules = f"{WORK_DIR}/{tag}{MODULES_SUFFIX}"
    for stale in (junit, data, report, modules):
        (checkout / stale).unlink(missing_ok=True)
    python = sandbox.python
    if measure:
        command = [
            python,
            LAUNCHER,
            "--modules",
            modules,
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


def executable_lines(checkout: Path, path: str) -> set[int]:
    """Statement lines of a file no test imported (parsed, never executed)."""
    from coverage.parser import PythonParser

    try:
        text = (checkout / path).read_text(encoding="utf-8", errors="replace")
        parser = PythonParser(text=text, filename=path)
        parser.parse_source()
    except Exception:  # a syntax error or anything else: nothing measurable
        return set()
    return set(parser.statements)


@dataclass
class ChangedCoverage:
    """Changed executable lines and which of them some run covered."""

    executable: Lines  # changed lines that are statements, per file
    covered: Lines

    @property
    def total(self) -> int:
        return sum(len(lines) for lines in self.executable.values())

    @property
    def covered_count(self) -> int:
        return sum(len(self.covered.get(p, set()) & ls) for p, ls in self.executable.items())

    def percent(self) -> int:
        return round(100 * self.covered_count / self.total) if self.total else 100

    def uncovered(self, path: str) -> set[int]:
        return self.executable.get(path, set()) - self.covered.get(path, set())


def changed_executable(checkout: Path, changed: dict[str, set[int]], statements: Lines) -> Lines:
    result: Lines = {}
    for path, lines in changed.items():
        known = statements.get(path)
        if known is None:
            known = executable_lines(checkout, path)
        result[path] = lines & known
    return result


def union(*measurements: Lines) -> Lines:
    merged: Lines = {}
    for lines in measurements:
        for path, numbers in lines.items():
            merged.setdefault(path, set()).update(numbers)
    return merged


def restrict(lines: Lines, to: Lines) -> Lines:
    return {p: lines.get(p, set()) & wanted for p, wanted in to.items()}


def count(lines: Lines) -> int:
    return sum(len(v) for v in lines.values())


def gained(candidate: Lines, before: Lines, among: Lines | None = None) -> Lines:
    """Lines ``candidate`` executed that ``before`` did not (only ``among`` when given)."""
    scope = candidate if among is None else restrict(candidate, among)
    out = {p: ls - before.get(p, set()) for p, ls in scope.items()}
    return {p: ls for p, ls in out.items() if ls}
