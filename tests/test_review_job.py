"""The review part end to end: real arq worker, Redis and git, the fake GitHub, the scripted LLM.

Config comes from the base branch's .github/tandem.yml, as in production."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from arq import create_pool

from bot.event_plan import pull_request_ref
from core.connections import CONTROL_QUEUE, redis_settings
from jobs.review import ReviewResult, summarize
from tests.fakegithub import FakeGitHub
from tests.fakegithub.payloads import pull_request_event
from tests.harness import open_harness
from tests.llmserver import ScriptedLLM, Step, text
from tests.test_review import branchy
from tests.waiting import wait_until

APP_ID = 78
INSTALLATION = 10
REPO = "octo/review"
NEW_BRANCHES = "    if x in TABLE:\n        return TABLE[x]"


def suggest(body: dict[str, Any]) -> Step:
    """One clean suggestion on the first two new lines of f (lines 22-23)."""
    return text(
        json.dumps(
            {
                "suggestions": [
                    {
                        "path": "m.py",
                        "line": 22,
                        "end_line": 23,
                        "message": "Replace the chain of ifs with a lookup table.",
                        "suggested_code": NEW_BRANCHES,
                    },
                    {"path": "m.py", "line": 2, "message": "off the diff"},
                ]
            }
        )
    )


class World:
    def __init__(self, github: FakeGitHub, llm: ScriptedLLM, tmp: Path, redis_url: str) -> None:
        self.github, self.llm, self.tmp, self.redis_url = github, llm, tmp, redis_url

    async def run(
        self, number: int, head: str, base: str, action: str = "opened"
    ) -> dict[str, Any]:
        payload = pull_request_event(
            action=action,
            repo_full_name=REPO,
            number=number,
            head_sha=head,
            base_sha=base,
            head_ref="feature",
            clone_url=self.github.clone_url(REPO),
            installation_id=INSTALLATION,
        )
        pr = pull_request_ref(payload)
        pool = await create_pool(redis_settings(self.redis_url))
        try:
            await pool.enqueue_job(
                "start_run",
                pr.to_dict(),
                f"d-{head[:8]}",
                action,
                _job_id=f"start_run:{pr.run_key}",
                _queue_name=CONTROL_QUEUE,
            )
        finally:
            await pool.aclose()
        runs = await wait_until(
            lambda: [
                r for r in self.github.check_runs_for(REPO, head) if r["status"] == "completed"
            ],
            "a completed check run",
        )
        result: dict[str, Any] = runs[-1]
        return result


@contextlib.asynccontextmanager
async def world(tmp_path: Path, redis_url: str, *, with_llm: bool) -> AsyncIterator[World]:
    async with open_harness(
        tmp_path,
        redis_url,
        script=suggest,
        repo=REPO,
        app_id=APP_ID,
        installation=INSTALLATION,
        files=None,
        llm_configured=with_llm,
    ) as harness:
        yield World(harness.github, harness.llm, tmp_path, redis_url)


CONFIG = """\
test_generation:
  enabled: false
refactoring_review:
  llm:
    enabled: true
    max_functions: 1
  fail_on: [complexity_increase]
  levels:
    complexity_increase: failure
