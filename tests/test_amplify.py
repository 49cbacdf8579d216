"""Test amplification (jobs/testgen/engines/amplify*): the variants of a project test, its
assertions turned into observations, the head's observations written back as a test, and one
real run on a small two-commit project whose change shows only for an input no test gives."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

from jobs.sandbox import LocalSandbox
from jobs.testgen.engines import (
    amplify,
    amplify_files,
    amplify_probe,
    amplify_variants,
    python_modules,
)
from jobs.testgen.engines.amplify_probe import Observed, Unwritable
from jobs.testgen.engines.engine_protocol import Workspace
from jobs.testgen.engines.seeds import SeedPlan
from tests.differential_support import assert_pins
from tests.test_pinning import two_commits


def function(source: str) -> ast.FunctionDef:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def unparsed(variants: list[amplify_variants.Variant]) -> list[str]:
    return [ast.unparse(v.function) for v in variants]


OL = """def test_ol():
    assert md('<ol><li>a</li><li>b</li></ol>') == '1. a\\n2. b'
"""


def test_a_string_gets_a_character_at_a_seam_and_the_expected_side_is_never_varied() -> None:
    found = amplify_variants.variants(function(OL), {}, (), cap=40)
    assert found[0].what == ""  # the body as it is comes first
    texts = unparsed(found)
    assert any("md('<ol><li>a</li>x<li>b</li></ol>')" in t for t in texts)
    assert all("== '1. a\\n2. b'" in t for t in texts)


def test_the_changes_own_tokens_come_first() -> None:
    found = amplify_variants.variants(function(OL), {}, ("%",), cap=40)
    assert found[1].what == "'<ol><li>a</li><li>b</li></ol>' -> '<ol><li>a</li><li>b</li></ol>%'"


def test_numbers_displays_and_module_constants_are_varied() -> None:
    module = ast.parse(
        "LIMIT = 11\n\n"
        "def test_it():\n"
        "    configure(names=['a', 'b'], flag=True)\n"
        "    assert size(LIMIT) == 'big'\n"
    )
    test = amplify_variants.test_functions(module)[amplify_variants.TestFunction(None, "test_it")]
    found = amplify_variants.variants(test, amplify_variants.module_constants(module), (), 80)
    whats = {v.what for v in found}
    assert {"['a', 'b'] -> ['b']", "['a', 'b'] -> ['a', 'a', 'b']", "True -> False"} <= whats
    assert "LIMIT: 11 -> 10" in whats
    bound = next(v for v in found if v.what == "LIMIT: 11 -> 10")
    assert ast.unparse(bound.function.body[0]) == "LIMIT = 10"  # bound in the body first


def test_a_variant_is_named_after_how_its_input_changed() -> None:
    def named(before: object, after: object) -> str:
        return amplify_variants.slugify(
            amplify_variants.edit(ast.Constant(before), ast.Constant(after))
        )

    assert named("<ol><li>a</li><li>b</li></ol>", "<ol><li>a</li>x<li>b</li></ol>") == "with_x"
    assert named("a.b", "ab") == "without_full_stop"
    assert (named(11, 10), named(3, -3), named("abc", "")) == ("10", "minus_3", "empty")


def test_python_source_gets_a_statement_doubled_not_its_case_changed() -> None:
    source = "while True:\n    pass\n"
    found = amplify_variants.string_values(source, ())
    assert found[0] == "while True:\n    pass\nwhile True:\n    pass\n"
    assert "WHILE TRUE:\n    PASS\n" not in found


def test_assertions_become_observations_of_what_they_looked_at() -> None:
    probed = amplify_probe.probe(
        function(
            "def test_it(self):\n"
            "    value = parse('1')\n"
            "    assert value == 1\n"
            "    self.assertEqual(parse('2'), 2)\n"
            "    self.assertRaises(ValueError, parse, 'x')\n"
            "    with pytest.raises(ValueError):\n"
            "        parse('y')\n"
        ),
        "v",
    )
    text = ast.unparse(probed)
    assert "value = _tandem_observe('v', 1, lambda: parse('1'))" in text
    assert "_tandem_observe('v', 2, lambda: value)" in text
    assert "_tandem_observe('v', 3, lambda: parse('2'))" in text
    assert "_tandem_observe('v', 4, lambda: parse('x'))" in text
    assert "except Exception as _tandem_e:\n        _tandem_note('v', 5, 'raised'" in text
    assert "_tandem_state('v', 6, lambda: value)" in text  # the names the test holds
    assert text.endswith("_tandem_note('v', -1, 'end', {})")


def value(text: str, literal: bool = True) -> Observed:
    return Observed("value", {"repr": text, "canon": text, "literal": literal})


END = {-1: [Observed("end", {})]}


def test_the_head_observations_that_differ_are_asserted_the_others_run() -> None:
    test = function(
        "def test_size():\n"
        "    configure(3)\n"
        "    assert size(10) == 'small'\n"
        "    assert size(3) == 'small'\n"
    )
    head = {1: [value("None")], 2: [value("'big'")], 3: [value("'small'")], **END}
    written = amplify_probe.written(test, "test_size_10", head, {2})
    assert ast.unparse(written) == (
        "def test_size_10():\n    configure(3)\n    assert size(10) == 'big'"
    )


def test_an_exception_is_asserted_with_its_message_and_a_failed_assertion_is_not() -> None:
    test = function("def test_it():\n    check(parse('x'))\n    assert parse('y') == 1\n")
    raised = Observed(
        "raised", {"type": "pkg.Bad", "spelled": "pkg.Bad", "message": "bad input 'y'"}
    )
    failed = Observed(
        "raised", {"type": "builtins.AssertionError", "spelled": "AssertionError", "message": ""}
    )
    written = amplify_probe.written(test, "t", {1: [failed], 2: [raised], **END}, {2})
    assert ast.unparse(written) == (
        "def t():\n    with pytest.raises(pkg.Bad, match=\"bad input 'y'\"):\n        parse('y')"
    )
    try:
        amplify_probe.written(test, "t", {1: [failed], 2: [raised], **END}, {1})
    except Unwritable:
        pass
    else:
        raise AssertionError("a differing failed assertion was written")


def test_a_state_is_asserted_at_the_attributes_that_differ() -> None:
    test = function("def test_scan(v):\n    v.scan('x')\n")
    head = Observed(
        "state",
        {
            "found": {"repr": "['x']", "canon": "['x']", "literal": True},
            "code": {"repr": "'x'", "canon": "'x'", "literal": True},
        },
    )
    base = Observed("state", {"found": {"canon": "[]"}, "code": {"canon": "'x'"}})
    written = amplify_probe.written(
        test, "t", {1: [value("None")], 2: [head], **END}, {2}, {2: [base]}
    )
    assert ast.unparse(written) == "def t(v):\n    v.scan('x')\n    assert v.found == ['x']"


def test_what_the_head_observes_differently_on_two_runs_is_no_difference() -> None:
    head = {"t": {1: [value("1.5")], 2: [value("'a'")], **END}}
    again = {"t": {1: [value("2.5")], 2: [value("'a'")], **END}}
    base = {"t": {1: [value("0.5")], 2: [value("'a'")], **END}}
    assert amplify_files.difference("v", head, base) is not None
    assert amplify_files.difference("v", head, base, again) is None
    base["t"][2] = [value("'b'")]
    found = amplify_files.difference("v", head, base, again)
    assert found is not None and found.points == {2}


def test_observations_are_read_bounded_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "observed.jsonl"
    good = {"v": "v1", "p": 1, "t": "t", "k": "value", "r": {"repr": "1"}}
    lines = [good, {"v": "v1", "p": "1", "t": "t", "k": "value", "r": {}}, [1], "{"]
    path.write_text("\n".join(json.dumps(x) if x != "{" else x for x in lines))
    found = amplify_files.read_observations(path)
    assert list(found) == ["v1"] and list(found["v1"]["t"]) == [1]


def test_the_written_module_keeps_the_originals_helpers_not_its_tests() -> None:
    module = ast.parse(
        '"""Doc."""\nfrom __future__ import annotations\nimport pkg\nUNUSED = [1]\nUSED = 2\n\n'
        "def helper():\n    return USED\n\n"
        "def test_old():\n    assert helper() == 2\n\n"
        "class TestX:\n    def setup_method(self):\n        pass\n\n"
        "    def test_a(self):\n        pass\n\n"
        "class TestY:\n    def test_c(self):\n        pass\n"
    )
    new = function("def test_new():\n    assert helper() == 2\n")
    method = function("def test_b(self):\n    pass\n")
    text = amplify_files.module_text(module, [(None, new), ("TestX", method)], header="H")
    assert text.startswith('"""H"""\n\nfrom __future__ import annotations\nimport pytest\n')
    assert "def test_old" not in text and "def test_a" not in text and "UNUSED" not in text
    assert "USED = 2" in text and "def setup_method(self)" in text and "def test_b(self)" in text
    assert "TestY" not in text  # a class of tests none of which was amplified


def test_the_tests_that_ran_the_most_changed_lines_are_chosen_first_then_the_smallest(
    tmp_path: Path,
) -> None:
    record = tmp_path / ".tandem-work" / "baseline.per-test.json"
    record.parent.mkdir()
    ran = {"passed": True, "lines": {"pkg/a.py": [3]}}
    record.write_text(
        json.dumps(
            {
                "tests": {
                    "tests/test_a.py::test_long": ran,
                    "tests/test_a.py::test_branch": {"passed": True, "lines": {"pkg/a.py": [3, 4]}},
                    "tests/test_a.py::TestA::test_short[1]": ran,
                    "tests/test_a.py::test_other": {"passed": True, "lines": {"pkg/a.py": [9]}},
                    "tests/test_a.py::test_failed": {**ran, "passed": False},
                }
            }
        )
    )
    tests = {
        "tests/test_a.py": "def test_long():\n    x = 1\n    assert f(x, 2, 3) == 1\n\n"
        "def test_other():\n    assert f(1) == 1\n\n"
        "def test_branch():\n    x = 1\n    y = 2\n    assert f(x, y, 3, 4) == 1\n\n"
        "def test_failed():\n    assert f(1) == 1\n\n"
        "class TestA:\n    def test_short(self):\n        assert f(1)\n"
    }
    chosen = amplify.chosen_tests(tmp_path, {"pkg/a.py": {3, 4}}, tests)
    labels = [t.label for t in chosen["tests/test_a.py"]]
    assert labels == ["test_branch", "TestA.test_short", "test_long"]


SIZES = "def bucket(n):\n    if n > 10:\n        return 'big'\n    return 'small'\n"
CONFTEST = "import pytest\n\n\n@pytest.fixture\ndef unit():\n    return 1\n"
# The one test: its inputs are far from the boundary; a fixture of its conftest and a helper
# of its module take part.
TESTS = """from pkg.sizes import bucket

