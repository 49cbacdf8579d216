"""Diff-aware refactoring review.

The review measures every function of a changed file in the PR's head and in its base
(the merge base, as in the PR's diff), and reports a function only when

* it overlaps lines the PR added or modified, and
* a metric is above its threshold, and
* the function is new, or the metric got worse than in the base version of the same
  function (matched by qualified name).

Problems the PR did not introduce or worsen are only counted (``preexisting``), so a PR is
never blamed for the state of the code it happens to touch.

Python is measured with radon (cyclomatic complexity) and the ``ast`` module (length,
nesting, parameters). Other languages go through lizard. Only the languages the repository
enables (``refactoring_review.languages``) are looked at.

Duplication: a block of at least ``min_lines`` significant lines the PR added that also
appears elsewhere in the head tree (another file, or elsewhere in the same file, including
code the PR added twice) is reported with both places; see :func:`find_duplicates`. The pure part
(:func:`review_source` and the ``measure_*`` functions) does no I/O;
:func:`review_checkout` reads a local git checkout through :mod:`jobs.diff`.
"""

from __future__ import annotations

import ast
import hashlib
import re
import subprocess
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import lizard
from lizard_languages import get_reader_for
from radon.complexity import cc_visit, cc_visit_ast
from radon.visitors import Class as RadonClass
from radon.visitors import Function as RadonFunction

from jobs.diff import (
    ChangedFile,
    GitError,
    _git_env,
    blob_info,
    changed_files,
    file_bytes_at,
    merge_base,
)

__all__ = [
    "METRICS",
    "AnalysisError",
    "DuplicateBlock",
    "Finding",
    "FunctionMetrics",
    "Kind",
    "Level",
    "Metric",
    "ReviewResult",
    "Thresholds",
    "TouchedFunction",
    "content_skip_reason",
    "find_duplicates",
    "is_reviewable",
    "language_of",
    "measure_functions",
    "measure_lizard",
    "measure_python",
    "path_skip_reason",
    "review_checkout",
    "review_source",
    "skip_reason",
]

Level = Literal["notice", "warning", "failure"]
Kind = Literal[
    "complexity", "length", "nesting", "parameters", "syntax_error", "duplication", "llm"
]

PYTHON_SUFFIXES = frozenset({".py", ".pyi", ".pyw"})
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


@dataclass(frozen=True)
class ReviewResult:
    findings: list[Finding]
    files_reviewed: int
    # Problems over a threshold that the PR did not introduce or make worse (untouched
    # functions, or touched functions whose metric did not grow). Not reported one by one.
    preexisting: int
    skipped: list[str]  # files not analysed, with reason text e.g. "vendor/x.min.js: too large"
    touched: list[TouchedFunction] = field(default_factory=list)
    improved: list[Improvement] = field(default_factory=list)
    # changed files in a language the repository did not enable, per language
    languages_off: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FunctionMetrics:
    """Measurements of one function (or method) in one version of a file."""

    name: str  # qualified name, e.g. "Parser.parse_args" or "outer.inner"
    start_line: int  # the line of the definition itself ("def ...", not a decorator)
    end_line: int
    complexity: int
    length: int
    nesting: int
    parameters: int
    span_start: int = 0  # first line that belongs to the function (decorators); 0 = start_line

    def overlaps(self, lines: Iterable[int]) -> bool:
        first = self.span_start or self.start_line
        return any(first <= n <= self.end_line for n in lines)


class AnalysisError(Exception):
    """A file could not be measured for a reason other than a syntax error."""


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


# --------------------------------------------------------------------------------------------
# measuring


