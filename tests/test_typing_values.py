"""Neighbours of a type hint passed as a value (:mod:`jobs.testgen.engines.typing_values`,
pure), and that they tell apart versions of code that takes hints apart."""

from __future__ import annotations

import typing
from typing import Any, get_args

from jobs.testgen.engines import typing_values

FROM_TYPING = "from typing import List, Optional, Union\n"


def test_the_typing_names_are_spelled_as_the_module_binds_them() -> None:
    assert typing_values.typing_names(FROM_TYPING) == {
        "List": "List",
        "Optional": "Optional",
        "Union": "Union",
    }
    spelled = typing_values.typing_names("import typing as t\n")
    assert spelled["Optional"] == "t.Optional"
    assert typing_values.typing_names("import os\n") == {}


def test_an_optional_gets_more_than_one_type_and_a_union_becomes_optional() -> None:
    assert typing_values.variants("extract(Optional[int])", FROM_TYPING) == [
        "extract(Optional[Union[int, str]])"
    ]
    assert typing_values.variants("extract(hint=Union[int, str])", FROM_TYPING) == [
        "extract(hint=Union[int, str, None])"
    ]


def test_typing_aliases_and_builtin_generics_swap() -> None:
    assert typing_values.variants("f(List[str], {})", FROM_TYPING)[0] == "f(list[str], {})"
    assert typing_values.variants("f(list[str])", FROM_TYPING)[0] == "f(List[str])"
    # a name the module does not bind is never written
    assert "Dict" not in " ".join(typing_values.variants("f(dict[str, int])", FROM_TYPING))


def test_a_plain_class_becomes_a_hint_and_other_values_are_left_alone() -> None:
    assert typing_values.variants("f(int)", FROM_TYPING) == ["f(Optional[int])", "f(List[int])"]
    assert typing_values.variants("f(3, 'a', x[0])", FROM_TYPING) == []
    assert typing_values.variants("f(Optional[int])", "x = 1\n") == []


def test_the_neighbour_tells_apart_dacites_extract_optional_versions() -> None:
    # dacite 1.7's extract_optional before and after it kept every member of an optional union.
    def base(hint: Any) -> Any:
        return next(t for t in get_args(hint) if t is not type(None))

    def head(hint: Any) -> Any:
        members = tuple(t for t in get_args(hint) if t is not type(None))
        return typing.Union[members]  # noqa: UP007  (the hint object dacite builds)

    scope = {"Optional": typing.Optional, "Union": typing.Union}
    (call,) = typing_values.variants("f(Optional[int])", FROM_TYPING)
    assert eval(call, {**scope, "f": base}) != eval(call, {**scope, "f": head})
    assert eval("f(Optional[int])", {**scope, "f": base}) == eval(
        "f(Optional[int])", {**scope, "f": head}
    )


def test_a_function_that_takes_a_type_is_called_from_its_annotations() -> None:
    from jobs.testgen.engines.callables import describe_callables

    source = (
        "from typing import Dict, Optional, Type, TypeVar, Union\n\n\n"
        "def concretize(hint: Union[Type, TypeVar, str], generics: Dict[TypeVar, Type], "
        "data_class: Type, depth=0):\n    return hint\n\n\n"
        "def plain(n: int) -> int:\n    return n\n\n\n"
        "def unknown(hint: Type, thing: Widget) -> None:\n    pass\n"
    )
    names = typing_values.typing_names(source)
    concretize, plain, unknown = describe_callables(source)
    calls = typing_values.annotated_calls(concretize, names)
    assert "concretize(list[int], {}, list[int])" in calls  # the builtin generic
    assert "concretize(Optional[Union[int, str]], {}, Optional[Union[int, str]])" in calls
    assert len(calls) <= typing_values.MAX_PER_CALL
    # no parameter takes a type; a parameter whose annotation shows no value
    assert typing_values.annotated_calls(plain, names) == []
    assert typing_values.annotated_calls(unknown, names) == []
