"""Test amplification's second round (jobs/testgen/engines/amplify*): where no one literal tells
base and head apart, the variants that changed what the head observed are varied again, one
moved once more and two together; and one real run on a small two-commit project whose change
shows only where an index and a list's length move together."""

from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.python.pytest_runner import per_test_record
from jobs.languages.python.tidy import split_tests
from jobs.sandbox import LocalSandbox
from jobs.testgen.engines import (
    amplify,
    amplify_calls,
    amplify_files,
    amplify_variants,
    change_values,
    input_variants,
)
from jobs.testgen.engines.amplify_probe import Observed
from jobs.testgen.engines.amplify_variants import Edit, Variant
from jobs.testgen.engines.engine_protocol import Workspace
from jobs.testgen.engines.seeds import SeedPlan
from tests.differential_support import assert_pins
from tests.test_amplify import function, unparsed
from tests.test_pinning import two_commits

PUT = """def test_put():
    assert put([1, 2, 3], 1, 'x') == [1, 'x', 3]
"""


def test_a_float_gets_its_sign_flipped_and_its_fraction_alone() -> None:
    assert input_variants.float_variants(12.51) == [13.51, 11.51, 0.0, -12.51, 0.51, -0.51]
    assert input_variants.float_variants(-0.5) == [0.5, -1.5, 0.0]  # -0.5 itself is left out
    assert input_variants.float_variants(float("nan")) == []
    # the differential engine's calls get them too
    assert "num2words(-0.5)" in input_variants.variants("num2words(12.5)", ())


def test_the_second_round_moves_a_changer_again_and_pairs_two_of_them() -> None:
    test = function(PUT)
    first = amplify_variants.variants(test, {}, (), cap=40)
    index = [v for v in first if v.what == "1 -> 2"][-1]  # the index's, not the list's 1
    shorter = next(v for v in first if v.what == "[1, 2, 3] -> [2, 3]")
    found = amplify_variants.second_round(test, {}, (), [index, shorter], 40, first)
    texts = unparsed(found)
    assert "assert put([2, 3], 2, 'x') == [1, 'x', 3]" in "\n".join(texts)  # both edits
    assert "assert put([1, 2, 3], 3, 'x') == [1, 'x', 3]" in "\n".join(texts)  # 2 moved again
    pair = next(v for v in found if len(v.edits) == 2)
    assert pair.what == "1 -> 2; [1, 2, 3] -> [2, 3]"
    assert pair.slug == "2_one_item_fewer"
    # nothing the first round ran already comes again
    assert not {ast.dump(v.function) for v in found} & {ast.dump(v.function) for v in first}


def test_a_second_round_edit_of_a_module_constant_binds_it_in_the_body() -> None:
    module = ast.parse("ROWS = [1, 2, 3]\n\ndef test_it():\n    assert put(ROWS, 1, 'x')\n")
    test = amplify_variants.test_functions(module)[amplify_variants.TestFunction(None, "test_it")]
    constants = amplify_variants.module_constants(module)
    sites = amplify_variants.sites(test, constants)
    edits = [Edit(0, ast.Constant(2)), Edit(2, ast.List([ast.Constant(2)], ast.Load()))]
    assert [s[0] for s in sites[:3]] == [None, None, "ROWS"]
    changers = [Variant(test, "", "", (e,)) for e in edits]
    pair = next(
        v
        for v in amplify_variants.second_round(test, constants, (), changers, 9)
        if len(v.edits) == 2
    )
    assert ast.unparse(pair.function).splitlines()[1:] == [
        "    ROWS = [2]",
        "    assert put(ROWS, 2, 'x')",
    ]