def is_python(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in PYTHON_SUFFIXES


def is_reviewable(path: str) -> bool:
    """True if the review knows how to measure this file type."""
    return is_python(path) or get_reader_for(path) is not None


_C_SUFFIXES = frozenset({".c", ".h"})


def language_of(path: str) -> str | None:
    """The language name used in ``refactoring_review.languages`` for ``path``, or None.

    Python is ``python``; everything else is lizard's name for it (``javascript``,
    ``typescript``, ``go``, ``java``, ``rust``, ...), with ``.c``/``.h`` as ``c`` and the
    other C-family suffixes as ``cpp``, ``.jsx`` as ``javascript`` and ``.tsx`` as
    ``typescript``.
    """
    if is_python(path):
        return "python"
    reader = get_reader_for(path)
    if reader is None:
        return None
    names = [str(n) for n in getattr(reader, "language_names", [])]
    suffix = PurePosixPath(path).suffix.lower()
    if "cpp" in names:
        return "c" if suffix in _C_SUFFIXES else "cpp"
    if "tsx" in names:
        return "typescript" if suffix == ".tsx" else "javascript"
    return names[0] if names else None


def language_enabled(path: str, languages: Collection[str] | None) -> bool:
    """Whether ``path`` is in one of ``languages`` (None: every language the review knows)."""
    language = language_of(path)
    if language is None:
        return False
    if languages is None:
        return True
    wanted = {lang.lower() for lang in languages}
    if language in wanted:
        return True
    reader = get_reader_for(path)
    aliases = {str(n) for n in getattr(reader, "language_names", [])} - {"c", "cpp"}
    return bool(aliases & wanted)


def measure_functions(path: str, source: str) -> list[FunctionMetrics]:
    """Measure every function in ``source``; the language is chosen by ``path``'s suffix.

    Raises :class:`SyntaxError` for Python that does not parse, :class:`AnalysisError` when
    the file cannot be measured for another reason (or the language is not supported).
    """
    if is_python(path):
        return measure_python(source)
    return measure_lizard(path, source)


def measure_python(source: str) -> list[FunctionMetrics]:
    """Functions and methods of a Python module: radon complexity plus AST metrics."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes etc.
            tree = ast.parse(source)
    except (ValueError, RecursionError, MemoryError) as exc:
        raise AnalysisError(f"cannot parse: {type(exc).__name__}") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            complexity = _radon_complexities(source)
        return [
            _python_function(node, qualname, complexity)
            for node, qualname in _python_functions(tree.body, ())
        ]
    except RecursionError as exc:
        raise AnalysisError("cannot measure: nested too deeply") from exc


_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _python_functions(
    body: Sequence[ast.stmt] | Iterable[ast.AST], scope: tuple[str, ...]
) -> Iterable[tuple[_FunctionNode, str]]:
    """All function definitions with a qualified name, in source order."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            qualname = ".".join((*scope, node.name))
            yield node, qualname
            yield from _python_functions(ast.iter_child_nodes(node), (*scope, node.name))
        elif isinstance(node, ast.ClassDef):
            yield from _python_functions(ast.iter_child_nodes(node), (*scope, node.name))
        elif isinstance(node, ast.stmt | ast.excepthandler | ast.match_case):
            # functions defined under if/try/with/... keep the enclosing scope's name
            yield from _python_functions(ast.iter_child_nodes(node), scope)


def _radon_complexities(source: str) -> dict[tuple[int, str], int]:
    """Cyclomatic complexity per (definition line, name), from radon."""
    result: dict[tuple[int, str], int] = {}

    def add(block: Any) -> None:
        if isinstance(block, RadonFunction):
            result[(block.lineno, block.name)] = int(block.complexity)
            for closure in block.closures:
                add(closure)
        elif isinstance(block, RadonClass):
            for method in block.methods:
                add(method)
            for inner in block.inner_classes:
                add(inner)

    for block in cc_visit(source):
        if isinstance(block, RadonFunction) and block.is_method:
            continue  # methods are reached through their class, with their closures
        add(block)
    return result


def _python_function(
    node: _FunctionNode, qualname: str, complexity: dict[tuple[int, str], int]
) -> FunctionMetrics:
    cc = complexity.get((node.lineno, node.name))
    if cc is None:  # e.g. methods of a class defined inside a function: radon skips those
        blocks = cc_visit_ast(ast.Module(body=[node], type_ignores=[]))
        cc = int(blocks[0].complexity) if blocks else 1
    end = node.end_lineno or node.lineno
    span_start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return FunctionMetrics(
        name=qualname,
        start_line=node.lineno,
        end_line=end,
        complexity=cc,
        length=end - node.lineno + 1,
        nesting=_max_nesting(node.body, 0),
        parameters=_python_parameter_count(node.args),
        span_start=span_start,
    )


def _python_parameter_count(args: ast.arguments) -> int:
    positional = [*args.posonlyargs, *args.args]
    count = len(positional) + len(args.kwonlyargs)
    if positional and positional[0].arg in ("self", "cls"):
        count -= 1
    return count


_COMPOUND = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)


