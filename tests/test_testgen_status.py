"""Honest status: an engine crash, a baseline that did not run, a failed dependency install and a
syntax error in the change are problems in the part's headline (⚠️, never ✅) that quote the
decisive error line; a project's pytest-cov does not blind the baseline. Real pytest,
coverage.py, pip and Pynguin in the local sandbox."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from core.github import Annotation
from core.repo_config import RepoConfig, TestGeneration
from core.settings import Settings
from jobs.agent import AgentOutcome, Status
from jobs.checkrun import render_results
from jobs.dependencies import install_dependencies
from jobs.languages.python import pytest_runner
from jobs.sandbox import LocalSandbox, decisive_line, workdir
from jobs.state import PartResult
from jobs.testgen import produce_tests
from jobs.testgen.engines import pynguin
from jobs.testgen.production import Production
from jobs.testgen.tests_report import kept_result, unkept_result
from jobs.testgen.validation import Verdict
from tests.test_testgen import CALC, make_repo

SETTINGS = Settings(llm_model=None, sandbox="local")  # type: ignore[call-arg]
PYNGUIN = RepoConfig.model_validate({"test_generation": {"engine": "pynguin", "flaky_runs": 2}})

PIP_BUILD_FAILURE = """\
Processing ./vendor/thing
  Installing build dependencies: started
  error: subprocess-exited-with-error

  × pip subprocess to install build dependencies did not run successfully.
  │ exit code: 1
  ╰─> [3 lines of output]
      ERROR: Could not find a version that satisfies the requirement setuptools>=99
      ERROR: No matching distribution found for setuptools>=99
      [end of output]

  note: This error originates from a subprocess, and is likely not a problem with pip.
error: subprocess-exited-with-error
note: This error originates from a subprocess, and is likely not a problem with pip.
"""


def test_the_decisive_line_is_the_error_not_the_closing_note() -> None:
    assert decisive_line(PIP_BUILD_FAILURE) == (
        "ERROR: No matching distribution found for setuptools>=99"
    )
    crash = "Traceback (most recent call last):\n  File 'x'\nRuntimeError: got negative size\n"
    assert decisive_line(crash + "[12:00:01] cleaning up\n") == "RuntimeError: got negative size"
    assert decisive_line("") == "no output"
    # Node's "Error: …" and its stack: the message, not the last frame
    node = "Error: jest-config was not found beside jest\n    at load (/w/c.cjs:12:3)\n"
    assert decisive_line(node) == "Error: jest-config was not found beside jest"
    # The docker sandbox without a network: pip's bare "ERROR: Exception:", then a traceback
    # whose exception is not named ...Error.
    backend = (
        "ERROR: Exception:\nTraceback (most recent call last):\n  File 'x', line 1\n"
        "pip._vendor.pyproject_hooks._impl.BackendUnavailable: Cannot import 'hatchling.build'\n"
    )
    assert decisive_line(backend) == (
        "pip._vendor.pyproject_hooks._impl.BackendUnavailable: Cannot import 'hatchling.build'"
    )
    # Only pip's framing left (the subprocess's own lines cut off): what failed, not the note.
    framed = PIP_BUILD_FAILURE.split("      ERROR", 1)[0] + (
        "  note: This error originates from a subprocess, and is likely not a problem with pip.\n"
    )
    assert decisive_line(framed) == (
        "× pip subprocess to install build dependencies did not run successfully."
    )
    # pip 26 sums up with an ERROR line that names only the step: the build's own error wins.
    build = (
        "  Getting requirements to build editable: finished with status 'error'\n"
        "  error: subprocess-exited-with-error\n"
        "  × Getting requirements to build editable did not run successfully.\n"
        "  │ exit code: 1\n  ╰─> [40 lines of output]\n"
        "      packaging.specifiers.InvalidSpecifier: Invalid specifier: '>=3.6.*'\n"
        "      [end of output]\n"
        "  note: This error originates from a subprocess, and is likely not a problem with pip.\n"
        "ERROR: Failed to build 'file:///tmp/x' when getting requirements to build editable\n"
    )
    assert decisive_line(build) == (
        "packaging.specifiers.InvalidSpecifier: Invalid specifier: '>=3.6.*'"
    )
    summed = "Building wheel for x\nERROR: Failed building wheel for x\n"
    assert decisive_line(summed) == "ERROR: Failed building wheel for x"


def test_a_warning_is_never_shown_as_done_and_a_failing_finding_is_not_green() -> None:
    results = [
        PartResult(part="generate_tests", status="warning", headline="no tests written; boom"),
        PartResult(part="review_refactoring", status="ok", headline="2", fails_check=True),
    ]
    conclusion, output = render_results(results)
    assert conclusion == "failure"
    assert "| Test generation | ⚠️ no tests written; boom |" in output.summary
    assert "| Refactoring review | ❌ 2 |" in output.summary
    assert render_results(results[:1])[0] == "neutral"


def test_past_the_cap_the_mutants_notices_go_before_any_warning() -> None:
    notices = [Annotation("a.py", n, n, "notice", f"mutant {n}") for n in range(1, 201)]
    warning = Annotation("b.py", 1, 1, "warning", "the change breaks test_b")
    results = [
        PartResult(part="generate_tests", status="ok", headline="1", annotations=notices),
        PartResult(part="review_refactoring", status="ok", headline="2", annotations=[warning]),
    ]
    _, output = render_results(results)
    assert len(output.annotations) == 200
    assert output.annotations[0] == warning
    assert output.annotations[1:] == notices[:199]
    assert "1 more not shown" in output.summary


def _agent_ended(status: Status, failure: str | None = None) -> Production:
    """engine auto: characterization kept one file, then the agent's conversation ended so."""
    production = Production(engine="openhands", engine_reason="OpenHands agent")
    production.kept = {"tests/test_orders_characterization.py": "def test_x():\n    pass\n"}
    production.verdicts = [Verdict("tests/test_orders_characterization.py", True, "covers")]
    production.usage.add(AgentOutcome(status, "why", 0, 1.0, 0.0, 0, 0, llm_failure=failure))
    return production


