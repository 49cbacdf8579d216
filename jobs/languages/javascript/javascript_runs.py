"""The JS/TS backend's runs (issue 20, items 4 and 6), each through the package's own runner and
read as a :class:`~jobs.languages.suite_run.SuiteRun` (:mod:`.suite_results`):

- :func:`run_suite`: the suite of each package a changed source belongs to, once, under istanbul
  coverage with each test's lines (:mod:`.vitest_per_test`, :mod:`.jest_runs`);
- :func:`run_tests`: given test files, measured (the same per-test run, narrowed to them) or not
  (:mod:`.vitest_files`, :func:`.jest_runs.run_files`);
- :func:`pin_on_base`, :func:`tests_failing_on_base`, :func:`broken_on_base`: test files on the
  base commit's sources (:mod:`.base_runs`).

A test file belongs to the package of the nearest ``package.json`` above it; paths given and
returned are checkout-relative, the runners get them relative to the package folder. vitest's
istanbul provider, when the project lacks it, goes into the part's own tools folder in the
checkout's work dir (:func:`prepare_coverage`, on the install's network).
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jobs.dependencies import CheckoutFiles
from jobs.languages.javascript import jest_runs, vitest_files, vitest_per_test
from jobs.languages.javascript.base_runs import RunFiles, run_on_base
from jobs.languages.javascript.measured_run import PerTestLines
from jobs.languages.javascript.package_job import FilesRun, PackageJob, RunnerError
from jobs.languages.javascript.packages import Package, Problem, find_package
from jobs.languages.javascript.run_results import ReportProblem, RunResults
from jobs.languages.javascript.runner_choice import RunnerName, Unsupported, find_runner
from jobs.languages.javascript.suite_layout import foreign_runner
from jobs.languages.javascript.suite_results import (
    failing_tests,
    file_outcomes,
    merge,
    not_run,
    suite_run,
    title_line,
)
from jobs.languages.javascript.toolchain import Node, NodeUnavailable, find_node
from jobs.languages.suite_run import SuiteRun, TestFailure
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import Sandbox
from jobs.testgen.pin import BrokenTest, BrokenTests, Pinning

TOOLS = "js-tools"  # the part's own tools folder, in the checkout's work dir
BASELINE = "baseline"  # the suite run's tag


@dataclass
class TestFileLines:
    """What a measured suite run says for the mutants: per test file (checkout-relative), the
    lines its tests (and its loading) ran, per source path; and the ids of the tests that
    passed."""

    __test__ = False  # not a pytest class

    files: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    passed: set[str] = field(default_factory=set)
    covered: dict[str, set[int]] = field(default_factory=dict)  # the whole run's lines
    problems: set[str] = field(default_factory=set)  # why the per-test recorder left lines out
    # why the run is no baseline to trust (it did not run, or timed out): then no test of it
    # passed for sure, and a mutant it did not kill says nothing
    trouble: str = ""
    # the changed lines, and per test id the changed lines it ran (what amplification starts
    # from: :mod:`.js_amplify`); only the changed ones, so the record stays small
    changed: dict[str, set[int]] = field(default_factory=dict)
    tests: dict[str, dict[str, set[int]]] = field(default_factory=dict)


RUN_FILES: dict[RunnerName, RunFiles] = {
    "vitest": vitest_files.run_files,
    "jest": jest_runs.run_files,
}


@dataclass(frozen=True)
class Share:
    """One package's share of a run: its runner, and the files (checkout-relative) it gets."""

    package: Package
    runner: RunnerName
    paths: tuple[str, ...]

    def job(self, checkout: Path, *, tag: str, timeout_s: float, tests: bool) -> PackageJob:
        relative = tuple(self.relative(path) for path in self.paths)
        return PackageJob(
            checkout,
            checkout / self.package.dir,
            [] if tests else list(relative),
            tools_dir(checkout),
            timeout_s,
            tag=f"{tag}-{self.package.dir.replace('/', '_')}" if self.package.dir else tag,
            tests=relative if tests else (),
        )

    def relative(self, path: str) -> str:
        return posixpath.relpath(path, self.package.dir) if self.package.dir else path


