"""The review part's result: findings at their configured level, a summary table, annotations.

The repository's config decides each finding kind's annotation level, which kinds fail the
check (``fail_on``) and the annotation cap (``max_annotations``). The LLM pass adds its
findings and a one-line note on how it went (what was sent, kept, dropped, spent, posted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from core.github import Annotation
from core.part_registry import REVIEW_REFACTORING
from core.repo_config import FindingKind, RefactoringReview
from jobs.review.review_llm import LlmPass
from jobs.review.rules import Finding
from jobs.review.sources import ReviewResult
from jobs.state import PartResult

__all__ = [
    "CONFIG_KIND",
    "LlmOutcome",
    "annotation",
    "apply_levels",
    "llm_note",
    "review_result",
    "summarize",
]

# the review's finding kinds -> the names tandem.yml uses for levels and fail_on
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
    """The review part's result: headline, table of findings, notes and annotations."""
    review = review or RefactoringReview()
    findings = apply_levels(result.findings, review)
    findings.sort(key=lambda f: (_LEVEL_ORDER[f.level], f.path, f.start_line, f.kind))
    failing = [f for f in findings if CONFIG_KIND[f.kind] in review.fail_on]
    notes = _notes(result, failing, llm)
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
    failure = llm.llm.failure if llm is not None and llm.llm is not None else None
    if failure is not None and llm is not None and llm.llm is not None:
        # The LLM pass was asked for and the LLM did not work: never ✅, and say why first.
        what = "static review only" if not llm.llm.functions_sent else "LLM pass cut short"
        headline = f"{failure}: {what}, {headline}"
    return PartResult(
        part=REVIEW_REFACTORING,
        status="warning" if failure is not None else "ok",
        headline=headline,
        summary=_table(findings) + "\n\n" + "\n\n".join(notes),
        annotations=[annotation(f) for f in shown],
        fails_check=bool(failing),
        details={
            "findings": len(findings),
            "preexisting": result.preexisting,
            "annotations_not_shown": len(findings) - len(shown),
            "failing": [f"{CONFIG_KIND[f.kind]}:{f.path}:{f.start_line}" for f in failing],
            "llm_failure": failure,
        },
    )


def _table(findings: list[Finding]) -> str:
    """The findings as a table, the first ``MAX_TABLE_ROWS`` of them."""
    rows = []
    for f in findings[:MAX_TABLE_ROWS]:
        metric, change = _metric_cell(f)
        rows.append(
            f"| `{_cell(f.path)}`:{f.start_line} | {_cell(f.function or '-')} | {metric} "
            f"| {change} |"
        )
    if not rows:
        return "No new problems in the changed code."
    table = (
        "| File | Function | Metric | Before → after |\n| --- | --- | --- | --- |\n"
        + "\n".join(rows)
    )
    if len(findings) > MAX_TABLE_ROWS:
        table += f"\n\n…and {len(findings) - MAX_TABLE_ROWS} more in the annotations."
    return table


def _notes(result: ReviewResult, failing: list[Finding], llm: LlmOutcome | None) -> list[str]:
    """What the summary says below the table: why the check fails, first, then what the
    review did not count or look at."""
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
    return notes


def annotation(finding: Finding) -> Annotation:
    """The check-run annotation of one finding."""
    return Annotation(
        path=finding.path,
        start_line=finding.start_line,
        end_line=finding.end_line,
        annotation_level=finding.level,
        title=finding.title,
        message=finding.message,
        raw_details=finding.raw_details or None,
    )


def llm_note(outcome: LlmPass, posted: int, already: int, post_error: str) -> str:
    """One paragraph on how the LLM pass and posting its suggested changes went."""
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
