"""Seeds for the changed callables (:mod:`jobs.testgen.engines.seeds`): pure, on source text."""

from __future__ import annotations

from jobs.testgen.engines.seeds import MAX_SEEDS_PER_CALLABLE, Seed, find_seeds

SOURCE = '''"""Module.

>>> scale(2, factor=3)
6
"""
import os
from datetime import datetime


def scale(x, factor=2):
    """Scale x.

    >>> scale(3)
    6
    >>> y = 4
    >>> scale(y)
    8
    >>> scale(undefined_name)
    >>> scale(lambda: 1)
    >>> scale(os.getcwd())
    """
    if x > 10:
        return "big"
    if x == "abc":
        return 1
    return x * factor


def opt(a=1, b="z"):
    return a


def tagged(s, n):
    if s.startswith("A"):
        return n
    if s in ("x", "y"):
        return 0
    return n


class Box:
    """A box.

    >>> b = Box(3)
    >>> b.grow(2)
    5
    """

    def __init__(self, size=1):
        self.size = size

    def grow(self, by):
        if by < 0:
            raise ValueError("no")
        return self.size + by

    @property
    def area(self):
        return self.size * self.size

    @classmethod
    def make(cls, n):
        return cls(n)


class Lone:
    def m(self, q):
        return q
'''

TESTS = {
    "tests/test_m.py": """
import pytest
from pkg.m import scale as sc, Box, tagged
import pkg.m as mm
from pkg import m
from elsewhere import scale


def test_a(fixture):
    s = 7
    assert sc(s) == 14
    assert mm.scale(1, 2) == 2
    assert m.opt(b="q") == 1
    assert scale(99) == 0  # not the module's scale
    bx = Box(9)
    assert bx.area == 81
    with pytest.raises(ValueError):
        bx.grow(-1)
    assert sc(fixture) == 0
    assert Box.make(4).size == 4
    assert tagged("Q", 5) == 5


@pytest.mark.parametrize("v, w", [(1, 2), (3, 4)])
def test_p(v, w):
    assert sc(v, w) == v * w


def test_reassigned():
    t = 1
    t = 2
    assert sc(t) == 4
""",
    "tests/test_broken.py": "def test_x(:\n    pass\n",
}


def seeds(lines: set[int] | None = None, tests: dict[str, str] | None = None) -> list[Seed]:
    chosen = lines if lines is not None else set(range(1, 200))
    return find_seeds("pkg/m.py", SOURCE, chosen, "pkg.m", TESTS if tests is None else tests).seeds


def calls(qualname: str, origin: str | None = None) -> list[str]:
    return [
        s.call_source
        for s in seeds()
        if s.qualname == qualname and (origin is None or s.origin == origin)
    ]


def test_doctest_calls_with_session_names_substituted() -> None:
    assert calls("scale", "docstring") == ["scale(2, factor=3)", "scale(3)", "scale(4)"]


def test_unresolvable_lambda_and_denied_doctest_calls_are_skipped() -> None:
    found = calls("scale")
    assert not any("undefined_name" in c or "lambda" in c or "os." in c for c in found)


def test_test_file_calls_are_matched_through_imports() -> None:
    assert calls("scale", "tests") == ["scale(1, 2)", "scale(3, 4)", "scale(7)"]
    assert calls("opt", "tests") == ["opt(b='q')"]
    # `scale` imported from elsewhere, a fixture argument and a reassigned local: not seeds.
    assert "scale(99)" not in calls("scale") and "scale(2)" not in calls("scale")


def test_literals_a_changed_branch_compares_against() -> None:
    assert calls("scale", "literal") == [
        "scale(x='abc')",
        "scale(x=10)",
        "scale(x=11)",
        "scale(x=9)",
    ]
    # `n` has no default: the others come from an existing seed.
    assert calls("tagged", "literal") == ["tagged('A', 5)", "tagged('x', 5)", "tagged('y', 5)"]
    assert calls("opt", "literal") == ["opt()"]  # every parameter has a default


def test_methods_are_seeded_through_a_shown_construction() -> None:
    assert calls("Box.grow", "docstring") == ["Box(3).grow(2)"]
    assert calls("Box.grow", "tests") == ["Box(9).grow(-1)"]
    assert calls("Box.grow", "literal") == [
        "Box(3).grow(by=-1)",
        "Box(3).grow(by=0)",
        "Box(3).grow(by=1)",
    ]
    assert calls("Box.area") == ["Box(9).area"]
    assert calls("Box.make") == ["Box.make(4)"]
    assert "Box(3)" in calls("Box.__init__")


def test_a_method_without_a_construction_is_skipped_with_a_note() -> None:
    plan = find_seeds("pkg/m.py", SOURCE, set(range(1, 200)), "pkg.m", TESTS)
    assert not [s for s in plan.seeds if s.qualname == "Lone.m"]
    assert "`pkg/m.py`: `Lone.m`: no test or doctest constructs a `Lone`; no seeds" in plan.notes


def test_only_changed_callables_and_output_is_sorted_and_deterministic() -> None:
    lines = set(range(29, 31))  # opt's body
    assert {s.qualname for s in seeds(lines)} == {"opt"}
    assert seeds() == sorted(set(seeds())) == seeds()
    assert all(s.path == "pkg/m.py" for s in seeds())


def test_seeds_are_capped_per_callable() -> None:
    many = "\n".join(f"    >>> f({i})" for i in range(50))
    source = f'def f(x):\n    """Doc.\n\n{many}\n    """\n    return x\n'
    found = find_seeds("m.py", source, {6}, "m").seeds
    assert len(found) == MAX_SEEDS_PER_CALLABLE


