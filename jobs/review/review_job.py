"""The refactoring-review part: check out the PR, analyse it, hand the result to the fan-in.

The repository's config (read from the base branch, stored in the run state) decides the
thresholds, languages, duplication and the optional LLM pass; :mod:`jobs.review.review_report` turns
what :func:`analyse` found into the part's result. Suggested changes from the LLM pass are
posted as one pull-request review, skipping those an earlier run already posted (each comment
carries a hidden marker).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from gidgethub import HTTPException
from gidgethub.aiohttp import GitHubAPI

from bot.filters import path_filter
from core.github import GitHubError, with_retries
from core.part_registry import REVIEW_REFACTORING
from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.agent import LLMSettings, llm_settings_for
from jobs.checkout import clone_pull_request, part_checkout
from jobs.diff import file_at
from jobs.installation import github_for
from jobs.review.review_llm import CodeSuggestion, LlmPass, markers_in, run_llm_pass
from jobs.review.review_report import review_result
from jobs.review.rules import Thresholds
from jobs.review.sources import FileScope, ReviewResult, review_checkout
from jobs.state import PartResult, RunState

__all__ = ["analyse", "post_suggestions", "review", "thresholds_from"]

log = logging.getLogger(__name__)


def thresholds_from(config: RepoConfig) -> Thresholds:
    """The review's thresholds as the repository's ``refactoring_review.thresholds`` set them."""
    t = config.refactoring_review.thresholds
    return Thresholds(
        complexity=t.complexity,
        function_length=t.function_length,
        nesting=t.nesting,
        parameters=t.parameters,
    )


def analyse(
    repo: Path,
    base_sha: str,
    head_sha: str,
    config: RepoConfig,
    llm: LLMSettings | None,
) -> tuple[ReviewResult, LlmPass | None, str]:
    """The blocking part: static review, then the LLM pass if enabled and configured."""
    review = config.refactoring_review
    result = review_checkout(
        repo,
        base_sha,
        head_sha,
        thresholds_from(config),
        scope=FileScope(languages=review.languages, selected=path_filter(config)),
        duplication_min_lines=review.duplication.min_lines if review.duplication.enabled else None,
    )
    if not review.llm.enabled:
        return result, None, ""
    if llm is None:
        return (
            result,
            None,
            "LLM pass: enabled in `refactoring_review.llm`, but this Tandem has no LLM "
            "configured (TANDEM_LLM_MODEL is not set), so no LLM suggestions were made.",
        )
    paths = {f.path for f in result.touched}
    sources = {p: text for p in paths if (text := file_at(repo, head_sha, p)) is not None}
    outcome = run_llm_pass(
        result.touched,
        sources,
        result.changed_lines,
        llm,
        max_functions=review.llm.max_functions,
        max_cost_usd=review.llm.max_cost_usd,
        level=review.levels.llm,
    )
    return result, outcome, ""


async def post_suggestions(
    gh: GitHubAPI, repo: str, number: int, head_sha: str, suggestions: Sequence[CodeSuggestion]
) -> tuple[int, int]:
    """Post the suggestions not yet on the PR as one review. Returns (posted, already there)."""
    url = f"/repos/{repo}/pulls/{number}/comments?per_page=100"

    async def existing_markers() -> set[str]:
        found: set[str] = set()
        async for comment in gh.getiter(url):
            found |= markers_in(str(comment.get("body") or ""))
        return found

    existing = await with_retries(existing_markers)
    fresh: dict[str, CodeSuggestion] = {}
    for s in suggestions:
        if s.marker not in existing:
            fresh.setdefault(s.marker, s)
    already = len({s.marker for s in suggestions}) - len(fresh)
    if not fresh:
        return 0, already
    await gh.post(
        f"/repos/{repo}/pulls/{number}/reviews",
        data={
            "commit_id": head_sha,
            "event": "COMMENT",
            "body": f"Tandem suggests {len(fresh)} refactoring change(s) for the changed code.",
            "comments": [s.comment() for s in fresh.values()],
        },
    )
    return len(fresh), already


async def review(ctx: dict[str, Any], state: RunState) -> PartResult:
    """The worker's work: clone the PR, analyse it in a thread, post suggestions, report."""
    settings: Settings = ctx["settings"]
    pr = state.pr
    assert pr is not None
    config = RepoConfig.model_validate(json.loads(state.config))
    # The part's own folder, removed once analysed: never the run's other part's.
    with part_checkout(settings, state.key, REVIEW_REFACTORING) as checkout:
        gh, token = await github_for(ctx, pr.installation_id)
        await clone_pull_request(pr, token, checkout, timeout_s=settings.git_timeout_s)
        result, outcome, note = await asyncio.to_thread(
            analyse,
            checkout,
            pr.base_sha,
            pr.head_sha,
            config,
            llm_settings_for(settings, config.test_generation),
        )
    posted = already = 0
    error = ""
    if outcome is not None and outcome.suggestions:
        try:
            posted, already = await post_suggestions(
                gh, pr.repo, pr.number, pr.head_sha, outcome.suggestions
            )
        except (HTTPException, GitHubError, aiohttp.ClientError) as exc:
            log.warning("posting suggested changes for %s failed: %s", state.key, exc)
            error = f"{type(exc).__name__}: {exc}"[:200]
    return review_result(result, outcome, note, config.refactoring_review, posted, already, error)
