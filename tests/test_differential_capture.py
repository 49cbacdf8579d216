"""The calls the project's tests make, as the differential engine gets them: a call that
mentions what the change touched is written down even after the usual cap is full, and a
function the tests hand in (``parse_float=float``) is written by its name, then replaced by
callbacks that return the data types the change checks for. A tiny real project with a real
git history, its tests run under pytest in the local sandbox."""

from __future__ import annotations

from pathlib import Path

from tests.differential_support import assert_pins, differential_on_change

VERSIONS = """class Version:
    def __init__(self, text):
        self.text = text

    @property
    def local(self):
        return self.text.partition("+")[2] or None

    @property
    def public(self):
        return self.text.partition("+")[0]

    def __repr__(self):
        return f"Version({self.text!r})"

    def __eq__(self, other):
        return isinstance(other, Version) and other.text == self.text


def _newer(version, spec):
    if version.local is not None and version.public.split(".dev")[0] == spec.split(".dev")[0]:
        return False
    return True


def newer(text, spec):
    return _newer(Version(text), spec)
"""
VERSIONS_HEAD = VERSIONS.replace(
    'version.public.split(".dev")[0] == spec.split(".dev")[0]', "version.public == spec"
)
# Fifty rows that behave the same on both commits come first, as in a long parametrized list;
# the one row where the change shows (a local version) is the last. The test asserts nothing
# the change alters, so it passes on both.
VERSIONS_TESTS = """import pytest

from pkg.versions import newer

ROWS = [(f"{n}.0", "1.0") for n in range(1, 51)] + [("1.0+local", "1.0.dev1")]


@pytest.mark.parametrize(("text", "spec"), ROWS)
def test_newer(text, spec):
    assert newer(text, spec) in (True, False)
"""

PARSER = """def parse(text, parse_float=float):
    return {key: parse_float(value) for key, value in _pairs(text)}


def _pairs(text):
    return [item.split("=", 1) for item in text.split(",") if item]
"""
PARSER_HEAD = (
    PARSER.replace(
        "    return {key: parse_float(value)",
        "    parse_float = _safe(parse_float)\n    return {key: parse_float(value)",
    )
    + """

def _safe(parse_float):
    def safe(text):
        value = parse_float(text)
        if isinstance(value, (dict, list)):
            raise ValueError("parse_float must not return dicts or lists")
        return value

    return safe
"""
)
PARSER_TESTS = """from pkg import parser


def test_parse():
    text = "a=1.5,b=2"
    assert parser.parse(text) == {"a": 1.5, "b": 2.0}
"""


async def test_a_late_call_that_mentions_the_changes_attribute_is_captured_and_pins(
    tmp_path: Path,
) -> None:
    """`version.local` is on the changed line: the fifty-first call, the only one whose
    argument mentions `local`, is written down although the first fifty fill the usual cap."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/versions.py", VERSIONS, VERSIONS_HEAD, VERSIONS_TESTS
    )
    assert outcome.written == ["tests/test_pkg_versions_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "Version('1.0+local')" in text or "'1.0+local'" in text, text
    assert "is_true_now" in text, text


async def test_a_function_handed_in_is_replaced_by_callbacks_returning_the_checked_types(
    tmp_path: Path,
) -> None:
    """`parse_float=float` is written by its name; a callback returning `{}` (a type the new
    `isinstance` names) is where head raises and base did not."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/parser.py", PARSER, PARSER_HEAD, PARSER_TESTS
    )
    assert outcome.written == ["tests/test_pkg_parser_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "lambda *args, **kwargs:" in text, text
    assert "pytest.raises(ValueError" in text, text


FIELDS = """class _Field:
    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner):
        return self._check(instance._raw[self.name])

    def _check(self, value):
        if value != "UTF-8":
            raise ValueError(f"only UTF-8, not {value!r}")
        return value


class Meta:
    charset = _Field()

    def __init__(self, raw):
        self._raw = raw

    @classmethod
    def from_raw(cls, raw):
        return cls(dict(raw))
"""
FIELDS_HEAD = FIELDS.replace('if value != "UTF-8":', 'if value.lower() != "utf-8":')
# The changed method is reached only through a descriptor whose receiver (and the object it
# reads) has no repr that rebuilds it: neither its own call nor an outer call of its file can
# be written down; the test's expression can.
FIELDS_TESTS = """from pkg import fields


def test_charset():
    meta = fields.Meta.from_raw({"charset": "UTF-8"})
    assert meta.charset == "UTF-8"
"""


async def test_a_method_reached_through_a_descriptor_is_replayed_from_the_tests_expression(
    tmp_path: Path,
) -> None:
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/fields.py", FIELDS, FIELDS_HEAD, FIELDS_TESTS
    )
    assert outcome.written == ["tests/test_pkg_fields_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    # The test's `meta` is inlined, its import of the module dropped; a neighbour of its
    # string is where base and head part.
    assert "Meta.from_raw({'charset': 'utf-8'}).charset == 'utf-8'" in text, text


DOCS = """def loads(text, *, parse_float=float):
    return {key: _value(raw, parse_float) for key, raw in _pairs(text)}


def _value(raw, parse_float):
    if raw.isdigit():
        return int(raw)
    if "." in raw:
        return parse_float(raw)
    return raw


def _pairs(text):
    return [item.split("=", 1) for item in text.split(",") if item]
"""
DOCS_HEAD = (
    DOCS.replace(
        "    return {key: _value(raw, parse_float)",
        "    parse_float = _safe(parse_float)\n    return {key: _value(raw, parse_float)",
    )
    + """

def _safe(parse_float):
    if parse_float is float:  # float never returns a dict or a list
        return float

    def safe(text):
        value = parse_float(text)
        if isinstance(value, (dict, list)):
            raise ValueError("parse_float must not return dicts or lists")
        return value

    return safe
"""
)
# Every call runs the same changed lines (`parse_float=float` takes the shortcut); only the last
# of fifty-one documents has a float in it, so only its neighbour with a callback that returns
# `{}` tells base and head apart. It comes after the usual cap of forty calls.
DOCS_TESTS = """import pytest

from pkg.docs import loads

DOCS = [f"k{n}={n},name=v{n}" for n in range(50)] + ["x=1.5"]


@pytest.mark.parametrize("doc", DOCS)
def test_loads(doc):
    assert isinstance(loads(doc), dict)
"""


async def test_a_late_call_that_runs_new_lines_of_the_file_is_captured_and_pins(
    tmp_path: Path,
) -> None:
    """The document with a float is the only call that runs `return parse_float(raw)`: a call
    that runs a line no call written down before ran is written down beyond the cap, and its
    neighbours (the callback returning `{}`, the type the new `isinstance` checks, first) are
    tried before those of the forty alike calls."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/docs.py", DOCS, DOCS_HEAD, DOCS_TESTS
    )
    assert outcome.written == ["tests/test_pkg_docs_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "'x=1.5'" in text, text
    assert "lambda *args, **kwargs: {}" in text or "lambda *args, **kwargs: []" in text, text
