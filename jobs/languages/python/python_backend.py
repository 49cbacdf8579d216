"""The Python backend: :data:`PYTHON`, a :class:`~jobs.languages.language_protocol.Language` that
delegates to the modules doing the work: pytest under coverage.py (:mod:`.pytest_runner`), the
base-commit runs (:mod:`.base_commit`), the test conventions (:mod:`.python_conventions`), the
test-file predicate (:mod:`.testfiles`), its statements and functions as a parse sees them
(:mod:`.python_statements`), the pruning of failing tests (:mod:`.pruning`), the selection
test by test (:mod:`.per_test`, with :mod:`.per_test_choice`, :mod:`.per_test_measure` and the
tidying of :mod:`.tidy`, :mod:`.tidy_names`, :mod:`.tidy_review`), and the offline engines of
:mod:`jobs.testgen.engines`, all of which write Python tests.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from pathlib import Path

from jobs import dependencies
from jobs.languages.conventions import Conventions
from jobs.languages.language_protocol import Installed, InstallRequest
from jobs.languages.python import (
    base_commit,
    pruning,
    pytest_runner,
    python_statements,
    testfiles,
    unittest_runner,
)
from jobs.languages.python.per_test import select_tests
from jobs.languages.python.python_conventions import detect
from jobs.languages.python.testfiles import is_test_file
from jobs.languages.suite_run import SuiteRun, TestFailure
from jobs.sandbox import Sandbox
from jobs.testgen.engines import registry as engine_registry
from jobs.testgen.per_test_selection import SelectTests
from jobs.testgen.pin import BrokenTests, Pinning

Lines = dict[str, set[int]]


class Python:
    name = "python"
    label = "Python"
    builds_tests = True
    mutants = True  # jobs.testgen.proof mutates Python's ast
    agent = True  # the agent's prompts and its new files are pytest's

    @property
    def per_test(self) -> SelectTests:
        return select_tests  # each test's lines from one run (scripts/tandem_per_test.py)

    @property
    def engines(self) -> tuple[str, ...]:
        # The engine registry's offline portfolio, but for the JS/TS engines, is Python's: every
        # other offline engine there writes pytest tests. Read when asked, so that an engine
        # registered there runs here.
        return tuple(
            name
            for name in engine_registry.PORTFOLIOS["offline"].engines
            if name not in engine_registry.JAVASCRIPT_ENGINES
        )

    def owns(self, path: str) -> bool:
        return path.endswith(".py")

    def is_test_file(self, path: str) -> bool:
        return self.owns(path) and is_test_file(path)

    def sources(self, changed: Mapping[str, set[int]], selected: Callable[[str], bool]) -> Lines:
        return {
            path: lines
            for path, lines in changed.items()
            if self.owns(path) and not is_test_file(path) and lines and selected(path)
        }

    async def install(self, request: InstallRequest, sources: Mapping[str, set[int]]) -> Installed:
        outcome = await dependencies.install_dependencies(
            request.sandbox,
            request.checkout,
            config=request.dependencies,
            timeout_s=request.timeout_s,
            network=request.network,
        )
        return Installed(outcome.status, outcome.note)

    def unsupported(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        return {}  # pytest runs any Python project's tests

    def syntax_errors(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        found = {}
        for path in paths:
            try:
                ast.parse((checkout / path).read_bytes(), filename=path)
            except SyntaxError as exc:
                found[path] = f"`{path}` line {exc.lineno}: {exc.msg}"
            except (OSError, ValueError):
                continue
        return found

    async def run_suite(
        self, sandbox: Sandbox, checkout: Path, sources: Mapping[str, set[int]], *, timeout_s: float
    ) -> SuiteRun:
        # pytest, or the project's own unittest command where its tox runs only that
        return await unittest_runner.run_baseline(
            sandbox, checkout, [], timeout_s=timeout_s, per_test=sorted(sources)
        )

    def changed_executable(
        self, checkout: Path, changed: Mapping[str, set[int]], statements: Lines
    ) -> Lines:
        return python_statements.changed_executable(checkout, changed, statements)

    def functions_touching(self, source: str, lines: set[int]) -> list[str]:
        return python_statements.functions_touching(source, lines)

    def imported_elsewhere(
        self, sources: Mapping[str, set[int]], run: SuiteRun, root: str
    ) -> list[tuple[str, str]]:
        return pytest_runner.imported_elsewhere(sources, run.modules, root)

    async def run_tests(
        self,
        sandbox: Sandbox,
        checkout: Path,
        paths: list[str],
        *,
        tag: str,
        timeout_s: float,
        measure: bool,
    ) -> SuiteRun:
        return await pytest_runner.run_pytest(
            sandbox, checkout, paths, tag=tag, timeout_s=timeout_s, measure=measure
        )

    def prune_tests(self, checkout: Path, path: str, names: set[str]) -> bool:
        return pruning.prune(checkout, path, names)

    async def pin_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> Pinning:
        return await base_commit.pin_on_base(sandbox, checkout, sha, files, timeout_s=timeout_s)

    async def tests_failing_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> set[tuple[str, str]] | None:
        return await base_commit.tests_failing_on_base(
            sandbox, checkout, sha, files, timeout_s=timeout_s
        )

    async def broken_on_base(
        self,
        sandbox: Sandbox,
        checkout: Path,
        sha: str,
        failures: list[TestFailure],
        *,
        timeout_s: float,
    ) -> BrokenTests:
        return await base_commit.broken_on_base(
            sandbox, checkout, sha, failures, timeout_s=timeout_s
        )

    def conventions(self, checkout: Path, sources: Mapping[str, set[int]]) -> Conventions:
        return detect(checkout)

    def tests_among(self, checkout: Path, untracked: list[str]) -> list[str]:
        return testfiles.tests_among(untracked)


PYTHON = Python()
