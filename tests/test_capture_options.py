"""The capture script runs the project's tests as its own test command does: with the options
the baseline wrote into the work dir (here ``-o python_functions=check_*``, without which
pytest collects none of its tests) and the other launchers' arguments. Real pytest in the local
sandbox, through the engine's own capture step."""

from __future__ import annotations

import time
from pathlib import Path

from jobs.languages.python.pytest_runner import write_own_options
from jobs.sandbox import LocalSandbox
from jobs.sandbox.workdir import WORK_DIR
from jobs.testgen.engines import call_capture

MODULE = """def half(n):
    return n // 2
"""
# Named as this project's own options collect them, and never as pytest's defaults do.
TESTS = """from pkg.nums import half


def check_half():
    assert half(8) == 4
"""


async def test_the_capture_takes_the_projects_own_pytest_options(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "nums.py").write_text(MODULE)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_nums.py").write_text(TESTS)
    write_own_options(tmp_path, ["-o", "python_functions=check_*"])
    scratch = f"{WORK_DIR}/differential"
    (tmp_path / scratch).mkdir()
    job = call_capture.CaptureJob(".", "pkg.nums", "pkg/nums.py", ["half"], ["tests/test_nums.py"])
    captured = await call_capture.capture(
        LocalSandbox(), tmp_path, scratch, job, deadline=time.monotonic() + 120
    )
    assert [seed.call_source for seed in captured.seeds] == ["half(8)"]
