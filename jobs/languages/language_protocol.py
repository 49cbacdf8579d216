"""The :class:`Language` protocol: what the stages of test generation (:mod:`jobs.testgen.stages`)
ask of the language a change is written in. A backend implements it; the registry
(:mod:`.language_registry`) says which backend owns a changed file.

A suite run is a :class:`~jobs.languages.suite_run.SuiteRun`, which each runner fills in its
own terms (how the run went, line sets per file, failures per test); the conventions a prompt
reads are a :class:`~jobs.languages.conventions.Conventions`; the base commit's verdicts are
test generation's :class:`~jobs.testgen.pin.Pinning` and :class:`~jobs.testgen.pin.BrokenTests`.
Every backend fills the same types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from core.repo_config import Dependencies
from jobs.languages.conventions import Conventions
from jobs.languages.suite_run import SuiteRun, TestFailure

if (
    TYPE_CHECKING
):  # types only: importing jobs.testgen here would load all of it, which imports this
    from jobs.sandbox import Sandbox
    from jobs.testgen.per_test_selection import SelectTests
    from jobs.testgen.pin import BrokenTests, Pinning

Lines = dict[str, set[int]]  # repository-relative path -> line numbers


@dataclass(frozen=True)
class Installed:
    """What a language's install of the repository's dependencies did (never raised: a failed
    install is a problem the part reports, and the baseline says what it costs)."""

    status: Literal["nothing", "installed", "cached", "failed", "refused"]
    note: str | None = None  # one line for the check run


@dataclass(frozen=True)
class InstallRequest:
    """What a language's install works with."""

    sandbox: Sandbox  # switched to the installed environment where the language has one
    checkout: Path
    dependencies: Dependencies  # the configuration's ``test_generation.dependencies``
    cache_dir: Path  # the worker's own folder for what an install may keep between runs
    network: str  # the sandbox's install network (``none``: no registry)
    timeout_s: float


