"""Tidying generated test files (pure): split/join, review, naming, ``pytest.raises``."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.languages.python.tidy import (
    Raised,
    TidyError,
    case_lines,
    join_tests,
    raised_from_junit,
    raises_match,
    raises_problem,
    split_tests,
    to_raises,
)
from jobs.languages.python.tidy_names import name_tests, snake
from jobs.languages.python.tidy_review import review

FIXTURES = Path(__file__).parent / "fixtures" / "pynguin"
PYNGUIN_CALC = (FIXTURES / "test_calc.py.txt").read_text()
PYNGUIN_UTIL = (FIXTURES / "test_util.py.txt").read_text()


def tidy_all(source: str) -> tuple[str, dict[str, str]]:
    prelude, cases = split_tests(source, "tests/t.py")
    kept, dropped = [], {}
    for case in cases:
        reviewed = review(case, prelude)
        if reviewed.case is None:
            dropped[case.name] = reviewed.reason
        else:
            kept.append(reviewed.case)
    return join_tests(prelude, name_tests(kept, prelude)), dropped


def test_pynguin_output_is_split_cleaned_and_joined() -> None:
    prelude, cases = split_tests(PYNGUIN_CALC, "tests/t.py")
    assert [c.name for c in cases] == [f"test_{i}" for i in range(7)]
    # test_3, 5 and 6 end in Pynguin's own `with pytest.raises(E):`: unwrapped, so that the
    # measured run names the message that to_raises then pins.
    assert all(c.expects_exception for c in cases)
    assert not any("pytest.raises" in c.source for c in cases)
    assert "import pkg.calc as calc_" in prelude.source  # the sys.modules alias, rewritten
    text, dropped = tidy_all(PYNGUIN_CALC)
    assert not dropped
    ast.parse(text)
    assert "calc_.LIMIT" not in text and "calc_.NAMES" not in text
    assert "assert var_0 == -3330" not in text
    assert "\n    tuple\n" not in text
    assert "import sys" not in text and "import pkg.calc\n" not in text
    # Exception tests are named once the measured run has said what they raise (and they are
    # pytest.raises again by then): tests/test_per_test.py.
    assert "    var_6.bump(by=-1449)\n" in text and "with pytest.raises" not in text


def test_reprs_and_callables_as_arguments_are_rejected() -> None:
    text, dropped = tidy_all(PYNGUIN_UTIL)
    assert dropped == {"test_2": "passes `var_37` (a function, class or module) as argument"}
    assert "import re" not in text  # only the dropped constant assertion used it
    source = (
        "import pkg.m as m_\n\n\n"
        "def test_0():\n    assert m_.f(x=len) == 1\n\n\n"
        "def test_1():\n    v = m_.f(x=m_)\n\n\n"
        "def test_2():\n    v = m_.f(x=1)\n"
        "    assert v == '<pkg.m.Thing object at 0x7f3a2b1c>'\n\n\n"
        "def test_3():\n    v = m_.f(x=1)\n    assert v == '<function g at 0x10>'\n\n\n"
        "def test_4():\n    v = m_.f(x=m_.helper)\n\n\n"
        "def test_5():\n    v = m_.f(x=m_.LIMIT)\n    assert isinstance(v, m_.Thing)\n\n\n"
        "def test_6():\n    v = m_.f(x=str.lower)\n"
    )
    _, dropped = tidy_all(source)
    assert sorted(dropped) == ["test_0", "test_1", "test_2", "test_3", "test_4", "test_6"]
    assert "repr" in dropped["test_2"]


def test_names_are_deterministic_unique_and_only_for_generic_names() -> None:
    source = (
        "import pytest\nfrom pkg import m\n\n\n"
        "def test_0():\n    v = m.size('')\n    assert v == 0\n\n\n"
        "def test_1():\n    v = m.size('ab')\n    assert v == 0\n\n\n"
        "def test_size_of_words():\n    assert m.size('a b') == 2\n\n\n"
        "def test_2():\n    with pytest.raises(m.BadInput, match='none'):\n"
        "        m.size(None)\n\n\n"
        "def test_3():\n    m.reset()\n\n\n"
        "def test_4():\n    m.size('')\n\n\n"
        "def test_5():\n    v = m.size(-3)\n    assert v is None\n\n\n"
        "def test_size_returns_zero():\n    assert True\n"
    )
    prelude, cases = split_tests(source)
    names = [c.name for c in name_tests(cases, prelude)]
    assert names == [
        "test_size_returns_zero_2",
        "test_size_returns_zero_3",
        "test_size_of_words",
        "test_size_raises_bad_input",
        "test_reset_no_arguments",
        "test_size_empty_string",
        "test_size_returns_none",
        "test_size_returns_zero",
    ]
    assert names == [c.name for c in name_tests(split_tests(source)[1], prelude)]
    assert snake("JSONDecodeError") == "json_decode_error"


def test_to_raises_from_a_runxfail_junit_report() -> None:
    prelude, cases = split_tests(PYNGUIN_CALC, "tests/t.py")
    reviewed = [review(c, prelude).case for c in cases]
    joined = join_tests(prelude, [c for c in reviewed if c])
    starts = case_lines(joined)
    line = starts["test_4"] + len(reviewed[4].source.splitlines()) - 1  # type: ignore[union-attr]
    junit = (
        '<testsuites><testsuite><testcase classname="tests.t" name="test_4">'
        '<failure message="ValueError: invalid literal">'
        f"&gt;       calc_.parse_ratio(text='1K/aW38U{{')\n\ntests/t.py:{line}: \n"
        "&gt;       return int(left) / int(right)\nE       ValueError: x\n\n"
        "pkg/calc.py:25: ValueError"
        '</failure></testcase><testcase classname="tests.other" name="test_4">'
        '<failure message="KeyError: 1">x</failure></testcase></testsuite></testsuites>'
    )
    raised = raised_from_junit(junit, "tests/t.py")
    assert raised == {"test_4": Raised("ValueError", line, False, "invalid literal")}
    case = reviewed[4]
    assert case is not None
    assert raises_problem(case, raised["test_4"], starts["test_4"]) is None
    assert raises_problem(case, Raised("ValueError", starts["test_4"] + 1, False), starts["test_4"])
    assert "wrong-type" in (
        raises_problem(case, Raised("TypeError", line, False), starts["test_4"]) or ""
    )
    assert raises_problem(case, Raised("TypeError", line, True), starts["test_4"]) is None
    converted = to_raises(case, "ValueError")
    assert "xfail" not in converted.source
    assert "    with pytest.raises(ValueError):\n        calc_.parse_ratio(" in converted.source
    # The message is pinned too: a type alone passes on a base commit that raised it for
    # another reason.
    pinned = to_raises(case, "ValueError", "invalid literal for int() with base 10: 'K'")
    assert (
        '    with pytest.raises(ValueError, match="invalid literal for int\\\\(\\\\) with base '
        "10: 'K'\"):\n        calc_.parse_ratio("
    ) in pinned.source
    dotted = to_raises(case, "json.decoder.JSONDecodeError")
    assert dotted.imports == ("import pytest", "import json.decoder")
    text = join_tests(prelude, [dotted])
    assert "import json.decoder" in text and "pytest.raises(json.decoder.JSONDecodeError)" in text
    assert "raises(ValueError)" in to_raises(case, "builtins.ValueError").source
    with pytest.raises(TidyError):
        to_raises(case, "<locals>.Error")


@pytest.mark.parametrize(
    "source",
    ["def test_x(:\n", "\x00", "def test_a():\n\treturn 1\n        pass\n", "x = (" * 200],
)
def test_malformed_source_raises_tidy_error(source: str) -> None:
    with pytest.raises(TidyError):
        split_tests(source)


def test_huge_source_is_refused_and_large_one_splits() -> None:
    with pytest.raises(TidyError, match="too large"):
        split_tests("x = 1\n" * 400_000)
    big = "import m\n\n\n" + "".join(
        f"def test_{i}():\n    assert m.f({i}) == {i}\n\n\n" for i in range(2000)
    )
    prelude, cases = split_tests(big)
    assert len(cases) == 2000
    assert len(set(c.name for c in name_tests(cases, prelude))) == 2000


def test_decorators_classes_async_fixtures_and_docstring_survive() -> None:
    source = '''"""Doc."""

from __future__ import annotations

import os
import pytest
from pkg import mod, unused


@pytest.fixture
def thing():
    return mod.make()


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("X", "1")


@pytest.fixture
def never():
    return 1


def helper(x):
    return os.path.join(x, "y")


CONSTANT = 3
pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize("n", [1, 2])
def test_param(n, thing):
    # a comment kept: the test is unchanged
    assert mod.f(n, thing) == helper("a")


class TestGroup:
    def test_one(self):
        assert mod.g() == CONSTANT


async def test_async():
    assert await mod.h() == 1


@pytest.mark.usefixtures("never")
def test_uses():
    assert mod.k()
'''
    prelude, cases = split_tests(source)
    assert [c.name for c in cases] == ["test_param", "TestGroup", "test_async", "test_uses"]
    assert cases[1].is_class
    kept = [review(c, prelude).case for c in cases]
    assert all(kept)
    text = join_tests(prelude, [c for c in kept if c])
    tree = ast.parse(text)
    assert ast.get_docstring(tree) == "Doc."
    assert text.index("from __future__") < text.index("import os")
    for needed in ("def thing", "def env", "def never", "def helper", "CONSTANT = 3", "pytestmark"):
        assert needed in text
    assert "unused" not in text
    assert "# a comment kept" in text
    only_async = join_tests(prelude, [c for c in kept if c and c.name == "test_async"])
    assert "def helper" not in only_async and "def thing" not in only_async
    assert "def env" in only_async  # autouse
    assert "import os" not in only_async


def test_joined_output_is_ruff_formattable(tmp_path: Path) -> None:
    text, _ = tidy_all(PYNGUIN_CALC)
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this interpreter")
    file = tmp_path / "test_x.py"
    file.write_text(text)
    subprocess.run([str(ruff), "format", "-q", str(file)], check=True)
    again = file.read_text()
    subprocess.run([str(ruff), "format", "-q", str(file)], check=True)
    assert file.read_text() == again
    assert ast.dump(ast.parse(again)) == ast.dump(ast.parse(text))


@pytest.mark.parametrize(
    ("message", "argument"),
    [
        ("Expected str object, not 'bytes'", ", match=\"Expected str object, not 'bytes'\""),
        ("n must be at least one (got -1)", ", match=r'n must be at least one \\(got -1\\)'"),
        ("say \"(\" or '['", ", match='say \"\\\\(\" or \\'\\\\[\\''"),
        ("ends in a backslash \\", ", match='ends in a backslash \\\\\\\\'"),
        # Not pinned: empty, too long, not printable, or machine-specific.
        ("", ""),
        ("x" * 201, ""),
        ("two\nlines", ""),
        ("\x1b[31mred", ""),
        ("<object at 0x7f3a2c1d>", ""),
        ("No such file: '/tmp/pytest-of-x/t.txt'", ""),
        ("C:\\Users\\x", ""),
    ],
)
def test_raises_match_pins_a_stable_message(message: str, argument: str) -> None:
    assert raises_match(message) == argument
    if argument:  # the pattern is valid Python and finds the message
        pattern = ast.literal_eval(argument.removeprefix(", match="))
        assert re.search(pattern, message)
