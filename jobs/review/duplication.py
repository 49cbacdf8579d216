"""Duplication: added code that repeats code elsewhere in the head tree.

A block of at least ``min_lines`` significant lines the PR added that also appears elsewhere
(another file, or elsewhere in the same file, including code the PR added twice) is reported
with both places; see :func:`find_duplicates`. Pure: the caller streams the sources in.

Why not a library: lizard's duplicate extension counts tokens, not lines, keeps a
concatenated string of every 31-token window of every file in memory and is reachable only
through extension internals; pylint's symilar is Python-only and compares every pair of
files; copydetect is a plagiarism scorer per file pair, not a locator of blocks. What the
review needs is small: "these N added lines also appear there", polyglot, linear in the
size of the repository. So: normalise lines (whitespace collapsed; blank, comment, import
and single-keyword lines dropped), hash every window of ``min_lines`` significant lines of
the added code, then stream the head tree once looking for the same hashes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from jobs.review.rules import Finding

__all__ = ["DuplicateBlock", "duplication_finding", "find_duplicates"]


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


_Window = tuple[str, int, int, int]  # path, first line, last line, window index
_Place = tuple[str, int, int]  # path, first line, last line
_Match = tuple[int, int, int, int, int]  # window index, first, last, other first, other last


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
    wanted = _added_windows(added, size)
    if not wanted:
        return []
    occurrences = _occurrences(wanted, added, sources, size)
    blocks: list[DuplicateBlock] = []
    for (path, other_path), found in _matches(wanted, occurrences).items():
        blocks.extend(_merged(path, other_path, found, size))
    return _first_place_only(blocks)


def _added_windows(added: dict[str, tuple[str, set[int]]], size: int) -> dict[bytes, list[_Window]]:
    """Hash -> the windows of ``size`` significant lines that are all added lines."""
    wanted: dict[bytes, list[_Window]] = {}
    for path, (source, lines) in added.items():
        significant = _significant_lines(source)
        for digest, first, last, index in _windows(significant, size):
            if all(n in lines for n, _ in significant[index : index + size]):
                wanted.setdefault(digest, []).append((path, first, last, index))
    return wanted


def _occurrences(
    wanted: dict[bytes, list[_Window]],
    added: dict[str, tuple[str, set[int]]],
    sources: Iterable[tuple[str, str]],
    size: int,
) -> dict[bytes, list[_Place]]:
    """Hash -> where a wanted window's text occurs: the other files first, then the changed."""
    occurrences: dict[bytes, list[_Place]] = {}

    def scan(path: str, source: str) -> None:
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
    return occurrences


def _matches(
    wanted: dict[bytes, list[_Window]], occurrences: dict[bytes, list[_Place]]
) -> dict[tuple[str, str], list[_Match]]:
    """(path, other path) -> each added window's first other place."""
    added_windows = {(p, f) for places in wanted.values() for p, f, _, _ in places}
    matches: dict[tuple[str, str], list[_Match]] = {}
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
    return matches


def _merged(path: str, other_path: str, found: list[_Match], size: int) -> list[DuplicateBlock]:
    """Runs of consecutive windows that repeat consecutive code, one block each."""
    blocks: list[DuplicateBlock] = []
    found.sort()
    run: list[_Match] = []
    for item in found:
        if run and item[0] == run[-1][0] + 1 and item[3] >= run[-1][3]:
            run.append(item)
            continue
        if run:
            blocks.append(_block(path, other_path, run, size))
        run = [item]
    if run:
        blocks.append(_block(path, other_path, run, size))
    return blocks


def _first_place_only(blocks: list[DuplicateBlock]) -> list[DuplicateBlock]:
    """One block of added code gets one report, pointing at its first other place."""
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


def duplication_finding(block: DuplicateBlock) -> Finding:
    """The finding that reports ``block`` on the added lines, pointing at the other place."""
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
