"""The suites bench's pure parts: recipe validation and the comparison (bench/suites)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.suites.__main__ import row, table
from bench.suites.compare import (
    COUNTS_DIFFER,
    COVERAGE_DIFFERS,
    DID_NOT_RUN,
    ELSEWHERE,
    INSTALL_FAILED,
    MATCH,
    REFERENCE_BROKEN,
    TIMED_OUT,
    Side,
    classify,
    close,
    reference_class,
    sample_files,
    success_rate,
    unittest_counts,
    unmeasured,
    worth_rerun,
)
from bench.suites.recipes import RecipeError, load_recipes, parse_recipe, parse_recipes
from jobs.dependencies.plan_model import MemoryFiles

GOOD = {
    "name": "six",
    "repo": "benjaminp/six",
    "commit": "c8e394065cd541a16c040515dc0afb85cf22a7c3",
    "split": "dev",
    "install": ["pip install -e . pytest"],
    "test": "python -m pytest tests -rfsxX",
    "paths": ["tests"],
    "source": "tox.ini [testenv]",
}


def test_a_good_recipe_parses() -> None:
    recipe = parse_recipe(dict(GOOD))
    assert recipe.paths == ("tests",)
    assert recipe.pytest_args() == ["tests", "-rfsxX"]
    assert str(recipe.mirror(Path("/m"))) == "/m/benjaminp+six/repo"
    assert recipe.runner == "pytest"
    own = parse_recipe({**GOOD, "test": "python -m unittest discover tests"})
    assert own.runner == "unittest" and own.pytest_args() == ["discover", "tests"]


def test_a_unittest_reference_is_counted_from_unittests_own_summary() -> None:
    failed = (
        "..F.sE\n======\nFAIL: test_b (test_x.T.test_b)\n------\nAssertionError\n"
        "======\nERROR: test_c (test_x.T.test_c)\n------\n"
        "Ran 6 tests in 0.01s\n\nFAILED (failures=1, errors=1, skipped=1)\n"
    )
    assert unittest_counts(failed) == (3, 2, "FAIL: test_b (test_x.T.test_b)")
    ok = "....\n------\nRan 4 tests in 0.0s\n\nOK (skipped=1, expected failures=1)\n"
    assert unittest_counts(ok) == (2, 0, "")
    assert unittest_counts("Traceback ...\nImportError: x\n") == (0, 0, "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"commit": "c8e3940"}, "not a full 40-hex sha"),
        ({"repo": "six"}, "is not owner/name"),
        ({"split": "test"}, "split 'test' is not one of"),
        ({"install": []}, "install is empty"),
        ({"install": ["poetry install"]}, "is not `pip install ...`"),
        ({"test": "tox -e py312"}, "is not `python -m pytest ...` or `python -m unittest"),
        ({"test": "python -m pytest --junitxml=x.xml"}, "sets --junitxml"),
        ({"paths": ["testing"]}, "path 'testing' is not in the test command"),
        ({"source": " "}, "say where the recipe was read"),
        ({"tox": "py312"}, "unknown keys ['tox']"),
        ({"name": "Six Project"}, "no valid name"),
    ],
)
def test_bad_recipes_are_refused_with_a_clear_message(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(RecipeError, match=re.escape(message)):
        parse_recipe({**GOOD, **change})


def test_a_missing_key_and_a_duplicate_name_are_refused() -> None:
    without = {k: v for k, v in GOOD.items() if k != "commit"}
    with pytest.raises(RecipeError, match=r"six: missing \['commit'\]"):
        parse_recipe(without)
    table = "[[project]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in GOOD.items())
    with pytest.raises(RecipeError, match="six: two projects with that name"):
        parse_recipes(table + "\n" + table)
    with pytest.raises(RecipeError, match="no \\[\\[project\\]\\] tables"):
        parse_recipes("")


def test_the_stored_recipes_are_valid_and_a_good_part_held_out() -> None:
    recipes = load_recipes()
    assert len(recipes) >= 30
    held = sum(r.split == "heldout" for r in recipes)
    # New projects join held out, measured untuned (28 dev, 30 held-out after session 12)
    assert len(recipes) / 4 <= held <= len(recipes) * 0.6


def ran(passed: int, failed: int = 0, **kw: object) -> Side:
    return Side(returncode=1 if failed else 0, passed=passed, failed=failed, **kw)  # type: ignore[arg-type]


def test_counts_within_one_percent_match() -> None:
    assert close(1000, 990) and not close(1000, 989)
    assert close(0, 0) and not close(3, 2)  # small counts must be equal
    verdict = classify("p", "dev", ran(1000, 2), ran(995, 2))
    assert verdict.cls == MATCH and verdict.ok


def test_mismatches_are_classified_with_their_decisive_line() -> None:
    ref = ran(100, 1)
    cases = [
        (Side(installed=False, install_note="pip: no matching distribution"), INSTALL_FAILED),
        (Side(timed_out=True, returncode=-9, decisive="killed"), TIMED_OUT),
        (Side(returncode=4, decisive="ERROR: unrecognized arguments: -n"), DID_NOT_RUN),
        (ran(60, 1, decisive="tests/test_a.py::t: ImportError"), COUNTS_DIFFER),
        (ran(60, 1, elsewhere=["pkg -> /usr/lib/pkg/__init__.py"]), ELSEWHERE),
    ]
    for tandem, cls in cases:
        verdict = classify("p", "dev", ref, tandem)
        assert verdict.cls == cls and not verdict.ok
        assert verdict.line
    # The tests run after a failed install too: the same counts are a match.
    unlisted = ran(100, 1, installed=False, install_note="pip: blist failed to build")
    assert classify("p", "dev", ref, unlisted).cls == MATCH
    assert "unrecognized arguments" in classify("p", "dev", ref, cases[2][0]).line
    assert "passed 60 vs 100" in classify("p", "dev", ref, cases[3][0]).line


def test_coverage_of_the_sample_must_agree() -> None:
    ref = ran(10, coverage={"pkg/a.py": 80.0, "pkg/b.py": 50.0})
    same = ran(10, coverage={"pkg/a.py": 79.0, "pkg/b.py": 50.0})
    apart = ran(10, coverage={"pkg/a.py": 40.0, "pkg/b.py": 50.0})
    assert classify("p", "dev", ref, same).cls == MATCH
    verdict = classify("p", "dev", ref, apart)
    assert verdict.cls == COVERAGE_DIFFERS and "pkg/a.py: 40% vs 80%" in verdict.line


def test_a_broken_reference_is_no_success_and_has_its_own_row_with_its_class() -> None:
    broken = classify("r", "dev", Side(returncode=2, decisive="ImportError"), ran(5))
    assert broken.cls == REFERENCE_BROKEN and not broken.ok
    assert broken.line == "pytest exit 2: ImportError; Tandem ran: 5 passed, 0 failed"
    # a build that downloads (jaraco's coherent.licensed): its own class, and Tandem's ⚠️ line
    offline = Side(
        installed=False,
        install_note="pip install -e .[test]: urllib.error.URLError: <urlopen error [Errno -3] "
        "Temporary failure in name resolution>",
    )
    tandem = Side(installed=False, install_note="Dependencies: installing from x failed: URLError")
    network = classify("n", "heldout", offline, tandem)
    assert network.cls == REFERENCE_BROKEN
    assert network.line.startswith("needs the network beyond the package index: pip install")
    assert network.line.endswith("; Tandem ⚠️ Dependencies: installing from x failed: URLError")
    assert reference_class(Side(timed_out=True)) == TIMED_OUT
    assert reference_class(Side(installed=False, install_note="no matching")) == INSTALL_FAILED
    # a reference that timed out: Tandem's side is not run, and nothing is said of it
    assert classify("t", "dev", Side(timed_out=True), Side()).line == (
        "timed out: after the bench's --timeout"
    )
    verdicts = [
        broken,
        classify("a", "dev", ran(5), ran(5)),
        classify("b", "dev", ran(5), ran(1)),
        classify("c", "heldout", ran(5), ran(5)),
        network,
    ]
    assert str(success_rate(verdicts, "dev")) == "1/3 (33%), 1 unmeasured"
    assert str(success_rate(verdicts, "heldout")) == "1/2 (50%), 1 unmeasured"
    assert unmeasured(verdicts, "heldout") == (
        "heldout: reference did not run here (not a success): "
        "n (needs the network beyond the package index)"
    )
    assert unmeasured(verdicts[1:4], "dev") == ""
    assert table(verdicts).splitlines()[-2:] == [
        "dev: reference did not run here (not a success): r (pytest exit 2)",
        unmeasured(verdicts, "heldout"),
    ]


def test_the_coverage_sample_is_the_largest_source_files() -> None:
    statements = {
        "src/pkg/big.py": 500,
        "src/pkg/mid.py": 200,
        "src/pkg/small.py": 10,
        "tests/test_big.py": 900,
        "pkg/check_test.py": 900,
        "conftest.py": 50,
        "setup.py": 700,
        "docs/conf.py": 700,
        "src/pkg/data.txt": 999,
        "src/pkg/tie.py": 200,
    }
    assert sample_files(statements) == ["src/pkg/big.py", "src/pkg/mid.py", "src/pkg/tie.py"]
    assert sample_files({"suite/t.py": 9, "pkg/x.py": 1}, ("suite",)) == ["pkg/x.py"]


def test_a_count_mismatch_of_two_runs_is_worth_a_second_pair_and_the_row_says_so() -> None:
    """The flaky-test policy: both sides run again only where both ran and counts differ."""
    ref = ran(507, 0)
    assert worth_rerun(ref, ran(506, 1))  # one timing test failed under load
    assert worth_rerun(ran(506, 1), ref)  # on either side alike
    assert not worth_rerun(ref, ran(505, 0))  # within 1%
    assert not worth_rerun(ref, Side(returncode=2, decisive="collection error"))
    assert not worth_rerun(Side(timed_out=True), ref)
    second = classify("sqlparse", "heldout", ref, ran(507, 0))
    second.first_run = "507/0 vs 506/1"
    assert second.ok
    assert "(re-run: the first pair counted 507/0 vs 506/1)" in row(second)
    assert "re-run" not in row(classify("p", "dev", ref, ran(507, 0)))


def test_a_reference_whose_build_fails_installs_what_the_project_declares_as_tandem_does() -> None:
    """zipp's and inflect's build (coherent.licensed) downloads beyond the index: the reference
    then installs what the project and its extra declare, without it, as Tandem's fallback."""
    from bench.suites.run import tree_step

    pyproject = (
        '[project]\nname = "zipp"\ndependencies = ["a"]\n'
        '[project.optional-dependencies]\ntest = ["pytest >= 6", "zipp[extra]"]\nextra = ["b"]\n'
    )
    files = MemoryFiles({"pyproject.toml": pyproject})
    step = ["pip", "install", "-e", ".[test]", "pytidylib"]
    assert tree_step(step, files) == ["pip", "install", "pytidylib", "a", "pytest>=6", "b"]
    assert tree_step(["pip", "install", "."], files) == ["pip", "install", "a"]
    assert tree_step(["pip", "install", "-r", "req.txt"], files) is None
    dynamic = MemoryFiles({"pyproject.toml": '[project]\nname = "x"\ndynamic = ["dependencies"]\n'})
    assert tree_step(step, dynamic) is None


