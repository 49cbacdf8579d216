"""What the review reports: thresholds, the metric table, findings and the per-file rules.

A function of a changed file is reported only when

* it overlaps lines the PR added or modified, and
* a metric is above its threshold, and
* the function is new, or the metric got worse than in the base version of the same
  function (matched by qualified name).

Problems the PR did not introduce or worsen are only counted (``preexisting``), so a PR is
never blamed for the state of the code it happens to touch. A Python head that does not parse
gives one ``syntax_error`` finding. The skip reasons say which files are not fit for review at
all (vendored, generated, minified, binary). Everything here is pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from jobs.review.metrics import AnalysisError, FunctionMetrics, measure_functions

__all__ = [
    "METRICS",
    "FileReview",
    "Finding",
    "Improvement",
    "Kind",
    "Level",
    "Metric",
    "Thresholds",
    "TouchedFunction",
    "content_skip_reason",
    "path_skip_reason",
    "review_file",
    "review_source",
    "skip_reason",
]

Level = Literal["notice", "warning", "failure"]
Kind = Literal[
    "complexity", "length", "nesting", "parameters", "syntax_error", "duplication", "llm"
]

VENDORED_DIRS = frozenset({"node_modules", "vendor", "third_party", "bower_components"})
GENERATED_NAME = re.compile(
    r"(\.min\.(js|mjs|cjs|css)|-min\.js|\.bundle\.js|_pb2(_grpc)?\.pyi?|\.pb\.(go|cc|h)"
    r"|\.generated\.\w+|\.g\.dart)$",
    re.IGNORECASE,
)
GENERATED_MARKER = re.compile(
    r"@generated\b|\bDO NOT EDIT\b|\b(?:auto-?generated|automatically generated)\b",
    re.IGNORECASE,
)
MINIFIED_MIN_BYTES = 2_000
MINIFIED_AVG_LINE = 250


@dataclass(frozen=True)
class Thresholds:
    complexity: int = 10  # cyclomatic complexity per function
    function_length: int = 60  # lines
    nesting: int = 4  # max block nesting depth inside a function
    parameters: int = 6


@dataclass(frozen=True)
class Finding:
    path: str
    start_line: int
    end_line: int
    level: Level
    kind: Kind
    title: str  # e.g. "Complexity 14 in parse_args (was 8)"
    message: str  # one line
    raw_details: str  # the numbers, e.g. "cyclomatic complexity: 8 -> 14 (threshold 10)"
    function: str | None
    before: int | None
    after: int | None


@dataclass(frozen=True)
class TouchedFunction:
    """A head-side function that overlaps the PR's changed lines, for the LLM pass."""

    path: str
    name: str
    start_line: int  # first line of the function's span (decorators included)
    end_line: int
    changed: tuple[int, ...]  # changed head lines inside the function
    score: float  # sum over metrics of value / threshold: higher is worse


@dataclass(frozen=True)
class Improvement:
    """A touched function whose complexity the PR lowered: worth a kind word."""

    path: str
    function: str
    before: int
    after: int


# --------------------------------------------------------------------------------------------
# metrics: one entry per kind of problem. Adding a metric means adding a FunctionMetrics field
# and a Metric here.


@dataclass(frozen=True)
class Metric:
    kind: Kind
    label: str  # title prefix: "Complexity 14 in f (was 8)"
    unit: str  # appended to the value in titles: "Length 75 lines in f"
    details_name: str  # raw_details prefix: "cyclomatic complexity: 8 -> 14"
    level: Level
    advice: str
    value: Callable[[FunctionMetrics], int]
    threshold: Callable[[Thresholds], int]


METRICS: tuple[Metric, ...] = (
    Metric(
        kind="complexity",
        label="Complexity",
        unit="",
        details_name="cyclomatic complexity",
        level="warning",
        advice="consider splitting it into smaller functions",
        value=lambda f: f.complexity,
        threshold=lambda t: t.complexity,
    ),
    Metric(
        kind="length",
        label="Length",
        unit=" lines",
        details_name="function length",
        level="notice",
        advice="consider extracting parts of it into helpers",
        value=lambda f: f.length,
        threshold=lambda t: t.function_length,
    ),
    Metric(
        kind="nesting",
        label="Nesting depth",
        unit="",
        details_name="nesting depth",
        level="notice",
        advice="consider early returns or extracting the inner blocks",
        value=lambda f: f.nesting,
        threshold=lambda t: t.nesting,
    ),
    Metric(
        kind="parameters",
        label="Parameters",
        unit="",
        details_name="parameter count",
        level="notice",
        advice="consider grouping related parameters into an object",
        value=lambda f: f.parameters,
        threshold=lambda t: t.parameters,
    ),
)


def _by_name(functions: Iterable[FunctionMetrics]) -> dict[str, FunctionMetrics]:
    """Index functions by qualified name; repeats (overloads, redefinitions) get "#2", "#3"."""
    index: dict[str, FunctionMetrics] = {}
    seen: dict[str, int] = {}
    for fn in functions:
        seen[fn.name] = seen.get(fn.name, 0) + 1
        key = fn.name if seen[fn.name] == 1 else f"{fn.name}#{seen[fn.name]}"
        index[key] = fn
    return index


# --------------------------------------------------------------------------------------------
# reviewing