def _max_nesting(body: Sequence[ast.stmt], depth: int) -> int:
    """Deepest nesting of compound statements in ``body``, which sits at ``depth``.

    Nested function and class definitions are separate scopes and do not count. An
    ``elif`` is as deep as its ``if``.
    """
    deepest = depth
    for stmt in body:
        if not isinstance(stmt, _COMPOUND):
            continue
        inner = depth + 1
        blocks: list[Sequence[ast.stmt]] = []
        if isinstance(stmt, ast.If):
            blocks.append(stmt.body)
            orelse = stmt.orelse
            if (
                len(orelse) == 1
                and isinstance(orelse[0], ast.If)
                and orelse[0].col_offset == stmt.col_offset
            ):
                deepest = max(deepest, _max_nesting(orelse, depth))  # elif
            else:
                blocks.append(orelse)
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
            blocks += [stmt.body, stmt.orelse]
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            blocks.append(stmt.body)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            blocks += [stmt.body, stmt.orelse, stmt.finalbody]
            blocks += [h.body for h in stmt.handlers]
        elif isinstance(stmt, ast.Match):
            blocks += [case.body for case in stmt.cases]
        deepest = max(deepest, inner, *(_max_nesting(b, inner) for b in blocks))
    return deepest


def _lizard_extensions() -> list[Any]:
    # "nd" adds max_nesting_depth, which plain analyze_file leaves at 0. Fresh instances per
    # call (cheap), so concurrent reviews in threads share no extension state.
    return list(lizard.get_extensions(["nd"]))


def measure_lizard(path: str, source: str) -> list[FunctionMetrics]:
    """Functions of any language lizard supports (JavaScript, TypeScript, Go, Java, C, ...)."""
    if get_reader_for(path) is None:
        raise AnalysisError("language not supported")
    try:
        analyzer = lizard.FileAnalyzer(_lizard_extensions())
        info = analyzer.analyze_source_code(path, source)
    except RecursionError as exc:
        raise AnalysisError("cannot measure: nested too deeply") from exc
    except Exception as exc:  # lizard is a heuristic tokenizer; hostile input can trip it
        raise AnalysisError(f"lizard failed: {type(exc).__name__}") from exc
    result = []
    for fn in info.function_list:
        start, end = int(fn.start_line), int(fn.end_line)
        result.append(
            FunctionMetrics(
                name=str(fn.name),
                start_line=start,
                end_line=max(start, end),
                complexity=int(fn.cyclomatic_complexity),
                length=max(start, end) - start + 1,
                nesting=int(getattr(fn, "max_nesting_depth", 0) or 0),
                parameters=int(fn.parameter_count),
            )
        )
    return result


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
    review = _review_file(path, base_source, head_source, changed, thresholds)
    return review.findings, review.preexisting


@dataclass
class _FileReview:
    findings: list[Finding]
    preexisting: int
    touched: list[TouchedFunction]
    improved: list[Improvement]


def _review_file(
    path: str,
    base_source: str | None,
    head_source: str,
    changed: set[int],
    thresholds: Thresholds,
) -> _FileReview:
    try:
        head = measure_functions(path, head_source)
    except SyntaxError as exc:
        if base_source is not None and _has_syntax_error(path, base_source):
            return _FileReview([], 1, [], [])
        return _FileReview([_syntax_error_finding(path, head_source, exc)], 0, [], [])

    base: dict[str, FunctionMetrics] = {}
    if base_source is not None:
        try:
            base = _by_name(measure_functions(path, base_source))
        except (SyntaxError, AnalysisError):
            base = {}  # nothing to compare against: every function counts as new

    review = _FileReview([], 0, [], [])
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


