"""The refactoring-review part: check out the PR, analyse it, hand findings to the fan-in."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from typing import Any

from bot.repo_config import RepoConfig
from bot.settings import Settings
from jobs.checkout import clone_pull_request
from jobs.review import Finding, ReviewResult, Thresholds, review_checkout
from jobs.runs import github_for, run_part
from jobs.state import AnnotationData, PartResult, RunState


def thresholds_from(config: RepoConfig) -> Thresholds:
    t = config.refactoring_review.thresholds
    return Thresholds(
        complexity=t.complexity,
        function_length=t.function_length,
        nesting=t.nesting,
        parameters=t.parameters,
    )


def summarize(result: ReviewResult) -> PartResult:
    findings = result.findings
    rows = [
        f"| `{f.path}` | {f.function or '-'} | {f.kind} | "
        f"{'' if f.before is None else f'{f.before} → '}{f.after if f.after is not None else ''} |"
        for f in findings
    ]
    table = (
        "| File | Function | Metric | Before → after |\n| --- | --- | --- | --- |\n"
        + "\n".join(rows)
        if rows
        else "No new problems in the changed code."
    )
    notes = [f"{result.files_reviewed} changed file(s) reviewed."]
    if result.preexisting:
        notes.append(
            f"{result.preexisting} pre-existing problem(s) "
            "that this PR did not introduce or make worse."
        )
    if result.skipped:
        notes.append("Skipped: " + "; ".join(result.skipped[:20]))
    return PartResult(
        part="review_refactoring",
        status="ok",
        headline=f"{len(findings)} review finding(s)",
        summary=table + "\n\n" + " ".join(notes),
        annotations=[annotation(f) for f in findings],
        details={"findings": len(findings), "preexisting": result.preexisting},
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


async def review(ctx: dict[str, Any], state: RunState) -> PartResult:
    settings: Settings = ctx["settings"]
    pr = state.pr
    assert pr is not None
    config = RepoConfig.model_validate(json.loads(state.config))
    digest = hashlib.sha256(state.key.encode()).hexdigest()[:16]
    checkout = settings.data_dir.resolve() / "work" / digest / "review_refactoring"
    shutil.rmtree(checkout, ignore_errors=True)
    try:
        _, token = await github_for(ctx, pr.installation_id)
        await clone_pull_request(pr, token, checkout, timeout_s=settings.git_timeout_s)
        result = await asyncio.to_thread(
            review_checkout, checkout, pr.base_sha, pr.head_sha, thresholds_from(config)
        )
        return summarize(result)
    finally:
        shutil.rmtree(checkout, ignore_errors=True)


async def review_refactoring(ctx: dict[str, Any], key: str) -> str:
    return await run_part(ctx, "review_refactoring", key, review)
