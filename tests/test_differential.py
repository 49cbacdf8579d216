"""Differential tests: inputs on which the base and the head of a changed function behave
differently become tests asserting the head's behaviour, and the selection keeps a test that
fails on the base commit even when it covers no new changed line. A tiny real project with a
real git history, real CrossHair and pytest in the local sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.languages.python import base_commit, pytest_runner, python_statements
from jobs.languages.python.per_test import select_tests
from jobs.sandbox import LocalSandbox
from jobs.testgen import line_sets, produce_tests
from jobs.testgen.base_tree import base_tree
from jobs.testgen.engines import characterize, differential
from jobs.testgen.engines.callables import describe_callables
from jobs.testgen.engines.differential_cases import differs
from jobs.testgen.engines.differential_search import SearchJob, calls_from_report
from jobs.testgen.engines.differential_targets import DiffTarget, plan
from jobs.testgen.engines.engine_protocol import EngineOutcome
from jobs.testgen.engines.seeds import Seed
from jobs.testgen.per_test_selection import Options
from jobs.testgen.tests_report import render, unkept_result
from tests.differential_support import assert_pins, differential_on_change, run_differential
from tests.test_pinning import two_commits

SETTINGS = Settings(llm_model=None, sandbox="local")  # type: ignore[call-arg]

BASE = '''from . import words


def classify(n):
    """How big n is.

    >>> classify(3)
    'small'
    """
    if n > 10:
        return words.BIG
    return words.SMALL


def double(n):
    return n * 2
'''
WORDS = 'BIG = "big"\nSMALL = "small"\n'
# The existing test runs every line of classify: coverage alone has nothing left to do.
EXISTING = """from pkg.sizes import classify


def test_classify():
    assert classify(3) == "small"
    assert classify(30) == "big"
