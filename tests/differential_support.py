"""What the differential engine's tests share: run the engine on a small two-commit project,
and check that the file it wrote fails on the base commit and passes on the head."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from jobs.languages.python import base_commit, pytest_runner
from jobs.sandbox import LocalSandbox
from jobs.sandbox.workdir import SCRIPTS
from jobs.testgen.engines import call_capture, differential, python_modules
from jobs.testgen.engines.engine_protocol import EngineOutcome
from jobs.testgen.engines.input_variants import changed_line_numbers
from tests.test_pinning import two_commits


async def run_differential(
    repo: Path, base_sha: str, changed: Mapping[str, set[int]]
) -> EngineOutcome:
    """The differential engine on `repo`'s head against `base_sha`, in the local sandbox."""
    return await differential.generate(
        LocalSandbox(),
        repo,
        changed,
        "tests",
        base_sha=base_sha,
        deadline=time.monotonic() + 120,
        tests=python_modules.test_sources(repo),
    )


async def differential_on_change(
    tmp_path: Path, path: str, base: str, head: str, tests: str
) -> tuple[Path, str, EngineOutcome]:
    """A package whose module `path` goes from `base` to `head`, with `tests` as its one test
    file, and the engine's outcome on it."""
    repo, base_sha = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", path: base, "tests/test_it.py": tests},
        {path: head},
    )
    outcome = await run_differential(repo, base_sha, {path: changed_line_numbers(base, head)[1]})
    return repo, base_sha, outcome


async def assert_pins(repo: Path, base_sha: str, written: list[str]) -> str:
    """The first written test file fails on the base and passes on the head; its text."""
    text = (repo / written[0]).read_text()
    pinning = await base_commit.pin_on_base(
        LocalSandbox(), repo, base_sha, {written[0]: text}, timeout_s=60
    )
    assert pinning.outcomes == {written[0]: "fails"}, text
    on_head = await pytest_runner.run_pytest(
        LocalSandbox(), repo, written, tag="head", timeout_s=60, measure=False
    )
    assert on_head.ok, on_head.output
    return text


def capture_records(
    root: Path, files: Mapping[str, str], job: Mapping[str, object]
) -> list[dict[str, object]]:
    """The capture script on its own, as the sandbox runs it (copied with its helpers into
    ``scratch/``, under real pytest): ``files`` (path -> text) written under ``root``, the
    ``job`` given (its ``root`` is "."), and the records it wrote."""
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    scratch = root / "scratch"
    scratch.mkdir()
    shutil.copy(SCRIPTS / "capture_calls.py", scratch / "capture.py")
    for name in call_capture.HELPERS:
        shutil.copy(SCRIPTS / name, scratch / name)
    (scratch / "job.json").write_text(json.dumps({"root": ".", **job}))
    done = subprocess.run(
        [sys.executable, "scratch/capture.py", "scratch/job.json", "scratch/out.jsonl"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (scratch / "out.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]
