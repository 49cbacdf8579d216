"""The differential engine on the mutants that survived the existing tests (issue #19): each is
another version of the changed code, as the base is, and a call on which the head and a mutant
differ gives a test that kills it. Pure parts on plain data; the engine and a whole run on small
real repositories, in the local sandbox, with real pytest."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from core.repo_config import RepoConfig
from jobs.sandbox import LocalSandbox
from jobs.testgen import produce_tests
from jobs.testgen.engines import ENGINES, Portfolio, differential, python_modules, register
from jobs.testgen.engines.differential_cases import Difference
from jobs.testgen.engines.differential_mutants import Killing, chosen, notes
from jobs.testgen.engines.engine_protocol import Workspace
from jobs.testgen.engines.seeds import Seed, SeedPlan
from jobs.testgen.proof.measure import make_mutants
from jobs.testgen.proof.mutants import Mutant
from tests.test_engine_registry import NO_LLM, isolated_registry  # noqa: F401 (a fixture)
from tests.test_pinning import two_commits

BASE = "def fee(amount, rate=2):\n    return amount * rate\n"
# A discount above 100: on 100 itself, base and head agree, so no test that pins the change
# asks for it; the mutant `amount >= 100` differs from the head there only.
HEAD = (
    "def fee(amount, rate=2):\n"
    "    if amount > 100:\n"
    "        return amount * rate - 5\n"
    "    return amount * rate\n"
)
CHANGED = {"pkg/money.py": {2, 3}}
# Runs every changed line and checks nothing: every mutant of them survives.
RUNS_ONLY = "from pkg.money import fee\n\n\ndef test_fee_runs():\n    fee(150)\n    fee(3)\n"


def _mutant(n: int, description: str) -> Mutant:
    return Mutant(
        f"pkg/money.py:2:{n}", "pkg/money.py", 2, (2, 2), "fee", "comparison", description,
        1, 4, "", (("fee", 1),),
    )  # fmt: skip


def _difference(call: str, head: object, mutant: object) -> Difference:
    seed = Seed("pkg/money.py", "fee", call, "literal")
    return Difference(
        seed, {"kind": "value", "expected": repr(head)}, {"kind": "value", "expected": repr(mutant)}
    )


def test_few_calls_tell_every_mutant_apart_the_one_telling_most_first() -> None:
    at_100 = _difference("fee(100)", 200, 195)
    at_101 = _difference("fee(101)", 197, 202)
    found = {
        "a": [at_100],
        "b": [_difference("fee(1000, 3)", 2995, 3005), at_101],
        "c": [at_101],
        "d": [_difference("fee(100, 1)", 100, 95), at_100],
    }
    assert [d.seed.call_source for d in chosen(found)] == ["fee(100)", "fee(101)"]
    assert chosen({}) == []


def test_the_note_says_what_was_looked_for_found_and_cut() -> None:
    mutants = [_mutant(1, "`amount > 100` becomes `amount >= 100`"), _mutant(2, "`100` → `99`")]
    killing = Killing(looked=2, calls=7, unreached=0, cut=1)
    killing.found[mutants[0].id] = [_difference("fee(amount=100)", 200, 195)]
    assert notes(killing, mutants) == (
        "Surviving mutants: looked for calls that tell 2 of them apart from the head (7 call(s) "
        "run); found 1: `amount > 100` becomes `amount >= 100` in `fee` (`fee(amount=100)`: "
        "mutant returns 195, head returns 200) (1 not searched: the wall-time budget ran out)."
    )


async def test_the_engine_writes_a_test_that_tells_the_head_from_each_survivor(
    tmp_path: Path,
) -> None:
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/money.py": BASE, "tests/test_money.py": RUNS_ONLY},
        {"pkg/money.py": HEAD},
    )
    mutants, _, _ = make_mutants(repo, CHANGED)
    workspace = Workspace(
        LocalSandbox(), repo, "tests", time.monotonic() + 120, lambda _: None,
        python_modules.test_sources(repo), SeedPlan(), base_sha, CHANGED, tuple(mutants),
    )  # fmt: skip
    outcome = await differential.compare(workspace)

    assert "tests/test_pkg_money_mutants_tandem.py" in outcome.written, outcome.notes
    text = (repo / "tests/test_pkg_money_mutants_tandem.py").read_text()
    # The comparison with the base found no reason to call fee(100); the mutants did.
    pins = (repo / "tests/test_pkg_money_differential_tandem.py").read_text()
    assert "fee(amount=100)" not in pins
    assert "def test_fee_amount_100_is_200() -> None:\n    assert fee(amount=100) == 200" in text
    [said] = [n for n in outcome.notes if n.startswith("Surviving mutants:")]
    assert f"tell {len(mutants)} of them apart" in said
    assert f"found {len(mutants)}:" in said, said
    assert (
        "`amount > 100` becomes `amount >= 100` in `fee` (`fee(amount=100)`: mutant returns "
        in (said)
    )


@pytest.mark.usefixtures("isolated_registry")
async def test_a_run_keeps_the_test_that_kills_a_mutant_nothing_else_kills(tmp_path: Path) -> None:
    """Every changed line runs already; the mutants run against the existing tests before the
    engines, and their survivors reach the differential engine; the mutant run after it
    decides what is kept, by the rules every candidate meets."""
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/money.py": BASE, "tests/test_money.py": RUNS_ONLY},
        {"pkg/money.py": HEAD},
    )
    register(ENGINES["differential"], Portfolio("offline", ("differential",), label="offline"))
    config = RepoConfig.model_validate({"test_generation": {"engine": "offline", "flaky_runs": 2}})
    production = await produce_tests(
        LocalSandbox(), repo, CHANGED, config, NO_LLM, base_sha=base_sha
    )

    existing = production.existing_score
    assert existing is not None and existing.alive == existing.total > 0
    score = production.mutants
    assert score is not None and score.killed_existing == 0
    assert score.killed_with_kept == score.total, [
        (o.mutant.description, o.status) for o in score.outcomes
    ]
    kept = "\n".join(production.kept.values())
    # `amount >= 100` dies only on 100, which only the search on the survivors asked for.
    assert "fee(amount=100) == 200" in kept, kept
    assert any(n.startswith("Surviving mutants: looked for") for n in production.notes)


async def test_crosshair_finds_the_call_no_known_input_makes(tmp_path: Path) -> None:
    """`n * 2 > 30` becoming `n * 2 >= 30` differs only on 15, which no seed, captured call or
    neighbour of them is: ``crosshair diffbehavior`` of the head against the mutant finds it."""
    base = "def size(n: int) -> str:\n    return 'small'\n"
    head = (
        "def size(n: int) -> str:\n    if n * 2 > 30:\n        return 'big'\n    return 'small'\n"
    )
    tests = "from pkg.sizes import size\n\n\ndef test_size_runs():\n    size(40)\n    size(3)\n"
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/sizes.py": base, "tests/test_sizes.py": tests},
        {"pkg/sizes.py": head},
    )
    changed = {"pkg/sizes.py": {2, 3}}
    mutants, _, _ = make_mutants(repo, changed)
    [boundary] = [m for m in mutants if m.description == "`n * 2 > 30` becomes `n * 2 >= 30`"]
    workspace = Workspace(
        LocalSandbox(), repo, "tests", time.monotonic() + 120, lambda _: None,
        python_modules.test_sources(repo), SeedPlan(), base_sha, changed, (boundary,),
    )  # fmt: skip
    outcome = await differential.compare(workspace)

    text = (repo / "tests/test_pkg_sizes_mutants_tandem.py").read_text()
    assert "assert size(n=15) == 'small'" in text, outcome.notes
    [said] = [n for n in outcome.notes if n.startswith("Surviving mutants:")]
    assert said.endswith("(CrossHair searched 1 that no call told apart and found 1)."), said


async def test_a_comparison_of_two_names_is_told_apart_on_equal_arguments(tmp_path: Path) -> None:
    """`size > room` becoming `size >= room` differs only where the two are equal, which no
    call of the tests is, nor a neighbour moved by one; CrossHair cannot search a function
    without annotations. The calls aimed at the mutated comparison set one argument to the
    other's value."""
    base = "def fits(size, room):\n    return True\n"
    head = "def fits(size, room):\n    if size > room:\n        return False\n    return True\n"
    tests = (
        "from pkg.boxes import fits\n\n\ndef test_fits_runs():\n    fits(5, 3)\n    fits(1, 3)\n"
    )
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/boxes.py": base, "tests/test_boxes.py": tests},
        {"pkg/boxes.py": head},
    )
    changed = {"pkg/boxes.py": {2, 3}}
    mutants, _, _ = make_mutants(repo, changed)
    [boundary] = [m for m in mutants if m.description == "`size > room` becomes `size >= room`"]
    workspace = Workspace(
        LocalSandbox(), repo, "tests", time.monotonic() + 120, lambda _: None,
        python_modules.test_sources(repo), SeedPlan(), base_sha, changed, (boundary,),
    )  # fmt: skip
    outcome = await differential.compare(workspace)

    text = (repo / "tests/test_pkg_boxes_mutants_tandem.py").read_text()
    assert re.search(r"assert fits\((size=)?(\d+), (room=)?\2\) is True", text), text
    [said] = [n for n in outcome.notes if n.startswith("Surviving mutants:")]
    assert "(1 by calls aimed at the mutated expression" in said, said
