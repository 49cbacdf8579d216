"""Tests run on the base commit too: kept tests that fail there pin the change, the others guard
against regressions; existing tests that pass on the base and fail with the change are a
finding of their own. Real git repositories, real pytest in the local sandbox."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from core.repo_config import RepoConfig
from core.repo_config_file import InvalidConfig, parse_config
from core.settings import Settings
from jobs.checkrun import render_results
from jobs.dependencies import ENV_DIR, install_dependencies
from jobs.languages.python import pytest_runner, python_statements
from jobs.languages.python.base_commit import pin_on_base
from jobs.languages.python.python_backend import PYTHON
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import LocalSandbox, workdir
from jobs.state import PartResult
from jobs.testgen import (
    ChangeToTest,
    Delivered,
    produce_and_report,
    produce_tests,
    select,
)
from jobs.testgen.base_tree import materialize, place
from jobs.testgen.engines import offline as offline_engines
from jobs.testgen.pin import BrokenTest, BrokenTests, Pinning, verdict_note
from jobs.testgen.production import Production
from jobs.testgen.tests_report import render, unkept_result, with_broken_tests
from jobs.testgen.validation import Validation
from tests.test_testgen import CALC

SETTINGS = Settings(llm_model=None, sandbox="local")  # type: ignore[call-arg]


def config(**test_generation: Any) -> RepoConfig:
    return RepoConfig.model_validate(
        {"test_generation": {"engine": "pynguin", "flaky_runs": 2, **test_generation}}
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def commit(repo: Path, files: dict[str, str | None], message: str) -> str:
    """Write (None: delete) files and commit them; the new commit's sha."""
    for path, text in files.items():
        target = repo / path
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def two_commits(
    root: Path, base: dict[str, str | None], head: dict[str, str | None]
) -> tuple[Path, str]:
    root.mkdir(parents=True)
    git(root, "init", "-q")
    base_sha = commit(root, base, "base")
    commit(root, head, "head")
    return root, base_sha


HEAD_CALC = """def add(a, b):
    return a + b


def classify(value):
    if value < 0:
        return "negative"
    if value == 0:
        return "nought"
    return "positive"
"""
CHANGED = {"pkg/calc.py": {5, 6, 7, 8, 9, 10}}


def fake_engine(monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> None:
    """The engine writes `files` (the pipeline around it is real)."""

    async def generate(engines: Any, workspace: Any, targets: Any) -> Any:
        checkout = workspace.checkout
        for path, text in files.items():
            (checkout / path).parent.mkdir(parents=True, exist_ok=True)
            (checkout / path).write_text(text)
        return SimpleNamespace(written=sorted(files), notes=[], problems=[], timings={})

    monkeypatch.setattr(offline_engines, "generate", generate)


async def test_kept_tests_that_fail_on_the_base_pin_the_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/test_add.py": "from pkg.calc import add\n\n\ndef test_add():\n"
            "    assert add(1, 2) == 3\n",
        },
        {"pkg/calc.py": HEAD_CALC},
    )
    fake_engine(
        monkeypatch,
        {
            "tests/test_pin_tandem.py": "from pkg.calc import classify\n\n\ndef test_zero():\n"
            "    assert classify(0) == 'nought'\n",
            "tests/test_guard_tandem.py": "from pkg.calc import classify\n\n\ndef test_neg():\n"
            "    assert classify(-1) == 'negative'\n",
        },
    )
    delivered: list[dict[str, str]] = []

    async def deliver(checkout: Path, kept: dict[str, str], patch: str, evidence: str) -> Delivered:
        delivered.append({"evidence": evidence})
        return Delivered(["\nDelivered nowhere."], {"kind": "none", "url": ""})

    change = ChangeToTest(CHANGED, base_sha)
    result = await produce_and_report(LocalSandbox(), repo, change, config(), SETTINGS, deliver)
    assert result.details["kept"] == ["tests/test_guard_tandem.py", "tests/test_pin_tandem.py"]
    pinning = result.details["pinning"]
    assert (pinning["kept_tests"], pinning["fail_on_base"], pinning["pass_on_both"]) == (2, 1, 1)
    assert pinning["files"] == {
        "tests/test_guard_tandem.py": "passes",
        "tests/test_pin_tandem.py": "fails",
    }
    line = "1 of 2 kept test files fail on the base commit (they pin the change); 1 pass on both."
    assert line in result.summary
    assert line in delivered[0]["evidence"]
    reasons = {v["path"]: v["reason"] for v in result.details["verdicts"]}
    assert reasons["tests/test_pin_tandem.py"].endswith(
        "; 1 test fails on the base commit (they pin the change)"
    )
    assert reasons["tests/test_guard_tandem.py"].endswith("; passes on the base commit too")
    assert result.details["broken_tests"] == []
    assert not list((repo / workdir.WORK_DIR).glob("base-*/"))  # the base tree is removed

    # Without a base commit nothing runs there, and nothing is claimed.
    production = await produce_tests(LocalSandbox(), repo, CHANGED, config(), SETTINGS)
    assert production.pinning is None and production.broken is None
    assert not any(
        "base commit" in line for line in render(production, config().test_generation)[0]
    )


