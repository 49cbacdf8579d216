"""Which changed lines are changed statements (Python's: parsed with coverage.py's parser,
never run; :mod:`jobs.languages.python.python_statements`)."""

from __future__ import annotations

from pathlib import Path

from jobs.languages.javascript.javascript_backend import JAVASCRIPT
from jobs.languages.python import python_statements

SOURCE = '''UNITS = {
    "h": 3600,
    # minutes next
    "m": 60,
}


def parse(text, *,
          strict=False):
    """Parse `text`.

    Longer docs."""
    return [UNITS[text[-1]],
            int(text[:-1])]
'''


def test_a_change_inside_a_multi_line_statement_changes_that_statement(tmp_path: Path) -> None:
    (tmp_path / "units.py").write_text(SOURCE)
    statements = python_statements.executable_lines(tmp_path, "units.py")
    assert statements == {1, 8, 13}
    # loguru's kind of change: one entry of a dict literal, one item of a returned list
    changed = python_statements.changed_executable(tmp_path, {"units.py": {4, 14}}, {})
    assert changed == {"units.py": {1, 13}}
    # a parameter on the def's second line is the def statement
    assert python_statements.changed_executable(tmp_path, {"units.py": {9}}, {}) == {
        "units.py": {8}
    }


def test_comments_blank_lines_and_docstrings_change_no_statement(tmp_path: Path) -> None:
    (tmp_path / "units.py").write_text(SOURCE)
    changed = python_statements.changed_executable(tmp_path, {"units.py": {3, 6, 10, 12}}, {})
    assert changed == {"units.py": set()}


def test_statements_the_run_reported_are_the_ones_counted(tmp_path: Path) -> None:
    (tmp_path / "units.py").write_text(SOURCE)
    # the run's statements win over the parse (a file it measured); a start it did not report
    # (an excluded line) does not count
    assert python_statements.changed_executable(
        tmp_path, {"units.py": {2, 14}}, {"units.py": {13}}
    ) == {"units.py": {13}}


def test_other_languages_keep_their_lines(tmp_path: Path) -> None:
    (tmp_path / "a.ts").write_text("export const a = {\n  b: 1,\n};\n")
    changed, measured = {"a.ts": {2}}, {"a.ts": {1, 2}}
    assert python_statements.changed_executable(tmp_path, changed, measured) == {"a.ts": {2}}
    # JavaScript's own: istanbul's statements, and nothing of a file the suite did not measure
    assert JAVASCRIPT.changed_executable(tmp_path, changed, measured) == {"a.ts": {2}}
    assert JAVASCRIPT.changed_executable(tmp_path, changed, {}) == {"a.ts": set()}
