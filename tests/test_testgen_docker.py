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

import pytest

from bot.plan import run_key
from jobs.sandbox import LABEL, LABEL_RUN
from tests.harness import HEAD_SRC, REPO, Harness, HarnessFactory, push_change
from tests.harness_docker import container_names, watch_containers
from tests.test_testgen_modes import delivered, part_section, scripted_agent

pytestmark = pytest.mark.slow

# Container start, five validation runs and two coverage runs in containers take longer than
# the in-process harness's usual 60 s wait on a busy machine.
RUN_LIMIT_S = 240


def branch_file(harness: Harness, branch: str, path: str) -> str:
    """A file on a branch of the fake GitHub's bare repository, read locally."""
    return subprocess.run(
        ["git", "--git-dir", str(harness.github.repo_path(REPO)), "show", f"{branch}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


async def test_good_test_is_kept_after_running_in_the_docker_sandbox(
    make_harness: HarnessFactory,
    sandbox_image: str,
    engine: Any,
) -> None:
    started = time.monotonic()
    harness = await make_harness(
        script=scripted_agent,
        config="test_generation:\n  engine: openhands\n",  # the agent's file, alone
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
    watcher = asyncio.create_task(watch_containers(engine, f"{LABEL_RUN}={key}", seen))
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

    section = part_section(run["output"]["summary"])
    assert run["conclusion"] == "success", section
    details = (await harness.results(1, head))["generate_tests"].details
    assert details["kept"] == ["tests/test_good_calc_tandem.py"]
    (verdict,) = details["verdicts"]
    assert verdict["kept"] and verdict["reason"].startswith("passed 5/5 runs; covers"), verdict
    # The existing tests do not import good_calc: nothing of the change was covered before.
    assert details["coverage"]["covered_before"] == 0, details["coverage"]
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
    assert container_names(engine, f"{LABEL_RUN}={key}") == set()
    mine = container_names(engine, LABEL) & seen
    assert mine == set()
    print(f"\ndocker e2e: harness {harness_s:.1f}s, run {run_s:.1f}s, containers {sorted(seen)}")