"""


def project(root: Path, head: str) -> tuple[Path, str]:
    return two_commits(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/words.py": WORDS,
            "pkg/sizes.py": BASE,
            "tests/test_sizes.py": EXISTING,
        },
        {"pkg/sizes.py": head},
    )


def changed_lines(base: str, head: str) -> set[int]:
    """The head's lines that differ from the base's at the same place (enough for these edits,
    which keep the line count)."""
    pairs = zip(base.splitlines(), head.splitlines(), strict=False)
    return {i for i, (b, h) in enumerate(pairs, 1) if b != h}


async def test_a_comparison_change_gives_a_test_that_fails_on_the_base(tmp_path: Path) -> None:
    head = BASE.replace("n > 10", "n >= 10")
    repo, base_sha = project(tmp_path / "repo", head)
    outcome = await run_differential(repo, base_sha, {"pkg/sizes.py": changed_lines(BASE, head)})
    assert outcome.written == ["tests/test_pkg_sizes_differential_tandem.py"], outcome.notes
    text = (repo / outcome.written[0]).read_text()
    # CrossHair finds n=10, where the two versions part; named after what changed.
    assert "def test_classify_n_10_is_big_now() -> None:\n    assert classify(n=10) == 'big'" in (
        text
    )
    assert "classify(3)" not in text  # the docstring's example behaves the same on both
    assert any("base returns 'small', head returns 'big'" in n for n in outcome.notes)
    await assert_pins(repo, base_sha, outcome.written)


async def test_a_change_with_no_behaviour_difference_gives_no_test(tmp_path: Path) -> None:
    head = BASE.replace(
        "    if n > 10:\n        return words.BIG\n    return words.SMALL\n",
        "    return words.BIG if 10 < n else words.SMALL\n\n\n",
    )
    repo, base_sha = project(tmp_path / "repo", head)
    outcome = await run_differential(repo, base_sha, {"pkg/sizes.py": changed_lines(BASE, head)})
    assert outcome.written == []
    assert any("behave the same on the" in n for n in outcome.notes), outcome.notes


async def test_the_selection_keeps_a_pinning_test_that_covers_no_new_line(tmp_path: Path) -> None:
    head = BASE.replace("n > 10", "n >= 10")
    repo, base_sha = project(tmp_path / "repo", head)
    sandbox = LocalSandbox()
    baseline = await pytest_runner.run_pytest(
        sandbox, repo, ["tests/test_sizes.py"], tag="baseline", timeout_s=60, measure=True
    )
    changed_exec = python_statements.changed_executable(
        repo, {"pkg/sizes.py": changed_lines(BASE, head)}, baseline.statements
    )
    assert line_sets.count(line_sets.restrict(baseline.executed, changed_exec)) == line_sets.count(
        changed_exec
    )
    candidates = "tests/test_sizes_candidates_tandem.py"
    (repo / candidates).write_text(
        "from pkg.sizes import classify, double\n\n\n"
        "def test_classify_ten_is_big_now():\n    assert classify(10) == 'big'\n\n\n"
        "def test_classify_eleven():\n    assert classify(11) == 'big'\n\n\n"
        "def test_double():\n    assert double(2) == 4\n"
    )

    async def on_base(files: dict[str, str]) -> set[tuple[str, str]] | None:
        return await base_commit.tests_failing_on_base(sandbox, repo, base_sha, files, timeout_s=60)

    chosen = await select_tests(
        sandbox,
        repo,
        [candidates],
        baseline,
        changed_exec,
        Options(runs=2, timeout_s=60, on_base=on_base),
    )
    kept = {t.label.split("::")[1]: t.reason for t in chosen.tests if t.kept}
    assert list(kept) == ["test_classify_ten_is_big_now"]
    assert (
        "fails on the base commit: pins the change to `classify`"
        in kept["test_classify_ten_is_big_now"]
    )
    dropped = dict(chosen.dropped)
    assert "covers no changed line" in dropped[f"{candidates}::test_classify_eleven"]


async def test_produce_tests_pins_a_change_whose_lines_all_run_already(tmp_path: Path) -> None:
    head = BASE.replace("n > 10", "n >= 10")
    repo, base_sha = project(tmp_path / "repo", head)
    config = RepoConfig.model_validate({"test_generation": {"engine": "offline", "flaky_runs": 2}})
    production = await produce_tests(
        LocalSandbox(),
        repo,
        {"pkg/sizes.py": changed_lines(BASE, head)},
        config,
        SETTINGS,
        base_sha=base_sha,
    )
    assert production.nothing_to_do is None, production.nothing_to_do
    # The existing test leaves mutants of `n >= 10` alive, so every offline engine writes tests
    # (not the differential one alone): which engine's test pins `classify` is the greedy
    # choice's, and no kept test is there for a line, only for kills and the pin.
    kept = [t for t in production.tests if t["kept"]]
    assert production.kept and kept
    assert production.pinning is not None and "fails" in production.pinning.outcomes.values()
    assert any("pins the change to `classify`" in t["reason"] for t in kept)
    assert all("kills" in t["reason"] or "pins the change" in t["reason"] for t in kept)
    assert not any("covers" in t["reason"] for t in kept)
    lines = render(production, config.test_generation)[0]
    assert any(
        line.startswith("Kept tests that fail on the base commit: `test_classify_")
        and "(`classify`)" in line
        for line in lines
    ), lines
    assert any("Differences between base and head (1)" in line for line in lines)


def test_only_results_a_test_can_assert_count_as_differences() -> None:
    value = {"kind": "value", "expected": "'big'", "imports": []}
    assert differs(value, {"kind": "value", "expected": "'small'", "imports": []})
    assert not differs(value, dict(value))
    # no repr to assert on the head, or no answer from the base: skipped, not guessed
    assert not differs({"kind": "type", "expected": "Thing"}, value)
    assert not differs(value, {"kind": "timeout"})
    error = {"kind": "raises", "exception": "ValueError", "source": "builtin", "message": "n < 0"}
    assert differs(error, {**error, "exception": "TypeError"})
    assert differs(error, {**error, "message": "negative"})
    assert differs(error, value) and differs(value, error)


def test_crosshair_calls_with_names_or_objects_are_skipped() -> None:
    source = "def classify(n, items=None):\n    return n\n"
    item = describe_callables(source)[0]
    target = DiffTarget("pkg/sizes.py", ".", "pkg.sizes", item)
    report = (
        "Given: (n=10, items=[1, 'a']),\n  h.f : returns 'big'\n  b.f : returns 'small'\n"
        "Given: (n=object(), items=None),\n"
        "Given: (n=x),\n"
    )
    calls = calls_from_report(report, SearchJob(target))
    assert [c.call_source for c in calls] == ["classify(n=10, items=[1, 'a'])"]


async def test_no_difference_where_every_line_runs_says_so(tmp_path: Path) -> None:
    head = BASE.replace("return n * 2", "return n + n")
    repo, base_sha = project(tmp_path / "repo", head)
    config = RepoConfig.model_validate({"test_generation": {"engine": "offline", "flaky_runs": 2}})
    (repo / "tests/test_double.py").write_text(
        "from pkg.sizes import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
    )
    production = await produce_tests(
        LocalSandbox(),
        repo,
        {"pkg/sizes.py": changed_lines(BASE, head)},
        config,
        SETTINGS,
        base_sha=base_sha,
    )
    assert production.nothing_to_do is None and not production.kept
    result = unkept_result(production, config.test_generation)
    assert result is not None
    assert result.headline == "nothing to cover, and no difference between base and head found"


def test_new_functions_no_base_code_calls_are_one_note_for_their_file(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    base = "def old(n):\n    return n\n"
    head = base + "\n\ndef one(n):\n    return n + 1\n\n\ndef two(n):\n    return n + 2\n"
    (tmp_path / "pkg" / "calc.py").write_text(head)
    found, notes = plan(tmp_path, {"pkg/calc.py": {5, 6, 9, 10}}, {"pkg/calc.py": base}, {})
    assert found == []
    assert notes == [
        "`pkg/calc.py`: nothing of the base calls the new `one`, `two`, so there is nothing to "
        "compare them with"
    ]


def test_a_new_override_of_an_inherited_method_is_compared_with_it(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    base = (
        "class Bag(dict):\n    def keys_sorted(self):\n        return sorted(self)\n\n\n"
        "class Deep(Bag):\n    pass\n\n\nclass Other:\n    pass\n"
    )
    head = base.replace(
        "class Deep(Bag):\n    pass\n",
        "class Deep(Bag):\n    def copy(self):\n        return Deep(self)\n\n"
        "    def keys_sorted(self):\n        return sorted(self, reverse=True)\n",
    ).replace("class Other:\n    pass\n", "class Other:\n    def copy(self):\n        return 1\n")
    (tmp_path / "pkg" / "calc.py").write_text(head)
    changed = {"pkg/calc.py": set(range(7, 12)) | {16, 17}}
    found, notes = plan(tmp_path, changed, {"pkg/calc.py": base}, {})
    # dict's own copy and Bag's keys_sorted: the base's Deep had both; Other had no copy
    assert [t.callable.qualname for t in found] == ["Deep.copy", "Deep.keys_sorted"]
    assert notes == [
        "`pkg/calc.py`: nothing of the base calls the new `Other.copy`, so there is nothing to "
        "compare them with"
    ]


NETLOC = """SEPARATOR = ","