def test_a_failing_llm_is_a_warning_named_in_the_headline_and_a_budget_is_not() -> None:
    tg = TestGeneration()
    down = kept_result(
        _agent_ended("llm_error", "LLM unavailable (HTTP 500 from the provider)"), tg, "", [], {}
    )
    assert down.status == "warning"
    assert down.headline == (
        "LLM unavailable (HTTP 500 from the provider): offline tests only, 1 test file(s) generated"
    )
    assert render_results([down])[0] == "neutral"

    spent = _agent_ended("max_cost")
    spent.budget_hit = ["cost budget reached"]
    budget = kept_result(spent, tg, "", [], {})
    assert (budget.status, budget.headline) == ("ok", "1 test file(s) generated (budget reached)")
    assert budget.details["llm_failure"] is None

    nothing = _agent_ended("llm_error", "LLM key rejected (HTTP 401 from the provider)")
    nothing.kept, nothing.verdicts = {}, []
    refused = unkept_result(nothing, tg)
    assert refused is not None and refused.status == "warning"
    assert refused.headline == "LLM key rejected (HTTP 401 from the provider): no tests kept"


async def test_a_project_using_pytest_cov_gets_a_real_baseline(tmp_path: Path) -> None:
    """A src-layout project with pytest-cov in its test extras and `--cov` in addopts. Under a
    plain `coverage run -m pytest` its tracer replaces ours: "No data was collected" and a
    0% baseline. Tandem's run passes it `--no-cov` and measures the suite as the project runs
    it."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "covpkg"
version = "0.1"

[project.optional-dependencies]
test = ["pytest", "pytest-cov"]

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
addopts = "--cov=covpkg --cov-fail-under=100"
testpaths = ["tests"]
""",
            "src/covpkg/__init__.py": "",
            "src/covpkg/calc.py": CALC,
            "tests/test_calc.py": "from covpkg.calc import classify\n\n\ndef test_zero():\n"
            "    assert classify(0) == 'zero'\n",
        },
    )
    sandbox = LocalSandbox()
    installed = await install_dependencies(sandbox, repo, timeout_s=300)
    assert installed.status == "installed", installed.note
    baseline = await pytest_runner.run_pytest(
        sandbox, repo, [], tag="b", timeout_s=120, measure=True
    )
    assert baseline.problem() is None, baseline.output
    assert baseline.ok and baseline.passed == 1
    # classify(0) ran lines 6 (n < 0), 8 (n == 0) and 9 (return "zero"), not 7 or 10.
    assert baseline.executed["src/covpkg/calc.py"] >= {6, 8, 9}
    assert not baseline.executed["src/covpkg/calc.py"] & {7, 10}

    # The control: the same suite under a plain `coverage run` collects nothing.
    env_python = sandbox.python
    assert env_python.endswith(".tandem-work/env/bin/python"), "the project was installed"
    plain = subprocess.run(  # noqa: ASYNC221 - the control, outside any sandbox on purpose
        [
            env_python,
            "-m",
            "coverage",
            "run",
            f"--rcfile={workdir.RC_FILE}",
            "--data-file=.tandem-work/plain.coverage",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "No data was collected" in plain.stdout + plain.stderr


async def test_a_baseline_that_did_not_run_is_a_problem(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/test_calc.py": "import not_installed_anywhere\n\n\ndef test_x():\n    pass\n",
        },
    )
    production = await produce_tests(
        LocalSandbox(), repo, {"pkg/calc.py": set(range(5, 11))}, PYNGUIN, SETTINGS
    )
    assert production.problems[0].startswith("baseline: the existing tests were interrupted")
    assert "not_installed_anywhere" in production.problems[0]


async def test_an_engine_crash_is_a_problem_with_its_decisive_line(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC + "\nraise RuntimeError('refuses to be imported by a tool')\n",
        },
    )
    outcome = await pynguin.generate(
        LocalSandbox(), repo, ["pkg/calc.py"], "tests", deadline=_deadline(120), tests={}
    )
    assert outcome.crashed and outcome.crashed[0].startswith("`pkg/calc.py`: ")
    assert not outcome.written

    production = await produce_tests(
        LocalSandbox(), repo, {"pkg/calc.py": set(range(5, 11))}, PYNGUIN, SETTINGS
    )
    result = unkept_result(production, PYNGUIN.test_generation)
    assert result is not None
    assert result.status == "warning"
    assert "Pynguin crashed on `pkg/calc.py`" in result.headline
    assert result.details["problems"] == production.problems


