"""A source-transforming library, as the differential engine sees it: the tests call one entry
point with source text, and the changed helper gets tokens, which no repr rebuilds. The entry
point's call (another module's) is written down in that module's names, its source argument
is spelled another way Python allows (a comment put in, where the change is about comments),
and the call whose output differs becomes a test that imports the entry point. A tiny real
project with a real git history, run in the local sandbox."""

from __future__ import annotations

from pathlib import Path

from jobs.testgen.engines import call_capture, differential_inputs
from jobs.testgen.engines.input_variants import changed_line_numbers
from jobs.testgen.engines.seeds import Seed
from tests.differential_support import assert_pins, capture_records, run_differential
from tests.test_pinning import two_commits

MAIN = """import io
import tokenize

from pkg._words import count_words


def fix(src):
    tokens = list(tokenize.generate_tokens(io.StringIO(src).readline))
    return count_words(tokens)
"""
WORDS = """import tokenize


def count_words(tokens):
    return sum(1 for t in tokens if tokenize.tok_name[t.type] in ('NAME', 'COMMENT'))
"""
WORDS_HEAD = WORDS.replace("('NAME', 'COMMENT')", "('NAME',)")
# Its inputs have no comment: base and head count the same on each.
TESTS = """from pkg._main import fix


def test_fix():
    assert fix('x = y\\n') == 2
    assert fix('import os\\n') == 2
"""


def test_the_entry_point_of_another_module_is_written_in_its_own_names(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/_main.py": MAIN, "pkg/_words.py": WORDS}
    records = capture_records(
        tmp_path,
        {**files, "t/test_it.py": TESTS},
        {
            "module": "pkg._words",
            "path": "pkg/_words.py",
            "targets": ["count_words"],
            "tests": ["t/test_it.py"],
        },
    )
    entries = [(r["call"], r.get("module")) for r in records if r.get("module")]
    assert ("fix('x = y\\n')", "pkg._main") in entries, records


async def test_a_comment_put_in_the_entry_points_source_pins_the_change(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/_main.py": MAIN, "pkg/_words.py": WORDS}
    repo, base_sha = two_commits(
        tmp_path / "repo", {**files, "tests/test_it.py": TESTS}, {"pkg/_words.py": WORDS_HEAD}
    )
    changed = {"pkg/_words.py": changed_line_numbers(WORDS, WORDS_HEAD)[1]}
    outcome = await run_differential(repo, base_sha, changed)
    assert outcome.written == ["tests/test_pkg__words_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "from pkg._main import fix" in text, text
    assert "# comment" in text, text


def test_the_tests_named_after_the_module_or_naming_its_package_run_too() -> None:
    """pyupgrade's tests call `_fix_plugins` and name no plugin: the test file named after the
    changed module comes first after those that name it, then the package's other tests."""
    tests = {
        "tests/features/exceptions_test.py": "from pyupgrade._main import _fix_plugins\n",
        "tests/features/typing_pep563_test.py": "from pyupgrade._main import _fix_plugins\n",
        "tests/token_test.py": "from pyupgrade._token_helpers import constant_fold_tuple\n",
        "tests/other_test.py": "import json\n",
    }
    found = call_capture.tests_mentioning(tests, "pyupgrade._plugins.typing_pep563", ["_dequote"])
    assert found == [
        "tests/features/typing_pep563_test.py",
        "tests/features/exceptions_test.py",
        "tests/token_test.py",
    ]
    found = call_capture.tests_mentioning(
        tests, "pyupgrade._token_helpers", ["constant_fold_tuple"]
    )
    assert found[0] == "tests/token_test.py"
    assert "tests/features/exceptions_test.py" in found and "tests/other_test.py" not in found


def test_the_cap_on_other_spellings_is_said(tmp_path: Path) -> None:
    source = "f(" + ", ".join(f"a{i}" for i in range(80)) + ")\n"
    seed = Seed("pkg/_words.py", "count_words", f"fix({source!r})", "runtime", (), "pkg._main")
    found, cut = differential_inputs.spelled_variants(tmp_path, {}, {seed})
    assert len(found) == differential_inputs.MAX_SOURCE_VARIANTS_PER_CALLABLE
    assert {s.via for s in found} == {"pkg._main"}
    tried, made = cut["count_words"]
    assert tried == differential_inputs.MAX_SOURCE_VARIANTS_PER_CALLABLE < made
