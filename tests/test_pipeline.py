"""The run's lifecycle in one process (the harness of tests/harness.py: the real arq worker and
jobs, real Redis, real git, the fake GitHub and the scripted LLM). The edge cases the end-to-end
test does not walk through."""

from __future__ import annotations

import subprocess

import pytest

from core.connections import CONTROL_QUEUE
from tests.harness import HEAD_SRC, INSTALLATION, REPO, Harness, push_change


def agent_only(h: Harness) -> None:
    """The agent alone writes tests: these tests look at the run's life, not at what the
    offline engines write, which would add minutes to each."""
    h.github.commit_files(
        REPO, "main", {".github/tandem.yml": "test_generation:\n  engine: openhands\n"}
    )


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


@pytest.mark.slow
async def test_config_is_read_from_base_not_head(harness: Harness) -> None:
    harness.github.commit_files(
        REPO, "main", {".github/tandem.yml": "test_generation:\n  enabled: false\n"}
    )
    base, head = push_change(
        harness.github,
        "feature",
        {"calc.py": HEAD_SRC, ".github/tandem.yml": "refactoring_review:\n  enabled: false\n"},
    )
    await harness.start("opened", 2, head, base)
    run = await harness.completed(head)
    # The head's file tried to switch the review off and dropped the base's switch for test
    # generation: the base's file decides both.
    assert (await harness.results(2, head))["review_refactoring"].details["findings"] >= 1
    assert "Test generation" not in run["output"]["summary"]


@pytest.mark.slow
async def test_draft_is_skipped_until_ready(harness: Harness) -> None:
    agent_only(harness)
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 3, head, base, draft=True)
    await harness.quiescent()
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
    assert (await harness.results(4, head))["review_refactoring"].details["findings"] >= 1
    assert "Test generation" not in run["output"]["summary"]
    assert harness.llm.requests == []


@pytest.mark.slow
async def test_closed_pr_cancels_its_run_and_reopen_runs_again(harness: Harness) -> None:
    agent_only(harness)
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


@pytest.mark.slow
async def test_fork_gets_a_comment_and_no_push(harness: Harness) -> None:
    agent_only(harness)
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
    await harness.quiescent()
    assert harness.github.check_runs_for(REPO, head) == []
    assert harness.llm.requests == []
