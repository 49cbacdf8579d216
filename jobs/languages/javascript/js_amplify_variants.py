"""Test amplification for JS/TS, its variants (pure; :mod:`.js_amplify` runs it): what
``js_amplify.cjs`` read of a test file with the TypeScript compiler API (its tests' literal
sites and ``expect`` calls, its test and describe statements, the change's own literals), and
a test with one literal changed (:func:`variants`), the change's own values first:

- numbers: the change's numbers and theirs ±1, then ±1, 0 and negated;
- strings: the change's strings appended, prepended, put in place or taken out, a length the
  change compares a ``.length`` with given to its last word and to itself (`"… 11:00:09 2023"`
  gives `"… 11:00:09 202"` for `.length <= 3`), then emptied, a character removed at either end
  or added, a space added, a number in it moved by one;
- booleans flipped; null and undefined swapped, and null given for a number or string (in JS
  files only: a TypeScript project's type check may refuse them);
- arrays: an element dropped or doubled.

Offsets are UTF-16 code units, as the compiler counts them (:class:`Utf16`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_PER_SITE = 8
MAX_ARRAY_EDITS = 3
MAX_SHOWN = 30


class Utf16:
    """A text sliced and edited by UTF-16 offsets."""

    def __init__(self, text: str) -> None:
        self.units = text.encode("utf-16-le", errors="surrogatepass")

    def slice(self, start: int, end: int) -> str:
        return self.units[2 * start : 2 * end].decode("utf-16-le", errors="surrogatepass")

    def edited(self, start: int, end: int, edits: list[tuple[int, int, str]]) -> str:
        """The span ``start..end`` with ``edits`` (absolute spans) applied; an edit inside an
        earlier, larger one is left out (the larger one replaced it), an insertion at its start
        is not."""
        out: list[str] = []
        at = start
        # at one offset, insertions first, then the larger span before the smaller
        for a, b, text in sorted(edits, key=lambda e: (e[0], e[0] != e[1], -e[1])):
            if a < at:
                continue
            out += [self.slice(at, a), text]
            at = b
        out.append(self.slice(at, end))
        return "".join(out)


@dataclass(frozen=True)
class Site:
    kind: str  # number, string, boolean, null, undefined, array
    start: int
    end: int
    text: str
    value: Any = None
    elements: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expect:
    start: int  # the `expect` identifier
    end: int
    arg: tuple[int, int]
    line: int
    column: int
    modifiers: tuple[str, ...]
    matcher: str
    tail: tuple[int, int] | None  # `.not.toBe(y)` after `expect(x)`, when a call ends it
    statement: tuple[int, int] | None  # the statement it is all of, when it is


@dataclass(frozen=True)
class Unit:
    """A test, describe or other test-like statement (``it.each``) of the file."""

    kind: str  # test, block, other
    name: str
    start: int  # with the blank lines and comments before it
    end: int
    children: tuple[Unit, ...] = ()
    own: int = -1  # its own start, or -1: ``start``

    def __post_init__(self) -> None:
        if self.own < 0:
            object.__setattr__(self, "own", self.start)


@dataclass(frozen=True)
class ScannedTest:
    __test__ = False  # not a pytest class

    name: str  # "describe > title"
    start: int
    end: int
    title: tuple[int, int]
    size: int
    sites: tuple[Site, ...]
    expects: tuple[Expect, ...]


@dataclass(frozen=True)
class ScannedFile:
    path: str
    text: str
    esm: bool
    prelude: int
    statements: tuple[Unit, ...]
    tests: tuple[ScannedTest, ...]
    problem: str | None = None


@dataclass
class Scan:
    strings: tuple[str, ...] = ()
    numbers: tuple[float, ...] = ()
    files: list[ScannedFile] = field(default_factory=list)
    lengths: tuple[int, ...] = ()  # the numbers a changed line compares a `.length` with


def _unit(data: Any) -> Unit:
    return Unit(
        str(data["kind"]),
        str(data.get("name") or ""),
        int(data["start"]),
        int(data["end"]),
        tuple(_unit(c) for c in data.get("children") or []),
        int(data.get("own", -1)),
    )


def _span(data: Any) -> tuple[int, int] | None:
    return (int(data[0]), int(data[1])) if isinstance(data, list) and len(data) == 2 else None


def _test(data: Any) -> ScannedTest:
    sites = tuple(
        Site(
            str(s["kind"]),
            int(s["start"]),
            int(s["end"]),
            str(s["text"]),
            s.get("value"),
            tuple(str(e) for e in s.get("elements") or []),
        )
        for s in data.get("sites") or []
    )
    expects = tuple(
        Expect(
            int(e["start"]),
            int(e["end"]),
            _span(e["arg"]) or (0, 0),
            int(e["line"]),
            int(e["column"]),
            tuple(str(m) for m in e.get("modifiers") or []),
            str(e.get("matcher") or ""),
            _span(e.get("tail")),
            _span(e.get("statement")),
        )
        for e in data.get("expects") or []
    )
    title = _span(data["title"]) or (0, 0)
    return ScannedTest(
        str(data["name"]), int(data["start"]), int(data["end"]), title, int(data["size"]), sites,
        expects,
    )  # fmt: skip


def parse_scan(data: Any, texts: Mapping[str, str]) -> Scan:
    """``js_amplify.cjs``'s JSON for the files ``texts`` (path -> text); a malformed entry is a
    file with a problem."""
    scan = Scan()
    if not isinstance(data, dict):
        return scan
    scan.strings = tuple(str(s) for s in data.get("strings") or [] if isinstance(s, str))
    scan.numbers = tuple(float(n) for n in data.get("numbers") or [] if isinstance(n, int | float))
    scan.lengths = tuple(n for n in data.get("lengths") or [] if type(n) is int and 0 <= n <= 64)
    files: dict[str, Any] = data["files"] if isinstance(data.get("files"), dict) else {}
    for path, text in sorted(texts.items()):
        entry = files.get(path)
        if not isinstance(entry, dict) or entry.get("problem"):
            why = str(entry.get("problem")) if isinstance(entry, dict) else "not read"
            scan.files.append(ScannedFile(path, text, False, 0, (), (), why))
            continue
        try:
            scan.files.append(
                ScannedFile(
                    path,
                    text,
                    bool(entry.get("esm")),
                    int(entry["prelude"]),
                    tuple(_unit(u) for u in entry.get("statements") or []),
                    tuple(_test(t) for t in entry.get("tests") or []),
                )
            )
        except (KeyError, TypeError, ValueError, IndexError):
            scan.files.append(ScannedFile(path, text, False, 0, (), (), "malformed scan"))
    return scan


@dataclass(frozen=True)
class Variant:
    """One test with one literal changed: ``site``'s text replaced by ``text``."""

    test: ScannedTest
    site: Site
    text: str

    @property
    def what(self) -> str:
        return f"{_shown(self.text)} instead of {_shown(self.site.text)}"