def test_on_a_coverage_tie_the_pinning_test_is_kept() -> None:
    baseline = SuiteRun("passed", duration_s=0.0, output="")
    changed = {"pkg/calc.py": {6, 7}}
    same = {"pkg/calc.py": {6, 7}}
    passed = [
        Validation("tests/test_a_tandem.py", True, "passed 1/1 runs", executed=same, measured=True),
        Validation("tests/test_b_tandem.py", True, "passed 1/1 runs", executed=same, measured=True),
    ]
    verdicts, _ = select(
        passed, baseline, changed, "new_changed_lines", is_test=PYTHON.is_test_file
    )
    assert [v.path for v in verdicts if v.kept] == ["tests/test_a_tandem.py"]  # by name
    pins = {"tests/test_a_tandem.py": False, "tests/test_b_tandem.py": True}
    verdicts, _ = select(
        passed, baseline, changed, "new_changed_lines", pins, is_test=PYTHON.is_test_file
    )
    assert [v.path for v in verdicts if v.kept] == ["tests/test_b_tandem.py"]


BROKEN_TESTS = """import pytest

from pkg.calc import classify


def test_zero():
    assert classify(0) == "zero"


def test_negative():
    assert classify(-3) == "negative"


class TestCalc:
    def test_zero_in_class(self):
        assert classify(0) == "zero"

    def test_always_broken(self):
        assert classify(1) == "never"


@pytest.mark.parametrize("n", [0, 5])
def test_param(n):
    assert classify(n) in ("zero", "positive")
"""