def tools_dir(checkout: Path) -> Path:
    return checkout / workdir.WORK_DIR / TOOLS


def shares(checkout: Path, paths: list[str]) -> tuple[list[Share], list[str]]:
    """The files grouped by package, with the packages' runners; and why some cannot run."""
    files = CheckoutFiles(checkout)
    grouped: dict[str, tuple[Package, RunnerName, list[str]]] = {}
    problems: list[str] = []
    for path in paths:
        package = find_package(files, path)
        if package is None or isinstance(package, Problem):
            problems.append(f"`{path}`: {package or 'no package.json above it'}")
            continue
        if package.dir not in grouped:
            runner = find_runner(files, package)
            if isinstance(runner, Unsupported):
                problems.append(f"`{package.dir or '.'}`: {runner.reason}")
                continue
            grouped[package.dir] = (package, runner.name, [])
        grouped[package.dir][2].append(path)
    found = [Share(package, runner, tuple(p)) for package, runner, p in grouped.values()]
    return found, problems


def _prepared(checkout: Path, paths: list[str]) -> tuple[list[Share], list[str], Node | str]:
    """The work dir made safe, the shares, and the Node to run them with (or why none)."""
    workdir.prepare(checkout)  # a `.tandem-work` of the PR's own is replaced, never written in
    found, problems = shares(checkout, paths)
    node = find_node()
    return found, problems, node.reason if isinstance(node, NodeUnavailable) else node


def _unrunnable(reason: str) -> SuiteRun:
    return not_run("the runner", RunnerError(reason))


async def prepare_coverage(sandbox: Sandbox, checkout: Path, sources: list[str]) -> str | None:
    """Install vitest's istanbul provider where a package lacks it (``sandbox``: one on the
    install's network); None, or why it failed."""
    found, _, node = await asyncio.to_thread(_prepared, checkout, sources)
    if isinstance(node, str):
        return node
    for share in found:
        if share.runner != "vitest":
            continue
        job = share.job(checkout, tag="tools", timeout_s=300, tests=False)
        entry = vitest_files.vitest.runner_entry("vitest", job.package_dir, checkout)
        if isinstance(entry, RunnerError):
            return entry.reason
        provider = await vitest_per_test.ensure_istanbul(sandbox, node, entry[0], job)
        if isinstance(provider, RunnerError):
            return provider.reason
    return None


async def _measured(
    sandbox: Sandbox, node: Node, share: Share, job: PackageJob, lines: TestFileLines | None = None
) -> SuiteRun:
    """One measured run of the share; ``lines``: where each test file's lines go, when wanted."""
    run = await (
        vitest_per_test.run_per_test(sandbox, node, job)
        if share.runner == "vitest"
        else jest_runs.run_per_test(sandbox, node, job)
    )
    if isinstance(run, RunnerError):
        return not_run(share.runner, run, job.timeout_s)
    if lines is not None:
        note = run.note if isinstance(run, jest_runs.JestPerTestRun) else None
        add_to_record(lines, run.per_test, run.results, note)
    return suite_run(share.runner, run.result, run.results, run.coverage)


