"""Every relative link in README.md and docs/ leads somewhere: the file exists, and a `#anchor`
names a heading of the target page, spelled as GitHub spells it.

Links are read with markdown-it (CommonMark, as GitHub parses them), so a `[x](y)` inside a
code block or inline code is not a link, and reference-style links count like inline ones.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_PARSER = MarkdownIt("commonmark").enable("table")
# What GitHub keeps of a heading's text in its anchor: letters, digits, `_`, `-` and spaces
# (spaces then become `-`); other punctuation, emoji and symbols go (github-slugger's rule).
_DROPPED = re.compile(r"[^\w\- ]")


def github_anchor(text: str) -> str:
    return _DROPPED.sub("", text.strip().lower()).replace(" ", "-")


def _inline_text(token: Token) -> str:
    """A heading's text as rendered, without markup: `code` keeps its content, links their text."""
    return "".join(c.content for c in token.children or [] if c.type in ("text", "code_inline"))


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings; a repeated one gets `-1`, `-2`, ..."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    tokens = _PARSER.parse(page.read_text(encoding="utf-8"))
    for opening, inline in pairwise(tokens):
        if opening.type != "heading_open":
            continue
        slug = github_anchor(_inline_text(inline))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(page: Path) -> list[str]:
    """Every link and image target on the page, in order."""
    found: list[str] = []

    def walk(tokens: list[Token]) -> None:
        for token in tokens:
            if token.type == "link_open":
                found.append(str(token.attrGet("href")))
            elif token.type == "image":
                found.append(str(token.attrGet("src")))
            if token.children:
                walk(token.children)

    walk(_PARSER.parse(page.read_text(encoding="utf-8")))
    return found


def broken_links(page: Path, root: Path) -> list[str]:
    """The page's relative links that lead nowhere, each with the reason."""
    broken = []
    for href in links(page):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            continue  # http(s), mailto: not ours to check
        path, fragment = unquote(parts.path), unquote(parts.fragment)
        target = (page.parent / path).resolve() if path else page
        if root not in (target, *target.parents):
            broken.append(f"{href}: outside the repository")
        elif not target.exists():
            broken.append(f"{href}: no such file")
        elif fragment:
            if target.suffix != ".md":
                continue  # a line anchor (#L10) on a source file: GitHub's viewer, not a heading
            if fragment not in anchors(target):
                broken.append(f"{href}: no heading with anchor #{fragment} in {target.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_somewhere(page: Path) -> None:
    assert broken_links(page, ROOT) == []


def test_every_docs_page_is_in_the_index() -> None:
    index = links(ROOT / "docs" / "README.md")
    pages = [p.name for p in PAGES if p.parent == ROOT / "docs" and p.name != "README.md"]
    assert [name for name in pages if name not in index] == []


def test_the_checker_finds_what_is_broken(tmp_path: Path) -> None:
    """The check can fail: a missing file, a missing anchor, a link out of the tree."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# Local mode: `tandem run`\n\n## Steering Tandem: comments, Re-run & buttons\n\n"
        "## Notes\n\n## Notes\n",
        encoding="utf-8",
    )
    page = tmp_path / "README.md"
    page.write_text(
        "See [ok](docs/a.md#local-mode-tandem-run), [ok](docs/a.md#notes-1),\n"
        "[ok](docs/a.md#steering-tandem-comments-re-run--buttons), [web](https://x.org/#y),\n"
        "[gone](docs/b.md), [anchor](docs/a.md#local-mode), [self](#nope), [up](../x.md).\n\n"
        "```\n[not a link](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page, tmp_path) == [
        "docs/b.md: no such file",
        "docs/a.md#local-mode: no heading with anchor #local-mode in a.md",
        "#nope: no heading with anchor #nope in README.md",
        "../x.md: outside the repository",
    ]