def test_hostile_sources() -> None:
    broken = find_seeds("m.py", "def f(:\n", {1}, "m")
    assert broken.seeds == [] and broken.notes == ["`m.py`: not parseable; no seeds"]
    huge = "    >>> f(1)\n" + "    >>> f('" + "a" * 2_000_000 + "')\n" + "    text\n" * 100_000
    source = f'def f(x):\n    """Doc.\n\n{huge}    """\n    return x\n'
    # what it costs is a bench figure (bench/seeds.py), never a bound here
    found = find_seeds("m.py", source, {source.count("\n")}, "m").seeds
    assert [s.call_source for s in found] == ["f(1)"]
    nested = "f(" + "[" * 500 + "]" * 500 + ")"
    deep = (
        f'def f(x):\n    """\n    >>> {nested}\n    >>> f(2\n    >>> f(3)\n    """\n    return x\n'
    )
    assert [s.call_source for s in find_seeds("m.py", deep, {7}, "m").seeds] == ["f(3)"]


def test_seed_names_are_what_the_namespace_must_hold() -> None:
    seed = Seed("m.py", "f", "f(datetime(1970, 1, 1), len('ab'))", "docstring")
    assert seed.names == ("datetime", "f")


def test_nested_and_async_callables() -> None:
    source = (
        "def outer(n=1):\n    def inner(k):\n        return -k\n    return inner(n)\n\n\n"
        "async def job(x=1):\n    return x\n"
    )
    plan = find_seeds("m.py", source, {3, 8}, "m")
    assert [s.call_source for s in plan.seeds] == ["outer()"]
    assert "`m.py`: `job` cannot be called directly; no seeds" in plan.notes


NATURALSIZE = '''\
def naturalsize(value, binary=False, fmt="%.1f"):
    """Size.

    >>> naturalsize(3000)
    '3.0 kB'
    """
    base = 1024 if binary else 1000
    exp = 1
    # rounding can push it up to `base` (e.g. 999999 is 999.999 kB, which formats to
    # "1000.0 kB")
    if float(fmt % (value / base**exp)) >= base:
        exp += 1
    return "# 7", exp
'''


def test_numbers_in_a_changed_comment_go_to_the_numeric_parameters() -> None:
    from jobs.testgen.engines.literal_seeds import comment_numbers

    assert comment_numbers(NATURALSIZE, {9, 10}) == [999999, 999.999, 1000.0]
    assert comment_numbers(NATURALSIZE, {13}) == []  # inside a string
    assert comment_numbers("x = 1  # 5 ", {1}) == [5]
    assert comment_numbers("def f(:\n  # 3\n", {2}) in ([], [3])  # never raises
    found = find_seeds("m.py", NATURALSIZE, {9, 10, 11, 12}, "m").seeds
    literal = [s.call_source for s in found if s.origin == "literal"]
    assert literal == [
        "naturalsize(value=1000.0)",
        "naturalsize(value=999.999)",
        "naturalsize(value=999999)",
    ]
    # Unchanged comments give nothing.
    unchanged = find_seeds("m.py", NATURALSIZE, {11, 12}, "m").seeds
    assert [s.origin for s in unchanged] == ["docstring"]


ITER_INDEX = '''\
def iter_index(iterable, value, start=0, stop=None):
    """Positions.

    >>> list(iter_index('AABCADEAF', 'A'))
    [0, 1, 4, 7]
    """
    seq_index = getattr(iterable, 'index', None)
    if seq_index is None and start < 0:
        iterable = tuple(iterable)
        seq_index = iterable.index
    return seq_index
'''


def test_an_inspected_parameter_also_gets_its_sequences_as_iterators() -> None:
    found = find_seeds("m.py", ITER_INDEX, {8, 9, 10}, "m").seeds
    assert [s.call_source for s in found if s.origin == "literal"] == [
        "iter_index('AABCADEAF', 'A', start=-1)",
        "iter_index('AABCADEAF', 'A', start=0)",
        "iter_index('AABCADEAF', 'A', start=1)",
        "iter_index(iter('AABCADEAF'), 'A')",
        "iter_index(iter('AABCADEAF'), 'A', start=-1)",
        "iter_index(iter('AABCADEAF'), 'A', start=0)",
        "iter_index(iter('AABCADEAF'), 'A', start=1)",
    ]
    # Not inspected: no iterator variants.
    plain = ITER_INDEX.replace("getattr(iterable, 'index', None)", "None")
    assert not [s for s in find_seeds("m.py", plain, {8}, "m").seeds if "iter(" in s.call_source]


def test_comments_count_on_every_changed_line_not_only_the_uncovered_ones() -> None:
    uncovered = {12}  # `exp += 1`: the comment lines above it are no statements
    assert [s.origin for s in find_seeds("m.py", NATURALSIZE, uncovered, "m").seeds] == [
        "docstring"
    ]
    found = find_seeds("m.py", NATURALSIZE, uncovered, "m", None, {9, 10, 11, 12}).seeds
    assert "naturalsize(value=999999)" in [s.call_source for s in found]


def test_a_name_the_test_imports_from_where_the_module_does_is_the_modules() -> None:
    module = (
        "from typing import Optional, Union\n\n\n"
        "def extract(hint):\n    return [a for a in hint.__args__ if a is not type(None)]\n"
    )
    test = (
        "from typing import List, Optional\nfrom other import Union\n"
        "from pkg.m import extract\n\n\n"
        "def test_extract():\n"
        "    assert extract(Optional[int]) == [int]\n"
        "    assert extract(Union[int, str])\n"
        "    assert extract(List[int])\n"
    )
    plan = find_seeds("pkg/m.py", module, {5}, "pkg.m", {"tests/test_m.py": test})
    # Optional is typing's in both; Union comes from elsewhere in the test; List the module lacks
    assert [s.call_source for s in plan.seeds] == ["extract(Optional[int])"]