def review_source(
    path: str,
    base_source: str | None,
    head_source: str,
    changed: set[int],
    thresholds: Thresholds,
) -> tuple[list[Finding], int]:
    """Findings for one file, and the number of pre-existing problems in it.

    ``base_source`` is the file in the merge base (None for a new file), ``changed`` the
    head-side lines the PR added or modified. A finding is produced for a function that
    overlaps ``changed``, is over a threshold, and is new or worse than in base.

    A head that does not parse (Python) gives one ``syntax_error`` finding, unless the base
    did not parse either, in which case it counts as pre-existing.

    Raises :class:`AnalysisError` if the file cannot be measured at all.
    """
    review = review_file(path, base_source, head_source, changed, thresholds)
    return review.findings, review.preexisting


@dataclass
class FileReview:
    """What :func:`review_file` found in one file."""

    findings: list[Finding]
    preexisting: int
    touched: list[TouchedFunction]
    improved: list[Improvement]


def review_file(
    path: str,
    base_source: str | None,
    head_source: str,
    changed: set[int],
    thresholds: Thresholds,
) -> FileReview:
    """:func:`review_source`, plus the touched and improved functions the caller collects."""
    try:
        head = measure_functions(path, head_source)
    except SyntaxError as exc:
        if base_source is not None and _has_syntax_error(path, base_source):
            return FileReview([], 1, [], [])
        return FileReview([_syntax_error_finding(path, head_source, exc)], 0, [], [])

    base: dict[str, FunctionMetrics] = {}
    if base_source is not None:
        try:
            base = _by_name(measure_functions(path, base_source))
        except (SyntaxError, AnalysisError):
            base = {}  # nothing to compare against: every function counts as new

    review = FileReview([], 0, [], [])
    for key, fn in _by_name(head).items():
        before_fn = base.get(key)
        touched = fn.overlaps(changed)
        if touched:
            first = fn.span_start or fn.start_line
            review.touched.append(
                TouchedFunction(
                    path=path,
                    name=fn.name,
                    start_line=first,
                    end_line=fn.end_line,
                    changed=tuple(sorted(n for n in changed if first <= n <= fn.end_line)),
                    score=round(
                        sum(m.value(fn) / max(1, m.threshold(thresholds)) for m in METRICS), 3
                    ),
                )
            )
        if before_fn is not None and fn.complexity < before_fn.complexity:
            # only the PR changes code between base and head, so this is its doing
            review.improved.append(Improvement(path, fn.name, before_fn.complexity, fn.complexity))
        for metric in METRICS:
            after = metric.value(fn)
            limit = metric.threshold(thresholds)
            if after <= limit:
                continue
            before = None if before_fn is None else metric.value(before_fn)
            if touched and (before is None or after > before):
                review.findings.append(_finding(path, fn, metric, before, after, limit))
            else:
                review.preexisting += 1
    review.findings.sort(key=lambda f: (f.start_line, f.function or "", f.kind))
    return review


def _has_syntax_error(path: str, source: str) -> bool:
    try:
        measure_functions(path, source)
    except SyntaxError:
        return True
    except AnalysisError:
        return False
    return False


def _finding(
    path: str,
    fn: FunctionMetrics,
    metric: Metric,
    before: int | None,
    after: int,
    limit: int,
) -> Finding:
    name = fn.name
    if before is None:
        title = f"{metric.label} {after}{metric.unit} in {name} (new)"
        message = (
            f"New function {name} has {metric.details_name} {after}, above the threshold of "
            f"{limit}; {metric.advice}."
        )
        details = f"{metric.details_name}: {after} (new function, threshold {limit})"
    else:
        title = f"{metric.label} {after}{metric.unit} in {name} (was {before})"
        message = (
            f"This change raises the {metric.details_name} of {name} from {before} to {after}, "
            f"above the threshold of {limit}; {metric.advice}."
        )
        details = f"{metric.details_name}: {before} -> {after} (threshold {limit})"
    return Finding(
        path=path,
        start_line=fn.start_line,
        end_line=fn.end_line,
        level=metric.level,
        kind=metric.kind,
        title=title,
        message=message,
        raw_details=details,
        function=name,
        before=before,
        after=after,
    )


def _syntax_error_finding(path: str, source: str, exc: SyntaxError) -> Finding:
    line_count = max(1, source.count("\n") + (0 if source.endswith("\n") else 1))
    line = min(max(1, exc.lineno or 1), line_count)
    reason = " ".join(str(exc.msg or "invalid syntax").split())
    where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
    return Finding(
        path=path,
        start_line=line,
        end_line=line,
        level="notice",
        kind="syntax_error",
        title=f"Syntax error in {path}",
        message=f"Python cannot parse this file ({reason}), so it was not reviewed.",
        raw_details=f"SyntaxError: {reason} ({where})",
        function=None,
        before=None,
        after=None,
    )


def path_skip_reason(path: str) -> str | None:
    """Why a file should not be analysed judging by its path alone (vendored, generated)."""
    if any(part in VENDORED_DIRS for part in PurePosixPath(path).parts[:-1]):
        return "vendored"
    if GENERATED_NAME.search(path):
        return "generated or minified"
    return None


def content_skip_reason(data: bytes) -> str | None:
    """Why a file's content should not be analysed (binary, not UTF-8, generated, minified)."""
    if b"\0" in data[:8192]:
        return "binary"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if GENERATED_MARKER.search(text[:2048]):
        return "generated"
    if len(data) >= MINIFIED_MIN_BYTES and len(text) / (text.count("\n") + 1) > MINIFIED_AVG_LINE:
        return "minified"
    return None


def skip_reason(path: str, data: bytes) -> str | None:
    """Why a file should not be analysed, or None. Size limits are the caller's business."""
    return path_skip_reason(path) or content_skip_reason(data)
