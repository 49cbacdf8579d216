"""Which callables a change touches, and their parameters' inferred types
(:mod:`jobs.testgen.engines.callables`): pure, on source text."""

from __future__ import annotations

import ast

import pytest

from jobs.testgen.engines.callables import (
    changed_callables,
    describe_callables,
    docstring_types,
    literal_type,
    normalize_type,
    union,
)

SOURCE = '''def top(a, b=2):
    """Add.

    >>> top(1.5)
    3.5
    """
    return a + b


class Box:
    def __init__(self, size=1):
        self.size = size

    def grow(self, by):
        def clamp(x):
            return max(x, 0)
        return self.size + clamp(by)

    @classmethod
    def make(cls, n):
        return cls(n)

    @staticmethod
    def check(v: int) -> bool:
        return v > 0

    @property
    def area(self):
        return self.size ** 2

    @area.setter
    def area(self, value):
        self.size = value


def factory():
    class Local:
        def run(self):
            return 1
    return Local


async def fetch(url="x"):
    return url
'''

TESTS = {
    "tests/test_box.py": (
        "from pkg.box import Box, top\n\n"
        "def test_box():\n"
        "    box = Box(3)\n"
        "    assert box.grow(2) == 5\n"
        "    assert Box.grow(box, -1) == 3\n"
        "    assert Box.make(4).size == 4\n"
        "    assert top('x', b='y') == 'xy'\n"
    )
}


def by_name(lines: range | set[int], **kwargs: object) -> dict[str, object]:
    return {c.qualname: c for c in changed_callables(SOURCE, lines, **kwargs)}  # type: ignore[arg-type]


def test_qualified_names_and_kinds_of_everything() -> None:
    kinds = {c.qualname: (c.kind, c.owner, c.enclosing) for c in describe_callables(SOURCE)}
    assert kinds == {
        "top": ("function", None, None),
        "Box.__init__": ("method", "Box", None),
        "Box.grow": ("method", "Box", None),
        "Box.grow.clamp": ("nested", None, "Box.grow"),
        "Box.make": ("classmethod", "Box", None),
        "Box.check": ("staticmethod", "Box", None),
        "Box.area": ("property", "Box", None),  # the first definition (the getter) wins
        "factory": ("function", None, None),
        "factory.Local.run": ("nested", None, "factory"),
        "fetch": ("function", None, None),
    }
    assert [c.qualname for c in describe_callables(SOURCE)] == sorted(kinds)
    assert next(c for c in describe_callables(SOURCE) if c.qualname == "fetch").is_async


def test_a_change_touches_the_innermost_callable_only() -> None:
    assert list(by_name({16})) == ["Box.grow.clamp"]  # inside the nested function
    assert list(by_name({17})) == ["Box.grow"]  # the method's own line
    assert list(by_name({19, 20})) == ["Box.make"]  # decorator and signature count
    assert list(by_name({39})) == ["factory.Local.run"]
    assert by_name({10}) == {}  # a class line is no callable's
    assert changed_callables("def broken(:\n", {1}) == []


def test_types_from_defaults_doctests_and_existing_tests() -> None:
    found = {c.qualname: c for c in describe_callables(SOURCE, test_sources=TESTS)}
    top = {p.name: (p.inferred, p.evidence) for p in found["top"].params}
    assert top == {"a": ("float | str", "doctest, tests"), "b": ("int | str", "default, tests")}
    grow = {p.name: p.inferred for p in found["Box.grow"].params}
    assert grow == {"self": None, "by": "int"}  # box.grow(2) and Box.grow(box, -1)
    assert [p.inferred for p in found["Box.__init__"].params] == [None, "int"]  # Box(3)
    assert [p.inferred for p in found["Box.make"].params] == [None, "int"]  # never cls
    check = found["Box.check"].params[0]
    assert (check.annotation, check.inferred) == ("int", None)  # annotations are kept as is


def test_seed_calls_are_evidence_too() -> None:
    found = changed_callables(SOURCE, {7}, seed_calls={"top": ["top(b'x', b=b'y')"]})
    assert [(p.name, p.inferred) for p in found[0].params] == [
        ("a", "bytes | float"),  # the doctest passes a float
        ("b", "bytes | int"),
    ]


def test_unknown_types_stay_unknown() -> None:
    source = "def f(a, b=None, *args, c=object(), **kw):\n    return a\n"
    params = changed_callables(source, {1})[0].params
    assert [(p.name, p.kind, p.has_default, p.inferred) for p in params] == [
        ("a", "positional", False, None),
        ("b", "positional", True, None),  # None alone says nothing
        ("args", "var_positional", False, None),
        ("c", "keyword_only", True, None),
        ("kw", "var_keyword", False, None),
    ]


def test_docstring_declarations_win_over_observed_values() -> None:
    source = '''def f(x, y, z=None, w=3):
    """Do.

    Args:
        x (int): the x.
        y (str or None, optional): the y.

    :type z: list of str
    """
'''
    params = changed_callables(source, {1})[0].params
    assert [(p.inferred, p.evidence) for p in params] == [
        ("int", "docstring"),
        ("str | None", "docstring"),
        ("list[str]", "docstring"),
        ("int", "default"),
    ]


@pytest.mark.parametrize(
    ("docstring", "expected"),
    [
        (":param int x: the x\n:param y: untyped\n", {"x": "int"}),
        (
            "Parameters\n----------\na : float\n    the a\nb : str, optional\n    the b\n\n"
            "Returns\n-------\nint\n    nothing : here\n",
            {"a": "float", "b": "str"},
        ),
        (
            "Args:\n    n (MyClass): custom\n    m (Dict[str, int]): mapping\n",
            {"m": "dict[str, int]"},
        ),
        ("Nothing declared here.\n", {}),
    ],
)
def test_docstring_styles(docstring: str, expected: dict[str, str]) -> None:
    assert docstring_types(docstring) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("str or None", "str | None"),
        ("Optional[int]", "int | None"),
        ("integer", "int"),
        ("list of ints", "list[int]"),
        ("tuple of str", "tuple[str, ...]"),
        ("Union[int, float]", "float | int"),
        ("bool, optional", "bool"),
        ("SomeClass", None),
        ("callable", None),
    ],
)
def test_normalize_type(text: str, expected: str | None) -> None:
    assert normalize_type(text) == expected


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("1", "int"),
        ("-1.5", "float"),
        ("'a'", "str"),
        ("None", "None"),
        ("[1, 2]", "list[int]"),
        ("[1, 'a']", "list[int | str]"),
        ("[]", "list"),
        ("(1, 2)", "tuple[int, ...]"),
        ("{'a': 1}", "dict[str, int]"),
        ("{1, 2}", "set[int]"),
        ("[[1]]", "list[list[int]]"),
        ("x", None),
        ("f(1)", None),
    ],
)
def test_literal_type(literal: str, expected: str | None) -> None:
    assert literal_type(ast.parse(literal, mode="eval").body) == expected


def test_union_rules() -> None:
    assert union(["int", "int", "None"]) == "int | None"
    assert union(["None"]) is None
    assert union(["int", None]) is None
    assert union(["int", "str", "bytes", "float"]) is None  # too many to mean anything
    assert union(["str", "int"]) == "int | str"  # sorted: the same input, the same type
