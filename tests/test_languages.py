"""The language seam: which language a changed file belongs to, the one Python test-file
predicate, a JS/TS change Tandem cannot run skipped with the reason, and a toy language with a
toy engine, registered from this test alone, that gets a run through the real stages."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from bot.filters import path_filter
from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.dependencies.testimports import candidates
from jobs.languages import language_registry as registry
from jobs.languages.conventions import Conventions
from jobs.languages.javascript.javascript_backend import JAVASCRIPT
from jobs.languages.language_protocol import Installed, InstallRequest, Language
from jobs.languages.python import pytest_runner
from jobs.languages.python.python_backend import PYTHON
from jobs.languages.python.python_conventions import detect
from jobs.languages.python.testfiles import is_test_file
from jobs.languages.suite_run import SuiteRun, TestFailure
from jobs.sandbox import LocalSandbox, Sandbox
from jobs.testgen import produce_tests
from jobs.testgen.engines import (
    ENGINES,
    PORTFOLIOS,
    EngineOutcome,
    Portfolio,
    Workspace,
    python_modules,
    register,
)
from jobs.testgen.pin import BrokenTests, Pinning
from jobs.testgen.selection import select
from jobs.testgen.targets import Target
from jobs.testgen.tests_report import unkept_result
from jobs.testgen.validation import Validation
from tests.test_testgen import make_repo

NO_LLM = Settings(llm_model=None, sandbox="local")  # type: ignore[call-arg]
EVERYTHING: Callable[[str], bool] = lambda _: True  # noqa: E731


# --- the one Python test-file predicate, as each of its three callers counts ----------------

# path -> (not a source for test generation, a test module for the conventions, read by the
# dependency install for its imports): what targets.is_test_path, conventions.is_test_file and
# dependencies.testimports.is_test_file said before they became one function.
PATHS = {
    "pkg/mod.py": (False, False, False),
    "tests/test_mod.py": (True, True, True),
    "pkg/mod_test.py": (True, True, True),
    "conftest.py": (True, False, True),
    "tests/conftest.py": (True, False, True),
    "tests/helpers.py": (True, False, False),
    "test/data/make.py": (True, False, False),
    "pkg/testing.py": (False, False, False),
    # a test module by its name (json-patch's root tests.py, a Django app's), which Tandem's
    # pytest runs collect where it holds tests (jobs.languages.python.unnamed_tests)
    "pkg/tests.py": (True, True, True),
    "test_data.json": (True, True, False),
}


@pytest.mark.parametrize(("path", "expected"), PATHS.items())
def test_one_predicate_answers_each_caller_as_before(
    path: str, expected: tuple[bool, bool, bool]
) -> None:
    name = path.rsplit("/", 1)[-1]
    assert (
        is_test_file(path),
        is_test_file(path, conftest=False, in_test_folder=False),
        name.endswith(".py") and is_test_file(name),
    ) == expected


def test_the_callers_see_the_predicate(tmp_path: Path) -> None:
    """The conventions count test modules only; the install reads test modules and conftests
    for their imports; the engines' evidence is every Python file under tests."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "tests/test_a.py": "import alpha\n",
            "tests/conftest.py": "import beta\n",
            "tests/helpers.py": "import gamma\n",
        },
    )
    assert detect(repo).test_files == 1
    assert candidates(repo) == ["alpha", "beta"]
    assert sorted(python_modules.test_sources(repo)) == [
        "tests/conftest.py",
        "tests/helpers.py",
        "tests/test_a.py",
    ]


# --- which language a change is ---------------------------------------------------------------


def test_each_changed_file_goes_to_the_language_that_owns_it() -> None:
    assert registry.language_for("pkg/mod.py") is PYTHON
    for suffix in ("ts", "tsx", "js", "jsx", "mjs", "cjs"):
        assert registry.language_for(f"src/a.{suffix}") is JAVASCRIPT
    assert registry.language_for("README.md") is None
    assert JAVASCRIPT.is_test_file("src/a.test.ts") and JAVASCRIPT.is_test_file("__tests__/a.js")
    assert not JAVASCRIPT.is_test_file("src/a.ts")
    assert PYTHON.is_test_file("tests/test_a.py") and not PYTHON.is_test_file("tests/a.ts")


