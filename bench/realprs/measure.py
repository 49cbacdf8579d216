"""Independent measurement (Tandem's own figures are not used): a cached venv per case with
the project's test dependencies and coverage.py, the changed executable lines of the head
(``git diff base..head`` of non-test ``.py`` files, intersected with coverage's statements),
and pytest runs under coverage whose line sets and JUnit results say what each set of tests
covers and which of its tests fail."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import coverage
from unidiff import PatchSet

from bench.realprs.cases import Case
from bench.realprs.gitrun import git
from jobs.languages.python.python_statements import statement_starts

BASE_DEPS = ("pytest", "coverage")
TEST_FILE = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$")


class MeasureError(Exception):
    """A measuring step failed (venv, install, a checkout); the message says which."""


def is_source(path: str) -> bool:
    """A library source file: Python, not a test, not docs or examples."""
    if not path.endswith(".py") or TEST_FILE.search(path):
        return False
    return not path.startswith(("docs/", "doc/", "examples/", "bench", "benchmark", "setup.py"))


def case_venv(case: Case, venvs: Path) -> Path:
    """The case's venv (created once, reused while its dependency list is the same)."""
    deps = sorted({*BASE_DEPS, *case.deps})
    stamp = hashlib.sha256("\n".join(deps).encode()).hexdigest()[:16]
    venv = venvs / case.name
    marker = venv / ".realprs-deps"
    if marker.exists() and marker.read_text() == stamp:
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         *deps],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise MeasureError(f"pip install {deps}: {done.stderr.strip().splitlines()[-1:]}")
    marker.write_text(stamp)
    return venv


def changed_lines(clone: Path, base: str, head: str) -> dict[str, set[int]]:
    """Added or modified line numbers (in the head) of each changed library source file."""
    patch = PatchSet(git(clone, "diff", "--no-color", "-U0", f"{base}..{head}", "--", "*.py"))
    lines: dict[str, set[int]] = {}
    for changed in patch:
        if changed.is_removed_file or not is_source(changed.path):
            continue
        added = {ln.target_line_no for hunk in changed for ln in hunk if ln.is_added}
        if added:
            lines[changed.path] = {n for n in added if n is not None}
    return lines


def executable(checkout: Path, lines: dict[str, set[int]]) -> dict[str, set[int]]:
    """The changed lines coverage counts as statements (executable lines) in the head, a changed
    line inside a multi-line statement counting as that statement (Tandem's own rule,
    :func:`jobs.languages.python.python_statements.statement_starts`)."""
    cov = coverage.Coverage(data_file=None, config_file=False)
    result: dict[str, set[int]] = {}
    for path, numbers in lines.items():
        _, statements, _, _, _ = cov.analysis2(str(checkout / path))
        kept = statement_starts(checkout, path, numbers) & set(statements)
        if kept:
            result[path] = kept
    return result


@dataclass
class TestRun:
    """One pytest run under coverage: the lines it covered and its tests' outcomes."""

    covered: dict[str, set[int]] = field(default_factory=dict)  # relative path → lines
    statements: dict[str, set[int]] = field(default_factory=dict)  # JS: where statements start
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # failed or errored
    returncode: int | None = None
    tail: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.passed) + len(self.failed)


