"""The refactoring-review part: check out the PR, analyse it, hand findings to the fan-in.

The repository's config (read from the base branch, stored in the run state) decides the
thresholds, languages, duplication, annotation levels, which findings fail the check
(``fail_on``), the annotation cap and the optional LLM pass. Suggested changes from the LLM
pass are posted as one pull-request review, skipping those an earlier run already posted
(each comment carries a hidden marker).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from gidgethub import HTTPException
from gidgethub.aiohttp import GitHubAPI

from bot.filters import path_filter
from bot.github import GitHubError, with_retries
from bot.repo_config import FindingKind, RefactoringReview, RepoConfig
from bot.settings import Settings
from jobs.agent import LLMSettings, llm_settings_for
from jobs.checkout import clone_pull_request
from jobs.diff import changed_lines, file_at, merge_base
from jobs.review import Finding, ReviewResult, Thresholds, review_checkout
from jobs.review_llm import CodeSuggestion, LlmPass, markers_in, run_llm_pass
from jobs.runs import github_for, run_part
from jobs.state import AnnotationData, PartResult, RunState

log = logging.getLogger(__name__)

# review.py's finding kinds -> the names tandem.yml uses for levels and fail_on
CONFIG_KIND: dict[str, FindingKind] = {
    "complexity": "complexity_increase",
    "length": "length",
    "nesting": "nesting",
    "parameters": "parameters",
    "duplication": "duplication",
    "llm": "llm",
    "syntax_error": "syntax_error",
}
_LEVEL_ORDER = {"failure": 0, "warning": 1, "notice": 2}
MAX_TABLE_ROWS = 30


def thresholds_from(config: RepoConfig) -> Thresholds:
    t = config.refactoring_review.thresholds
    return Thresholds(
        complexity=t.complexity,
        function_length=t.function_length,
        nesting=t.nesting,
        parameters=t.parameters,
    )


def apply_levels(findings: Sequence[Finding], review: RefactoringReview) -> list[Finding]:
    """Each finding at the level the config gives its kind (syntax errors stay notices)."""
    levels = review.levels.model_dump()
    out = []
    for f in findings:
        level = levels.get(CONFIG_KIND[f.kind])
        out.append(dataclasses.replace(f, level=level) if level else f)
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _metric_cell(f: Finding) -> tuple[str, str]:
    if f.kind == "duplication":
        return "duplication", f"{f.after} lines ({f.title.split('also at ', 1)[-1]})"
    if f.kind == "llm":
        return "LLM suggestion", _cell(f.message[:80])
    if f.kind == "syntax_error":
        return "syntax error", "not reviewed"
    before = "new" if f.before is None else str(f.before)
    return CONFIG_KIND[f.kind].replace("_increase", ""), f"{before} → {f.after}"


@dataclasses.dataclass
class LlmOutcome:
    """How the LLM pass went, for the summary (None fields: it did not run)."""

    note: str
    llm: LlmPass | None = None
    posted: int = 0
    already_posted: int = 0
    post_error: str = ""


def summarize(
    result: ReviewResult,
    review: RefactoringReview | None = None,
    llm: LlmOutcome | None = None,
) -> PartResult:
    review = review or RefactoringReview()
    findings = apply_levels(result.findings, review)
    findings.sort(key=lambda f: (_LEVEL_ORDER[f.level], f.path, f.start_line, f.kind))
    failing = [f for f in findings if CONFIG_KIND[f.kind] in review.fail_on]

    rows = []
    for f in findings[:MAX_TABLE_ROWS]:
        metric, change = _metric_cell(f)
        rows.append(
            f"| `{_cell(f.path)}`:{f.start_line} | {_cell(f.function or '-')} | {metric} "
            f"| {change} |"
        )
    if rows:
        table = (
            "| File | Function | Metric | Before → after |\n| --- | --- | --- | --- |\n"
            + "\n".join(rows)
        )
        if len(findings) > MAX_TABLE_ROWS:
            table += f"\n\n…and {len(findings) - MAX_TABLE_ROWS} more in the annotations."
    else:
        table = "No new problems in the changed code."

    notes = [f"{result.files_reviewed} changed file(s) reviewed."]
    if failing:
        kinds = sorted({CONFIG_KIND[f.kind] for f in failing})
        first = failing[0]
        notes.insert(
            0,
            f"**This fails the check:** `fail_on` lists {', '.join(f'`{k}`' for k in kinds)}; "
            f"{len(failing)} finding(s) match, first: {first.title} "
            f"(`{first.path}`:{first.start_line}).",
        )
    if result.improved:
        better = ", ".join(
            f"{i.function} in `{i.path}` ({i.before} → {i.after})" for i in result.improved[:5]
        )
        notes.append(f"Made simpler (complexity): {better}.")
    if result.preexisting:
        notes.append(
            f"{result.preexisting} pre-existing problem(s) "
            "that this PR did not introduce or make worse."
        )
    if result.languages_off:
        off = ", ".join(f"{n} {lang}" for lang, n in sorted(result.languages_off.items()))
        notes.append(f"Not reviewed (language not enabled in `languages`): {off} file(s).")
    if result.skipped:
        more = len(result.skipped) - 20
        notes.append(
            "Skipped: "
            + "; ".join(result.skipped[:20])
            + (f"; and {more} more" if more > 0 else "")
            + "."
        )
    if llm is not None:
        notes.append(llm.note)

    cap = review.max_annotations
    shown = findings[:cap]
    if len(findings) > cap:
        notes.append(
            f"Showing {cap} annotations, and {len(findings) - cap} more finding(s) not shown "
            "(`max_annotations`)."
        )
    headline = f"{len(findings)} review finding(s)"
    if failing:
        headline += f", {len(failing)} failing the check"
    return PartResult(
        part="review_refactoring",
        status="ok",
        headline=headline,
        summary=table + "\n\n" + "\n\n".join(notes),
        annotations=[annotation(f) for f in shown],
        fails_check=bool(failing),
        details={
            "findings": len(findings),
            "preexisting": result.preexisting,
            "failing": [f"{CONFIG_KIND[f.kind]}:{f.path}:{f.start_line}" for f in failing],
        },
    )


def annotation(finding: Finding) -> AnnotationData:
    return AnnotationData(
        path=finding.path,
        start_line=finding.start_line,
        end_line=finding.end_line,
        level=finding.level,
        title=finding.title,
        message=finding.message,
        raw_details=finding.raw_details,
    )


def llm_note(outcome: LlmPass, posted: int, already: int, post_error: str) -> str:
    parts = [
        f"LLM pass: {outcome.functions_sent} function(s) sent, "
        f"{len(outcome.findings)} suggestion(s) kept"
    ]
    if outcome.invalid:
        parts.append(f"{outcome.invalid} dropped as invalid")
    if outcome.off_diff:
        parts.append(f"{outcome.off_diff} dropped as outside the changed lines")
    if outcome.functions_skipped:
        parts.append(f"{outcome.functions_skipped} function(s) not sent")
    text = ", ".join(parts) + f"; ${outcome.cost_usd:.4f} spent."
    if outcome.stopped:
        text += f" Stopped early: {outcome.stopped}."
    if posted or already:
        text += f" Suggested changes: {posted} posted as a review"
        text += f", {already} already posted earlier." if already else "."
    if post_error:
        text += f" Posting suggested changes failed: {post_error}."
    return text


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
        languages=review.languages,
        duplication_min_lines=review.duplication.min_lines if review.duplication.enabled else None,
        selected=path_filter(config),
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
    base = merge_base(repo, base_sha, head_sha)
    changed = changed_lines(repo, base, head_sha)
    paths = {f.path for f in result.touched}
    sources = {p: text for p in paths if (text := file_at(repo, head_sha, p)) is not None}
    outcome = run_llm_pass(
        result.touched,
        sources,
        changed,
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
    settings: Settings = ctx["settings"]
    pr = state.pr
    assert pr is not None
    config = RepoConfig.model_validate(json.loads(state.config))
    digest = hashlib.sha256(state.key.encode()).hexdigest()[:16]
    checkout = settings.data_dir.resolve() / "work" / digest / "review_refactoring"
    shutil.rmtree(checkout, ignore_errors=True)
    try:
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
    finally:
        shutil.rmtree(checkout, ignore_errors=True)
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


def review_result(
    result: ReviewResult,
    outcome: LlmPass | None,
    note: str,
    review: RefactoringReview,
    posted: int = 0,
    already: int = 0,
    post_error: str = "",
) -> PartResult:
    """The part's result from `analyse`'s output and how posting the suggestions went."""
    llm: LlmOutcome | None = LlmOutcome(note) if note else None
    if outcome is not None:
        llm = LlmOutcome(llm_note(outcome, posted, already, post_error), outcome, posted, already)
        result = dataclasses.replace(result, findings=[*result.findings, *outcome.findings])
    return summarize(result, review, llm)


async def review_refactoring(ctx: dict[str, Any], key: str) -> str:
    return await run_part(ctx, "review_refactoring", key, review)