def test_the_changers_are_the_variants_the_head_observed_otherwise() -> None:
    test = amplify_variants.TestFunction(None, "test_put")
    found = amplify_variants.variants(function(PUT), {}, (), cap=4)
    made = {f"v{i}": (test, v) for i, v in enumerate(found)}

    def seen(canon: str) -> amplify_files.Observations:
        return {"probe::t": {0: [Observed("value", {"canon": canon})]}}

    head = {"v0": seen("[1, 'x', 3]"), "v1": seen("[1, 'x', 3]"), "v2": seen("[2, 'x']")}
    assert amplify._changers(found, made, head) == [found[2]]  # v3: nothing observed


LIST = "def put(items, index, value):\n    if index > len(items):\n        raise IndexError('past the end')\n    out = list(items)\n    out[index:index + 1] = [value]\n    return out\n"  # noqa: E501
# Far from the end: its index is one short of the list's last item, its list three long.
TESTS = """from pkg.lists import put


def test_put():
    assert put([1, 2, 3], 1, 'x') == [1, 'x', 3]
"""


async def amplified(tmp_path: Path, files: dict[str, str], head: dict[str, str]) -> Outcome:
    """The amplify engine's outcome on a two-commit repository: `files`, then `head` over it
    (the changed file's every line counted as changed)."""
    repo, base_sha = two_commits(tmp_path / "repo", files, head)
    workspace = Workspace(
        LocalSandbox(),
        repo,
        "tests",
        time.monotonic() + 120,
        lambda _: None,
        {p: t for p, t in files.items() if p.startswith("tests/")},
        SeedPlan(),
        base_sha,
        {p: set(range(1, t.count("\n") + 1)) for p, t in head.items()},
    )
    outcome = await amplify.Amplify().generate(workspace, [])
    return Outcome(outcome.written, outcome.notes, repo, base_sha)


@dataclass
class Outcome:
    written: list[str]
    notes: list[str]
    repo: Path
    base_sha: str


async def test_a_second_round_pins_what_needs_an_index_and_a_length_together(
    tmp_path: Path,
) -> None:
    head = LIST.replace("index > len(items)", "index >= len(items)")
    files = {"pkg/__init__.py": "", "pkg/lists.py": LIST, "tests/test_lists.py": TESTS}
    outcome = await amplified(tmp_path, files, {"pkg/lists.py": head})
    assert outcome.written == ["tests/test_lists_amplified.py"], outcome.notes
    note = next(n for n in outcome.notes if "amplified 1 test(s)" in n)
    assert "0 variant(s) differ between base and head; a second round of" in note
    text = await assert_pins(outcome.repo, outcome.base_sha, outcome.written)
    assert "with pytest.raises(IndexError, match='past the end'):" in text


RESOLVE_BASE = """def lookup(names, name):
    try:
        if callable(names):
            return names(name)
        return names[name]
    except KeyError:
        return 'missing'
"""
RESOLVE_HEAD = RESOLVE_BASE.replace("    except KeyError:", "    except (TypeError, LookupError):")


def test_the_change_aims_at_the_builtin_exceptions_it_handles_and_the_digits_it_compares() -> None:
    assert change_values.raised_builtins(RESOLVE_BASE, RESOLVE_HEAD) == (
        "KeyError",
        "TypeError",
        "LookupError",
    )
    head = "def f(tens):\n    if tens == 9:\n        return 1\n    raise Oops()\n"
    base = "def f(tens):\n    if tens > 10:\n        return 1\n    raise Oops()\n"
    assert change_values.compared_digits(base, head) == (9,)  # 10 has two digits
    assert change_values.raised_builtins(base, head) == ()  # unchanged, and no builtin
    assert change_values.with_digits(10000, (9, 1))[:3] == [90000, 19000, 11000]
    assert change_values.with_digits(-15, (9,)) == [-95, -19]
    assert change_values.with_digits(7, (9,)) == []