def _shown(text: str) -> str:
    flat = re.sub(r"\s+", " ", text)
    return flat if len(flat) <= MAX_SHOWN else flat[: MAX_SHOWN - 1] + "…"


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def at_length(value: str, length: int) -> list[str]:
    """``value`` with its last word, and itself, cut to ``length`` characters where longer: a
    changed check of a length (chrono's year after a date, `match[0].trim().length <= 3`) is
    reached by a test's string whose part, or whole, is at that edge."""
    found: list[str] = []
    last = re.search(r"\S+$", value)
    if last is not None and len(last[0]) > length:
        found.append(value[: last.start()] + last[0][:length])
    if len(value) > length:
        found.append(value[:length])
    return found


def _string_variants(
    value: str, tokens: tuple[str, ...], lengths: tuple[int, ...] = ()
) -> tuple[list[str], list[str]]:
    """(the change's strings put in or taken out and its lengths, the generic edits)."""
    own: list[str] = []
    for length in lengths:
        own += at_length(value, length)
    for token in tokens:
        if token and token != value:
            own += [value + token, token + value, token]
            if token in value:
                own.append(value.replace(token, "", 1))
    generic = ["", value[1:], value[:-1], value + (value[-1:] or "a"), value + " "]
    digits = re.search(r"\d+", value)
    if digits is not None:  # a number in it moved by one: "&#1234;" gives "&#1235;"
        n = int(digits[0])
        before, after = value[: digits.start()], value[digits.end() :]
        generic += [f"{before}{m}{after}" for m in (n + 1, n - 1)]
    return own, generic