def test_a_mixed_change_is_its_python_sources_and_names_the_js_ones_it_leaves() -> None:
    changed = {
        "pkg/mod.py": {1},
        "tests/test_mod.py": {2},
        "src/a.ts": {3},
        "src/a.test.ts": {4},
        "src/b.tsx": {5},
        "docs/x.md": {6},
    }
    change = registry.change_for(changed, EVERYTHING)
    assert change.language is PYTHON
    assert change.sources == {"pkg/mod.py": {1}}
    # JS/TS builds tests too, in a run of its own: this one names the files it leaves
    assert change.not_built == {}
    assert change.not_this_run == {"JavaScript/TypeScript": ["src/a.ts", "src/b.tsx"]}
    only_js = registry.change_for({"src/a.ts": {3}}, EVERYTHING)
    assert (only_js.language, only_js.sources) == (JAVASCRIPT, {"src/a.ts": {3}})
    assert only_js.not_built == {}
    config = RepoConfig.model_validate({"paths": {"exclude": ["src/**"]}})
    assert registry.change_for(changed, path_filter(config)).not_this_run == {}


async def test_a_js_change_tandem_cannot_run_is_skipped_with_the_reason(tmp_path: Path) -> None:
    """No package around the file, or a runner not supported yet: ⏭️ with the reason, never a
    success and never a warning about Tandem's own trouble."""
    mocha = '{"name": "m", "scripts": {"test": "mocha"}, "devDependencies": {"mocha": "10"}}'
    files = {"src/a.ts": "export const a = 1;\n", "lib/package.json": mocha, "lib/b.js": "1;\n"}
    repo = make_repo(tmp_path / "repo", files)
    changed = {"src/a.ts": {1}, "lib/b.js": {1}}
    production = await produce_tests(LocalSandbox(), repo, changed, RepoConfig(), NO_LLM)
    assert not production.problems
    assert production.nothing_to_do is not None
    assert "`src/a.ts`: no package.json above it" in production.nothing_to_do
    assert "`lib`: not supported yet: mocha" in production.nothing_to_do
    result = unkept_result(production, RepoConfig().test_generation)
    assert result is not None
    assert result.status == "skipped" and "no package.json above it" in result.summary


# --- a toy language and a toy engine, registered from here alone ------------------------------

SOURCE = "calc.toy"
TEST = "spec/calc.spec.toy"


