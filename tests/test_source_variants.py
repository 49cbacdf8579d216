"""A Python-source argument spelled the other ways Python allows (pure): each rewrite parses,
the kinds the change's tokens name come first, and a call's source argument is the one
rewritten."""

from __future__ import annotations

import ast

from jobs.testgen.engines import source_variants


def test_a_comment_goes_at_each_line_end_and_inside_brackets() -> None:
    found = source_variants.rewrites("try: ...\nexcept (A, A): ...\n", ("comment", "break"))
    assert "try: ...\nexcept (A, A): ...  # comment\n" in found
    assert "try: ...\nexcept (A, A  # comment\n): ...\n" in found
    assert "try: ...\nexcept (A,  # comment\n     A): ...\n" in found


def test_a_string_is_split_into_adjacent_literals() -> None:
    found = source_variants.rewrites('x: "int | str"\n', ("concat",))
    assert found == ['x: "int " "| str"\n', 'x: (\n    "int "\n    "| str"\n)\n']


def test_an_escape_is_never_cut() -> None:
    for text in source_variants.rewrites("x = '\\\\n'\n", ("concat",)):
        assert ast.literal_eval(text.split("=", 1)[1].strip()) == "\\n"


def test_brackets_are_dropped_and_trailing_commas_added_or_dropped() -> None:
    found = source_variants.rewrites("match x:\n    case [1, 2]:\n        pass\n")
    assert "match x:\n    case 1, 2:\n        pass\n" in found
    assert "match x:\n    case [1, 2,]:\n        pass\n" in found
    assert "x = (\n    1\n)\n" in source_variants.rewrites("x = (\n    1,\n)\n", ("trailing",))


def test_an_imported_name_is_aliased_to_itself() -> None:
    found = source_variants.rewrites("from m import a, b\n", ("alias",))
    assert found == ["from m import a as a, b\n", "from m import a, b as b\n"]


def test_every_rewrite_parses_and_differs() -> None:
    source = "def f(a, b=(1, 2)):\n    return [a, 'x y', {b: 1}]  # done\n"
    found = source_variants.rewrites(source)
    assert found and source not in found
    for text in found:
        ast.parse(text)


def test_the_kinds_the_change_names_come_first() -> None:
    assert source_variants.aimed_kinds(["COMMENT"])[:2] == ("comment", "break")
    assert source_variants.aimed_kinds(["STRING"])[0] == "concat"
    assert source_variants.aimed_kinds(["[", "("])[0] == "unbracket"
    assert set(source_variants.aimed_kinds([])) == set(source_variants.KINDS)


def test_only_a_source_argument_of_the_call_is_rewritten() -> None:
    calls = source_variants.variants("fix('x = (1, 2)\\n', name='plain', n=3)", ["COMMENT"])
    assert calls[0] == "fix('x = (1, 2)  # comment\\n', name='plain', n=3)"
    assert all("name='plain'" in call for call in calls)
    assert source_variants.variants("fix('word')") == []
    assert source_variants.variants("fix(x)") == []
    assert not source_variants.is_source("not python (")