def review_checkout(
    repo: Path,
    base: str,
    head: str,
    thresholds: Thresholds,
    *,
    max_file_bytes: int = 1_000_000,
    max_files: int = 3_000,
    languages: Collection[str] | None = None,
    duplication_min_lines: int | None = None,
    selected: Callable[[str], bool] | None = None,
) -> ReviewResult:
    """Review the PR diff ``base...head`` of a local git checkout.

    ``selected`` (the repository's ``paths`` include/exclude) limits which changed files are
    reviewed; excluded files are neither reviewed nor counted.

    Contents are read from git objects (merge base and ``head``), not from the work tree.
    Only changed files of a type the review can measure, in one of ``languages`` (None: all),
    are looked at; deleted files are ignored. Files that cannot be analysed are listed in
    ``skipped`` with a reason. With ``duplication_min_lines`` set, added code that repeats
    code elsewhere in ``head`` is reported too (see :func:`find_duplicates`).
    Raises :class:`jobs.diff.GitError` if git fails (unknown ref, not a repository...).
    """
    base_sha = merge_base(repo, base, head)
    findings: list[Finding] = []
    skipped: list[str] = []
    touched: list[TouchedFunction] = []
    improved: list[Improvement] = []
    languages_off: dict[str, int] = {}
    preexisting = 0
    reviewed = 0
    candidates: list[ChangedFile] = []
    for f in changed_files(repo, base_sha, head, max_file_bytes=max_file_bytes):
        if not is_reviewable(f.path) or (selected is not None and not selected(f.path)):
            continue
        if not language_enabled(f.path, languages):
            language = language_of(f.path) or "?"
            languages_off[language] = languages_off.get(language, 0) + 1
            continue
        candidates.append(f)
    added: dict[str, tuple[str, set[int]]] = {}  # path -> (head source, added lines)
    for index, changed in enumerate(candidates):
        if index >= max_files:
            skipped.append(f"{changed.path}: not reviewed, more than {max_files} files changed")
            continue
        loaded = _load_sources(repo, base_sha, head, changed, max_file_bytes)
        if isinstance(loaded, str):
            skipped.append(f"{changed.path}: {loaded}")
            continue
        head_source, base_source = loaded
        try:
            review = _review_file(
                changed.path, base_source, head_source, set(changed.lines), thresholds
            )
        except AnalysisError as exc:
            skipped.append(f"{changed.path}: {exc}")
            continue
        reviewed += 1
        findings.extend(review.findings)
        touched.extend(review.touched)
        improved.extend(review.improved)
        preexisting += review.preexisting
        if changed.lines:
            added[changed.path] = (head_source, set(changed.lines))
    if duplication_min_lines is not None and added:
        blocks = find_duplicates(
            added,
            _head_sources(repo, head, languages, max_file_bytes),
            duplication_min_lines,
        )
        findings.extend(_duplication_finding(b) for b in blocks)
    return ReviewResult(
        findings=findings,
        files_reviewed=reviewed,
        preexisting=preexisting,
        skipped=skipped,
        touched=touched,
        improved=improved,
        languages_off=languages_off,
    )


# --------------------------------------------------------------------------------------------
# duplication
#
# Why not a library: lizard's duplicate extension counts tokens, not lines, keeps a
# concatenated string of every 31-token window of every file in memory and is reachable only
# through extension internals; pylint's symilar is Python-only and compares every pair of
# files; copydetect is a plagiarism scorer per file pair, not a locator of blocks. What the
# review needs is small: "these N added lines also appear there", polyglot, linear in the
# size of the repository. So: normalise lines (whitespace collapsed; blank, comment, import
# and single-keyword lines dropped), hash every window of ``min_lines`` significant lines of
# the added code, then stream the head tree once looking for the same hashes.


@dataclass(frozen=True)
class DuplicateBlock:
    """Added lines ``path:start_line-end_line`` repeat ``other_path:other_start-other_end``."""

    path: str
    start_line: int
    end_line: int
    other_path: str
    other_start: int
    other_end: int
    lines: int  # significant (non-blank, non-comment) lines in the block