def _strip_user(netloc):
    if "@" not in netloc:
        return netloc
    user, host = netloc.split("@", 1)
    return host


def host_of(url):
    return _strip_user(url.split("/")[2])


def items(text):
    return text.split(SEPARATOR)
"""
# The tests reach the private helper only through the public function, and run every line.
NETLOC_TESTS = """from pkg.netloc import host_of, items


def test_host_of():
    assert host_of("https://user@example.com/x") == "example.com"
    assert host_of("https://example.com/x") == "example.com"


def test_items():
    assert items("a") == ["a"]
"""


async def test_calls_the_tests_make_and_their_neighbours_pin_what_no_literal_call_reaches(
    tmp_path: Path,
) -> None:
    """`split("@")` → `rsplit("@")` in a private helper differs only on two `@`, and a changed
    module-level separator only where it appears: neither the tests' own calls (which behave
    the same) nor a literal call of the helper (there is none) show it. The calls the tests
    make as they run, and their neighbours aimed at the change's tokens, do."""
    head = NETLOC.replace('netloc.split("@", 1)', 'netloc.rsplit("@", 1)').replace(
        'SEPARATOR = ","', 'SEPARATOR = ";"'
    )
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/netloc.py": NETLOC, "tests/test_netloc.py": NETLOC_TESTS},
        {"pkg/netloc.py": head},
    )
    outcome = await run_differential(repo, base_sha, {"pkg/netloc.py": changed_lines(NETLOC, head)})
    assert outcome.written == ["tests/test_pkg_netloc_differential_tandem.py"], outcome.notes
    text = (repo / outcome.written[0]).read_text()
    assert "_strip_user('user@@example.com') == 'example.com'" in text, text
    assert "items(" in text, text
    await assert_pins(repo, base_sha, outcome.written)