async def test_existing_tests_the_change_breaks_are_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The existing tests run every changed line, but those that check it fail with the change,
    # so its mutants survive: the engines are asked for tests (this one writes none).
    fake_engine(monkeypatch, {})
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/calc.py": CALC, "tests/test_calc.py": BROKEN_TESTS},
        {
            "pkg/calc.py": HEAD_CALC,
            "tests/test_new.py": "def test_new_and_failing():\n    assert 1 == 2\n",
        },
    )
    production = await produce_tests(
        LocalSandbox(), repo, CHANGED, config(), SETTINGS, base_sha=base_sha
    )
    broken = production.broken
    assert broken is not None
    assert [(b.nodeid, b.line) for b in broken.broken] == [
        ("tests/test_calc.py::test_zero", 6),
        ("tests/test_calc.py::TestCalc::test_zero_in_class", 15),
        ("tests/test_calc.py::test_param[0]", 23),
    ]
    # failing on both is pre-existing; a failing test the base does not have is new
    assert (broken.preexisting, broken.new, broken.unchecked) == (1, 1, 0)
    # Every changed line runs, but a failing test notices no mutant: the engines were asked.
    assert production.nothing_to_do is None
    assert production.existing_score is not None and production.existing_score.alive

    tg = config().test_generation
    result = unkept_result(production, tg)
    assert result is not None
    assert result.headline.startswith(
        "the change breaks 3 existing tests; every changed line already runs; "
    )
    assert result.headline.endswith(
        "survived the existing tests: no generated test kills one or pins the change"
    )
    assert result.status == "warning" and not result.fails_check
    assert [(a.path, a.start_line, a.annotation_level) for a in result.annotations[:3]] == [
        ("tests/test_calc.py", 6, "warning"),
        ("tests/test_calc.py", 15, "warning"),
        ("tests/test_calc.py", 23, "warning"),
    ]
    # then the notices of the mutants no test notices
    assert {a.annotation_level for a in result.annotations[3:]} <= {"notice"}
    assert "assert 'nought' == 'zero'" in result.annotations[0].message
    assert result.details["broken_tests"] == [b.nodeid for b in broken.broken]
    assert result.details["preexisting_failures"] == 1
    assert "1 failing existing test(s) fail on the base commit too" in result.summary
    assert render_results([result])[0] == "neutral"

    gated = config(fail_on=["broken_tests"]).test_generation
    failing = unkept_result(production, gated)
    assert failing is not None and failing.fails_check
    assert "**This fails the check:** `fail_on` lists `broken_tests`." in failing.summary
    assert render_results([failing])[0] == "failure"


