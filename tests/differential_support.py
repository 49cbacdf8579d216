"""What the differential engine's tests share: run the engine on a small two-commit project,
and check that the file it wrote fails on the base commit and passes on the head."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from jobs.languages.python import base_commit, pytest_runner
from jobs.sandbox import LocalSandbox
from jobs.testgen.engines import differential, python_modules
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