async def test_a_failed_dependency_install_is_a_problem_quoting_pip(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "requirements.txt": "tandem-no-such-package-anywhere==0.0.1\n",
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/test_calc.py": "from pkg.calc import add\n\n\ndef test_add():\n"
            "    assert add(1, 2) == 3\n",
        },
    )
    production = await produce_tests(
        LocalSandbox(), repo, {"pkg/calc.py": {1, 2}}, PYNGUIN, SETTINGS
    )
    problem = next(p for p in production.problems if p.startswith("dependency install failed"))
    assert "No matching distribution found for tandem-no-such-package-anywhere" in problem
    # add() is covered by the existing test: nothing to cover, yet the problem is in sight.
    result = unkept_result(production, PYNGUIN.test_generation)
    assert result is not None and result.status == "warning"
    assert result.headline.startswith("nothing to cover; dependency install failed")


async def test_a_syntax_error_in_the_change_is_said_as_such(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/calc.py": "def broken(:\n    return 1\n"},
    )
    production = await produce_tests(
        LocalSandbox(), repo, {"pkg/calc.py": {1, 2}}, PYNGUIN, SETTINGS
    )
    result = unkept_result(production, PYNGUIN.test_generation)
    assert result is not None
    assert (result.status, result.headline) == ("warning", "syntax error in the change")
    assert result.details["syntax_errors"] == ["`pkg/calc.py` line 1: invalid syntax"]
    assert "do not parse" in result.summary


def _deadline(seconds: float) -> float:
    import time

    return time.monotonic() + seconds


pytestmark = pytest.mark.slow


async def test_plugins_the_project_never_asked_for_do_not_break_its_suite(tmp_path: Path) -> None:
    """The PR's dependencies go into their own environment, which sees the tools' environment
    too (in local mode the worker's own, with pytest-asyncio). A project that turns warnings
    into errors must not die of a deprecation warning from a plugin it does not use."""
    import importlib.util

    assert importlib.util.find_spec("pytest_asyncio") is not None  # the tools' env has one
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "strictpkg"
version = "0.1"

[project.optional-dependencies]
test = ["pytest>=9"]

[tool.setuptools]
packages = ["strictpkg"]

[tool.pytest.ini_options]
filterwarnings = ["error"]
""",
            "strictpkg/__init__.py": "",
            "strictpkg/calc.py": CALC,
            "tests/test_calc.py": "from strictpkg.calc import add\n\n\ndef test_add():\n"
            "    assert add(1, 2) == 3\n",
        },
    )
    sandbox = LocalSandbox()
    installed = await install_dependencies(sandbox, repo, timeout_s=300)
    assert installed.status == "installed", installed.note
    # The control: pytest started plainly with every tool in view loads every plugin it can
    # see, and pytest-asyncio's warning is an error under this project's filterwarnings.
    pytest_plain = [sandbox.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    every = await sandbox.run(["env", workdir.ALL_TOOLS, *pytest_plain], cwd=repo, timeout_s=120)
    assert every.returncode == 3 and "asyncio_default_fixture_loop_scope" in every.output
    # The project's environment itself shows it only the measuring tools: no such plugin.
    plain = await sandbox.run(pytest_plain, cwd=repo, timeout_s=120)
    assert plain.returncode == 0, plain.output

    baseline = await pytest_runner.run_pytest(
        sandbox, repo, [], tag="b", timeout_s=120, measure=True
    )
    assert baseline.problem() is None, baseline.output
    assert baseline.ok and baseline.passed == 1
    assert baseline.executed["strictpkg/calc.py"] >= {2}


async def test_a_project_without_its_own_environment_gets_none_of_the_tools_plugins(
    tmp_path: Path,
) -> None:
    """Nothing to install: the suite runs in the tools' own python (here the worker's venv,
    with pytest-asyncio), and still sees none of the plugins it never asked for."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "calc.py": CALC,
            "tests/test_calc.py": "from calc import add\n\n\ndef test_add(request):\n"
            "    assert not request.config.pluginmanager.hasplugin('asyncio')\n"
            "    assert add(1, 2) == 3\n",
        },
    )
    sandbox = LocalSandbox()
    # The control: pytest started plainly in the tools' python loads pytest-asyncio.
    plain = await sandbox.run(
        [sandbox.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, timeout_s=120
    )
    assert plain.returncode == 1 and "hasplugin" in plain.output, plain.output

    baseline = await pytest_runner.run_pytest(
        sandbox, repo, [], tag="b", timeout_s=120, measure=True
    )
    assert baseline.problem() is None, baseline.output
    assert baseline.ok and baseline.passed == 1


async def test_a_plugin_the_project_declares_loads_though_the_tools_have_it(
    tmp_path: Path,
) -> None:
    """The project asks for anyio, which the tools' environment already holds: pip leaves it
    there ("already satisfied"), and its pytest plugin still runs the project's async test."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "asyncpkg"
version = "0.1"
dependencies = ["anyio"]

[tool.setuptools]
packages = ["asyncpkg"]
""",
            "asyncpkg/__init__.py": "",
            "asyncpkg/calc.py": "async def add(a, b):\n    return a + b\n",
            "tests/test_calc.py": """\
import pytest

from asyncpkg.calc import add


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_add():
    assert await add(1, 2) == 3
""",
        },
    )
    sandbox = LocalSandbox()
    installed = await install_dependencies(sandbox, repo, timeout_s=300)
    assert installed.status == "installed", installed.note
    recorded = (repo / ".tandem-work" / "env" / workdir.PROJECT_DISTS).read_text().split()
    assert "anyio" in recorded and "pytest-asyncio" not in recorded

    baseline = await pytest_runner.run_pytest(
        sandbox, repo, [], tag="b", timeout_s=120, measure=True
    )
    assert baseline.problem() is None, baseline.output
    assert baseline.ok and baseline.passed == 1, baseline.output
    assert baseline.executed["asyncpkg/calc.py"] >= {2}

    # The project's environment sees anyio through its view of the tools because the project
    # asked for it. The control: without it there (as for any tool it never asked for), the
    # async test does not run.
    view = repo / ".tandem-work" / "env" / workdir.VIEW_DIR
    anyio = [entry for entry in view.iterdir() if entry.name.startswith("anyio")]
    assert anyio
    for entry in anyio:
        entry.unlink()
    unasked = await pytest_runner.run_pytest(
        sandbox, repo, [], tag="c", timeout_s=120, measure=True
    )
    assert not unasked.ok and unasked.passed == 0, unasked.output
