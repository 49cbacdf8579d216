"""Test amplification for JS/TS, its texts (pure; :mod:`.js_amplify` runs them):

- :func:`probe_text`: the test file with only the variants (:mod:`.js_amplify_variants`), each
  ``expect(actual)`` replaced by an observer that records ``actual`` (a function given to
  ``toThrow``: what it threw or returned; a promise given to ``resolves``/``rejects``: how it
  settled) under the call's index in its test, instead of asserting;
- :func:`differences`: the variants whose observations on the head (the same twice) are not
  the base commit's;
- :func:`written_text`: those variants as tests asserting the head's values (``toEqual`` a
  source literal, ``toThrow`` a message), each named after its original and the input it
  changed, in the original file's own imports, describes and hooks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from jobs.languages.javascript.export_probe import MAX_SOURCE, RUNTIME
from jobs.languages.javascript.js_amplify_variants import (
    Expect,
    ScannedFile,
    Site,
    Unit,
    Utf16,
    Variant,
)

MAX_TITLE = 100
MAX_NOTES = 4000  # observations one probe records, at most


def _site_text(doc: Utf16, site: Site, text: str) -> str:
    """A negative number where a sign precedes goes in parentheses (`a - -1` stays apart)."""
    before = doc.slice(max(0, site.start - 1), site.start)
    return f"({text})" if text.startswith("-") and before in "-+" and before else text


def _leading(text: str) -> int:
    """Where a line may be put at the file's top: after a shebang or a leading block comment
    (a jest docblock must stay first), in UTF-16 units."""
    match = re.match(r"(#![^\n]*\n)?(\s*/\*.*?\*/[^\n]*\n)?", text, re.S)
    return len(match.group(0).encode("utf-16-le")) // 2 if match else 0


OBSERVER = r"""
const __tandemSeen = {};
let __tandemNotes = 0;
function __tandemNote(v, k, o) {
  const at = (__tandemSeen[v] = __tandemSeen[v] || {});
  (at[k] = at[k] || []).push(o);
  if (++__tandemNotes <= __TANDEM_MAX_NOTES) {
    __tandemWrite(__TANDEM_OUT, JSON.stringify(__tandemSeen));
  }
}
function __tandemValue(x) {
  const source = __tandemSource(x, 0);
  if (source === null || source.length > __TANDEM_MAX_SOURCE) return { kind: "opaque" };
  return { kind: "value", source };
}
function __tandemObs(v, k) {
  return (actual) => {
    const chain = [];
    const matcher = (name) => () => {
      if (chain.includes("resolves") || chain.includes("rejects")) {
        return Promise.resolve(actual).then(
          (x) => __tandemNote(v, k, { ...__tandemValue(x), settled: "resolves" }),
          (e) => __tandemNote(v, k, { kind: "rejects", ...__tandemError(e) }),
        );
      }
      if (/^toThrow/.test(name) && typeof actual === "function") {
        let x;
        try {
          x = actual();
        } catch (e) {
          __tandemNote(v, k, { kind: "throws", ...__tandemError(e) });
          return undefined;
        }
        const seen = __tandemValue(x);
        __tandemNote(v, k, seen.kind === "value" ? { ...seen, kind: "returns" } : seen);
        return undefined;
      }
      __tandemNote(v, k, __tandemValue(actual));
      return undefined;
    };
    const proxy = new Proxy({}, {
      get(_, prop) {
        if (typeof prop !== "string" || prop === "then") return undefined;
        if (prop === "not" || prop === "resolves" || prop === "rejects") {
          chain.push(prop);
          return proxy;
        }
        return matcher(prop);
      },
    });
    return proxy;
  };
}
"""


def probe_name(index: int) -> str:
    return f"__tandem_v{index}"


def _statements(
    doc: Utf16,
    units: tuple[Unit, ...],
    replace: Mapping[str, list[str]],
) -> list[tuple[int, int, str]]:
    """The edits that leave, of the test-like statements, only the tests ``replace`` names (by
    the texts that take each one's place) and the describes that hold one."""
    edits: list[tuple[int, int, str]] = []
    kept = False
    for unit in units:
        trivia = doc.slice(unit.start, unit.own)
        # from the line the statement starts on: comments before it stay (a file's first
        # statement has the file's docblock before it, `@jest-environment` among them)
        cut = unit.start + len(trivia[: trivia.rfind("\n")].encode("utf-16-le")) // 2
        start = cut if "//" in trivia or "/*" in trivia else unit.start
        if unit.kind == "test" and unit.name in replace:
            indent = trivia.rsplit("\n", 1)[-1]
            indent = indent if not indent.strip() else ""
            texts = f"\n\n{indent}".join(replace[unit.name])
            edits.append((start, unit.end, ("\n\n" if kept else "\n") + indent + texts))
            kept = True
        elif unit.kind == "block" and _holds(unit, replace):
            edits += _statements(doc, unit.children, replace)
            kept = True
        else:
            edits.append((start, unit.end, ""))
    return edits


def _holds(unit: Unit, names: Mapping[str, list[str]]) -> bool:
    return any(
        (c.kind == "test" and c.name in names) or (c.kind == "block" and _holds(c, names))
        for c in unit.children
    )


def _probe_test(doc: Utf16, variant: Variant, index: int) -> str:
    test = variant.test
    edits = [
        (test.title[0], test.title[1], json.dumps(probe_name(index))),
        (variant.site.start, variant.site.end, _site_text(doc, variant.site, variant.text)),
    ]
    edits += [(e.start, e.end, f"__tandemObs({index}, {k})") for k, e in enumerate(test.expects)]
    return doc.edited(test.start, test.end, edits)


def probe_text(file: ScannedFile, made: list[Variant], out_path: str) -> str:
    """The probe: ``file`` with only the variants ``made`` (test ``__tandem_v<index>`` each, in
    its original's describe), observing instead of asserting, writing to ``out_path``."""
    doc = Utf16(file.text)
    by_test: dict[str, list[str]] = {}
    for index, variant in enumerate(made):
        by_test.setdefault(variant.test.name, []).append(_probe_test(doc, variant, index))
    edits = _statements(doc, file.statements, by_test)
    write = (
        'import { writeFileSync as __tandemWrite } from "fs";\n'
        if file.esm
        else 'const { writeFileSync: __tandemWrite } = require("fs");\n'
    )
    prelude = (
        "\n/* Tandem's amplification probe: observes instead of asserting (removed after). */\n"
        + write
        + f"const __TANDEM_OUT = {json.dumps(out_path)};\n"
        + f"const __TANDEM_MAX_SOURCE = {MAX_SOURCE};\n"
        + f"const __TANDEM_MAX_NOTES = {MAX_NOTES};\n"
        + RUNTIME
        + OBSERVER
    )
    edits.append((file.prelude, file.prelude, prelude))
    top = _leading(file.text)
    edits.append((top, top, "// @ts-nocheck\n"))
    return doc.edited(0, len(doc.units) // 2, edits)


@dataclass(frozen=True)
class Observation:
    kind: str  # value, returns, throws, rejects, opaque
    source: str = ""
    message: str = ""
    settled: str = ""  # "resolves" for a promise's value

    @property
    def writable(self) -> bool:
        return self.kind in ("value", "returns", "throws", "rejects")


# variant index -> expect index -> what that call observed, each time it ran
Observations = dict[int, dict[int, tuple[Observation, ...]]]


def read_observations(text: str, local: tuple[str, ...] = ()) -> Observations:
    """The probe's JSON; an observation that names a path of ``local`` (the checkout's: the
    base tree is elsewhere) is opaque, since it holds only where the probe ran."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    found: Observations = {}
    if not isinstance(data, dict):
        return found
    for v, sites in data.items():
        if not (isinstance(v, str) and v.isdigit() and isinstance(sites, dict)):
            continue
        for k, seen in sites.items():
            if not (isinstance(k, str) and k.isdigit() and isinstance(seen, list)):
                continue
            items = []
            for o in seen:
                if not isinstance(o, dict):
                    continue
                item = Observation(
                    str(o.get("kind")),
                    str(o.get("source") or ""),
                    str(o.get("message") or ""),
                    str(o.get("settled") or ""),
                )
                if any(p and (p in item.source or p in item.message) for p in local):
                    item = Observation("opaque")
                items.append(item)
            found.setdefault(int(v), {})[int(k)] = tuple(items)
    return found


@dataclass(frozen=True)
class Difference:
    index: int  # the variant's
    head: dict[int, tuple[Observation, ...]]  # expect index -> what the head observed
    differing: frozenset[int]  # the expects whose observations differ on the base


def differences(
    count: int,
    head: Observations,
    base: Observations,
    again: Observations | None,
    passed: set[int],
) -> list[Difference]:
    """The variants (of ``count``) whose probe test passed on the head (``passed``) and that
    observed, at an expect, a writable value the same in both head runs (``again``: the
    second, when there was one) and otherwise on the base."""
    found: list[Difference] = []
    for index in range(count):
        if index not in passed or index not in head:
            continue
        mine = head[index]
        stable = {
            k: seen
            for k, seen in mine.items()
            if again is None or again.get(index, {}).get(k) == seen
        }
        differing = frozenset(
            k
            for k, seen in stable.items()
            if _one(seen) is not None and base.get(index, {}).get(k) != seen
        )
        if differing:
            found.append(Difference(index, stable, differing))
    return found


def _one(seen: tuple[Observation, ...]) -> Observation | None:
    """The one writable observation a call made every time it ran, or None."""
    if not seen or any(o != seen[0] for o in seen) or not seen[0].writable:
        return None
    return seen[0]


def _assertion(expect: Expect, seen: Observation) -> tuple[str, str | None] | None:
    """(the chain after ``expect(…)``, the actual's new text or None to keep it) asserting
    ``seen``, or None where the call cannot say it."""
    message = json.dumps(seen.message) if seen.message else ""
    if seen.kind == "value" and seen.settled:
        return f".resolves.toEqual({seen.source})", None
    if seen.kind == "value" and not {"resolves", "rejects"} & set(expect.modifiers):
        return f".toEqual({seen.source})", None
    if seen.kind == "rejects":
        return f".rejects.toThrow({message})", None
    if seen.kind == "throws":
        return f".toThrow({message})", None
    if seen.kind == "returns":
        return f".toEqual({seen.source})", "call"
    return None


def written_test(doc: Utf16, difference: Difference, variant: Variant, title: str) -> str | None:
    """The variant as a test named ``title`` asserting what the head observed, or None where
    an expect that differs cannot say it. An expect that observed nothing writable is left out
    when it is a statement of its own, and as it is when it never ran."""
    test = variant.test
    edits = [
        (test.title[0], test.title[1], json.dumps(title)),
        (variant.site.start, variant.site.end, _site_text(doc, variant.site, variant.text)),
    ]
    for k, expect in enumerate(test.expects):
        seen = difference.head.get(k)
        if seen is None:
            continue  # it did not run on the head: what it says does not matter there
        one = _one(seen)
        said = _assertion(expect, one) if one is not None and expect.tail is not None else None
        if said is None:
            if k in difference.differing or expect.statement is None:
                return None
            edits.append((*expect.statement, ""))
            continue
        tail, actual = said
        assert expect.tail is not None
        edits.append((*expect.tail, tail))
        if actual == "call":
            edits.append((*expect.arg, f"({doc.slice(*expect.arg)})()"))
    return doc.edited(test.start, test.end, edits)


def titled(variant: Variant, taken: set[str]) -> str:
    """The written test's title: its original's and the input it changed, unique in the
    file."""
    original = variant.test.name.rsplit(" > ", 1)[-1]
    name = f"{original} with {variant.what}"
    name = re.sub(r"\s+", " ", name)[:MAX_TITLE].rstrip()
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name} ({n})", n + 1
    taken.add(unique)
    return unique


HEADER = (
    "\n\n// Tests amplified by Tandem from {path}: each is a test of it with one input changed,"
    "\n// asserting what the head does there (the base commit did otherwise)."
)


def written_text(
    file: ScannedFile,
    made: list[Variant],
    found: list[Difference],
    origin: str,
    limit: int,
) -> tuple[str | None, int]:
    """The file of tests from the differing variants (at most ``limit``, one per original
    test before any second), and how many it holds; None when none could be written."""
    doc = Utf16(file.text)
    taken: set[str] = set()
    by_test: dict[str, list[str]] = {}
    count = 0
    for difference in _spread(found, made):
        if count >= limit:
            break
        variant = made[difference.index]
        title = titled(variant, taken)
        text = written_test(doc, difference, variant, title)
        if text is None:
            taken.discard(title)
            continue
        by_test.setdefault(variant.test.name, []).append(text)
        count += 1
    if not count:
        return None, 0
    edits = _statements(doc, file.statements, by_test)
    edits.append((file.prelude, file.prelude, HEADER.format(path=origin)))
    return doc.edited(0, len(doc.units) // 2, edits), count


def _spread(found: list[Difference], made: list[Variant]) -> Iterator[Difference]:
    """The differences round-robin over the tests they vary."""
    by_test: dict[str, list[Difference]] = {}
    for difference in found:
        by_test.setdefault(made[difference.index].test.name, []).append(difference)
    rank = 0
    while any(len(d) > rank for d in by_test.values()):
        yield from (d[rank] for d in by_test.values() if len(d) > rank)
        rank += 1
