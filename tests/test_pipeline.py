"""The run's lifecycle in one process: the real arq worker and jobs, real Redis, real git, the
fake GitHub and the scripted LLM. The edge cases the end-to-end test does not walk through."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from arq import create_pool
from arq.connections import ArqRedis
from pydantic import SecretStr

from bot.connections import CONTROL_QUEUE, redis_settings
from bot.plan import pull_request_ref
from bot.settings import Settings
from jobs.worker import build_workers, running_workers
from tests.fakegithub import FakeGitHub, make_app_key
from tests.fakegithub.payloads import pull_request_event
from tests.llmserver import ScriptedLLM, finish, tool_call
from tests.test_e2e import BASE_SRC, GOOD_TEST, HEAD_SRC, first_user_text
from tests.waiting import wait_until

APP_ID = 77
INSTALLATION = 9
REPO = "octo/calc"


def write_good_test(body: dict[str, Any]) -> Any:
    import re

    match = re.search(r"repository at (/\S+?)\.\n", first_user_text(body))
    turns = sum(1 for m in body["messages"] if m.get("role") == "assistant")
    if match is None or turns > 0:
        return finish("done")
    return tool_call(
        "file_editor",
        command="create",
        path=f"{match.group(1)}/tests/test_calc_tandem.py",
        file_text=GOOD_TEST,
    )


@dataclass
class Harness:
    github: FakeGitHub
    pool: ArqRedis
    llm: ScriptedLLM

    async def start(self, action: str, number: int, head: str, base: str, **extra: Any) -> None:
        labels = extra.pop("labels", [])
        payload = pull_request_event(
            action=action,
            repo_full_name=REPO,
            number=number,
            head_sha=head,
            base_sha=base,
            head_ref=extra.pop("head_ref", "feature"),
            clone_url=self.github.clone_url(REPO),
            installation_id=INSTALLATION,
            **extra,
        )
        payload["pull_request"]["labels"] = labels
        pr = pull_request_ref(payload)
        await self.pool.enqueue_job(
            "start_run",
            pr.to_dict(),
            f"d-{head[:8]}-{action}",
            action,
            _job_id=f"start_run:{pr.run_key}",
            _queue_name=CONTROL_QUEUE,
        )

    async def wait(self, condition: Callable[[], Any], what: str, limit_s: float = 60) -> Any:
        return await wait_until(condition, what, limit_s)

    async def completed(self, sha: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            runs = [r for r in self.github.check_runs_for(REPO, sha) if r["status"] == "completed"]
            return runs[-1] if runs else None

        result: dict[str, Any] = await self.wait(done, f"check run on {sha[:8]}")
        return result


@pytest.fixture
async def harness(tmp_path: Path, redis_url: str) -> AsyncIterator[Harness]:
    private, public = make_app_key()
    github = FakeGitHub(tmp_path / "gh", app_id=APP_ID, public_key_pem=public)
    await github.start()
    github.add_installation(INSTALLATION, "octo")
    github.create_repo(REPO, installation_id=INSTALLATION)
    github.commit_files(REPO, "main", {"calc.py": BASE_SRC, "tests/__init__.py": ""})
    llm = ScriptedLLM(write_good_test)
    await llm.start()
    settings = Settings(
        github_app_id=APP_ID,
        github_private_key=SecretStr(private.decode()),
        github_api_url=github.url,
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        llm_model="openai/scripted",
        llm_base_url=llm.url,
        llm_api_key=SecretStr("sk-test"),
        sandbox="local",
    )  # type: ignore[call-arg]
    workers = build_workers(settings)
    pool = await create_pool(redis_settings(redis_url))
    try:
        async with running_workers(workers, grace_s=10):
            yield Harness(github=github, pool=pool, llm=llm)
    finally:
        await pool.aclose()
        await llm.close()
        await github.close()


def push_change(github: FakeGitHub, branch: str, files: dict[str, str]) -> tuple[str, str]:
    base = github.branch_sha(REPO, "main")
    assert base is not None
    github.create_branch(REPO, branch, base)
    return base, github.commit_files(REPO, branch, files)


async def test_invalid_config_blocks_the_run_with_an_annotation(harness: Harness) -> None:
    harness.github.commit_files(
        REPO, "main", {".github/tandem.yml": "enabled: true\ntest_generation:\n  enabled: 3\n"}
    )
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 1, head, base)
    run = await harness.completed(head)
    assert run["conclusion"] == "action_required"
    assert ".github/tandem.yml is invalid" in run["output"]["title"]
    (annotation,) = harness.github.annotations_for(run["id"])
    assert annotation["path"] == ".github/tandem.yml"
    assert annotation["start_line"] == 3
    assert annotation["annotation_level"] == "failure"
    assert harness.llm.requests == []  # nothing else ran


async def test_config_is_read_from_base_not_head(harness: Harness) -> None:
    base, head = push_change(
        harness.github,
        "feature",
        {"calc.py": HEAD_SRC, ".github/tandem.yml": "refactoring_review:\n  enabled: false\n"},
    )
    await harness.start("opened", 2, head, base)
    run = await harness.completed(head)
    # the head's file tried to switch the review off; the base has none, so it runs
    assert "review finding(s)" in run["output"]["summary"]


async def test_draft_is_skipped_until_ready(harness: Harness) -> None:
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 3, head, base, draft=True)
    await asyncio.sleep(1.0)
    assert harness.github.check_runs_for(REPO, head) == []
    await harness.start("ready_for_review", 3, head, base)
    run = await harness.completed(head)
    assert run["conclusion"] == "success"


async def test_disabled_parts_only_run_what_is_enabled(harness: Harness) -> None:
    harness.github.commit_files(
        REPO, "main", {".github/tandem.yml": "test_generation:\n  enabled: false\n"}
    )
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 4, head, base)
    run = await harness.completed(head)
    assert "review finding(s)" in run["output"]["summary"]
    assert "Test generation" not in run["output"]["summary"]
    assert harness.llm.requests == []


async def test_closed_pr_cancels_its_run_and_reopen_runs_again(harness: Harness) -> None:
    harness.llm.mode = "slow"
    harness.llm.slow_s = 30
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 5, head, base)
    await harness.wait(lambda: harness.llm.requests, "the agent to call the LLM")
    await harness.pool.enqueue_job(
        "cancel_pr_runs",
        REPO,
        5,
        "pull request closed",
        _job_id="cancel:5",
        _queue_name=CONTROL_QUEUE,
    )
    run = await harness.completed(head)
    assert run["conclusion"] == "cancelled"
    assert "pull request closed" in run["output"]["title"]

    harness.llm.mode = "script"
    await harness.start("reopened", 5, head, base)
    runs = await harness.wait(
        lambda: [
            r
            for r in harness.github.check_runs_for(REPO, head)
            if r["status"] == "completed" and r["conclusion"] != "cancelled"
        ],
        "the reopened run",
    )
    assert runs[-1]["conclusion"] == "success"


async def test_fork_gets_a_comment_and_no_push(harness: Harness) -> None:
    fork = "mallory/calc"
    harness.github.create_repo(fork, installation_id=INSTALLATION)
    base = harness.github.branch_sha(REPO, "main")
    assert base is not None
    # a fork shares the base repository's history
    subprocess.run(  # noqa: ASYNC221 - a local file push, not through the fake's server
        [
            "git",
            "--git-dir",
            str(harness.github.repo_path(REPO)),
            "push",
            "-q",
            str(harness.github.repo_path(fork)),
            "main",
        ],
        check=True,
    )
    harness.github.create_branch(fork, "patch-1", base)
    head = harness.github.commit_files(fork, "patch-1", {"calc.py": HEAD_SRC})
    number = harness.github.add_issue(REPO, title="Fork PR")
    # as on GitHub, the base repository holds a fork PR's head commit under refs/pull/N/head
    subprocess.run(  # noqa: ASYNC221 - a local file push, not through the fake's server
        [
            "git",
            "--git-dir",
            str(harness.github.repo_path(fork)),
            "push",
            "-q",
            str(harness.github.repo_path(REPO)),
            f"{head}:refs/pull/{number}/head",
        ],
        check=True,
    )
    pushes_before = len(harness.github.pushes)
    payload_extra = {
        "fork": True,
        "head_repo_full_name": fork,
        "head_clone_url": harness.github.clone_url(fork),
        "head_ref": "patch-1",
    }
    await harness.start("opened", number, head, base, **payload_extra)
    run = await harness.wait(
        lambda: harness.github.comments_for(REPO, number),
        "the comment with tests",
    )
    assert run
    comments = harness.github.comments_for(REPO, number)
    assert len(comments) == 1
    assert "test_calc_tandem.py" in comments[0]["body"]
    assert "<details>" in comments[0]["body"]
    assert len(harness.github.pushes) == pushes_before  # never pushes anywhere for a fork
    # let the run finish before the workers are torn down (no job is cancelled mid-way)
    await harness.completed(head)


async def test_trigger_rules_from_config_skip_without_a_check_run(harness: Harness) -> None:
    harness.github.commit_files(
        REPO,
        "main",
        {".github/tandem.yml": "triggers:\n  skip_labels: [no-bots]\n  events: [opened]\n"},
    )
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 11, head, base, labels=[{"name": "no-bots"}])
    await harness.start("synchronize", 12, head, base)
    await asyncio.sleep(1.5)
    assert harness.github.check_runs_for(REPO, head) == []
    assert harness.llm.requests == []
