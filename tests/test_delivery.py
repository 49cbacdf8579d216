"""Delivery modes end to end: the real worker, Redis, git and agent loop; the fake GitHub."""

from __future__ import annotations

import subprocess

from tests.harness import GOOD_TEST, HEAD_SRC, REPO, Harness, push_change


def use_delivery(h: Harness, settings: str) -> None:
    """``settings``: the lines under `test_generation:`. The agent alone writes the tests
    delivered here: the offline engines would add minutes and nothing these tests look at."""
    yaml = "test_generation:\n  engine: openhands\n" + settings
    h.github.commit_files(REPO, "main", {".github/tandem.yml": yaml})


def show(h: Harness, rev: str, path: str) -> str:
    result = subprocess.run(  # a local read of the bare repository, not through the server
        ["git", "--git-dir", str(h.github.repo_path(REPO)), "show", f"{rev}:{path}"],
        capture_output=True,
        text=True,
    )
    return result.stdout if result.returncode == 0 else ""


async def test_comment_delivery_is_edited_in_place_on_rerun(harness: Harness) -> None:
    use_delivery(harness, "  delivery: comment\n")
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    number = harness.github.open_pull_request(REPO, head="feature", base="main")["number"]
    await harness.start("opened", number, head, base)
    first = await harness.completed(head)
    assert "Delivered as a PR comment" in first["output"]["summary"], first["output"]["summary"]
    (comment,) = harness.github.comments_for(REPO, number)
    assert "test_calc_tandem.py" in comment["body"]

    new_head = harness.github.commit_files(REPO, "feature", {"calc.py": HEAD_SRC + "\n# v2\n"})
    await harness.start("synchronize", number, new_head, base)
    await harness.completed(new_head)
    comments = harness.github.comments_for(REPO, number)
    assert len(comments) == 1  # edited, not a second comment
    assert new_head[:12] in comments[0]["body"]
    assert not [p for p in harness.github.pulls_for(REPO) if p["head"]["ref"].startswith("tandem/")]


async def test_none_delivery_puts_a_patch_in_the_check_run_only(harness: Harness) -> None:
    use_delivery(harness, "  delivery: none\n")
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    number = harness.github.open_pull_request(REPO, head="feature", base="main")["number"]
    await harness.start("opened", number, head, base)
    run = await harness.completed(head)
    text = run["output"]["text"]
    assert "+++ b/tests/test_calc_tandem.py" in text
    assert "+from calc import classify" in text
    assert harness.github.comments_for(REPO, number) == []
    assert [p["number"] for p in harness.github.pulls_for(REPO)] == [number]


async def test_commit_delivery_pushes_onto_the_branch_when_allowed(harness: Harness) -> None:
    use_delivery(harness, "  delivery: commit\n  allow_commit: true\n")
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    number = harness.github.open_pull_request(REPO, head="feature", base="main")["number"]
    await harness.start("opened", number, head, base)
    run = await harness.completed(head)
    assert "on `feature`" in run["output"]["summary"]
    tip = harness.github.branch_sha(REPO, "feature")
    assert tip != head
    assert show(harness, tip or "", "tests/test_calc_tandem.py") == GOOD_TEST
    assert show(harness, f"{tip}^", "calc.py") == HEAD_SRC  # one commit on top of the head


async def test_commit_without_permission_falls_back_to_a_pull_request(harness: Harness) -> None:
    use_delivery(harness, "  delivery: commit\n")
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})
    number = harness.github.open_pull_request(REPO, head="feature", base="main")["number"]
    await harness.start("opened", number, head, base)
    run = await harness.completed(head)
    assert "allow_commit" in run["output"]["summary"]
    assert harness.github.branch_sha(REPO, "feature") == head  # the PR branch is untouched
    assert harness.github.branch_sha(REPO, f"tandem/tests-pr-{number}") is not None
