"""The capture script on its own (jobs/sandbox/scripts/capture_calls.py, run as the sandbox runs
it, under real pytest): a call that runs a line of the changed file no call written down before
ran is written down, marked novel, after the usual cap is full, and also when it ends in an
exception."""

from __future__ import annotations

from pathlib import Path

from tests.differential_support import capture_records

MODULE = """def check(n):
    if n >= 0:
        return n
    raise ValueError("negative")
"""
TESTS = """import pytest

from pkg.nums import check

ROWS = list(range(30)) + [-1]


@pytest.mark.parametrize("n", ROWS)
def test_check(n):
    try:
        check(n)
    except ValueError:
        pass
"""


def test_a_late_call_that_runs_a_new_line_is_written_down_beyond_the_cap(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/nums.py": MODULE, "tests/test_nums.py": TESTS}
    job = {
        "module": "pkg.nums",
        "path": "pkg/nums.py",
        "targets": ["check"],
        "tests": ["tests/test_nums.py"],
        "max_per_target": 5,
        "max_relevant": 0,
        "tokens": [],
    }
    records = capture_records(tmp_path, files, job)
    plain = [r["call"] for r in records if not r.get("novel")]
    novel = [r["call"] for r in records if r.get("novel")]
    assert plain == [f"check({n})" for n in range(5)], records
    # check(0) ran the first two lines; check(-1), the 31st call, the raise.
    assert novel == ["check(0)", "check(-1)"], records


SHARED = """class Check:
    def first(self, text):
        return text.strip()

    def second(self, text):
        return text.lower()


def run(text):
    check = Check()
    return check.second(check.first(text))
"""
SHARED_TESTS = """from pkg.shared import run


def test_run():
    assert run(" A ") == "a"
"""


def test_one_entry_call_that_reaches_two_watched_methods_is_written_for_each(
    tmp_path: Path,
) -> None:
    """The differential engine watches a changed method's siblings for their receivers: the
    entry call written for one of them is an input of the changed method too."""
    files = {"pkg/__init__.py": "", "pkg/shared.py": SHARED, "tests/test_shared.py": SHARED_TESTS}
    job = {
        "module": "pkg.shared",
        "path": "pkg/shared.py",
        "targets": ["Check.first", "Check.second"],
        "tests": ["tests/test_shared.py"],
    }
    records = capture_records(tmp_path, files, job)
    plain = [r for r in records if r["entry"] and not r.get("novel")]
    entries = sorted((r["qualname"], r["call"]) for r in plain)
    assert entries == [("Check.first", "run(' A ')"), ("Check.second", "run(' A ')")], records
