"""The neighbours of the tests' inputs that the differential engine tries (pure)."""

from __future__ import annotations

from jobs.testgen.engines.input_variants import (
    MAX_PER_CALL,
    change_words,
    changed_line_numbers,
    dictionary,
    int_variants,
    returned_values,
    string_variants,
    trusts_len,
    variants,
)

BASE = 'def f(s):\n    user, host = s.split("@", 1)  # e.g. u@h\n    return host\n'
HEAD = 'def f(s):\n    user, host = s.rsplit("@", 1)  # e.g. "1.0a1+local"\n    return host\n'


def test_the_dictionary_is_the_changed_lines_strings_their_punctuation_and_comment_values() -> None:
    assert changed_line_numbers(BASE, HEAD) == ({2}, {2})
    assert dictionary(BASE, HEAD) == ("@", "1.0a1+local")
    # Unchanged lines say nothing.
    assert dictionary(BASE, BASE) == ()
    assert dictionary("x = 'a-b'\n", "x = 'a_b'\n") == ("-", "_", "a-b", "a_b")


def test_a_string_gets_the_changes_characters_doubled_dropped_and_added_case_and_numbers() -> None:
    found = string_variants("user@host1", ("@",))
    assert found[:5] == ["user@@host1", "r@@h", "userhost1", "user@host1@", "@user@host1"]
    assert {"USER@HOST1", "user@host2", "user@host0", ""} <= set(found)
    assert "user@host1" not in found
    # A longer token replaces the whole value.
    assert "utf-8" in string_variants("UTF-8", ("utf-8",))


def test_integers_move_by_one_and_to_zero() -> None:
    assert int_variants(10) == [11, 9, 0, -10]
    assert int_variants(0) == [1, -1]


def test_each_call_variant_changes_one_constant_round_robin() -> None:
    calls = variants("f('a@b', 3)", ("@",))
    assert calls[:2] == ["f('a@@b', 3)", "f('a@b', 4)"]
    assert all(c != "f('a@b', 3)" for c in calls)
    assert len(calls) <= MAX_PER_CALL
    assert variants("f(x)", ("@",)) == []  # nothing to vary
    assert variants("not python(", ("@",)) == []


def test_the_change_words_are_its_attributes_short_strings_and_comment_values() -> None:
    base = "def f(v, s):\n    return v.public == s.base\n"
    head = "def f(v, s):\n    return v.local is None and v.public == s  # 1.0+local\n"
    assert change_words(base, head) == ("public", "base", "local", "1.0+local")
    assert change_words(base, base) == ()


def test_a_function_handed_in_becomes_callbacks_returning_the_types_the_change_checks() -> None:
    base = "def g(x, parse):\n    return parse(x)\n"
    head = (
        "def g(x, parse):\n    v = parse(x)\n"
        "    if isinstance(v, (dict, list)) or v is None:\n        raise ValueError\n    return v\n"
    )
    assert returned_values(base, head) == ("{}", "[]", "None")
    calls = variants("g('1.5', parse=float)", (), ("{}", "[]"))
    assert "g('1.5', parse=lambda *args, **kwargs: {})" in calls
    assert "g('1.5', parse=lambda *args, **kwargs: [])" in calls
    assert "h(lambda *args, **kwargs: {})" in variants("h(str)", (), ("{}",))
    # A constant's name is data, not a function: it stays.
    assert variants("h(LIMIT)", (), ("{}",)) == []


def test_the_types_an_isinstance_checks_come_before_other_named_types() -> None:
    """A callback is replaced by one returning what the new guard checks for (`{}`, `[]`)
    before the `float` of a shortcut or the `str` of an annotation."""
    base = "def f(parse_float):\n    return parse_float\n"
    head = (
        "def f(parse_float):\n    if parse_float is float:\n        return float\n"
        "    def safe(text: str):\n        value = parse_float(text)\n"
        "        if isinstance(value, (dict, list)):\n            raise ValueError\n"
        "        return value\n    return safe\n"
    )
    assert returned_values(base, head)[:2] == ("{}", "[]")


def test_where_the_change_calls_len_each_sequence_argument_gets_a_lying_length() -> None:
    base = (
        "def tail(seq, n):\n    items = list(seq)\n    return items[len(items) - len(seq) % n :]\n"
    )
    head = base.replace(
        "    return", "    if len(items) != len(seq):\n        raise LookupError\n    return"
    )
    assert trusts_len(base, head)
    assert not trusts_len(base, base.replace("list(seq)", "[*seq]"))
    calls = variants("tail([1, 2, 3], 2)", (), wrong_len=True)
    # Each round starts with them, being aimed at the change: one more and one less.
    assert calls[0] == "tail(WrongLenList([1, 2, 3], 1), 2)"
    assert "tail(WrongLenList([1, 2, 3], -1), 2)" in calls[:8]
    assert "f(WrongLenList(range(5), 1))" in variants("f(range(5))", (), wrong_len=True)
    assert not any("WrongLenList" in c for c in variants("tail([1, 2, 3], 2)", ()))