def test_a_function_the_test_defines_raises_what_the_change_handles() -> None:
    test = function(
        "def test_func():\n"
        "    def resolver(_):\n"
        "        return 1024\n"
        "    assert lookup(resolver, 'a') == 1024\n"
    )
    aims = change_values.Aims(raises=("KeyError",))
    found = amplify_variants.variants(test, {}, (), 40, aims)
    raising = next(v for v in found if v.what == "resolver raises KeyError")
    text = ast.unparse(raising.function)
    assert "def resolver(_):\n        raise KeyError('tandem')\n        return 1024" in text
    assert raising.slug == "resolver_raises_keyerror"
    # a number the test gives gets the digit the change compares with, before the others
    found = amplify_variants.variants(
        function("def test_o():\n    assert ordinal(10000) == 'x'\n"),
        {},
        (),
        40,
        change_values.Aims(digits=(9,)),
    )
    assert found[1].what == "10000 -> 90000"


RESOLVER_TESTS = """from pkg.names import lookup


def test_func():
    def resolver(_):
        return 1024

    assert lookup(resolver, 'a') == 1024
"""


async def test_a_callback_that_raises_what_the_change_no_longer_catches_pins_it(
    tmp_path: Path,
) -> None:
    head = RESOLVE_BASE.replace("    except KeyError:", "    except TypeError:")
    files = {
        "pkg/__init__.py": "",
        "pkg/names.py": RESOLVE_BASE,
        "tests/test_names.py": RESOLVER_TESTS,
    }
    outcome = await amplified(tmp_path, files, {"pkg/names.py": head})
    assert outcome.written == ["tests/test_names_amplified.py"], outcome.notes
    text = await assert_pins(outcome.repo, outcome.base_sha, outcome.written)
    # the base answered 'missing'; the head lets the callback's KeyError through
    assert "def test_func_resolver_raises_keyerror():" in text
    assert "with pytest.raises(KeyError, match=\"'tandem'\"):" in text, text


def test_a_source_gets_the_construct_the_change_reads_on_a_name_it_binds() -> None:
    base = "def visit_Name(self, node):\n    if isinstance(node.ctx, ast.Load):\n        pass\n"
    head = base.replace("ast.Load)", "(ast.Load, ast.Del))")
    assert change_values.ast_constructs(base, head) == ("Del",)
    source = "def foo(a, b):\n    return a\n\nx = foo(1, 2)\n"
    # b is never read: its del comes first
    assert change_values.with_construct(source, ("Del",)) == [
        "def foo(a, b):\n    del b\n    return a\n\nx = foo(1, 2)\n",
        "def foo(a, b):\n    return a\n\nx = foo(1, 2)\ndel x\n",
        "def foo(a, b):\n    del a\n    return a\n\nx = foo(1, 2)\n",
    ]
    found = amplify_variants.string_values(source, (), change_values.Aims(constructs=("Del",)))
    assert found[0] == "def foo(a, b):\n    del b\n    return a\n\nx = foo(1, 2)\n"


CLOCK_TESTS = """import time

from pkg.clock import freeze


def test_ns():
    with freeze(3):
        assert time.time() == 3
        assert time.time_ns() == 3000000000


def test_fraction():
    with freeze(1.5):
        assert time.time() == 1.5
"""


def test_a_test_that_never_asks_the_changed_function_gets_the_call_the_others_make() -> None:
    module = ast.parse(CLOCK_TESTS)
    tests = amplify_variants.test_functions(module)
    ns, fraction = amplify_variants.TestFunction(None, "test_ns"), list(tests)[1]
    names = amplify_calls.changed_functions("def fake_time_ns():\n    return 1\n", {2})
    calls = amplify_calls.reaching_calls([tests[ns]], names)
    assert [ast.unparse(c) for c in calls] == ["time.time_ns()"]  # not time.time, a part of it
    added = amplify_calls.added_calls(tests, [ns], calls)
    variant = added[fraction]
    assert ast.unparse(variant.function).splitlines()[2:4] == [
        "        assert time.time() == 1.5",
        "        time.time_ns()",
    ]
    assert (variant.what, variant.slug) == ("added time.time_ns()", "with_time_ns")