LIMIT = 11


def scaled(n, unit):
    return n * unit


def test_bucket(unit):
    assert bucket(scaled(LIMIT, unit)) == 'big'
    assert bucket(3) == 'small'
"""


async def test_an_amplified_test_pins_a_change_no_existing_input_shows(tmp_path: Path) -> None:
    head = SIZES.replace("n > 10", "n >= 10")
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/sizes.py": SIZES,
            "tests/conftest.py": CONFTEST,
            "tests/test_sizes.py": TESTS,
        },
        {"pkg/sizes.py": head},
    )
    steps: list[str] = []
    workspace = Workspace(
        LocalSandbox(),
        repo,
        "tests",
        time.monotonic() + 120,
        steps.append,
        python_modules.test_sources(repo),
        SeedPlan(),
        base_sha,
        {"pkg/sizes.py": {2}},
    )
    outcome = await amplify.Amplify().generate(workspace, [])
    assert outcome.written == ["tests/test_sizes_amplified.py"], outcome.notes
    assert any("amplified 1 test(s) of `tests/test_sizes.py`" in n for n in outcome.notes)
    text = await assert_pins(repo, base_sha, outcome.written)
    # LIMIT 11 -> 10 reaches the boundary; what the head returns there is asserted, and the
    # assertion base and head agree on is left out.
    assert "def test_bucket_limit_10(unit):\n    LIMIT = 10\n" in text
    assert "assert bucket(scaled(LIMIT, unit)) == 'big'" in text
    assert "bucket(3)" not in text
    assert not (repo / "tests/test_test_sizes_tandem_probe.py").exists()  # the probe is gone