def add_to_record(
    lines: TestFileLines,
    per_test: PerTestLines,
    results: RunResults | ReportProblem,
    note: str | None = None,
) -> None:
    """One measured run's share of the record (pure): each test file's lines, the tests that
    passed, and why lines were left out (``note``: why the run kept no per-test record)."""
    for test, ran in per_test.lines.items():
        into = lines.files.setdefault(test.partition(" > ")[0], {})
        for path, numbers in ran.items():
            into.setdefault(path, set()).update(numbers)
            if hit := numbers & lines.changed.get(path, set()):
                lines.tests.setdefault(test, {}).setdefault(path, set()).update(hit)
    if isinstance(results, RunResults):
        lines.passed.update(t for t, o in results.tests.items() if o.status == "pass")
        # every test file that ran is in the record, with no lines where the recorder said
        # nothing of it: a mutant of a line the run covered then runs against all of them,
        # never against none (which reads as a line no test runs)
        for test in [*results.tests, *results.unloaded]:
            lines.files.setdefault(test.partition(" > ")[0], {})
    lines.problems |= per_test.problems
    if note:
        lines.problems.add(note)


def test_lines_record(tag: str) -> str:
    """Where a measured suite run tagged ``tag`` writes which lines each test file ran
    (checkout-relative): the mutant run's map of which files to run on a mutant."""
    return f"{workdir.WORK_DIR}/{tag}.test-lines.json"


def write_test_lines(checkout: Path, tag: str, lines: TestFileLines) -> str:
    """The record, written: ``{"files": {test file: {path: [line, ...]}}, "passed": [id],
    "covered": {path: [line, ...]}, "problems": [why lines were left out], "trouble": why the
    run is no baseline, or ""}``."""
    record = test_lines_record(tag)
    files = {f: {p: sorted(ns) for p, ns in ran.items()} for f, ran in sorted(lines.files.items())}
    covered = {p: sorted(ns) for p, ns in sorted(lines.covered.items())}
    data = {
        "files": files,
        "passed": sorted(lines.passed),
        "covered": covered,
        "problems": sorted(lines.problems),
        "trouble": lines.trouble,
        "tests": {t: {p: sorted(ns) for p, ns in ran.items()} for t, ran in lines.tests.items()},
    }
    workdir.write_fresh(json.dumps(data), checkout / record)
    return record


async def run_suite(
    sandbox: Sandbox, checkout: Path, sources: Mapping[str, set[int]], *, timeout_s: float
) -> SuiteRun:
    """Each changed source's package's suite, under coverage with each test's lines."""
    found, problems, node = await asyncio.to_thread(_prepared, checkout, sorted(sources))
    if isinstance(node, str) or not found:
        return _unrunnable(node if isinstance(node, str) else "; ".join(problems))
    runs = []
    lines = TestFileLines(changed={p: set(ns) for p, ns in sources.items()})
    for share in found:
        job = share.job(checkout, tag=BASELINE, timeout_s=timeout_s, tests=False)
        runs.append(await _measured(sandbox, node, share, job, lines))
    merged = merge(runs)
    lines.covered = merged.executed
    if merged.status in ("did not run", "timed out"):
        lines.trouble = merged.problem() or merged.status
    merged.per_test = await asyncio.to_thread(write_test_lines, checkout, BASELINE, lines)
    return merged


async def run_tests(
    sandbox: Sandbox, checkout: Path, paths: list[str], *, tag: str, timeout_s: float, measure: bool
) -> SuiteRun:
    """The given test files (checkout-relative) once, each by its package's runner."""
    found, problems, node = await asyncio.to_thread(_prepared, checkout, paths)
    if isinstance(node, str) or problems or not found:
        return _unrunnable(node if isinstance(node, str) else "; ".join(problems) or "no tests")
    runs = []
    for share in found:
        job = share.job(checkout, tag=tag, timeout_s=timeout_s, tests=True)
        if (foreign := await asyncio.to_thread(_foreign, share, checkout)) is not None:
            runs.append(not_run(share.runner, RunnerError(foreign)))  # never run by the wrong one
            continue
        if measure:
            runs.append(await _measured(sandbox, node, share, job))
            continue
        run = await RUN_FILES[share.runner](sandbox, node, job, list(job.tests))
        if isinstance(run, RunnerError):
            runs.append(not_run(share.runner, run, timeout_s))
        else:
            runs.append(suite_run(share.runner, run.result, run.results))
    return merge(runs)