class Language(Protocol):
    """Everything language-specific that a run of test generation decides on."""

    name: str  # the registry's key: "python"
    label: str  # how reports name it: "Python", "JavaScript/TypeScript"
    # False: its changed files are recognised and reported, but no tests are generated for
    # them yet (the part says so, never ✅).
    builds_tests: bool
    # Whether the mutants of :mod:`jobs.testgen.proof` can be put into its changed lines.
    mutants: bool
    # Whether the OpenHands agent's prompts and the new files it is judged by serve it; without,
    # a portfolio with the agent runs its offline fallback (:func:`jobs.testgen.stages.scope`).
    agent: bool

    @property
    def per_test(self) -> SelectTests | None:
        """Its selection test by test (:mod:`jobs.testgen.per_test_selection`), where its
        tests' lines can be told apart per test in one run (Python's:
        :func:`jobs.languages.python.per_test.select_tests`); None: the offline engines'
        candidates are kept file by file, as the agent's are."""
        ...

    @property
    def engines(self) -> tuple[str, ...]:
        """Its offline engines, by their names in :mod:`jobs.testgen.engines.registry`: a
        portfolio's other engines do not run on its files."""
        ...

    def owns(self, path: str) -> bool:
        """Whether a changed file (repository-relative) is written in this language, test or
        not."""
        ...

    def is_test_file(self, path: str) -> bool:
        """Whether one of its files is test code (never a source to write tests for)."""
        ...

    def sources(self, changed: Mapping[str, set[int]], selected: Callable[[str], bool]) -> Lines:
        """Its changed source files (tests left out) with changed lines that ``selected``
        (the config's paths) keeps."""
        ...

    async def install(self, request: InstallRequest, sources: Mapping[str, set[int]]) -> Installed:
        """Install what the repository declares for the tests of ``sources`` (its changed
        files) in the request's sandbox, within its time, on its network."""
        ...

    def syntax_errors(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        """Path -> "`path` line N: message" for each source that does not parse (parsed, never
        run)."""
        ...

    def unsupported(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        """Path -> why its tests cannot run here, for each changed source whose project Tandem
        does not run (a test runner it does not support, no project around it): the part
        skips them, with the reason, rather than failing on them."""
        ...

    async def run_suite(
        self, sandbox: Sandbox, checkout: Path, sources: Mapping[str, set[int]], *, timeout_s: float
    ) -> SuiteRun:
        """The repository's own tests, all of them, under coverage in the sandbox; where it can,
        with which lines of ``sources`` (the changed files) each test runs."""
        ...

    def changed_executable(
        self, checkout: Path, changed: Mapping[str, set[int]], statements: Lines
    ) -> Lines:
        """The changed lines of ``changed`` (its sources) that are statements, as the language's
        coverage counts them: of a file the suite measured, among its ``statements`` (the
        run's); of one it did not, as a parse of it (never a run) says."""
        ...

    def functions_touching(self, source: str, lines: set[int]) -> list[str]:
        """The qualified names of the functions of ``source`` (one of its files' text) that
        hold one of ``lines``, for the plan's targets and the agent's prompt (parsed, never
        run)."""
        ...

    def imported_elsewhere(
        self, sources: Mapping[str, set[int]], run: SuiteRun, root: str
    ) -> list[tuple[str, str]]:
        """(module, where) of each changed source the suite ran from outside the checkout
        (``root``, resolved): what it measured there says nothing about the change."""
        ...

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
        """One run of the given test files (all of the suite when empty) in the sandbox; with
        ``measure``, under coverage; ``tag`` names the run's files in the work dir. Validation
        runs a candidate ``flaky_runs`` times through it
        (:class:`jobs.testgen.validation.Validator`, which asks for a
        :class:`jobs.testgen.validation.TestRunner`)."""
        ...

    def prune_tests(self, checkout: Path, path: str, names: set[str]) -> bool:
        """Remove the named top-level tests from one of its test files (repository-relative):
        True when some test is left; False, and nothing removed, otherwise (validation's, where
        only some of a candidate's tests fail)."""
        ...

    async def pin_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> Pinning:
        """Test files (path -> text, as validated on the head) run on the base commit: those
        that fail there pin the change."""
        ...

    async def tests_failing_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> set[tuple[str, str]] | None:
        """(path, test name) of each test of ``files`` that fails on the base commit; None when
        the run says nothing."""
        ...

    async def broken_on_base(
        self,
        sandbox: Sandbox,
        checkout: Path,
        sha: str,
        failures: list[TestFailure],
        *,
        timeout_s: float,
    ) -> BrokenTests:
        """The head's failing existing tests run on the base commit: those that pass there are
        broken by the change."""
        ...

    def conventions(self, checkout: Path, sources: Mapping[str, set[int]]) -> Conventions:
        """The repository's test conventions where tests of ``sources`` (the changed files)
        go, for the agent's prompt (its :meth:`~jobs.languages.conventions.Conventions.prompting`:
        the runner, where new files go, how one runs) and the output folder (read, never
        run)."""
        ...

    def tests_among(self, checkout: Path, untracked: list[str]) -> list[str]:
        """The test files among new untracked ones (repository-relative), by the names and
        folders its runner collects: what the agent wrote that validation runs (a
        :class:`jobs.testgen.validation.TestsAmong`)."""
        ...


@dataclass(frozen=True)
class Change:
    """A change as test generation sees it
    (:func:`jobs.languages.language_registry.change_for`): the run's language and its changed
    sources, and the changed sources it leaves to others."""

    language: Language
    sources: dict[str, set[int]]  # the run's language's changed sources the config selects
    # label -> changed sources of a language that builds no tests yet ("JavaScript/TypeScript")
    not_built: dict[str, list[str]] = field(default_factory=dict)
    # label -> changed sources of another language that builds tests: one language per run
    not_this_run: dict[str, list[str]] = field(default_factory=dict)
