"""Test amplification on what the project's tests never try (jobs/testgen/engines/amplify*): an
exception class the change adds, which the test module does not import, is named by its
module's path; a mapping gets the key the change reads or dispatches on; where no test runs a
changed line, the tests nearest it are varied; and real runs on small two-commit projects."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from jobs.testgen.engines import (
    amplify_files,
    amplify_names,
    amplify_probe,
    amplify_record,
    amplify_variants,
    change_values,
)
from jobs.testgen.engines.amplify_probe import Observed
from jobs.testgen.engines.change_values import Aims
from tests.differential_support import assert_pins
from tests.test_amplify import function
from tests.test_amplify_rounds import amplified

NEW_ERROR = {
    "type": "pkg.depth.TooDeep",
    "spelled": "pkg.depth.TooDeep",
    "message": "negative: -3",
    "import": "pkg.depth",
}


def test_an_exception_the_module_does_not_import_is_named_by_its_modules_path() -> None:
    test = function("def test_nest():\n    assert nest(-3) == [3]\n")
    head = {1: [Observed("raised", NEW_ERROR)], -1: [Observed("end", {})]}
    written = amplify_probe.written(test, "test_nest_negative", head, {1})
    text = ast.unparse(written)
    assert "with pytest.raises(pkg.depth.TooDeep, match='negative: -3'):" in text
    assert amplify_files.imported_modules(written, head) == {"pkg.depth"}


def test_only_a_dotted_name_the_test_uses_is_imported() -> None:
    test = function("def test_nest():\n    nest(1)\n")
    odd = {**NEW_ERROR, "import": "os; import sys"}
    head = {1: [Observed("raised", odd), Observed("raised", {**NEW_ERROR, "import": "pkg.x"})]}
    written = function(
        "def test_nest():\n    with pytest.raises(pkg.depth.TooDeep):\n        f()\n"
    )
    assert amplify_files.imported_modules(written, head) == set()
    assert amplify_files.imported_modules(test, {}) == set()


DEPTH = """def nest(n):
    return [n]
"""
DEPTH_HEAD = """class TooDeep(ValueError):
    pass


def nest(n):
    if n < 0:
        raise TooDeep(f'negative: {n}')
    return [n]
"""
DEPTH_TESTS = """from pkg.depth import nest


def test_nest():
    assert nest(3) == [3]
"""


async def test_a_new_exception_class_the_test_does_not_import_still_pins(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/depth.py": DEPTH, "tests/test_depth.py": DEPTH_TESTS}
    outcome = await amplified(tmp_path, files, {"pkg/depth.py": DEPTH_HEAD})
    assert outcome.written == ["tests/test_depth_amplified.py"], outcome.notes
    text = await assert_pins(outcome.repo, outcome.base_sha, outcome.written)
    assert "import pkg.depth\n" in text
    assert "with pytest.raises(pkg.depth.TooDeep, match='negative: -3'):" in text


TABLE_BASE = """def _loud(text, option):
    if option:
        return text.upper()
    return text


HANDLERS = {'shout': _loud}


def render(text, settings):
    for key, option in settings.items():
        if key in HANDLERS:
            text = HANDLERS[key](text, option)
    return text
"""
TABLE_HEAD = TABLE_BASE.replace("    if option:", "    if option is not None:")
TABLE_TESTS = """from pkg.render import render


def test_render():
    assert render('hi', {'trim': True}) == 'hi'
"""


def test_the_keys_the_change_reads_and_its_handlers_keys_are_found() -> None:
    assert change_values.read_keys(TABLE_BASE, TABLE_HEAD) == ("shout",)
    base = "def f(d):\n    return 1\n"
    head = "def f(d):\n    return d['limit'] + d.get('step', 0) + ('mode' in d)\n"
    assert change_values.read_keys(base, head) == ("limit", "step", "mode")
    # A key the change does not read, or a table of untouched functions, gives nothing.
    assert change_values.read_keys(TABLE_BASE, TABLE_BASE + "\n# x\n") == ()


def test_a_mapping_of_names_gets_the_key_it_lacks_with_plain_values() -> None:
    found = amplify_variants.values_for(
        ast.parse("{'trim': True}", mode="eval").body, (), Aims(keys=("shout", "trim"))
    )
    texts = [ast.unparse(n) for n in found]
    assert texts[:3] == [
        "{'trim': True, 'shout': {}}",
        "{'trim': True, 'shout': False}",
        "{'trim': True, 'shout': True}",
    ]
    assert "{}" in texts  # the key it holds, dropped, as before
    numbered = ast.parse("{1: 'a'}", mode="eval").body
    assert ast.unparse(amplify_variants.values_for(numbered, (), Aims(keys=("shout",)))[0]) == "{}"


def test_where_no_test_ran_a_changed_line_the_nearest_tests_are_chosen(tmp_path: Path) -> None:
    record = {
        "tests": {
            "tests/test_a.py::test_far": {"passed": True, "lines": {"pkg/a.py": [1, 2]}},
            "tests/test_a.py::test_near[x]": {"passed": True, "lines": {"pkg/a.py": [38]}},
            "tests/test_b.py::test_none": {"passed": True, "lines": {"pkg/a.py": [400]}},
            "tests/test_b.py::test_failed": {"passed": False, "lines": {"pkg/a.py": [40]}},
        }
    }
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    near = amplify_record.tests_that_ran(path, {"pkg/a.py": {40, 41}})
    assert near == {"tests/test_a.py": {"test_far": 162, "test_near": 198}}
    # Where a test runs a changed line, only such tests count.
    ran = amplify_record.tests_that_ran(path, {"pkg/a.py": {2}})
    assert ran == {"tests/test_a.py": {"test_far": 1}}
    assert amplify_record.tests_that_ran(tmp_path / "none.json", {"pkg/a.py": {2}}) is None


async def test_a_key_its_handler_reads_that_no_test_gives_pins_the_handler(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/render.py": TABLE_BASE, "tests/test_r.py": TABLE_TESTS}
    outcome = await amplified(tmp_path, files, {"pkg/render.py": TABLE_HEAD})
    assert outcome.written == ["tests/test_r_amplified.py"], outcome.notes
    text = await assert_pins(outcome.repo, outcome.base_sha, outcome.written)
    assert "assert render('hi', {'trim': True, 'shout': {}}) == 'HI'" in text


def test_a_value_asserted_three_times_in_a_row_is_asserted_once() -> None:
    test = function("def test_it():\n    output = make({})\n    assert output == {}\n")
    value = Observed("value", {"repr": "{}", "canon": "{}", "literal": True})
    state = Observed("state", {"": {"repr": "{}", "canon": "{}", "literal": True}})
    head = {1: [value], 2: [value], 3: [state], -1: [Observed("end", {})]}
    base = {1: [Observed("raised", {"type": "builtins.SyntaxError", "message": "x"})]}
    written = amplify_probe.written(test, "test_it_with_key", head, {1, 2, 3, -1}, base)
    assert ast.unparse(written).count("assert output == {}") == 1
    dicts = (
        ast.parse("{'a': 1}", mode="eval").body,
        ast.parse("{'a': 1, 'mode': {}}", mode="eval").body,
    )
    assert amplify_names.edit(*dicts) == "with mode"
