"""Differential tests of a change that only the state a call leaves behind shows: a procedure
that returns None on both commits but changes its argument or its receiver differently, and a
changed ``__init__`` whose object has no repr that rebuilds it. The probe's record of that state,
its reading as hostile data, the comparison, the test it becomes, and tiny real two-commit
projects through the engine, whose tests fail on the base and pass on the head."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from jobs.testgen.engines import characterize_probe, input_variants
from jobs.testgen.engines.callables import ChangedCallable
from jobs.testgen.engines.differential_cases import (
    MAX_TESTS_PER_CALLABLE,
    Difference,
    case_for,
    differs,
    write_tests,
)
from jobs.testgen.engines.differential_state import state_change, states
from jobs.testgen.engines.differential_targets import DiffTarget
from jobs.testgen.engines.engine_protocol import EngineOutcome
from jobs.testgen.engines.seeds import Seed
from tests.differential_support import assert_pins, differential_on_change


class Tally:
    def __init__(self, start: int = 0) -> None:
        self.count = start
        self.seen: list[str] = []

    def add(self, item: str, times: int = 1) -> None:
        self.seen.append(item)
        self.count += times

    def __call__(self) -> int:  # an object that can be called still has a state (a WSGI app)
        return self.count


def shuffle(words: list[str], *, order: list[int]) -> None:
    words.reverse()
    order.clear()


def _module() -> ModuleType:
    module = ModuleType("mod")
    module.Tally = Tally  # type: ignore[attr-defined]
    module.shuffle = shuffle  # type: ignore[attr-defined]
    return module


def _record(call: str) -> dict[str, Any]:
    """What the probe records for `call` with the state asked for (no timer: it is quick)."""
    module = _module()
    node = characterize_probe.split_call(call)
    assert node is not None
    value, watched = characterize_probe.call_watching(node, dict(vars(module)))
    described = characterize_probe.describe_value(value, module)
    return {**described, "state": characterize_probe.state_of(value, described, watched, module)}


def test_the_probe_records_the_receiver_and_the_changeable_arguments_after_the_call() -> None:
    record = _record("Tally(2).add('x', times=3)")
    assert record["expected"] == "None"
    [receiver] = record["state"]  # 'x' and 3 cannot change in place
    assert receiver["where"] == "self" and receiver["kind"] == "type"
    assert receiver["attrs"] == {
        "count": {"kind": "value", "expected": "5", "imports": []},
        "seen": {"kind": "value", "expected": "['x']", "imports": []},
    }
    words, order = _record("shuffle(['a', 'b'], order=[1])")["state"]
    assert (words["where"], words["expected"]) == ("arg:0:words", "['b', 'a']")
    assert (order["where"], order["expected"]) == ("kw:order", "[]")
    # An object a constructor built, whose repr does not rebuild it: its attributes.
    [built] = _record("Tally(-1)")["state"]
    assert built["where"] == "result" and built["attrs"]["count"]["expected"] == "-1"
    # A call with * or ** is not split: its parts are not the test's to name.
    assert characterize_probe.split_call("shuffle(*xs)") is None
    assert characterize_probe.split_call("Tally(1).count") is None


def _state(where: str, **fields: object) -> dict[str, object]:
    return {"where": where, "kind": "value", "imports": [], **fields}


def test_a_state_that_differs_is_a_difference_and_its_test_asserts_the_heads_state() -> None:
    seed = Seed("pkg/m.py", "shuffle", "shuffle(['a', 'b'], order=[1])", "tests")
    none = {"kind": "value", "expected": "None", "imports": []}
    head = {**none, "state": [_state("arg:0:words", expected="['b', 'a']")]}
    base = {**none, "state": [_state("arg:0:words", expected="['a', 'b']")]}
    assert differs(head, base) and not differs(head, head)
    difference = Difference(seed, head, base)
    assert difference.describe() == (
        "`shuffle(['a', 'b'], order=[1])`: argument `words` is `['b', 'a']` after the call now"
        " (was `['a', 'b']`)"
    )
    case = case_for(difference)
    assert case is not None
    assert case.body == (
        "words = ['a', 'b']\nshuffle(words, order=[1])\nassert words == ['b', 'a']"
    )
    assert case.stem == "test_shuffle_a_b_order_1_words_is_b_a_now"
    assert set(case.needs) == {("shuffle", "module")}
    # A call that raised on either side leaves no state to compare.
    assert state_change({**head, "kind": "raises"}, base) is None


def test_an_attribute_of_the_receiver_that_differs_is_asserted_by_name() -> None:
    seed = Seed("pkg/m.py", "Tally.add", "Tally().add('x', 3)", "tests")
    none = {"kind": "value", "expected": "None", "imports": []}

    def tally(count: str) -> dict[str, object]:
        attrs = {"count": {"kind": "value", "expected": count, "imports": []}}
        walk = [[[], "Tally", "module"]]
        return {"where": "self", "kind": "type", "types": walk, "attrs": attrs}

    difference = Difference(seed, {**none, "state": [tally("3")]}, {**none, "state": [tally("1")]})
    case = case_for(difference)
    assert case is not None
    assert case.body == "tally = Tally()\ntally.add('x', 3)\nassert tally.count == 3"
    assert case.stem == "test_Tally_add_x_3_tally_count_is_3_now"
    assert "the receiver's `.count` is `3` after the call now (was `1`)" in difference.describe()
    ast.parse(case.body)


def test_a_malformed_state_is_no_state() -> None:
    good = _state("arg:0", expected="[1]")
    assert list(states({"state": [good]})) == ["arg:0"]
    for bad in (
        _state("arg:0", expected="__import__('os').system('x')"),
        _state("elsewhere", expected="[1]"),
        _state("kw:a b", expected="[1]"),
        _state("self", kind="type", attrs={"__class__": {"kind": "value", "expected": "1"}}),
        _state(
            "self", kind="type", attrs={"x": {"kind": "type", "type": ["os.system()", "stdlib"]}}
        ),
        _state("self", kind="raises"),
    ):
        assert states({"state": [bad]}) == {}, bad
    assert states({"state": [good] * 5}) == {}
    assert states({"state": "[]"}) == {}


SORT_BASE = '''def tidy(words):
    """Strip each word, in place."""
    for index, word in enumerate(words):
        words[index] = word.strip()
'''
SORT_HEAD = SORT_BASE.replace("word.strip()", "word.strip().lower()")
SORT_TESTS = """from pkg.text import tidy


