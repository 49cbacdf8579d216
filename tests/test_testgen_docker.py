"""Test generation end to end with TANDEM_SANDBOX=docker (the production default): the real arq
worker and jobs, real Redis, real git, the fake GitHub, the scripted LLM, the real OpenHands
agent loop, and the sandbox image built from the Dockerfile (tests/conftest.py). The validation
runs, coverage and the agent's terminal run in the part's container; the test checks what the
check run says, what was delivered, and that the container is gone afterwards.

Skipped, with the reason, where no Docker engine answers (like tests/test_sandbox.py)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from typing import Any

from bot.plan import run_key
from jobs.sandbox import LABEL, LABEL_RUN
from tests.test_e2e import HEAD_SRC
from tests.test_pipeline import REPO, Harness, push_change
from tests.test_testgen_modes import (  # noqa: F401  (make_harness is a fixture)
    Factory,
    delivered,
    make_harness,
    part_section,
)

# Container start, five validation runs and two coverage runs in containers take longer than
# the in-process harness's usual 60 s wait on a busy machine.
RUN_LIMIT_S = 240


async def watch_containers(engine: Any, key: str, seen: set[str]) -> None:
    """Record every sandbox container of the run `key` while the run is going on."""
    while True:
        containers = await asyncio.to_thread(
            engine.containers.list, all=True, filters={"label": f"{LABEL_RUN}={key}"}
        )
        seen.update(c.name for c in containers)
        await asyncio.sleep(0.2)


def branch_file(harness: Harness, branch: str, path: str) -> str:
    """A file on a branch of the fake GitHub's bare repository, read locally."""
    return subprocess.run(
        ["git", "--git-dir", str(harness.github.repo_path(REPO)), "show", f"{branch}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


async def test_good_test_is_kept_after_running_in_the_docker_sandbox(
    make_harness: Factory,  # noqa: F811  (the fixture imported above)
    sandbox_image: str,
    engine: Any,
) -> None:
    started = time.monotonic()
    harness = await make_harness(
        sandbox="docker",
        sandbox_image=sandbox_image,
        sandbox_memory_mb=1024,
        test_timeout_s=120,
    )
    harness_s = time.monotonic() - started

    module = "good_calc"
    base, head = push_change(harness.github, f"feature-{module}", {f"{module}.py": HEAD_SRC})
    key = run_key(REPO, 1, head)
    seen: set[str] = set()
    watcher = asyncio.create_task(watch_containers(engine, key, seen))
    try:
        await harness.start("opened", 1, head, base, head_ref=f"feature-{module}")

        def done() -> dict[str, Any] | None:
            runs = [
                r for r in harness.github.check_runs_for(REPO, head) if r["status"] == "completed"
            ]
            return runs[-1] if runs else None

        run: dict[str, Any] = await harness.wait(done, f"check run on {head[:8]}", RUN_LIMIT_S)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    run_s = time.monotonic() - started - harness_s

    summary = run["output"]["summary"]
    section = part_section(summary)
    assert run["conclusion"] == "success", section
    assert "1 test file(s) generated" in summary
    assert "`tests/test_good_calc_tandem.py`: kept (passed 5/5 runs; covers" in section
    # The existing tests do not import good_calc: nothing of the change was covered before.
    assert re.search(r"changed lines covered: 0% → \d+%.*; target 80%: (not )?reached", section)
    assert "Existing tests: none found." in section

    # Delivered as a follow-up PR whose text says where the tests ran, with the file on it.
    assert delivered(harness) == ["Tests for #1"]
    (pull,) = [p for p in harness.github.pulls_for(REPO) if p["title"] == "Tests for #1"]
    assert "1 test file(s) passed 5 runs each in Tandem's docker sandbox" in pull["body"]
    test_file = branch_file(harness, "tandem/tests-pr-1", "tests/test_good_calc_tandem.py")
    assert "from good_calc import classify" in test_file

    # The work happened in a container of this run, and none is left behind.
    assert seen, "no sandbox container was seen for the run"
    assert all(name.startswith("tandem-sbx-") for name in seen), seen
    assert engine.containers.list(all=True, filters={"label": f"{LABEL_RUN}={key}"}) == []
    mine = [
        c.name for c in engine.containers.list(all=True, filters={"label": LABEL}) if c.name in seen
    ]
    assert mine == []
    print(f"\ndocker e2e: harness {harness_s:.1f}s, run {run_s:.1f}s, containers {sorted(seen)}")