TAIL = '''def tail(seq, n):
    """The items after the last full chunk of n."""
    items = list(seq)
    return items[len(items) - len(seq) % n :]
'''
TAIL_TESTS = """from pkg.chunks import tail


def test_tail():
    assert tail([1, 2, 3], 2) == [3]
"""


async def test_a_change_about_a_lying_len_is_pinned_with_a_sequence_whose_len_lies(
    tmp_path: Path,
) -> None:
    """The head checks that `len(seq)` agrees with the items; every sequence the tests hold
    tells the truth, so only a list whose `len()` lies shows the change. The test defines that
    list itself, and it is the one the engine ran."""
    head = TAIL.replace(
        "    return",
        "    if len(items) != len(seq):\n"
        '        raise LookupError("the sequence\'s length is wrong")\n'
        "    return",
    )
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/chunks.py", TAIL, head, TAIL_TESTS
    )
    assert outcome.written == ["tests/test_pkg_chunks_differential_tandem.py"], outcome.notes
    text = (repo / outcome.written[0]).read_text()
    assert "class WrongLenList(list):" in text, text
    assert "tail(WrongLenList([1, 2, 3], 1), 2)" in text, text
    assert "pytest.raises(LookupError" in text, text
    await assert_pins(repo, base_sha, outcome.written)


# Each side creates its own file and waits for the other side's: the call returns only when the
# head's and the base's probes run at the same time.
MEET = """import os
import time


def meet(name):
    mine, other = name + ".base", name + ".head"
    open(mine, "w").close()
    while not os.path.exists(other):
        time.sleep(0.01)
    return "base"
"""


async def test_the_head_and_base_probes_run_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Longer than either side's start, so only the order of the probes decides; run one after
    # the other, the head's call waits this long for a base that has not started, and times out.
    monkeypatch.setattr(characterize, "CALL_TIMEOUT_S", 30.0)
    head = MEET.replace('".base", name + ".head"', '".head", name + ".base"').replace(
        'return "base"', 'return "head"'
    )
    repo, base_sha = two_commits(
        tmp_path / "repo", {"pkg/__init__.py": "", "pkg/meet.py": MEET}, {"pkg/meet.py": head}
    )
    changed = {"pkg/meet.py": changed_lines(MEET, head)}
    async with base_tree(repo, base_sha, timeout_s=60) as tree:
        base_sources = {"pkg/meet.py": (tree.root / "pkg/meet.py").read_text()}
        targets, _ = plan(repo, changed, base_sources, {})
        outcome = EngineOutcome()
        run = differential._Run(
            LocalSandbox(), repo, tree, time.monotonic() + 300, targets, outcome
        )
        (repo / differential.SCRATCH).mkdir(parents=True)
        await run.compare({Seed("pkg/meet.py", "meet", "meet('x')", "tests")})
    assert run.compared == 1
    assert [(d.head["expected"], d.base["expected"]) for d in run.differences] == [
        ("'head'", "'base'")
    ]