class Toy:
    """A language whose "suite" runs in-process: its sources end in ``.toy``, its tests in
    ``.spec.toy``, and a test covers the source lines it names (``covers 2 3``)."""

    name = "toy"
    label = "Toy"
    builds_tests = True
    per_test = None  # its candidate files are kept whole
    mutants = False
    agent = False
    engines: tuple[str, ...] = ("toy",)

    def __init__(self) -> None:
        self.calls: list[str] = []

    def owns(self, path: str) -> bool:
        return path.endswith(".toy")

    def is_test_file(self, path: str) -> bool:
        return path.endswith(".spec.toy")

    def sources(self, changed: Mapping[str, set[int]], selected: Callable[[str], bool]) -> dict:
        return {p: ls for p, ls in changed.items() if not self.is_test_file(p) and selected(p)}

    async def install(self, request: InstallRequest, sources: Mapping[str, set[int]]) -> Installed:
        self.calls.append("install")
        return Installed("nothing")

    def unsupported(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        return {}

    def syntax_errors(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        self.calls.append("syntax_errors")
        return {}

    def _run(self, checkout: Path, paths: list[str]) -> SuiteRun:
        executed: dict[str, set[int]] = {SOURCE: {1}}  # the existing tests run line 1 only
        for path in paths:
            for line in (checkout / path).read_text().splitlines():
                if line.startswith("covers "):
                    executed[SOURCE] |= {int(n) for n in line.split()[1:]}
        return SuiteRun(
            "passed",
            duration_s=0.0,
            output="",
            executed=executed,
            statements={SOURCE: {1, 2, 3}},
            passed=1,
            measured=True,
        )

    async def run_suite(
        self, sandbox: Sandbox, checkout: Path, sources: Mapping[str, set[int]], *, timeout_s: float
    ) -> SuiteRun:
        self.calls.append("run_suite")
        return self._run(checkout, [])

    def changed_executable(
        self, checkout: Path, changed: Mapping[str, set[int]], statements: dict[str, set[int]]
    ) -> dict[str, set[int]]:
        self.calls.append("changed_executable")
        return {p: ls & statements.get(p, set()) for p, ls in changed.items()}

    def functions_touching(self, source: str, lines: set[int]) -> list[str]:
        # a toy "function" is a line's first word
        return [text.split()[0] for n, text in enumerate(source.splitlines(), 1) if n in lines]

    def imported_elsewhere(
        self, sources: Mapping[str, set[int]], run: SuiteRun, root: str
    ) -> list[tuple[str, str]]:
        return []

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
        self.calls.append(f"run_tests {' '.join(paths)}")
        return self._run(checkout, paths)

    def prune_tests(self, checkout: Path, path: str, names: set[str]) -> bool:
        return False

    async def pin_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> Pinning:
        self.calls.append(f"pin_on_base {' '.join(sorted(files))}")
        return Pinning(dict.fromkeys(files, "fails"))

    async def tests_failing_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> set[tuple[str, str]] | None:
        return None

    async def broken_on_base(
        self,
        sandbox: Sandbox,
        checkout: Path,
        sha: str,
        failures: list[TestFailure],
        *,
        timeout_s: float,
    ) -> BrokenTests:
        raise AssertionError("the toy suite has no failing tests")

    def conventions(self, checkout: Path, sources: Mapping[str, set[int]]) -> Conventions:
        self.calls.append("conventions")
        return Conventions(framework="toyspec", test_dirs=["spec"], naming="<name>.spec.toy")

    def tests_among(self, checkout: Path, untracked: list[str]) -> list[str]:
        return [path for path in untracked if self.is_test_file(path)]


class ToyEngine:
    name = "toy"
    label = "Toy engine"
    share = 1.0

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        target = targets[0]
        path = f"{workspace.output_dir}/calc.spec.toy"
        (workspace.checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (workspace.checkout / path).write_text(
            "covers " + " ".join(map(str, target.uncovered)) + "\n"
        )
        return EngineOutcome(written=[path], notes=[f"toy engine: {target.path}"])


@pytest.fixture
def isolated_registries() -> Iterator[None]:
    """What a test registers is gone after it (the dicts are shared by reference)."""
    languages, engines, portfolios = (dict(registry.LANGUAGES), dict(ENGINES), dict(PORTFOLIOS))
    yield
    for shared, saved in ((registry.LANGUAGES, languages), (ENGINES, engines)):
        shared.clear()
        shared.update(saved)  # type: ignore[arg-type]
    PORTFOLIOS.clear()
    PORTFOLIOS.update(portfolios)


def commit(repo: Path) -> str:
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "y"],
        check=True,
    )
    return head(repo)


def head(repo: Path) -> str:
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True)
    return out.stdout.decode().strip()


@pytest.mark.usefixtures("isolated_registries")
async def test_a_toy_language_and_engine_registered_from_outside_get_a_run(
    tmp_path: Path,
) -> None:
    """Registering a language, an engine and a portfolio is all it takes: the baseline, the
    conventions, the validation runs and the base commit go through the toy language, the
    engines through the toy engine, and its test is kept for the lines it newly covers."""
    toy = Toy()
    language: Language = registry.register(toy)
    assert registry.language_for("a/calc.toy") is toy and language is toy
    register(ToyEngine(), Portfolio("offline", ("toy",), label="offline: toy"))
    repo = make_repo(tmp_path / "repo", {SOURCE: "one\n"})
    base_sha = head(repo)
    (repo / SOURCE).write_text("one\ntwo\nthree\n")
    commit(repo)
    config = RepoConfig.model_validate({"test_generation": {"engine": "offline", "flaky_runs": 2}})
    production = await produce_tests(
        LocalSandbox(), repo, {SOURCE: {2, 3}}, config, NO_LLM, base_sha=base_sha
    )
    assert production.nothing_to_do is None, production.nothing_to_do
    assert "toy engine: calc.toy" in production.notes
    assert list(production.kept) == [TEST]
    assert production.before is not None and production.before.covered_count == 0
    assert production.after is not None and production.after.covered_count == 2
    assert production.pinning is not None and production.pinning.outcomes == {TEST: "fails"}
    assert production.mutants is None  # the toy language says mutants cannot be put in it
    # The plan's statements and functions are the language's too.
    assert [(t.path, t.uncovered, t.functions) for t in production.targets] == [
        (SOURCE, [2, 3], ["two", "three"])
    ]
    assert toy.calls == [
        "syntax_errors",
        "install",  # the language installs its own dependencies: no pip for a toy
        "run_suite",
        "changed_executable",
        "conventions",
        f"run_tests {TEST}",
        f"run_tests {TEST}",
        f"pin_on_base {TEST}",
    ]