async def test_a_test_that_fails_once_with_the_change_and_then_passes_is_not_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A timing test failing under load: it fails in the baseline, passes on the base commit,
    and passes when run again with the change, so the change does not break it."""
    fake_engine(monkeypatch, {})
    mark = tmp_path / "ran-once"
    flaky = (
        "import pathlib\n\n\ndef test_slow_once():\n"
        f"    mark = pathlib.Path({str(mark)!r})\n"
        "    first = not mark.exists()\n    mark.write_text('x')\n    assert not first\n"
    )
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/calc.py": CALC, "tests/test_slow.py": flaky},
        {"pkg/calc.py": HEAD_CALC},
    )
    production = await produce_tests(
        LocalSandbox(), repo, CHANGED, config(), SETTINGS, base_sha=base_sha
    )
    assert production.broken is not None
    assert (len(production.broken.broken), production.broken.flaky) == (0, 1)
    assert "1 failing test(s) passed when run again with the change" in " ".join(
        production.broken.lines(fails_check=False)
    )
    result = unkept_result(production, config(fail_on=["broken_tests"]).test_generation)
    assert result is not None and not result.fails_check


async def test_a_test_failing_on_both_commits_is_not_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_engine(monkeypatch, {})
    failing = "from pkg.calc import add\n\n\ndef test_wrong():\n    assert add(1, 1) == 3\n"
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/calc.py": CALC, "tests/test_add.py": failing},
        {"pkg/calc.py": HEAD_CALC},
    )
    production = await produce_tests(
        LocalSandbox(), repo, CHANGED, config(), SETTINGS, base_sha=base_sha
    )
    assert production.broken is not None
    assert (len(production.broken.broken), production.broken.preexisting) == (0, 1)
    result = unkept_result(production, config(fail_on=["broken_tests"]).test_generation)
    assert result is not None
    assert not result.fails_check
    # no broken-test warning (the mutants' notices are not about the existing tests' failures)
    assert all(a.annotation_level == "notice" for a in result.annotations)
    assert not result.headline.startswith("the change breaks")


@pytest.mark.slow
async def test_an_editable_install_of_the_head_still_runs_the_base_code(tmp_path: Path) -> None:
    pyproject = (
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
        '\n[project]\nname = "srcpkg"\nversion = "0.1"\n'
        '\n[project.optional-dependencies]\ntest = ["pytest"]\n'
    )
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {
            "pyproject.toml": pyproject,
            "src/srcpkg/__init__.py": "def where():\n    return 'base'\n",
        },
        {"src/srcpkg/__init__.py": "def where():\n    return 'head'\n"},
    )
    sandbox = LocalSandbox()
    installed = await install_dependencies(sandbox, repo, timeout_s=300)
    assert installed.status == "installed", installed.note
    site = next(iter((repo / ENV_DIR).glob("lib/python*/site-packages")))
    assert [p for p in os.listdir(site) if p.startswith("__editable__")]  # the head, editable

    tests = {
        "tests/test_head_tandem.py": "from srcpkg import where\n\n\ndef test_it():\n"
        "    assert where() == 'head'\n",
        "tests/test_base_tandem.py": "from srcpkg import where\n\n\ndef test_it():\n"
        "    assert where() == 'base'\n",
    }
    for path, text in tests.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    on_head = await pytest_runner.run_pytest(
        sandbox, repo, ["tests/test_head_tandem.py"], tag="h", timeout_s=60, measure=False
    )
    assert on_head.ok, on_head.output  # the head's test passes on the head ...
    pinning = await pin_on_base(sandbox, repo, base_sha, tests, timeout_s=120)
    # ... and fails on the base, where the base's code answers
    assert pinning.outcomes == {
        "tests/test_head_tandem.py": "fails",
        "tests/test_base_tandem.py": "passes",
    }, pinning.note
    await sandbox.close()


def test_a_hostile_base_tree_is_never_followed_or_written_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "pkg").mkdir()
    (repo / "pkg/mod.py").write_text("X = 1\n")
    (repo / "tests").symlink_to(outside)  # absolute, out of the repository
    (repo / "escape").symlink_to("../../../..")
    (repo / "self").symlink_to(".")
    (repo / "up").symlink_to("self/..")  # looks inside, resolves outside
    (repo / "alias").symlink_to("pkg/mod.py")  # inside: kept
    base_sha = commit(repo, {}, "hostile base")

    tree = materialize(repo, base_sha, deadline=float("inf"))
    root = tree.root
    assert root.parent == repo / workdir.WORK_DIR
    assert (root / "pkg/mod.py").read_text() == "X = 1\n"
    assert (root / "alias").is_symlink() and (root / "alias").read_text() == "X = 1\n"
    assert (root / "self").is_symlink()
    for escaping in ("tests", "escape", "up"):
        assert not (root / escaping).exists() and not (root / escaping).is_symlink()
    assert {s.split(" ")[0] for s in tree.skipped} == {"tests", "escape", "up"}

    refused = place(
        tree,
        {
            "tests/test_x.py": "def test_x(): pass\n",
            "../../escaped.py": "X = 1\n",
            "/tmp/absolute_tandem.py": "X = 1\n",
            "alias": "overwritten through a link\n",
            "self/test_ok.py": "def test_ok(): pass\n",
            "pkg/test_fine.py": "def test_fine(): pass\n",
        },
    )
    assert sorted(refused) == [
        "../../escaped.py",
        "/tmp/absolute_tandem.py",
        "alias",
        "self/test_ok.py",
    ]
    assert (root / "pkg/test_fine.py").is_file()
    # the escaping link was never made, so `tests` is a directory of the base tree's own
    assert not (root / "tests").is_symlink() and (root / "tests/test_x.py").is_file()
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "escaped.py").exists() and not (repo / "escaped.py").exists()
    assert (repo / "pkg/mod.py").read_text() == "X = 1\n"


# --- rendering ----------------------------------------------------------------------------------


def test_the_pinning_line_and_details() -> None:
    pinning = Pinning({"a.py": "fails", "b.py": "fails", "c.py": "passes", "d.py": "unknown"})
    pinning.note = "the run on it timed out after 30 s"
    assert pinning.line() == (
        "2 of 4 kept test files fail on the base commit (they pin the change); 1 pass on both; "
        "1 could not be run there (the run on it timed out after 30 s)."
    )
    details = pinning.details()
    assert (details["kept_tests"], details["fail_on_base"], details["pass_on_both"]) == (4, 2, 1)
    assert pinning.restricted({"c.py"}).line() == (
        "0 of 1 kept test files fail on the base commit (they pin the change); 1 pass on both."
    )
    assert Pinning().line() is None
    assert Pinning(note="not run: the wall-time budget was short").line() == (
        "Base commit: not run: the wall-time budget was short."
    )


def test_the_broken_tests_headline_lines_and_annotations() -> None:
    one = BrokenTests([BrokenTest("t/test_a.py::test_x", "t/test_a.py", 4, "assert 1 == 2")])
    assert one.headline() == "the change breaks 1 existing test"
    many = BrokenTests(
        [BrokenTest(f"t/test_a.py::test_{i}", "t/test_a.py", i + 1, "boom") for i in range(12)],
        preexisting=2,
        new=1,
        unchecked=3,
        note="not run: the wall-time budget was short",
    )
    assert many.headline() == "the change breaks 12 existing tests"
    lines = many.lines(fails_check=False)
    assert lines[0].startswith("**The change breaks 12 existing test(s)**")
    assert lines[0].endswith("`t/test_a.py::test_9` and 2 more.")
    assert lines[1:] == [
        "2 failing existing test(s) fail on the base commit too (pre-existing, not caused by "
        "the change).",
        "1 failing test(s) are new in the change.",
        "3 failing test(s) could not be checked on the base commit (not run: the wall-time "
        "budget was short).",
    ]
    assert BrokenTests(preexisting=1).headline() is None

    base = PartResult(part="generate_tests", status="ok", headline="1 test file(s) generated")
    production = SimpleNamespace(broken=many)
    tg = config().test_generation
    shown = with_broken_tests(base, production, tg)  # type: ignore[arg-type]
    assert shown.headline == "the change breaks 12 existing tests; 1 test file(s) generated"
    assert shown.status == "warning" and not shown.fails_check
    assert len(shown.annotations) == 12
    assert shown.annotations[0].title == "Broken by this change: t/test_a.py::test_0"
    gated_tg = config(fail_on=["broken_tests"]).test_generation
    gated = with_broken_tests(base, production, gated_tg)  # type: ignore[arg-type]
    assert gated.fails_check
    nothing = with_broken_tests(base, SimpleNamespace(broken=None), tg)  # type: ignore[arg-type]
    assert nothing == base


def test_fail_on_accepts_only_broken_tests() -> None:
    assert parse_config("test_generation:\n  fail_on: [broken_tests]\n").test_generation.fail_on
    assert RepoConfig().test_generation.fail_on == []
    with pytest.raises(InvalidConfig) as raised:
        parse_config("test_generation:\n  fail_on: [broken_test]\n")
    assert raised.value.errors[0].line == 2
    assert "test_generation.fail_on.0" in raised.value.errors[0].message


GRADE_BASE = 'def grade(n):\n    if n > 50:\n        return "pass"\n    return "fail"\n'
GRADE_HEAD = GRADE_BASE.replace("n > 50", "n >= 50")
GRADE_CANDIDATES = """\
from pkg.grade import grade


