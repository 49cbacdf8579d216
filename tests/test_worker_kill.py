"""A `tandem worker` killed with SIGKILL in the middle of test generation: a new worker finishes
its run within 2 minutes (issue #11). Real processes, a real redis-server, the real agent; the
fake GitHub and the scripted LLM at the network edge."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs import lease
from tests.fakegithub import FakeGitHubThread, make_app_key
from tests.harness import BASE_SRC, GOOD_TEST, HEAD_SRC, part_results_blocking, write_good_test
from tests.llmserver import ScriptedLLMThread
from tests.processes import (
    enqueue_opened,
    kill_hard,
    kill_left_tmux_servers,
    start_tandem,
    stop,
    tandem_env,
    wait_for,
)
from tests.waiting import EVENT_LIMIT_S

pytestmark = pytest.mark.slow

APP_ID = 5151
INSTALLATION = 31
REPO = "octo/calc"
KEPT = "tests/test_calc_tandem.py"


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    kill_left_tmux_servers(tmp_path)  # the killed worker's agent terminal


def test_a_killed_workers_run_is_finished_by_a_new_worker(root: Path, redis_url: str) -> None:
    private, public = make_app_key()
    logs = root / "logs"
    logs.mkdir()
    # The LLM hangs until the first worker is killed, so the kill lands inside the agent's run.
    with (
        FakeGitHubThread(root / "github", app_id=APP_ID, public_key_pem=public) as github,
        ScriptedLLMThread(write_good_test, mode="slow", slow_s=600) as llm,
    ):
        github.add_installation(INSTALLATION, "octo")
        github.create_repo(REPO, installation_id=INSTALLATION)
        # The agent alone, so the kill lands in its run (engine auto would run
        # characterization first, and it covers this change without the agent).
        config = "test_generation:\n  engine: openhands\n"
        base = github.commit_files(
            REPO,
            "main",
            {"calc.py": BASE_SRC, "tests/__init__.py": "", ".github/tandem.yml": config},
        )
        github.create_branch(REPO, "feature", base)
        head = github.commit_files(REPO, "feature", {"calc.py": HEAD_SRC})
        pull = github.open_pull_request(REPO, head="feature", base="main")
        env = tandem_env(
            root,
            app_id=APP_ID,
            private_key=private,
            github_url=github.url,
            redis_url=redis_url,
            llm_url=llm.url,
            TANDEM_AGENT_WALL_TIME_S="120",
        )
        enqueue_opened(
            redis_url, github, REPO, INSTALLATION, pull, base, head, "kill-test-delivery"
        )

        first = start_tandem(["worker"], env, logs / "worker-1.log")
        try:
            wait_for(lambda: llm.requests, EVENT_LIMIT_S, "the agent's first LLM request", logs)
            assert [r["status"] for r in github.check_runs_for(REPO, head)] == ["in_progress"]
        finally:
            kill_hard(first)
        llm.server.mode = "script"

        started = time.monotonic()
        second = start_tandem(["worker"], env, logs / "worker-2.log")
        try:
            run = wait_for(
                lambda: next(
                    (r for r in github.check_runs_for(REPO, head) if r["status"] == "completed"),
                    None,
                ),
                EVENT_LIMIT_S,
                "the new worker to complete the killed worker's run",
                logs,
            )
            recovered_s = time.monotonic() - started
        finally:
            assert stop(second) == 0, (logs / "worker-2.log").read_text()[-4000:]

    print(f"run completed {recovered_s:.1f} s after the new worker started (lease {lease.LEASE_S})")
    assert run["conclusion"] == "success", run["output"]
    assert len(github.check_runs_for(REPO, head)) == 1
    results = part_results_blocking(redis_url, REPO, pull["number"], head)
    assert results["generate_tests"].details["kept"] == [KEPT]
    assert "try=2" in (logs / "worker-2.log").read_text()  # arq ran the part again
    delivered = github.branch_sha(REPO, f"tandem/tests-pr-{pull['number']}")
    assert delivered is not None
    shown = subprocess.run(
        ["git", "--git-dir", str(github.repo_path(REPO)), "show", f"{delivered}:{KEPT}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == GOOD_TEST