def junit_outcomes(report: Path, files: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(passed, failed-or-errored) test ids from a pytest JUnit XML report; a skip is neither,
    an expected failure (xfail) counts as passed. With `files` (test files run by path), only
    the tests of those files count, where any does: a project whose addopts collect more
    (schwifty's ``--pyargs schwifty --doctest-modules`` adds every module's doctests to any run)
    would have its doctests counted as the author's or Tandem's tests."""
    if not report.exists():
        return [], []
    cases = list(ET.parse(report).getroot().iter("testcase"))
    modules = tuple(f.removesuffix(".py").replace("/", ".") for f in files)
    own = [c for c in cases if _in_modules(c.get("classname", ""), modules)]
    passed: list[str] = []
    failed: list[str] = []
    for case in own or cases:
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        kinds = {child.tag for child in case}
        # An xfail test that failed as expected did what it says; a strict XPASS is a failure.
        expected = any(c.tag == "skipped" and c.get("type") == "pytest.xfail" for c in case)
        if kinds & {"failure", "error"}:
            failed.append(name)
        elif "skipped" not in kinds or expected:
            passed.append(name)
    return passed, failed


def _in_modules(classname: str, modules: Sequence[str]) -> bool:
    return any(classname == m or classname.startswith(m + ".") for m in modules)


def prepare_checkout(case: Case, checkout: Path) -> None:
    """Write the untracked files the case's package needs to import."""
    for relative, text in case.files.items():
        target = checkout / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def coverage_plugin_args(venv: Path) -> list[str]:
    """``--no-cov`` where the venv has pytest-cov: a project's ``--cov`` in its addopts (parse's
    .pytest.ini) would start pytest-cov's own coverage, which takes over the tracer of the
    ``coverage run`` that measures, and that run would record nothing."""
    return ["--no-cov"] if any(venv.glob("lib/python*/site-packages/pytest_cov")) else []


def run_tests(
    case: Case,
    venv: Path,
    checkout: Path,
    targets: list[str],
    sources: list[str],
    label: str,
    timeout: float,
) -> TestRun:
    """pytest ``targets`` in ``checkout`` under coverage limited to the ``sources`` files."""
    data_file = checkout.parent / f"{label}.coverage"
    junit = checkout.parent / f"{label}.junit.xml"
    for stale in (data_file, junit):
        stale.unlink(missing_ok=True)
    rcfile = checkout.parent / "empty.coveragerc"  # the project's own settings could clash
    rcfile.write_text("", encoding="utf-8")
    include = ",".join(str(checkout / s) for s in sources) or str(checkout / "__none__")
    command = [
        str(venv / "bin" / "python"), "-m", "coverage", "run", f"--data-file={data_file}",
        f"--rcfile={rcfile}", f"--include={include}", "-m", "pytest", "-p", "no:cacheprovider",
        "-q", "--no-header", f"--junitxml={junit}", *coverage_plugin_args(venv), *targets,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(checkout / p) for p in case.pythonpath)}
    env.pop("PYTHONSAFEPATH", None)
    try:
        done = subprocess.run(
            command, cwd=checkout, env=env, capture_output=True, text=True, timeout=timeout
        )
        returncode: int | None = done.returncode
        tail = (done.stdout + done.stderr).strip().splitlines()[-8:]
    except subprocess.TimeoutExpired:
        returncode, tail = None, [f"timed out after {timeout:.0f} s"]
    run = TestRun(returncode=returncode, tail=tail)
    files = targets if targets and all(t.endswith(".py") for t in targets) else []
    run.passed, run.failed = junit_outcomes(junit, files)
    if data_file.exists():
        cov = coverage.Coverage(data_file=str(data_file), config_file=False)
        cov.load()
        for source in sources:
            _, statements, _, missing, _ = cov.analysis2(str(checkout / source))
            run.covered[source] = set(statements) - set(missing)
    return run


def worktree(clone: Path, path: Path, rev: str) -> Path:
    """A detached worktree of ``rev`` at ``path`` (our own clone's, never Tandem's)."""
    git(clone, "worktree", "add", "-q", "--detach", str(path), rev)
    return path


def apply_patch(checkout: Path, patch: Path) -> list[str]:
    """Apply Tandem's patch of kept tests; the files it adds."""
    if not patch.exists() or not patch.read_text(encoding="utf-8").strip():
        return []
    git(checkout, "apply", str(patch))
    return [p.path for p in PatchSet(patch.read_text(encoding="utf-8")) if p.is_added_file]


def count(lines: dict[str, set[int]]) -> int:
    return sum(len(v) for v in lines.values())


def intersect(a: dict[str, set[int]], b: dict[str, set[int]]) -> dict[str, set[int]]:
    return {k: a[k] & b.get(k, set()) for k in a}


def union(*runs: dict[str, set[int]]) -> dict[str, set[int]]:
    merged: dict[str, set[int]] = {}
    for run in runs:
        for k, v in run.items():
            merged.setdefault(k, set()).update(v)
    return merged