def test_a():
    assert grade(60) == "pass"


def test_b():
    assert grade(50) == "pass"
"""


@pytest.mark.slow
async def test_a_coverage_tie_goes_to_the_test_that_pins_the_change(tmp_path: Path) -> None:
    """Both candidates cover the changed line; only test_b fails on the base commit."""
    from jobs.languages.python.base_commit import tests_failing_on_base
    from jobs.languages.python.per_test import select_tests
    from jobs.testgen.per_test_selection import Options

    files = {"pkg/__init__.py": "", "tests/test_existing.py": "def test_nothing():\n    pass\n"}
    repo, base_sha = two_commits(
        tmp_path / "repo", {**files, "pkg/grade.py": GRADE_BASE}, {"pkg/grade.py": GRADE_HEAD}
    )
    sandbox = LocalSandbox()
    baseline = await pytest_runner.run_pytest(
        sandbox, repo, [], tag="b", timeout_s=60, measure=True
    )
    changed_exec = python_statements.changed_executable(
        repo, {"pkg/grade.py": {2}}, baseline.statements
    )
    seen: list[dict[str, str]] = []

    async def on_base(texts: dict[str, str]) -> set[tuple[str, str]] | None:
        seen.append(texts)
        return await tests_failing_on_base(sandbox, repo, base_sha, texts, timeout_s=60)

    results = {}
    for pinning in (False, True):
        path = f"tests/test_grade_{pinning}_tandem.py"
        (repo / path).write_text(GRADE_CANDIDATES)
        chosen = await select_tests(
            sandbox,
            repo,
            [path],
            baseline,
            changed_exec,
            Options(runs=2, timeout_s=60, on_base=on_base if pinning else None),
        )
        results[pinning] = chosen
    # Without the base commit the tie goes to the first name; with it, to the pinning test.
    assert [t.label.split("::")[1] for t in results[False].tests if t.kept] == ["test_a"]
    assert [t.label.split("::")[1] for t in results[True].tests if t.kept] == ["test_b"]
    assert results[True].pinning == {"tests/test_grade_True_tandem.py::test_b"}
    # Each candidate runs there in a file of its own, so one that does not import cannot make
    # the others look like pins.
    assert seen and sorted(seen[0]) == [
        "tests/test_grade_True_tandem_pin0.py",
        "tests/test_grade_True_tandem_pin1.py",
    ]
    assert "def test_a" in seen[0]["tests/test_grade_True_tandem_pin0.py"]
    # What the base run reports for a file that does not import there: all its tests fail.
    broken = {"tests/test_new_api.py": "from pkg.grade import gone\n\n\ndef test_x():\n    pass\n"}
    assert await tests_failing_on_base(sandbox, repo, base_sha, broken, timeout_s=60) == {
        ("tests/test_new_api.py", "test_x")
    }


def test_a_verdict_says_once_that_its_tests_fail_on_the_base_commit() -> None:
    per_test = "kept 2 of 3 test(s); 2 tests fail on the base commit (they pin the change)"
    assert verdict_note("fails", per_test) == ""
    assert verdict_note("fails", "covers 3 changed line(s)") == (
        "; fails on the base commit (pins the change)"
    )
    assert verdict_note("passes", "covers 3 changed line(s)") == "; passes on the base commit too"


def test_each_summary_line_is_a_paragraph_of_its_own_and_each_note_an_item() -> None:
    production = Production(engine="offline", engine_reason="offline engines")
    production.baseline = "Existing tests: 3 passed."
    production.notes = ["pkg/a.py: f is new", "pkg/b.py: g is new"]
    lines, _ = render(production, config().test_generation)
    text = "\n".join(lines)
    assert "Engine: offline engines.\n\nExisting tests: 3 passed.\n\n" in text
    assert "Notes:\n\n- pkg/a.py: f is new\n- pkg/b.py: g is new" in text


def test_the_base_tree_runs_with_the_config_file_pytest_itself_would_pick(tmp_path: Path) -> None:
    from jobs.languages.python.base_commit import pytest_config

    assert pytest_config(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\naddopts = -q\n")
    assert pytest_config(tmp_path) == tmp_path / "setup.cfg"
    # pytest 9's own file comes before every other one (the install reads the same list).
    (tmp_path / "pytest.toml").write_text("[pytest]\naddopts = ['-q']\n")
    assert pytest_config(tmp_path) == tmp_path / "pytest.toml"
    (tmp_path / "pytest.toml").unlink()
    # A config file that points out of the tree is not read: the next one counts.
    outside = tmp_path.parent / f"{tmp_path.name}-outside.ini"
    outside.write_text("[pytest]\naddopts = -x\n")
    (tmp_path / "pytest.ini").symlink_to(outside)
    assert pytest_config(tmp_path) == tmp_path / "setup.cfg"
    (tmp_path / "setup.cfg").unlink()
    assert pytest_config(tmp_path) == tmp_path / "pyproject.toml"
