"""Validation, changed-line coverage, planning and conventions on real repositories, with the
local sandbox (real pytest and coverage.py subprocesses)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.languages.python import pytest_runner, python_statements
from jobs.languages.python.python_backend import PYTHON
from jobs.languages.python.python_conventions import detect
from jobs.sandbox import LocalSandbox
from jobs.testgen import (
    build_prompt,
    line_sets,
    plan_targets,
    produce_tests,
    render,
    select,
    validate,
)
from jobs.testgen.engines.python_modules import module_for
from jobs.testgen.engines.python_modules import test_sources as read_test_files

CALC = """def add(a, b):
    return a + b


def classify(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"
"""


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
        check=True,
    )
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef two():\n    return 2\n",
            "tests/test_add.py": "from pkg.calc import add\n\n\ndef test_add(two):\n"
            "    assert add(1, two) == 3\n",
        },
    )


async def test_baseline_measures_changed_lines(repo: Path) -> None:
    run = await pytest_runner.run_pytest(
        LocalSandbox(), repo, [], tag="b", timeout_s=60, measure=True
    )
    assert run.ok and run.measured and run.passed == 1
    changed = python_statements.changed_executable(
        repo, {"pkg/calc.py": set(range(1, 11))}, run.statements
    )
    before = line_sets.ChangedCoverage(changed, line_sets.restrict(run.executed, changed))
    assert before.total == 8
    assert before.uncovered("pkg/calc.py") == {6, 7, 8, 9, 10}
    assert before.percent() == 38


@pytest.mark.parametrize(
    ("tests", "expected"),
    [
        ({}, "no tests collected"),
        ({"tests/test_bad.py": "def test_bad():\n    assert False\n"}, "1 failed, 0 passed"),
        ({"tests/test_broken.py": "import nowhere_to_be_found\n"}, "collection errors"),
    ],
)
async def test_baseline_survives_awkward_repos(
    tmp_path: Path, tests: dict[str, str], expected: str
) -> None:
    repo = make_repo(tmp_path / "r", {"pkg/__init__.py": "", "pkg/calc.py": CALC, **tests})
    run = await pytest_runner.run_pytest(
        LocalSandbox(), repo, [], tag="b", timeout_s=60, measure=True
    )
    assert expected in run.describe()
    changed = python_statements.changed_executable(repo, {"pkg/calc.py": {6, 7}}, run.statements)
    assert changed == {"pkg/calc.py": {6, 7}}  # statements known even if nothing imported it


async def test_validation_prunes_failing_functions_and_discards_flaky(repo: Path) -> None:
    sandbox = LocalSandbox()
    (repo / "tests/test_mixed_tandem.py").write_text(
        "from pkg.calc import classify\n\n\ndef test_ok():\n    assert classify(0) == 'zero'\n\n"
        "\ndef test_wrong():\n    assert classify(1) == 'nope'\n"
    )
    mixed = await validate(
        sandbox,
        repo,
        "tests/test_mixed_tandem.py",
        runs=3,
        timeout_s=60,
        language=PYTHON,
    )
    assert mixed.passed and mixed.pruned == ["test_wrong"]
    assert "def test_wrong" not in (repo / "tests/test_mixed_tandem.py").read_text()
    assert mixed.executed["pkg/calc.py"] >= {6, 8, 9}

    (repo / "tests/test_flaky_tandem.py").write_text(
        "from pathlib import Path\n\nM = Path(__file__).with_name('m')\n\n\ndef test_toggle():\n"
        "    if M.exists():\n        M.unlink()\n        raise AssertionError('again')\n"
        "    M.write_text('x')\n"
    )
    flaky = await validate(
        sandbox,
        repo,
        "tests/test_flaky_tandem.py",
        runs=5,
        timeout_s=60,
        language=PYTHON,
    )
    assert not flaky.passed
    assert flaky.reason.startswith("flaky: passed 1 run(s), then run 2 of 5 failed")

    (repo / "tests/test_empty_tandem.py").write_text("X = 1\n")
    empty = await validate(
        sandbox,
        repo,
        "tests/test_empty_tandem.py",
        runs=2,
        timeout_s=60,
        language=PYTHON,
    )
    assert (empty.passed, empty.reason) == (False, "no tests collected")


async def test_coverage_filter_keeps_only_files_that_add_changed_lines(repo: Path) -> None:
    sandbox = LocalSandbox()
    baseline = await pytest_runner.run_pytest(
        sandbox, repo, [], tag="b", timeout_s=60, measure=True
    )
    changed = python_statements.changed_executable(
        repo, {"pkg/calc.py": set(range(5, 11))}, baseline.statements
    )
    files = {
        "tests/test_a_tandem.py": "from pkg.calc import classify\n\n\ndef test_z():\n"
        "    assert classify(0) == 'zero'\n    assert classify(-1) == 'negative'\n",
        "tests/test_b_tandem.py": "from pkg.calc import classify\n\n\ndef test_n():\n"
        "    assert classify(-5) == 'negative'\n",
        "tests/test_c_tandem.py": "from pkg.calc import add\n\n\ndef test_a():\n"
        "    assert add(2, 2) == 4\n",
    }
    passed = []
    for path, text in files.items():
        (repo / path).write_text(text)
        passed.append(await validate(sandbox, repo, path, runs=1, timeout_s=60, language=PYTHON))
    verdicts, covered = select(
        passed, baseline, changed, "new_changed_lines", is_test=PYTHON.is_test_file
    )
    by_path = {v.path: v for v in verdicts}
    assert by_path["tests/test_a_tandem.py"].kept
    assert "pkg/calc.py 6-9" in by_path["tests/test_a_tandem.py"].reason
    assert not by_path["tests/test_b_tandem.py"].kept  # nothing beyond test_a
    assert not by_path["tests/test_c_tandem.py"].kept  # add() is not changed code
    assert covered["pkg/calc.py"] == {5, 6, 7, 8, 9}
    verdicts, _ = select(passed, baseline, changed, "total", is_test=PYTHON.is_test_file)
    assert {v.path for v in verdicts if v.kept} == {"tests/test_a_tandem.py"}


async def test_plan_prioritises_uncovered_lines_and_caps_files(repo: Path) -> None:
    for i in range(3):
        (repo / f"pkg/m{i}.py").write_text("".join(f"X{j} = {j}\n" for j in range(i + 1)))
    changed = {f"pkg/m{i}.py": set(range(1, i + 2)) for i in range(3)}
    changed["pkg/calc.py"] = {1, 2}
    run = await pytest_runner.run_pytest(
        LocalSandbox(), repo, [], tag="b", timeout_s=60, measure=True
    )
    exec_ = python_statements.changed_executable(repo, changed, run.statements)
    before = line_sets.ChangedCoverage(exec_, line_sets.restrict(run.executed, exec_))
    targets, left_out = plan_targets(
        repo, changed, before, max_files=2, functions_touching=PYTHON.functions_touching
    )
    assert [t.path for t in targets] == ["pkg/m2.py", "pkg/m1.py"]
    assert any("pkg/m0.py" in note and "max_files (2)" in note for note in left_out)
    assert any("pkg/calc.py" in note and "covered already" in note for note in left_out)


def test_conventions_and_prompt_carry_the_evidence(repo: Path) -> None:
    conventions = detect(repo)
    assert conventions.framework == "pytest"
    assert conventions.test_dirs == ["tests"]
    assert conventions.fixtures == {"tests/conftest.py": ["two"]}
    config = RepoConfig.model_validate(
        {"test_generation": {"instructions": "Use hypothesis where it helps."}}
    )
    before = line_sets.ChangedCoverage({"pkg/calc.py": {6, 7}}, {})
    targets, _ = plan_targets(
        repo, {"pkg/calc.py": {6, 7}}, before, 10, functions_touching=PYTHON.functions_touching
    )
    prompt = build_prompt(targets, repo, conventions, config.test_generation)
    assert f"repository at {repo}.\n" in prompt
    assert "Changed lines no existing test covers: 6-7" in prompt
    assert "In: classify" in prompt and 'return "negative"' in prompt
    assert "Fixtures in `tests/conftest.py`: `two`" in prompt
    assert "Use hypothesis where it helps." in prompt
    assert "run 5 times in a row" in prompt


def test_module_names_for_pynguin(repo: Path) -> None:
    assert module_for(repo, "pkg/calc.py") == (".", "pkg.calc")
    (repo / "src/lib").mkdir(parents=True)
    (repo / "src/lib/__init__.py").write_text("")
    assert module_for(repo, "src/lib/core.py") == ("src", "lib.core")
    assert module_for(repo, "scripts/my-tool.py") is None


async def test_pynguin_engine_writes_tests_that_pass_validation(repo: Path) -> None:
    """Pynguin, offline, on a small real module: its tests pass 3 runs and raise coverage."""
    config = RepoConfig.model_validate({"test_generation": {"engine": "pynguin", "flaky_runs": 3}})
    settings = Settings(llm_model=None, sandbox="local")  # type: ignore[call-arg]
    production = await produce_tests(
        LocalSandbox(), repo, {"pkg/calc.py": set(range(5, 11))}, config, settings
    )
    assert production.engine == "pynguin"
    assert list(production.kept) == ["tests/test_pkg_calc_tandem.py"]
    assert "pkg.calc" in production.kept["tests/test_pkg_calc_tandem.py"]
    assert production.before is not None and production.after is not None
    assert production.before.percent() == 17
    assert production.after.percent() > production.before.percent()
    _lines, details = render(production, config.test_generation)
    assert details["engine"] == "pynguin"
    assert details["coverage"]["percent_before"] == 17
    assert details["kept"] == ["tests/test_pkg_calc_tandem.py"]


@pytest.mark.slow
async def test_pynguin_writes_the_same_file_for_the_same_input(tmp_path: Path) -> None:
    """Seed and hash seed fixed, stopped by its iteration bound: the same search twice (its
    first generation seeded from the project's test)."""
    import time

    from jobs.testgen.engines import pynguin

    texts = []
    files = {
        "pkg/__init__.py": "",
        "pkg/calc.py": CALC,
        "tests/test_calc.py": "from pkg.calc import classify\n\n\ndef test_zero():\n"
        "    assert classify(0) == 'zero'\n",
    }
    for attempt in ("one", "two"):
        checkout = make_repo(tmp_path / attempt, files)
        outcome = await pynguin.generate(
            LocalSandbox(),
            checkout,
            ["pkg/calc.py"],
            "tests",
            deadline=time.monotonic() + 120,
            tests=read_test_files(checkout),
        )
        assert outcome.written == ["tests/test_pkg_calc_tandem.py"], outcome.notes
        assert outcome.seeded == {"pkg/calc.py": ["tests/test_calc.py"]}
        texts.append((checkout / outcome.written[0]).read_text())
    assert texts[0] == texts[1]
    assert "def test_" in texts[0]