"""


def open_pr(github: FakeGitHub, files: dict[str, str]) -> tuple[int, str, str]:
    base = github.branch_sha(REPO, "main")
    assert base is not None
    github.create_branch(REPO, "feature", base)
    head = github.commit_files(REPO, "feature", files)
    number = github.open_pull_request(REPO, head="feature")["number"]
    return number, base, head


async def test_suggestion_is_posted_once_across_reruns_and_fail_on_fails(
    tmp_path: Path, redis_url: str
) -> None:
    async with world(tmp_path, redis_url, with_llm=True) as w:
        gh = w.github
        gh.commit_files(
            REPO, "main", {".github/tandem.yml": CONFIG, "m.py": branchy("f", 10) + "\n"}
        )
        number, base, head = open_pr(gh, {"m.py": branchy("f", 14) + "\n"})

        run = await w.run(number, head, base)

        assert run["conclusion"] == "failure"
        summary = run["output"]["summary"]
        assert "**This fails the check:** `fail_on` lists `complexity_increase`" in summary
        assert "| `m.py`:1 | f | complexity | 11 → 15 |" in summary
        assert "1 dropped as outside the changed lines" in summary
        assert "Suggested changes: 1 posted as a review." in summary
        annotations = gh.annotations_for(run["id"])
        levels = {(a["title"], a["annotation_level"]) for a in annotations}
        assert ("Complexity 15 in f (was 11)", "failure") in levels
        assert ("Refactoring suggestion for f", "notice") in levels
        (comment,) = gh.review_comments_for(REPO, number)
        assert (comment["path"], comment["start_line"], comment["line"]) == ("m.py", 22, 23)
        assert f"```suggestion\n{NEW_BRANCHES}\n```" in comment["body"]

        # a new push elsewhere in the file: the same suggestion is found, not posted again
        head2 = gh.commit_files(REPO, "feature", {"m.py": branchy("f", 14) + "\nX = 1\n"})
        run2 = await w.run(number, head2, base, action="synchronize")

        assert (
            "Suggested changes: 0 posted as a review, 1 already posted earlier."
            in (run2["output"]["summary"])
        )
        assert len(gh.review_comments_for(REPO, number)) == 1
        assert len(gh.reviews_for(REPO, number)) == 1
        assert len(w.llm.requests) == 2  # max_functions: 1 per run


async def test_llm_enabled_without_an_llm_says_so(tmp_path: Path, redis_url: str) -> None:
    async with world(tmp_path, redis_url, with_llm=False) as w:
        gh = w.github
        config = (
            "test_generation:\n  enabled: false\nrefactoring_review:\n  llm:\n    enabled: true\n"
        )
        gh.commit_files(REPO, "main", {".github/tandem.yml": config, "m.py": "A = 1\n"})
        number, base, head = open_pr(gh, {"m.py": branchy("f", 12) + "\n"})

        run = await w.run(number, head, base)

        assert run["conclusion"] == "success"  # fail_on is empty: advice only
        assert "this Tandem has no LLM configured" in run["output"]["summary"]
        assert w.llm.requests == []
        assert gh.review_comments_for(REPO, number) == []


async def test_llm_down_makes_the_review_a_warning_that_names_the_failure(
    tmp_path: Path, redis_url: str
) -> None:
    """The LLM pass was asked for and the configured LLM rejects the key: the static review is
    still reported, but the part is ⚠️ (neutral), never ✅, and its headline says why."""
    async with world(tmp_path, redis_url, with_llm=True) as w:
        w.llm.mode = "http_401"
        gh = w.github
        config = (
            "test_generation:\n  enabled: false\nrefactoring_review:\n  llm:\n    enabled: true\n"
        )
        gh.commit_files(REPO, "main", {".github/tandem.yml": config, "m.py": "A = 1\n"})
        number, base, head = open_pr(gh, {"m.py": branchy("f", 12) + "\n"})

        run = await w.run(number, head, base)

        summary = run["output"]["summary"]
        failure = "LLM key rejected (HTTP 401 from the provider)"
        assert run["conclusion"] == "neutral", summary
        assert f"| ⚠️ {failure}: static review only, 1 review finding(s) |" in summary
        assert f"Stopped early: {failure}: " in summary
        assert w.llm.requests and "sk-test" not in summary
        assert gh.review_comments_for(REPO, number) == []


def test_summary_caps_annotations_and_says_how_many_more() -> None:
    from jobs.review import Finding

    findings = [
        Finding("a.py", i, i, "notice", "length", f"Length {i}", "m", "d", f"f{i}", None, 70)
        for i in range(1, 8)
    ]
    result = ReviewResult(findings=findings, files_reviewed=1, preexisting=2, skipped=[])
    from core.repo_config import RefactoringReview

    part = summarize(result, RefactoringReview.model_validate({"max_annotations": 3}))

    assert len(part.annotations) == 3
    assert part.details["annotations_not_shown"] == 4
    assert part.details["preexisting"] == 2
    assert part.fails_check is False
    failing = summarize(result, RefactoringReview.model_validate({"fail_on": ["length"]}))
    assert failing.fails_check and len(failing.details["failing"]) == 7
    assert failing.details["failing"][0] == "length:a.py:1"


@pytest.mark.parametrize("kind", ["nesting", "duplication"])
def test_levels_come_from_config(kind: str) -> None:
    from core.repo_config import RefactoringReview
    from jobs.review import Finding

    finding = Finding("a.py", 1, 2, "notice", kind, "T", "m", "d", None, None, 3)  # type: ignore[arg-type]
    result = ReviewResult(findings=[finding], files_reviewed=1, preexisting=0, skipped=[])
    review = RefactoringReview.model_validate({"levels": {kind: "failure"}})

    (annotation,) = summarize(result, review).annotations

    assert annotation.annotation_level == "failure"