_COMMENT_PREFIXES = ("#", "//", "/*", "*", "--", "<!--")
_NOISE_PREFIXES = ("import ", "from ", "#include", "package ", "using ", "require ", "@")
_TRIVIAL = frozenset(
    {"else", "try", "finally", "pass", "break", "continue", "return", "end", "default", "do"}
)
_MAX_OCCURRENCES = 8  # per window hash: boilerplate repeated everywhere is not interesting


def _significant_lines(source: str) -> list[tuple[int, str]]:
    """(line number, normalised text) of the lines that count for duplication."""
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(source.splitlines(), 1):
        text = " ".join(raw.split())
        if not text or text.startswith(_COMMENT_PREFIXES) or text.startswith(_NOISE_PREFIXES):
            continue
        word = re.sub(r"[^\w]", "", text)
        if not word or word in _TRIVIAL:
            continue
        out.append((number, text))
    return out


def _windows(lines: list[tuple[int, str]], size: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(hash, first line, last line, index) of every run of ``size`` significant lines."""
    for i in range(len(lines) - size + 1):
        chunk = lines[i : i + size]
        digest = hashlib.blake2b(
            "\n".join(t for _, t in chunk).encode("utf-8", "surrogatepass"), digest_size=12
        ).digest()
        yield digest, chunk[0][0], chunk[-1][0], i


def find_duplicates(
    added: dict[str, tuple[str, set[int]]],
    sources: Iterable[tuple[str, str]],
    min_lines: int,
) -> list[DuplicateBlock]:
    """Blocks of added code that repeat code elsewhere.

    ``added`` maps each changed path to (head source, lines the PR added or modified);
    ``sources`` yields (path, head source) of every file to compare with (the changed files
    may be among them or not). A window of ``min_lines`` significant lines counts as added
    when every line of it is an added line. Its other place is code elsewhere with the same
    normalised text: code that was there before, or code the PR added in another place (then
    only the later of the two places is reported, pointing at the earlier one). Overlapping
    windows that repeat the same other place are merged into one block.
    """
    size = max(1, min_lines)
    wanted: dict[bytes, list[tuple[str, int, int, int]]] = {}  # hash -> added windows
    for path, (source, lines) in added.items():
        significant = _significant_lines(source)
        for digest, first, last, index in _windows(significant, size):
            if all(n in lines for n, _ in significant[index : index + size]):
                wanted.setdefault(digest, []).append((path, first, last, index))
    if not wanted:
        return []
    occurrences: dict[bytes, list[tuple[str, int, int]]] = {}
    seen_paths: set[str] = set()

    def scan(path: str, source: str) -> None:
        seen_paths.add(path)
        for digest, first, last, _ in _windows(_significant_lines(source), size):
            if digest in wanted:
                places = occurrences.setdefault(digest, [])
                if len(places) < _MAX_OCCURRENCES:
                    places.append((path, first, last))

    for path, source in sources:
        if path not in added:
            scan(path, source)
    for path, (source, _) in added.items():
        scan(path, source)

    added_windows = {(p, f) for places in wanted.values() for p, f, _, _ in places}
    # (path, other path, window index) -> (first, last, other first, other last)
    matches: dict[tuple[str, str], list[tuple[int, int, int, int, int]]] = {}
    for digest, mine in wanted.items():
        for path, first, last, index in mine:
            for other_path, o_first, o_last in occurrences.get(digest, []):
                if other_path == path and not (o_last < first or o_first > last):
                    continue  # itself, or overlapping itself
                if (other_path, o_first) in added_windows and (other_path, o_first) > (
                    path,
                    first,
                ):
                    continue  # both added: report the later copy only
                matches.setdefault((path, other_path), []).append(
                    (index, first, last, o_first, o_last)
                )
                break
    blocks: list[DuplicateBlock] = []
    for (path, other_path), found in matches.items():
        found.sort()
        run: list[tuple[int, int, int, int, int]] = []
        for item in found:
            if run and item[0] == run[-1][0] + 1 and item[3] >= run[-1][3]:
                run.append(item)
                continue
            if run:
                blocks.append(_block(path, other_path, run, size))
            run = [item]
        if run:
            blocks.append(_block(path, other_path, run, size))
    # one block of added code gets one report, pointing at its first other place
    blocks.sort(key=lambda b: (b.path, b.start_line, -b.lines, b.other_path, b.other_start))
    kept: list[DuplicateBlock] = []
    for block in blocks:
        if any(
            k.path == block.path
            and not (k.end_line < block.start_line or k.start_line > block.end_line)
            for k in kept
        ):
            continue
        kept.append(block)
    return kept


def _block(
    path: str, other_path: str, run: list[tuple[int, int, int, int, int]], size: int
) -> DuplicateBlock:
    return DuplicateBlock(
        path=path,
        start_line=run[0][1],
        end_line=max(r[2] for r in run),
        other_path=other_path,
        other_start=run[0][3],
        other_end=max(r[4] for r in run),
        lines=size + len(run) - 1,
    )


def _duplication_finding(block: DuplicateBlock) -> Finding:
    other = f"{block.other_path}:{block.other_start}-{block.other_end}"
    here = f"{block.path}:{block.start_line}-{block.end_line}"
    return Finding(
        path=block.path,
        start_line=block.start_line,
        end_line=block.end_line,
        level="warning",
        kind="duplication",
        title=f"Duplicated block ({block.lines} lines), also at {other}",
        message=(
            f"These {block.lines} lines repeat {other}; consider extracting the shared code "
            "into one function."
        ),
        raw_details=f"duplicate: {here} = {other} ({block.lines} significant lines)",
        function=None,
        before=None,
        after=block.lines,
    )


def _head_sources(
    repo: Path, head: str, languages: Collection[str] | None, max_file_bytes: int
) -> Iterator[tuple[str, str]]:
    """(path, text) of every reviewable file in ``head``, streamed with one ``cat-file``."""
    listing = subprocess.run(
        ["git", "-c", "core.quotepath=off", "ls-tree", "-r", "-l", "-z", "--full-tree", head],
        cwd=repo,
        capture_output=True,
        env=_git_env(),
        check=False,
    )
    if listing.returncode != 0:
        raise GitError(["ls-tree", head], listing.returncode, listing.stderr.decode())
    wanted: list[tuple[str, str]] = []  # (sha, path)
    for entry in listing.stdout.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) != 4 or parts[1] != b"blob" or parts[0] == b"120000":
            continue
        path = name.decode("utf-8", errors="surrogateescape")
        if not parts[3].isdigit() or int(parts[3]) > max_file_bytes:
            continue
        if not is_reviewable(path) or not language_enabled(path, languages):
            continue
        if path_skip_reason(path) is not None:
            continue
        wanted.append((parts[2].decode("ascii"), path))
    if not wanted:
        return
    proc = subprocess.Popen(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_git_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for sha, path in wanted:
            proc.stdin.write(sha.encode("ascii") + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3:
                continue  # "<sha> missing"
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after the object
            if content_skip_reason(data) is not None:
                continue
            yield path, data.decode("utf-8")
    finally:
        proc.stdin.close()
        proc.stdout.close()
        proc.kill()
        proc.wait()


def _load_sources(
    repo: Path, base_sha: str, head: str, changed: ChangedFile, max_file_bytes: int
) -> tuple[str, str | None] | str:
    """The (head, base) sources of a changed file, or the reason it cannot be reviewed."""
    reason = path_skip_reason(changed.path)
    if reason is not None:
        return reason
    if changed.oversized:
        return "too large"
    info = blob_info(repo, head, changed.path)
    if info is None:
        return "not a regular file"
    if info.is_symlink:
        return "symbolic link"
    if info.size > max_file_bytes:
        return "too large"
    if changed.binary:
        return "binary"
    data = file_bytes_at(repo, head, changed.path) or b""
    reason = content_skip_reason(data)
    if reason is not None:
        return reason
    head_source = data.decode("utf-8")

    base_source: str | None = None
    if changed.old_path is not None:
        base_info = blob_info(repo, base_sha, changed.old_path)
        if base_info is not None and not base_info.is_symlink:
            if base_info.size > max_file_bytes:
                return "too large (base version)"
            base_data = file_bytes_at(repo, base_sha, changed.old_path) or b""
            base_source = base_data.decode("utf-8", errors="replace")
    return head_source, base_source