def _number_variants(value: float, numbers: tuple[float, ...]) -> tuple[list[float], list[float]]:
    own = [n + d for n in numbers for d in (0, 1, -1)]
    return own, [value + 1, value - 1, 0, -value]


def _template(value: str) -> str:
    """``value`` as a template literal (a tag's template must stay one: ``dedent`…```)."""
    escaped = value.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
    return f"`{escaped}`"


def replacements(site: Site, scan: Scan, nullish: bool) -> tuple[list[str], list[str]]:
    """The site's replacement texts: (the change's own values, the generic ones), each
    without the site's own text and repeats."""
    own: list[str] = []
    generic: list[str] = []
    if site.kind == "number" and isinstance(site.value, int | float):
        own_n, generic_n = _number_variants(float(site.value), scan.numbers)
        own, generic = [_number(n) for n in own_n], [_number(n) for n in generic_n]
    elif site.kind in ("string", "template") and isinstance(site.value, str):
        own_s, generic_s = _string_variants(site.value, scan.strings, scan.lengths)
        quote = json.dumps if site.kind == "string" else _template
        own, generic = [quote(s) for s in own_s], [quote(s) for s in generic_s]
    elif site.kind == "boolean":
        generic = ["false" if site.value else "true"]
    elif site.kind == "null":
        generic = ["undefined"] if nullish else []
    elif site.kind == "undefined":
        generic = ["null"] if nullish else []
    elif site.kind == "array":
        items = list(site.elements)
        for index in range(min(MAX_ARRAY_EDITS, len(items))):
            generic.append("[" + ", ".join(items[:index] + items[index + 1 :]) + "]")
            generic.append("[" + ", ".join(items[: index + 1] + items[index:]) + "]")
    if nullish and site.kind in ("number", "string"):  # never a tag's template
        generic.append("null")
    seen = {site.text}
    out: tuple[list[str], list[str]] = ([], [])
    for into, texts in zip(out, (own, generic), strict=True):
        for text in texts:
            if text not in seen and len(into) < MAX_PER_SITE:
                seen.add(text)
                into.append(text)
    return out


def variants(test: ScannedTest, scan: Scan, *, nullish: bool, limit: int) -> list[Variant]:
    """The test's variants, at most ``limit``: every site's with the change's own values first,
    then the generic ones, site by site."""
    own: list[Variant] = []
    generic: list[Variant] = []
    for site in test.sites:
        mine, others = replacements(site, scan, nullish)
        own += [Variant(test, site, text) for text in mine]
        generic += [Variant(test, site, text) for text in others]
    return _interleaved(own, limit) + _interleaved(generic, limit - min(limit, len(own)))


def _interleaved(found: list[Variant], limit: int) -> list[Variant]:
    """``found`` round-robin over its sites (each site's first value before any's second)."""
    by_site: dict[Site, list[Variant]] = {}
    for variant in found:
        by_site.setdefault(variant.site, []).append(variant)
    out: list[Variant] = []
    rank = 0
    while len(out) < limit and any(len(v) > rank for v in by_site.values()):
        out += [v[rank] for v in by_site.values() if len(v) > rank]
        rank += 1
    return out[:limit]
