"""Pynguin's first generation seeded from the project's own tests (real Pynguin, local sandbox)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobs.languages.python import pytest_runner
from jobs.sandbox import LocalSandbox, workdir
from jobs.testgen.engines import EngineOutcome, pynguin
from jobs.testgen.engines.pynguin_seeds import calling_tests, seed_file_name, seed_module
from jobs.testgen.engines.python_modules import test_sources as read_test_files
from tests.test_testgen import make_repo

# Line 5 needs a record whose six digits sum to 13 modulo 97: Pynguin's random search does not
# build that dict within its small iteration budget; the existing test holds one, and from it
# Pynguin only has to flip `strict`.
LEDGER = """def check(record, strict=False):
    digits = record["digits"]
    if len(digits) == 6 and sum(digits) % 97 == 13:
        if strict:
            return "strict"
        return "valid"
    return "invalid"
"""
STRICT_LINE = 5
LEDGER_TESTS = """from __future__ import annotations

import pytest

from pkg.ledger import check


@pytest.fixture
def empty():
    return {"digits": []}


def test_valid():
    record = {"id": "a", "digits": [1, 2, 3, 4, 1, 2]}
    assert check(record) == "valid"


def test_invalid(empty):
    assert check(empty) == "invalid"
"""
OTHER_TESTS = (
    "from pkg import ledger\n\n\ndef test_short():\n    assert ledger.check({'digits': [0]})\n"
)


def test_only_the_files_calling_the_module_make_one_seed_module() -> None:
    tests = {
        "tests/test_ledger.py": LEDGER_TESTS,
        "tests/test_more.py": OTHER_TESTS,
        "tests/test_unrelated.py": "from pkg.other import f\n\n\ndef test_f():\n    f(1)\n",
        "tests/test_broken.py": "from pkg.ledger import check\n\ndef test_(:\n",
    }
    assert calling_tests(tests, "pkg.ledger") == ["tests/test_ledger.py", "tests/test_more.py"]
    assert calling_tests(tests, "pkg.nothing") == []
    assert seed_file_name("pkg.ledger") == "test_ledger.py"
    merged = seed_module(tests, calling_tests(tests, "pkg.ledger"))
    assert merged is not None and "__future__" not in merged
    assert merged.index("def test_valid") < merged.index("def test_short")
    assert "from pkg import ledger" in merged and "from pkg.ledger import check" in merged
    # A file that does not parse adds nothing (and does not stop the others).
    with_broken = seed_module(tests, ["tests/test_broken.py", "tests/test_ledger.py"])
    assert with_broken is not None
    assert "def test_valid" in with_broken and "def test_(" not in with_broken


def test_the_seed_module_holds_only_what_pynguin_reads() -> None:
    """Pynguin reads the top-level test functions; it analyses every module the file imports
    (pypika's: no search for 120 s), and its `TestCase` classes give it nothing."""
    classes = (
        "import unittest\nfrom pkg.ledger import check\n\n\n"
        "class LedgerTests(unittest.TestCase):\n    def test_a(self):\n"
        "        self.assertEqual(check({'digits': []}), 'invalid')\n"
    )
    tests = {"tests/test_classes.py": classes, "tests/test_ledger.py": LEDGER_TESTS}
    assert calling_tests(tests, "pkg.ledger") == ["tests/test_ledger.py"]
    assert seed_module(tests, ["tests/test_classes.py"]) is None
    merged = seed_module(tests, ["tests/test_classes.py", "tests/test_ledger.py"])
    assert merged is not None
    assert "unittest" not in merged and "class " not in merged
    assert "import pytest" not in merged and "def empty" not in merged  # a fixture's only
    assert "from pkg.ledger import check" in merged and "def test_invalid" in merged


async def _generate(checkout: Path, tests: dict[str, str]) -> EngineOutcome:
    return await pynguin.generate(
        LocalSandbox(),
        checkout,
        ["pkg/ledger.py"],
        "tests",
        deadline=time.monotonic() + 80,
        tests=tests,
    )


async def _covered(checkout: Path, written: list[str]) -> set[int]:
    if not written:
        return set()
    run = await pytest_runner.run_pytest(
        LocalSandbox(), checkout, written, tag="s", timeout_s=60, measure=True
    )
    return run.executed.get("pkg/ledger.py", set())


@pytest.mark.slow
async def test_the_projects_tests_seed_pynguin_to_a_branch_it_does_not_reach_alone(
    tmp_path: Path,
) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/ledger.py": LEDGER,
        "tests/test_ledger.py": LEDGER_TESTS,
    }
    seeded = make_repo(tmp_path / "seeded", files)
    outcome = await _generate(seeded, read_test_files(seeded))
    assert outcome.seeded == {"pkg/ledger.py": ["tests/test_ledger.py"]}, outcome.notes
    seed = seeded / workdir.WORK_DIR / "pynguin/0-seeds/test_ledger.py"
    assert seed.read_text() == seed_module({"t": LEDGER_TESTS}, ["t"])
    assert outcome.written == ["tests/test_pkg_ledger_tandem.py"], outcome.notes
    assert STRICT_LINE in await _covered(seeded, outcome.written)

    # The same repository without seeds: Pynguin's own search misses the branch.
    alone = make_repo(tmp_path / "alone", files)
    unseeded = await _generate(alone, {})
    assert unseeded.seeded == {}
    assert not (alone / workdir.WORK_DIR / "pynguin/0-seeds").exists()
    assert STRICT_LINE not in await _covered(alone, unseeded.written)


def test_a_run_that_timed_out_says_where_it_was() -> None:
    output = "[10:01:02] INFO  Start generating\n\n[10:01:40] INFO  Minimizing   test cases\n"
    assert pynguin.last_said(output) == "last: [10:01:40] INFO Minimizing test cases"
    assert pynguin.last_said("  \n") == "no output"