@pytest.mark.usefixtures("isolated_registries")
async def test_a_portfolio_engine_that_writes_another_language_does_not_run(
    tmp_path: Path,
) -> None:
    toy = Toy()
    toy.engines = ()
    registry.register(toy)
    register(ToyEngine(), Portfolio("offline", ("toy",), label="offline: toy"))
    repo = make_repo(tmp_path / "repo", {SOURCE: "one\ntwo\nthree\n"})
    config = RepoConfig.model_validate({"test_generation": {"engine": "offline"}})
    production = await produce_tests(LocalSandbox(), repo, {SOURCE: {2, 3}}, config, NO_LLM)
    assert "toy: not run, it writes no Toy tests." in production.notes
    assert not production.kept


@pytest.mark.parametrize(
    ("returncode", "timed_out", "status", "described", "problem"),
    [
        (
            0,
            False,
            "passed",
            "0 passed",
            "the existing tests ran but coverage.py collected no data",
        ),
        (1, False, "failed", "0 failed, 0 passed", None),
        (5, False, "no tests", "no tests collected", None),
        (
            2,
            False,
            "did not run",
            "interrupted (collection errors)",
            "the existing tests were interrupted (pytest exit 2): E   ImportError: gone",
        ),
        (
            4,
            False,
            "did not run",
            "pytest exited 4: E   ImportError: gone",
            "the existing tests were misconfigured (pytest exit 4): E   ImportError: gone",
        ),
        (
            7,
            False,
            "did not run",
            "pytest exited 7: E   ImportError: gone",
            "the existing tests did not run (pytest exit 7): E   ImportError: gone",
        ),
        (1, True, "timed out", "timed out after 3 s", "the existing tests timed out after 3 s"),
    ],
)
def test_pytests_exit_codes_are_read_in_its_runner_into_the_neutral_run(
    returncode: int, timed_out: bool, status: str, described: str, problem: str | None
) -> None:
    """The texts the check run showed when the run was pytest's own type, word for word."""
    run = pytest_runner.suite_run(returncode, timed_out, 3.2, "collecting\nE   ImportError: gone\n")
    if status == "failed":
        run.executed = {"a.py": {1}}
    assert (run.status, run.describe(), run.problem()) == (status, described, problem)
    assert run.ok is (status == "passed") and run.timed_out is timed_out
    assert run.returncode == returncode  # shown, never decided on


def test_the_total_rule_counts_source_lines_by_the_run_languages_test_predicate() -> None:
    """``keep_rule: total`` keeps a file that adds covered lines of non-test code: which files
    are tests is the run's language's answer, not Python's (``spec/calc.spec.toy`` is no
    Python test file, so Python's predicate would count the candidate's own lines)."""
    baseline = SuiteRun("passed", 0.0, "", executed={SOURCE: {1}}, measured=True)
    candidate = Validation(
        TEST, True, "passed 2 runs", executed={SOURCE: {1}, TEST: {1}}, measured=True
    )
    changed = {SOURCE: {2, 3}}
    verdicts, _ = select([candidate], baseline, changed, "total", is_test=Toy().is_test_file)
    assert [(v.kept, v.reason) for v in verdicts] == [
        (False, "passed 2 runs, but adds no covered line")
    ]
    verdicts, _ = select([candidate], baseline, changed, "total", is_test=PYTHON.is_test_file)
    assert [v.kept for v in verdicts] == [True]  # what Python's predicate made of it
