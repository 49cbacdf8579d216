"""The static review of a local git checkout: read the changed sources from git, apply the rules.

:func:`review_checkout` takes the PR diff ``base...head`` (through :mod:`jobs.diff`), reads the
head and merge-base version of each changed file from git objects (never the work tree),
measures and judges them (:mod:`jobs.review.rules`) and looks for duplicated blocks across the
head tree (:mod:`jobs.review.duplication`). :func:`_head_sources` and :func:`_load_sources` are
all the git I/O the review does besides the diff.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jobs import git
from jobs.diff import (
    ChangedFile,
    blob_info,
    changed_files,
    file_bytes_at,
    merge_base,
)
from jobs.review.duplication import duplication_finding, find_duplicates
from jobs.review.metrics import AnalysisError, is_reviewable, language_enabled, language_of
from jobs.review.rules import (
    Finding,
    Improvement,
    Thresholds,
    TouchedFunction,
    content_skip_reason,
    path_skip_reason,
    review_file,
)

__all__ = ["FileScope", "ReviewResult", "review_checkout"]


@dataclass(frozen=True)
class ReviewResult:
    """What the static review of one diff found, and what it learned about the diff."""

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
    # The merge base the diff was taken against, and the head-side lines the PR added or
    # modified per changed file (as jobs.diff.changed_lines gives them, at this review's
    # max_file_bytes), so that later steps such as the LLM pass need not ask git again.
    # They describe the diff, not what was found, so two results compare by their findings.
    merge_base: str = field(default="", compare=False)
    changed_lines: dict[str, set[int]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class FileScope:
    """Which changed files the review looks at."""

    languages: Collection[str] | None = None  # the enabled languages (None: all)
    selected: Callable[[str], bool] | None = None  # the repository's ``paths`` include/exclude
    max_files: int = 3_000  # the files past it are listed as skipped


def review_checkout(
    repo: Path,
    base: str,
    head: str,
    thresholds: Thresholds,
    *,
    max_file_bytes: int = 1_000_000,
    scope: FileScope = FileScope(),
    duplication_min_lines: int | None = None,
) -> ReviewResult:
    """Review the PR diff ``base...head`` of a local git checkout.

    ``scope.selected`` (the repository's ``paths`` include/exclude) limits which changed files
    are reviewed; excluded files are neither reviewed nor counted.

    Contents are read from git objects (merge base and ``head``), not from the work tree.
    Only changed files of a type the review can measure, in one of ``scope.languages`` (None:
    all), are looked at; deleted files are ignored. Files that cannot be analysed are listed in
    ``skipped`` with a reason. With ``duplication_min_lines`` set, added code that repeats
    code elsewhere in ``head`` is reported too (see
    :func:`jobs.review.duplication.find_duplicates`).
    Raises :class:`jobs.diff.GitError` if git fails (unknown ref, not a repository...).
    """
    base_sha = merge_base(repo, base, head)
    changed = list(changed_files(repo, base_sha, head, max_file_bytes=max_file_bytes))
    found = _Found()
    candidates = found.in_scope(changed, scope)
    for index, file in enumerate(candidates):
        if index >= scope.max_files:
            found.skipped.append(
                f"{file.path}: not reviewed, more than {scope.max_files} files changed"
            )
            continue
        loaded = _load_sources(repo, base_sha, head, file, max_file_bytes)
        if isinstance(loaded, str):
            found.skipped.append(f"{file.path}: {loaded}")
            continue
        found.review(file, *loaded, thresholds)
    if duplication_min_lines is not None and found.added:
        blocks = find_duplicates(
            found.added,
            _head_sources(repo, head, scope.languages, max_file_bytes),
            duplication_min_lines,
        )
        found.findings.extend(duplication_finding(b) for b in blocks)
    return ReviewResult(
        findings=found.findings,
        files_reviewed=found.reviewed,
        preexisting=found.preexisting,
        skipped=found.skipped,
        touched=found.touched,
        improved=found.improved,
        languages_off=found.languages_off,
        merge_base=base_sha,
        changed_lines={f.path: set(f.lines) for f in changed if not f.binary and not f.oversized},
    )


@dataclass
class _Found:
    """What the review found so far, file by file."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    touched: list[TouchedFunction] = field(default_factory=list)
    improved: list[Improvement] = field(default_factory=list)
    languages_off: dict[str, int] = field(default_factory=dict)
    preexisting: int = 0
    reviewed: int = 0
    added: dict[str, tuple[str, set[int]]] = field(default_factory=dict)  # path -> (head, lines)

    def in_scope(self, changed: list[ChangedFile], scope: FileScope) -> list[ChangedFile]:
        """The changed files to review; those of a language not enabled are counted."""
        candidates = []
        for f in changed:
            if not is_reviewable(f.path) or (
                scope.selected is not None and not scope.selected(f.path)
            ):
                continue
            if not language_enabled(f.path, scope.languages):
                language = language_of(f.path) or "?"
                self.languages_off[language] = self.languages_off.get(language, 0) + 1
                continue
            candidates.append(f)
        return candidates

    def review(
        self,
        changed: ChangedFile,
        head_source: str,
        base_source: str | None,
        thresholds: Thresholds,
    ) -> None:
        try:
            review = review_file(
                changed.path, base_source, head_source, set(changed.lines), thresholds
            )
        except AnalysisError as exc:
            self.skipped.append(f"{changed.path}: {exc}")
            return
        self.reviewed += 1
        self.findings.extend(review.findings)
        self.touched.extend(review.touched)
        self.improved.extend(review.improved)
        self.preexisting += review.preexisting
        if changed.lines:
            self.added[changed.path] = (head_source, set(changed.lines))


def _head_sources(
    repo: Path, head: str, languages: Collection[str] | None, max_file_bytes: int
) -> Iterator[tuple[str, str]]:
    """(path, text) of every reviewable file in ``head``, streamed with one ``cat-file``."""
    listing = git.run(repo, "ls-tree", "-r", "-l", "-z", "--full-tree", head)
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
    proc = git.stream(repo, "cat-file", "--batch", stdin=True)
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
