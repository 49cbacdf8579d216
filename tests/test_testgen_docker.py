"""Test generation end to end with TANDEM_SANDBOX=docker (the production default): the real arq
worker and jobs, real Redis, real git, the fake GitHub, the scripted LLM, the real OpenHands
agent loop, and the sandbox image built from the Dockerfile (tests/conftest.py). The validation
runs, coverage and the agent's terminal run in the part's container; the test checks what the
check run says, what was delivered, and that the container is gone afterwards. The proof
stages also run on their own in a part's container: the differential engine (base tree,
CrossHair, the probe on both sides, the run on the base commit) and the mutant runner.

Skipped, with the reason, where no Docker engine answers (like tests/test_sandbox.py)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bot.event_plan import run_key
from jobs.languages.python import base_commit, pytest_runner
from jobs.sandbox import LABEL, LABEL_RUN
from jobs.sandbox.docker import DockerConfig, DockerSandbox
from jobs.testgen.engines import differential, python_modules
from jobs.testgen.proof.measure import TestFiles, measure_mutants
from tests.harness import HEAD_SRC, REPO, Harness, HarnessFactory, push_change
from tests.harness_docker import container_names, watch_containers
from tests.test_differential import BASE as DIFF_BASE
from tests.test_differential import changed_lines, project
from tests.test_mutants import CALC, KEPT, TESTS
from tests.test_pinning import two_commits
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
    # The mutant stage ran in the part's container too: a score, not a problem of the part.
    assert details["problems"] == [], details["problems"]
    mutants = details["mutants"]
    assert mutants is not None and mutants["total"] > 0, mutants
    assert mutants["killed_with_kept"] > 0, mutants

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


def docker_sandbox(image: str, repo: Path, key: str) -> DockerSandbox:
    return DockerSandbox(DockerConfig(image=image, memory_mb=1024), run_key=key, mount=repo)


async def test_the_differential_engine_pins_a_change_in_the_docker_sandbox(
    tmp_path: Path, sandbox_image: str, engine: Any
) -> None:
    """The base tree (written by the worker under the checkout's scratch directory), the
    CrossHair driver and the probe on both sides, and the run on the base commit, all in the
    part's container."""
    head = DIFF_BASE.replace("n > 10", "n >= 10")
    repo, base_sha = project(tmp_path / "repo", head)
    key = f"test-differential-{tmp_path.name}"
    sandbox = docker_sandbox(sandbox_image, repo, key)
    try:
        outcome = await differential.generate(
            sandbox,
            repo,
            {"pkg/sizes.py": changed_lines(DIFF_BASE, head)},
            "tests",
            base_sha=base_sha,
            deadline=time.monotonic() + 180,
            tests=python_modules.test_sources(repo),
        )
        assert sandbox.container_id is not None  # it ran in a container, not on the worker
        assert outcome.written == ["tests/test_pkg_sizes_differential_tandem.py"], outcome.notes
        text = (repo / outcome.written[0]).read_text()
        assert "assert classify(n=10) == 'big'" in text, text
        assert any("base returns 'small', head returns 'big'" in n for n in outcome.notes)
        pinning = await base_commit.pin_on_base(
            sandbox, repo, base_sha, {outcome.written[0]: text}, timeout_s=120
        )
        assert pinning.outcomes == {outcome.written[0]: "fails"}, pinning
        on_head = await pytest_runner.run_pytest(
            sandbox, repo, outcome.written, tag="head", timeout_s=120, measure=False
        )
        assert on_head.ok, on_head.output
    finally:
        await sandbox.close()
    assert container_names(engine, f"{LABEL_RUN}={key}") == set()


async def test_the_mutant_runner_scores_in_the_docker_sandbox(
    tmp_path: Path, sandbox_image: str, engine: Any
) -> None:
    """The runner copied into the checkout's scratch directory, forking per mutant under the
    container's Python (sys.monitoring), as the worker's uid on a read-only root."""
    repo, _ = two_commits(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/calc.py": CALC.replace("n > 10", "n > 9")},
        {
            "pkg/calc.py": CALC,
            "tests/test_calc.py": TESTS,
            "tests/test_kept.py": KEPT,
            "tests/test_discarded.py": "def test_broken():\n    assert False\n",
        },
    )
    key = f"test-mutants-{tmp_path.name}"
    sandbox = docker_sandbox(sandbox_image, repo, key)
    try:
        measured = await measure_mutants(
            sandbox,
            repo,
            {"pkg/calc.py": {2, 4, 11}},
            TestFiles(kept=["tests/test_kept.py"], ignore=["tests/test_discarded.py"]),
            timeout_s=180,
        )
        assert sandbox.container_id is not None  # it ran in a container, not on the worker
    finally:
        await sandbox.close()
    assert measured.problem is None, measured.problem
    fate = {o.mutant.description: (o.status, o.by) for o in measured.score.outcomes}
    # The same fates as in the local sandbox (tests/test_mutants.py).
    assert fate == {
        "`n > 10` becomes `not n > 10`": ("killed", "existing"),
        "the condition `n > 10` is removed": ("killed", "existing"),
        "`n > 10` becomes `n >= 10`": ("killed", "kept"),
        "`10` becomes `11`": ("survived", None),
        "`10` becomes `9`": ("killed", "kept"),
        # The loop never ends: the runner ends the forked child in the container.
        "`n -= 1` becomes `n += 1`": ("timeout", "existing"),
        "`n -= 1` is removed": ("timeout", "existing"),
        "`1` becomes `2`": ("killed", "existing"),
        "`1` becomes `0`": ("timeout", "existing"),
    }, measured.score.outcomes
    assert measured.score.tests == 3
    assert measured.score.equivalent == 2
    assert container_names(engine, f"{LABEL_RUN}={key}") == set()
