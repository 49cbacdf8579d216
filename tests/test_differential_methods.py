"""``crosshair diffbehavior`` on a changed method (:mod:`jobs.testgen.engines.differential_search`):
a top-level wrapper per side calls the method on a receiver the tests built, so CrossHair
searches the method's own arguments; what it finds is written as the plain call on the head."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from jobs.testgen.engines.callables import describe_callables
from jobs.testgen.engines.differential_search import (
    SearchJob,
    built_wrapper_source,
    calls_from_report,
    jobs,
    method_wrapper_source,
)
from jobs.testgen.engines.differential_targets import DiffTarget
from jobs.testgen.engines.seeds import Seed
from tests.differential_support import assert_pins, differential_on_change

BASE = """class Gate:
    def __init__(self, k: int) -> None:
        self.k = k

    def check(self, n: int) -> str:
        return "open" if n > self.k * 2 else "shut"

    def reset(self) -> None:
        self.k = 0

    @staticmethod
    def twice(n: int) -> int:
        return n * 2
"""
HEAD = BASE.replace("n > self.k * 2", "n >= self.k * 2")
TESTS = """from pkg.gate import Gate


def test_check():
    assert Gate(10).check(3) == "shut"
"""


def targets() -> dict[str, DiffTarget]:
    return {
        c.qualname: DiffTarget("pkg/gate.py", ".", "pkg.gate", c) for c in describe_callables(BASE)
    }


def test_a_method_is_searched_on_the_receivers_the_calls_built() -> None:
    found = targets()
    calls = {
        Seed("pkg/gate.py", "Gate.check", "Gate(10).check(3)", "captured"),
        Seed("pkg/gate.py", "Gate.check", "Gate.check(Gate(7), 3)", "captured"),
        Seed("pkg/gate.py", "Gate.check", "Gate(k=12345).check(3)", "captured"),
        Seed("pkg/gate.py", "Gate.reset", "Gate(1).reset()", "captured"),
    }
    searched = jobs(list(found.values()), calls, {"pkg/gate.py": BASE})
    # the two shortest receivers; reset takes no argument to search; a static method's
    # receiver is its class
    assert searched == [
        SearchJob(found["Gate.check"], "Gate(7)"),
        SearchJob(found["Gate.check"], "Gate(10)"),
        SearchJob(found["Gate.twice"], "Gate"),
    ]


def test_a_method_an_earlier_input_pinned_is_not_searched_again() -> None:
    found = targets()
    calls = {Seed("pkg/gate.py", "Gate.check", "Gate(10).check(3)", "captured")}
    searched = jobs([found["Gate.check"]], calls, {}, pinned={("pkg/gate.py", "Gate.check")})
    assert searched == []


def test_a_report_on_a_method_gives_the_plain_call_on_its_receiver() -> None:
    job = SearchJob(targets()["Gate.check"], "Gate(10)")
    report = "Given: (n=20),\n  h : returns 'open'\n  b : returns 'shut'\n"
    assert [c.call_source for c in calls_from_report(report, job)] == ["Gate(10).check(n=20)"]


def test_the_wrapper_builds_a_fresh_receiver_of_its_own_module(tmp_path: Path) -> None:
    job = SearchJob(targets()["Gate.check"], "Gate(10)")
    source = method_wrapper_source(job.target, "gate_mod", "Gate(10)")
    wrapped = _wrapper(tmp_path, "gate_mod", source)
    assert wrapped(n=21) == "open" and wrapped(3) == "shut"
    assert str(wrapped.__signature__) == "(n: int)"


def test_a_method_no_call_reaches_is_searched_on_a_receiver_its_typed_init_builds() -> None:
    found = targets()
    init = describe_callables(BASE)[0]
    assert init.qualname == "Gate.__init__"
    assert jobs([found["Gate.check"]], set(), {"pkg/gate.py": BASE}) == [
        SearchJob(found["Gate.check"], init=init)
    ]
    untyped = BASE.replace("k: int", "k")
    assert jobs([found["Gate.check"]], set(), {"pkg/gate.py": untyped}) == []
    report = "Given: (n=0, init_k=0),\n  h : returns 'open'\n  b : returns 'shut'\n"
    calls = calls_from_report(report, SearchJob(found["Gate.check"], init=init))
    assert [c.call_source for c in calls] == ["Gate(k=0).check(n=0)"]


def test_the_built_wrapper_takes_the_init_arguments_by_keyword(tmp_path: Path) -> None:
    init = describe_callables(BASE)[0]
    source = built_wrapper_source(targets()["Gate.check"], "gate_built", init)
    wrapped = _wrapper(tmp_path, "gate_built", source)
    assert str(wrapped.__signature__) == "(n: int, *, init_k: int)"  # type: ignore[attr-defined]
    assert wrapped(5, init_k=2) == "open" and wrapped(n=4, init_k=2) == "shut"


@pytest.mark.slow
async def test_crosshair_builds_the_receiver_no_test_builds(tmp_path: Path) -> None:
    tests = "from pkg.gate import Gate\n\n\ndef test_twice():\n    assert Gate.twice(2) == 4\n"
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/gate.py", BASE, HEAD, tests
    )
    assert outcome.written, outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "Gate(k=" in text and ").check(n=" in text


@pytest.mark.slow
async def test_crosshair_finds_the_argument_that_tells_a_changed_method_apart(
    tmp_path: Path,
) -> None:
    # The tests' Gate(10).check(3) and its neighbours never reach n == 20; CrossHair does.
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/gate.py", BASE, HEAD, TESTS
    )
    assert outcome.written, outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "Gate(10).check(n=20)" in text


@pytest.mark.slow
async def test_a_limit_of_crosshair_in_the_search_is_noted_as_one(tmp_path: Path) -> None:
    # CrossHair cannot make a symbolic Type[Optional[int]] (dacite's extract_optional).
    base = "from typing import Optional, Type\n\n\ndef pick(t: Type[Optional[int]]) -> int:\n"
    base += "    return 1\n"
    head = base.replace("return 1", "return 2")
    _, _, outcome = await differential_on_change(tmp_path, "pkg/pick.py", base, head, "")
    assert (
        "`pkg/pick.py`: differential search on `pick`: CrossHair's own error (AssertionError), "
        "a limit of CrossHair"
    ) in outcome.notes, outcome.notes


def _wrapper(tmp_path: Path, module: str, source: str) -> Any:
    """The wrapper function ``source`` defines, with ``BASE`` importable as ``module``."""
    (tmp_path / f"{module}.py").write_text(BASE)
    namespace: dict[str, object] = {}
    sys.path.insert(0, str(tmp_path))
    try:
        exec(compile(source, "wrapper.py", "exec"), namespace)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(module, None)
    wrapped = namespace["tandem_target"]
    assert callable(wrapped)
    return wrapped