CLOCK = """_now = [0.0]


def freeze(t):
    _now[0] = t


def now():
    return _now[0]


def now_ns():
    return int(int(now()) * 1e9)
"""
CLOCK_TEST = """from pkg import clock


def test_ns():
    clock.freeze(3)
    assert clock.now_ns() == 3000000000


def test_fraction():
    clock.freeze(1.5)
    assert clock.now() == 1.5
"""


async def test_an_added_call_pins_what_only_another_tests_state_shows(tmp_path: Path) -> None:
    head = CLOCK.replace("int(int(now()) * 1e9)", "int(now() * 1e9)")
    files = {"pkg/__init__.py": "", "pkg/clock.py": CLOCK, "tests/test_clock.py": CLOCK_TEST}
    repo, base_sha = two_commits(tmp_path / "repo", files, {"pkg/clock.py": head})
    # The record says test_ns alone runs the changed line.
    record = {
        "tests": {
            "tests/test_clock.py::test_ns": {"passed": True, "lines": {"pkg/clock.py": [13]}},
            "tests/test_clock.py::test_fraction": {"passed": True, "lines": {"pkg/clock.py": [5]}},
        }
    }
    (repo / per_test_record("baseline")).parent.mkdir(parents=True, exist_ok=True)
    (repo / per_test_record("baseline")).write_text(json.dumps(record))
    workspace = Workspace(
        LocalSandbox(),
        repo,
        "tests",
        time.monotonic() + 120,
        lambda _: None,
        {"tests/test_clock.py": CLOCK_TEST},
        SeedPlan(),
        base_sha,
        {"pkg/clock.py": {13}},
    )
    outcome = await amplify.Amplify().generate(workspace, [])
    assert outcome.written == ["tests/test_clock_amplified.py"], outcome.notes
    assert any("(test_ns, test_fraction;" in n for n in outcome.notes), outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "def test_fraction_with_now_ns():\n    clock.freeze(1.5)\n" in text
    assert "assert clock.now_ns() == 1500000000" in text


def test_a_keyword_the_test_repeats_is_varied_once_and_the_numbers_get_the_budget() -> None:
    test = function(
        "def test_o():\n"
        "    assert words(5, lang='ru') == 'a'\n"
        "    assert words(10000, lang='ru') == 'b'\n"
    )
    found = amplify_variants.sites(test, {})
    assert [ast.unparse(site) for _, site in found] == ["5", "'ru'", "10000"]


def test_an_amplified_unittest_class_not_named_test_is_split_as_a_test() -> None:
    """pytest collects a TestCase subclass whatever its name, so the selection must too: the
    amplified tests of num2words' ``Num2WordsRUTest`` were all left out before."""
    source = (
        "from unittest import TestCase\n\n\n"
        "class Num2WordsRUTest(TestCase):\n"
        "    def test_o(self):\n"
        "        self.assertEqual(words(90000), 'x')\n\n\n"
        "class Helper:\n"
        "    pass\n"
    )
    prelude, cases = split_tests(source, "tests/test_ru_amplified.py")
    assert [(c.name, c.is_class) for c in cases] == [("Num2WordsRUTest", True)]
    assert "class Helper" in prelude.source
    # A TestCase base that other classes extend (simpleeval's DRYTest) stays in the prelude,
    # and so does one with no tests of its own.
    source = (
        "import unittest\n\n\n"
        "class DRYTest(unittest.TestCase):\n"
        "    def test_shared(self):\n"
        "        pass\n\n\n"
        "class Bare(unittest.TestCase):\n"
        "    def setUp(self):\n"
        "        pass\n\n\n"
        "class TestNames(DRYTest):\n"
        "    def test_func(self):\n"
        "        pass\n"
    )
    prelude, cases = split_tests(source, "test_simpleeval_amplified.py")
    assert [c.name for c in cases] == ["TestNames"]
    assert "class DRYTest" in prelude.source and "class Bare" in prelude.source