def test_the_unittest_reference_counts_test_by_test_not_unittests_summary(tmp_path: Path) -> None:
    """pathspec's summary says 197 run and skipped=276 (each skipped subtest counts); colorama's
    counts a class skipped at set-up: the bench's counter counts tests as pytest's JUnit does."""
    import subprocess
    import sys

    from bench.suites.run import COUNT_UNITTEST

    (tmp_path / "test_s.py").write_text(
        "import unittest\n\n\n"
        "class T(unittest.TestCase):\n"
        "    def test_subs(self):\n"
        "        for i in range(3):\n"
        "            with self.subTest(i=i):\n"
        "                self.skipTest('no')\n\n"
        "    def test_ok(self):\n        pass\n\n"
        "    def test_bad(self):\n        self.assertEqual(1, 2)\n\n\n"
        "@unittest.skip('class')\nclass Skipped(unittest.TestCase):\n"
        "    def test_a(self):\n        pass\n\n\n"
        "class SetUpSkips(unittest.TestCase):\n"
        "    @classmethod\n    def setUpClass(cls):\n        raise unittest.SkipTest('x')\n\n"
        "    def test_b(self):\n        pass\n"
    )
    done = subprocess.run(
        [sys.executable, str(COUNT_UNITTEST), "discover", "-p", "test_*.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    passed, failed, first = unittest_counts(done.stdout + done.stderr)
    assert (passed, failed) == (1, 1), done.stderr[-2000:]
    assert first.startswith("test_s.T.test_bad: 1 != 2")


# pip's output for inflect's editable install here (its build backend downloads the licence
# text), cut to the lines that matter, and for python-dotenv's on a full disk.
BUILD_FAILED = """\
  × Getting requirements to build editable did not run successfully.
  │ exit code: 1
      urllib.error.URLError: <urlopen error [Errno -2] Name or service not known>
      [end of output]
  note: This error originates from a subprocess, and is likely not a problem with pip.
ERROR: Failed to build 'file:///tmp/inflect' when getting requirements to build editable
"""
DISK_FULL = """\
Installing collected packages: ipython
ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device
"""


def test_the_source_tree_fallback_is_only_for_a_build_that_failed() -> None:
    """python-dotenv's reference met a full disk and took the source-tree fallback, meant for a
    project that does not build here: any other failed install stays a failed install."""
    from bench.suites.run import build_failed, fallback_step

    files = MemoryFiles({"pyproject.toml": '[project]\nname = "p"\ndependencies = ["a"]\n'})
    step = ["pip", "install", "-e", ".", "pytest"]
    assert build_failed(BUILD_FAILED)
    assert fallback_step(step, BUILD_FAILED, files) == ["pip", "install", "pytest", "a"]
    resolution = "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/…\n"
    for other in (DISK_FULL, resolution, "ERROR: No matching distribution found for zz\n"):
        assert not build_failed(other)
        assert fallback_step(step, other, files) is None
    # The frame alone, as an older pip prints a failed metadata step
    assert build_failed(
        "  × Preparing editable metadata (pyproject.toml) did not run successfully."
    )


async def test_the_reference_measures_with_the_coverage_core_tandems_launchers_use(
    tmp_path: Path,
) -> None:
    """Tandem's launchers set COVERAGE_CORE=sysmon (run_pytest.py --sysmon); the reference ran
    under the default tracer, several times slower on a loop-heavy suite (more-itertools' timed
    out) and failing mistune's timing tests on its side only. The project's test asks which
    tool holds sys.monitoring's coverage slot."""
    import sys

    from bench.suites.compare import Side
    from bench.suites.run import Reference, reference_tests
    from jobs.sandbox.local_sandbox import LocalSandbox

    if not hasattr(sys, "monitoring"):
        pytest.skip("sys.monitoring is Python 3.12's")
    tree, work = tmp_path / "tree", tmp_path / "work"
    tree.mkdir()
    work.mkdir()
    (tree / "mod.py").write_text("def f():\n    return 1\n")
    (tree / "test_core.py").write_text(
        "import sys\n\nimport mod\n\n\n"
        "def test_measured_by_sysmon():\n"
        "    assert mod.f() == 1\n"
        "    assert sys.monitoring.get_tool(sys.monitoring.COVERAGE_ID) == 'coverage.py'\n"
    )
    recipe = parse_recipe({**GOOD, "test": "python -m pytest test_core.py", "paths": []})
    sandbox = LocalSandbox()
    sandbox.use_python(sys.executable)
    side = Side()
    await reference_tests(recipe, Reference(sandbox, sys.executable, tree, work), side, 300)
    assert (side.passed, side.failed) == (1, 0), side.decisive
    assert side.coverage.get("mod.py") == 100.0


def test_a_second_pair_starts_without_the_first_runs_hypothesis_database(tmp_path: Path) -> None:
    """w3lib: the reference's first run found a failing example by chance and stored it in
    .hypothesis; its second run replayed it, so the re-run was no second try."""
    from bench.suites.run import forget_first_run

    examples = tmp_path / ".hypothesis" / "examples" / "abc"
    examples.mkdir(parents=True)
    (examples / "1").write_bytes(b"%2F")
    (tmp_path / "tests").mkdir()
    forget_first_run(tmp_path)
    assert not (tmp_path / ".hypothesis").exists()
    assert (tmp_path / "tests").is_dir()