def _foreign(share: Share, checkout: Path) -> str | None:
    """Why one of the share's test files is not for its package's runner, or None."""
    for path in share.paths:
        try:
            text = (checkout / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if (why := foreign_runner(text, share.runner)) is not None:
            return f"`{path}` {why}"
    return None


async def _on_base(
    sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], timeout_s: float
) -> list[tuple[list[str], FilesRun | RunnerError]]:
    """``files`` (path -> text) run on the base commit, package by package."""
    found, problems, node = await asyncio.to_thread(_prepared, checkout, sorted(files))
    outcomes: list[tuple[list[str], FilesRun | RunnerError]] = []
    left = sorted(set(files) - {p for share in found for p in share.paths})
    if isinstance(node, str) or problems:
        why = node if isinstance(node, str) else "; ".join(problems)
        outcomes.append((left if not isinstance(node, str) else sorted(files), RunnerError(why)))
        if isinstance(node, str):
            return outcomes
    for share in found:
        job = share.job(checkout, tag="base", timeout_s=timeout_s, tests=False)
        own = {path: files[path] for path in share.paths}
        run = await run_on_base(RUN_FILES[share.runner], sandbox, node, job, sha, own)
        outcomes.append((list(share.paths), run))
    return outcomes


async def pin_on_base(
    sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
) -> Pinning:
    pinning = Pinning()
    notes = []
    for paths, run in await _on_base(sandbox, checkout, sha, files, timeout_s):
        part = file_outcomes(paths, run)
        pinning.outcomes.update(part.outcomes)
        notes += [part.note] if part.note else []
    pinning.note = "; ".join(notes)
    return pinning


async def tests_failing_on_base(
    sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
) -> set[tuple[str, str]] | None:
    failing: set[tuple[str, str]] = set()
    for _, run in await _on_base(sandbox, checkout, sha, files, timeout_s):
        found = failing_tests(run)
        if found is None:
            return None
        failing |= found
    return failing


async def broken_on_base(
    sandbox: Sandbox, checkout: Path, sha: str, failures: list[TestFailure], *, timeout_s: float
) -> BrokenTests:
    """The head's failing existing tests, their files as the base commit has them, run there:
    a test that passes there is broken by the change; a file the base lacks is new."""
    texts = await asyncio.to_thread(_base_texts, checkout, sha, {f.classname for f in failures})
    found = BrokenTests()
    passed: set[tuple[str, str]] = set()
    checked: set[str] = set()
    for paths, run in await _on_base(sandbox, checkout, sha, texts, timeout_s):
        results = run if isinstance(run, RunnerError) else run.results
        if isinstance(results, RunnerError | ReportProblem):
            found.note = f"the run on it: {results.reason}"
            continue
        checked |= set(paths)
        for test, outcome in results.tests.items():
            file, _, name = test.partition(" > ")
            if outcome.status == "pass":
                passed.add((file, name))
    for failure in failures:
        if failure.classname not in texts:
            found.new += 1
        elif (failure.classname, failure.name) in passed:
            text = (checkout / failure.classname).read_text(encoding="utf-8", errors="replace")
            found.broken.append(
                BrokenTest(
                    f"{failure.classname} > {failure.name}",
                    failure.classname,
                    title_line(text, failure.name),
                    failure.message,
                )
            )
        elif failure.classname in checked:
            found.preexisting += 1
        else:
            found.unchecked += 1
    return found


def _base_texts(checkout: Path, sha: str, paths: set[str]) -> dict[str, str]:
    """The base commit's text of each test file it has (``git show``)."""
    texts = {}
    for path in sorted(paths):
        shown = subprocess.run(
            ["git", "show", f"{sha}:{path}"], cwd=checkout, capture_output=True, check=False
        )
        if shown.returncode == 0:
            texts[path] = shown.stdout.decode("utf-8", errors="replace")
    return texts