def test_tidy():
    words = [" Ab "]
    tidy(words)
    assert words[0].strip() == words[0]
"""


async def test_an_argument_changed_in_place_is_pinned_through_the_engine(tmp_path: Path) -> None:
    """`tidy` returns None on both commits; only the list it was given tells them apart."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/text.py", SORT_BASE, SORT_HEAD, SORT_TESTS
    )
    assert outcome.written == ["tests/test_pkg_text_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "    words = [' Ab ']\n    tidy(words)\n    assert words == ['ab']\n" in text, text
    assert "== None" not in text and "is None" not in text
    assert any("argument `words` is `['ab']` after the call now" in n for n in outcome.notes)


TALLY_BASE = """class Tally:
    def __init__(self, start=0):
        self.count = start
        self.seen = []

    def add(self, item, times=1):
        self.seen.append(item)
        self.count += 1
"""
TALLY_HEAD = TALLY_BASE.replace("self.count = start", "self.count = max(start, 0)").replace(
    "self.count += 1", "self.count += times"
)
TALLY_TESTS = """from pkg.tally import Tally


def test_tally():
    tally = Tally(-2)
    tally.add("x", 3)
    assert tally.seen == ["x"]
"""


async def test_a_receiver_and_a_built_object_are_pinned_through_the_engine(
    tmp_path: Path,
) -> None:
    """`add` returns None and `Tally(-2)` has no repr that rebuilds it: their attributes after
    the call tell head and base apart."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/tally.py", TALLY_BASE, TALLY_HEAD, TALLY_TESTS
    )
    assert outcome.written == ["tests/test_pkg_tally_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "    tally = Tally(-2)\n    assert tally.count == 0\n" in text, text
    assert "    tally = Tally(-2)\n    tally.add('x', 3)\n    assert tally.count == 3\n" in text


def test_a_state_that_shows_an_objects_identity_is_left_out(tmp_path: Path) -> None:
    """An id() differs between the head's and the base's process; the first run's objects stay
    alive during the second, so it differs between the two runs too, and only the result
    (the same on both) is recorded."""
    (tmp_path / "memo.py").write_text(
        "def remember(memo, box):\n    memo[id(box)] = 1\n    box.append(1)\n"
    )
    job = {
        "call_timeout_s": 2,
        "import_timeout_s": 10,
        "walk": True,
        "state": True,
        "modules": [
            {
                "path": "memo.py",
                "root": str(tmp_path),
                "module": "memo",
                "seeds": [{"id": 0, "call": "remember({}, box=[])", "names": ["remember"]}],
            }
        ],
    }
    (tmp_path / "in.json").write_text(json.dumps(job))
    command = [sys.executable, str(characterize_probe.__file__), "in.json", "out.jsonl"]
    subprocess.run(command, check=True, cwd=tmp_path, timeout=60)
    [record] = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert (record["kind"], record["expected"]) == ("value", "None")
    assert [entry["where"] for entry in record["state"]] == ["kw:box"]


def test_a_dict_that_differs_at_one_key_is_asserted_at_that_key() -> None:
    seed = Seed("pkg/m.py", "App.__setattr__", "App().__setattr__('debug', 0)", "tests")
    none = {"kind": "value", "expected": "None", "imports": []}

    def app(config: str) -> dict[str, object]:
        attrs = {"config": {"kind": "value", "expected": config, "imports": []}}
        return {"where": "self", "kind": "type", "types": [[[], "App", "module"]], "attrs": attrs}

    head = {**none, "state": [app("{'debug': 0, 'name': 'x'}")]}
    base = {**none, "state": [app("{'debug': True, 'name': 'x'}")]}
    case = case_for(Difference(seed, head, base))
    assert case is not None
    # `__setattr__` called with a name is written as the assignment a reader writes.
    assert case.body == "app = App()\napp.debug = 0\nassert app.config['debug'] == 0"
    assert "the receiver's `.config['debug']` is `0` after the call now (was `True`)" in (
        Difference(seed, head, base).describe()
    )


APP_BASE = """class Setting:
    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        return obj.config.get(self.name)

    def __set__(self, obj, value):
        obj.config[self.name] = value


class App:
    debug = Setting()

    def __init__(self):
        self.__dict__["config"] = {}

    @property
    def size(self):
        return len(self.config)

    def __setattr__(self, name, value):
        self.__dict__[name] = value
"""
APP_HEAD = APP_BASE.replace("self.__dict__[name] = value", "object.__setattr__(self, name, value)")


def test_where_the_change_sets_attributes_by_name_the_classes_descriptors_are_tried() -> None:
    assert input_variants.attribute_names(APP_BASE, APP_HEAD) == ("debug", "size")
    # A change that handles no attribute by name gets none.
    assert (
        input_variants.attribute_names(
            APP_BASE, APP_BASE.replace("len(self.config)", "len(self.config or ())")
        )
        == ()
    )
    tokens = input_variants.attribute_names(APP_BASE, APP_HEAD)
    assert "App().__setattr__('debug', 0)" in input_variants.variants(
        "App().__setattr__('name', 0)", tokens
    )


SCOPE_BASE = """class Scope:
    always = {"a"}

    def __init__(self):
        self.names = set(self.always)
"""
SCOPE_HEAD = SCOPE_BASE.replace('{"a"}', '{"a", "b"}')
SCOPE_TESTS = """from pkg.scope import Scope


def test_scope():
    assert "a" in Scope().names
"""


async def test_a_changed_class_attribute_is_pinned_through_the_object_built(
    tmp_path: Path,
) -> None:
    """Only a class-level name changed: the methods that read it (`__init__`) are compared, the
    constructor's call written as the class's (`Scope()`), and the object it built differs."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/scope.py", SCOPE_BASE, SCOPE_HEAD, SCOPE_TESTS
    )
    assert outcome.written == ["tests/test_pkg_scope_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "    scope = Scope()\n    assert scope.names == {" in text, text
    assert "__init__()" not in text


def test_a_result_that_differs_is_written_before_states_that_differ(tmp_path: Path) -> None:
    """At most MAX_TESTS_PER_CALLABLE tests per callable: a result that differs says the most,
    so it takes its place before shorter calls whose only difference is a state."""
    none = {"kind": "value", "expected": "None", "imports": []}
    differences = [
        Difference(
            Seed("pkg/m.py", "tidy", f"tidy([{n}])", "tests"),
            {**none, "state": [_state("arg:0:xs", expected=f"[{n + 1}]")]},
            {**none, "state": [_state("arg:0:xs", expected=f"[{n}]")]},
        )
        for n in range(MAX_TESTS_PER_CALLABLE)
    ]
    differences.append(
        Difference(
            Seed("pkg/m.py", "tidy", "tidy([1, 2, 3, 4])", "tests"),
            {"kind": "value", "expected": "4", "imports": []},
            none,
        )
    )
    target = DiffTarget("pkg/m.py", ".", "pkg.m", ChangedCallable("tidy", "function", 1, 2))
    outcome = EngineOutcome()
    write_tests(tmp_path, [target], differences, "tests", outcome, len(differences))
    text = (tmp_path / outcome.written[0]).read_text()
    assert "assert tidy([1, 2, 3, 4]) == 4" in text
    assert text.count("def test_") == MAX_TESTS_PER_CALLABLE


def test_a_returned_difference_is_written_before_a_raise_the_change_brings(tmp_path: Path) -> None:
    """A head that raises where the base returned may be a bug the change brings: a test
    asserting the raise would pin that bug, so returned differences take the places first,
    however short the raising call is."""
    differences = [
        Difference(
            Seed("pkg/m.py", "width", f"width('{'x' * (n + 5)}')", "tests"),
            {"kind": "value", "expected": str(n + 6), "imports": []},
            {"kind": "value", "expected": str(n + 5), "imports": []},
        )
        for n in range(MAX_TESTS_PER_CALLABLE)
    ]
    differences.append(
        Difference(
            Seed("pkg/m.py", "width", "width('')", "tests"),
            {"kind": "raises", "exception": "ZeroDivisionError", "message": "", "imports": []},
            {"kind": "value", "expected": "0", "imports": []},
        )
    )
    target = DiffTarget("pkg/m.py", ".", "pkg.m", ChangedCallable("width", "function", 1, 2))
    outcome = EngineOutcome()
    write_tests(tmp_path, [target], differences, "tests", outcome, len(differences))
    text = (tmp_path / outcome.written[0]).read_text()
    assert "ZeroDivisionError" not in text, text
    assert text.count("def test_") == MAX_TESTS_PER_CALLABLE
    # The note still names the raise among the differences found.
    assert any("width('')" in note and "ZeroDivisionError" in note for note in outcome.notes)
