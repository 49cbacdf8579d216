"""A `tandem worker` stopped with SIGTERM while the offline engines run its test-generation part
(issue #11): it exits 0 within its grace and a few seconds, no engine process and no temp
directory of the part is left, and a worker started afterwards completes the run. Real
processes, a real redis-server, the offline engines in the local sandbox; the fake GitHub at the
network edge, no LLM."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from tandem.demo import BASE_FILES, HEAD_FILES
from tests.fakegithub import FakeGitHubThread, make_app_key
from tests.processes import (
    ENGINES,
    engine_processes_under,
    enqueue_opened,
    kill_hard,
    processes_in_groups,
    processes_under,
    start_tandem,
    stop,
    tandem_env,
    wait_for,
)
from tests.waiting import EVENT_LIMIT_S

pytestmark = pytest.mark.slow

APP_ID = 5252
INSTALLATION = 32
REPO = "octo/shapes"
GRACE_S = 2  # `tandem worker --grace`: shorter than the engines' run, so the part is cancelled
MARGIN_S = 15  # the "a few seconds" after the grace, on a loaded machine
# Offline engines only (no LLM), with the smallest budget, so the second worker's run is short;
# the demo's change keeps them busy for most of it.
CONFIG = "test_generation:\n  engine: offline\n  budgets:\n    max_wall_time_s: 30\n"


def engine_name(process: psutil.Process) -> str:
    try:
        line = " ".join(process.cmdline())
    except psutil.Error:
        return "ended"
    return next((name for name in ENGINES if name in line), "other")


def test_sigterm_stops_a_worker_mid_engine_and_leaves_nothing_behind(
    tmp_path: Path, redis_url: str
) -> None:
    private, public = make_app_key()
    logs = tmp_path / "logs"
    logs.mkdir()
    scratch = tmp_path / "tmp"  # the worker's TMPDIR: the sandbox's temporary home is made here
    scratch.mkdir()
    work = tmp_path / "data" / "work"  # the parts' clones
    with FakeGitHubThread(tmp_path / "github", app_id=APP_ID, public_key_pem=public) as github:
        github.add_installation(INSTALLATION, "octo")
        github.create_repo(REPO, installation_id=INSTALLATION)
        base = github.commit_files(REPO, "main", {**BASE_FILES, ".github/tandem.yml": CONFIG})
        github.create_branch(REPO, "feature", base)
        head = github.commit_files(REPO, "feature", HEAD_FILES)
        pull = github.open_pull_request(REPO, head="feature", base="main")
        env = tandem_env(
            tmp_path,
            app_id=APP_ID,
            private_key=private,
            github_url=github.url,
            redis_url=redis_url,
            TMPDIR=str(scratch),
        )
        enqueue_opened(
            redis_url, github, REPO, INSTALLATION, pull, base, head, "stop-test-delivery"
        )

        first = start_tandem(["worker", "--grace", str(GRACE_S)], env, logs / "worker-1.log")
        try:
            engines = wait_for(
                lambda: engine_processes_under(work, ("pynguin", "crosshair")),
                EVENT_LIMIT_S,
                "a Pynguin or CrossHair process of the part",
                logs,
            )
            seen = sorted({engine_name(p) for p in engines})
            groups = {os.getpgid(p.pid) for p in engines}  # a sandbox command's own group
            assert list(scratch.iterdir())  # the sandbox's home is there
            assert list(work.iterdir())  # and the part's clone
            signalled = time.monotonic()
            first.terminate()  # the worker alone, as `kill` or an orchestrator would
            code = first.wait(timeout=GRACE_S + MARGIN_S)
            stopped_s = time.monotonic() - signalled
        finally:
            if first.poll() is None:
                kill_hard(first)
        log = (logs / "worker-1.log").read_text()
        assert code == 0, log[-4000:]
        assert "cancelled, will be run again" in log  # the part outlasted the grace
        _gone, alive = psutil.wait_procs(engines, timeout=5)
        assert alive == []
        assert engine_processes_under(tmp_path) == []
        assert processes_in_groups(groups) == []
        assert processes_under(tmp_path / "data") == []
        assert list(scratch.iterdir()) == []
        assert list(work.iterdir()) == []
        assert [r["status"] for r in github.check_runs_for(REPO, head)] == ["in_progress"]

        second = start_tandem(["worker"], env, logs / "worker-2.log")
        try:
            run = wait_for(
                lambda: next(
                    (r for r in github.check_runs_for(REPO, head) if r["status"] == "completed"),
                    None,
                ),
                EVENT_LIMIT_S,
                "the second worker to complete the stopped worker's run",
                logs,
            )
        finally:
            assert stop(second) == 0, (logs / "worker-2.log").read_text()[-4000:]

    print(f"worker stopped {stopped_s:.1f} s after SIGTERM (grace {GRACE_S} s), stopping {seen}")
    assert "try=2" in (logs / "worker-2.log").read_text()  # arq ran the part again
    assert run["conclusion"] in ("success", "neutral"), run["output"]
    assert len(github.check_runs_for(REPO, head)) == 1
    assert list(scratch.iterdir()) == []
    assert list(work.iterdir()) == []
