"""The probe of the JS/TS characterization engine: one test file, run once by the project's own
runner, that calls each candidate (:mod:`.export_calls`) twice and writes what happened to a
JSON file (pure: text in and out; :mod:`.export_engine` runs it).

Running the probe through the project's runner rather than a loader of Tandem's own means the
module is imported exactly as the project's tests import it: its TypeScript transform, path
aliases, ESM or CommonJS. A call whose two outcomes differ is unstable and dropped; a value
that cannot be written back as source text (a function, a class instance with no fields, a
built-in other than an array, a Date, a Map or a Set, a symbol key that is not registered with
``Symbol.for``) is compared as its JSON text where it has one that says something (a class with a
``toJSON``), and is opaque and dropped otherwise. A class
instance is written as its own fields, which ``toEqual`` compares without the class. Each
outcome is written as the file grows, so a call that never returns costs only
the calls after it.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from jobs.languages.javascript.export_candidates import Candidate
from jobs.languages.javascript.suite_layout import TestLayout

MAX_SOURCE = 2000  # characters of one value written back as source
CALL_TIMEOUT_MS = 20_000
# The probe's calls stop after this long (the runner's start is not counted), the rest "cut":
# the candidates come most promising first (the change's own literals, then the variants), and a
# probe runs on the head and again on the base commit within the engine's share of the budget.
PROBE_BUDGET_MS = 30_000
SLOW_CALL_MS = 5_000  # a first call slower than this is not called again, nor asserted

# The probe's runtime, the same in ESM and CommonJS: a value back as source text (null when it
# has none), and one call's outcome.
RUNTIME = r"""
// `budget.left`: the characters the text may still take. What is charged (the leaves, the
// separators, the keys) never exceeds the text's length, and the walk gives up as soon as it
// passes the longest text written back, which would have been refused anyway: a DOM node's
// parent and siblings reach the whole document (domutils' `findOne` on a page of 200 000
// nodes once spent minutes here before the length was checked).
function __tandemSource(v, depth, budget = { left: __TANDEM_MAX_SOURCE }) {
  if (depth > 6 || budget.left < 0) return null;
  const leaf = (text) => {
    budget.left -= text.length;
    return budget.left < 0 ? null : text;
  };
  if (v === undefined) return leaf("undefined");
  if (v === null) return leaf("null");
  switch (typeof v) {
    case "boolean": return leaf(String(v));
    case "number":
      if (Object.is(v, -0)) return leaf("-0");
      return leaf(Number.isNaN(v) ? "NaN" : String(v));
    case "bigint": return leaf(`${v}n`);
    case "string": return leaf(JSON.stringify(v));
    case "object": break;
    default: return null;
  }
  const all = (items) => {
    const out = [];
    for (const x of items) {
      budget.left -= 2;
      const text = __tandemSource(x, depth + 1, budget);
      if (text === null) return null;
      out.push(text);
    }
    return out;
  };
  if (Array.isArray(v)) {
    const items = all(Array.from(v));
    return items && `[${items.join(", ")}]`;
  }
  if (v instanceof Date) {
    return Number.isNaN(v.getTime()) ? null : `new Date(${JSON.stringify(v.toISOString())})`;
  }
  if (v instanceof RegExp) return String(v);
  if (v instanceof Map) {
    const items = all(Array.from(v.entries()));
    return items && `new Map([${items.join(", ")}])`;
  }
  if (v instanceof Set) {
    const items = all(Array.from(v));
    return items && `new Set([${items.join(", ")}])`;
  }
  // symbol keys: toEqual compares the enumerable ones; a registered one has a source form,
  // `Symbol.for(key)` (ufo's parseURL marks its result so), any other has none
  const symbols = Object.getOwnPropertySymbols(v);
  const named = symbols.map((s) => Symbol.keyFor(s));
  const enumerable = (s) => Object.prototype.propertyIsEnumerable.call(v, s);
  if (named.some((k, i) => k === undefined || !enumerable(symbols[i]))) return null;
  const proto = Object.getPrototypeOf(v);
  const keys = Object.keys(v);
  if (proto !== Object.prototype && proto !== null) {
    // a class instance: its own fields as a plain object, which toEqual compares without the
    // class (both runners' toEqual skip the type); not a built-in such as a typed array or an
    // Error, whose tag toEqual does check, and not one with no fields to say
    if (Object.prototype.toString.call(v) !== "[object Object]" || !keys.length) return null;
  }
  budget.left -= keys.reduce((n, k) => n + k.length, 0);
  const values = all([...keys.map((k) => v[k]), ...symbols.map((s) => v[s])]);
  const names = [
    // an own "__proto__" is written computed: `"__proto__": x` would set the prototype
    ...keys.map((k) => (k === "__proto__" ? '["__proto__"]' : JSON.stringify(k))),
    ...named.map((k) => `[Symbol.for(${JSON.stringify(k)})]`),
  ];
  return values && `{${names.map((k, i) => `${k}: ${values[i]}`).join(", ")}}`;
}

function __tandemError(e) {
  const known = e && e.constructor && typeof e.constructor.name === "string";
  const name = known ? e.constructor.name : typeof e;
  const message = e && typeof e.message === "string" ? e.message : String(e);
  return { name, message: message.slice(0, 300) };
}

// A call that would end the process (a CLI's `process.exit` on an error) throws this instead:
// its outcome is "exits", which no test asserts, and the probe's other calls still run
class __TandemExit extends Error {}

async function __tandemOutcome(call) {
  let value;
  const exit = process.exit;
  process.exit = (code) => {
    throw new __TandemExit(`process.exit(${code})`);
  };
  try {
    value = call();
  } catch (e) {
    if (e instanceof __TandemExit) return { kind: "exits" };
    return { kind: "throws", ...__tandemError(e) };
  } finally {
    process.exit = exit;
  }
  let awaited = false;
  if (value !== null && typeof value === "object" && typeof value.then === "function") {
    awaited = true;
    process.exit = (code) => {
      throw new __TandemExit(`process.exit(${code})`);
    };
    try {
      value = await value;
    } catch (e) {
      if (e instanceof __TandemExit) return { kind: "exits" };
      return { kind: "rejects", ...__tandemError(e) };
    } finally {
      process.exit = exit;
    }
  }
  const source = __tandemSource(value, 0);
  if (source === null || source.length > __TANDEM_MAX_SOURCE) {
    const json = awaited ? undefined : __tandemJson(value);
    return json === undefined ? { kind: "opaque", awaited } : { kind: "json", source: json };
  }
  return { kind: "value", source, awaited };
}

// A value with no source form as its JSON text, as a string literal (a luxon DateTime's toJSON
// is its ISO text; an array of them, theirs): what a test can still compare. Undefined where
// there is none, or where it says nothing ("{}": an object with no enumerable fields).
function __tandemJson(v) {
  try {
    const text = JSON.stringify(v);
    if (typeof text !== "string" || text === "{}" || text.length > __TANDEM_MAX_SOURCE) {
      return undefined;
    }
    return JSON.stringify(text);
  } catch (e) {
    return undefined;
  }
}

const __tandemFound = [];
const __tandemStarted = Date.now();
// Past the probe's time (__TANDEM_BUDGET_MS) a candidate is not called ("cut"); a first call
// slower than __TANDEM_SLOW_MS is not called again ("slow"): a test that slow is a stress test,
// which runs again in each validation run, on the base commit and for each mutant.
async function __tandemTry(fn, index, call) {
  let outcome = { kind: "cut" };
  if (Date.now() - __tandemStarted <= __TANDEM_BUDGET_MS) {
    const began = Date.now();
    const first = await __tandemOutcome(call);
    if (Date.now() - began > __TANDEM_SLOW_MS) {
      outcome = { kind: "slow" };
    } else {
      const second = await __tandemOutcome(call);
      const same = JSON.stringify(first) === JSON.stringify(second);
      outcome = same ? first : { kind: "unstable" };
    }
  }
  __tandemFound.push({ fn, index, outcome });
  __tandemWrite(__TANDEM_OUT, JSON.stringify(__tandemFound));
}
"""


@dataclass(frozen=True)
class ProbeOutcome:
    function: str  # the candidate's group
    index: int  # into the probe's candidates
    # value, json (a value with no source form, as its JSON), throws, rejects, opaque, unstable,
    # exits (it called process.exit), cut (the probe's time ran out), slow (see SLOW_CALL_MS)
    kind: str
    source: str = ""  # a value's source text
    awaited: bool = False  # the function returned a promise
    error: str = ""  # a thrown error's class name
    message: str = ""


def runner_import(layout: TestLayout) -> str:
    """The line that brings ``it`` (and ``expect``) into a test file, if the runner's globals
    are off."""
    if layout.globals:
        return ""
    module = "vitest" if layout.runner == "vitest" else "@jest/globals"
    names = "describe, expect, it"
    if layout.runner == "vitest" or layout.esm:
        return f'import {{ {names} }} from "{module}";\n'
    return f'const {{ {names} }} = require("{module}");\n'


def probe_head(layout: TestLayout, imports: str, out_path: str, budget_ms: int) -> str:
    """A probe file's start: its imports, its constants and the runtime (:data:`RUNTIME`) that
    calls a candidate and writes back its outcome; the probes add their ``it`` blocks."""
    esm = layout.runner == "vitest" or layout.esm
    head = ["// @ts-nocheck", "/* Tandem's probe: calls each candidate twice (removed after). */"]
    text = "\n".join(head) + "\n" + runner_import(layout) + imports
    text += (
        'import { writeFileSync as __tandemWrite } from "fs";\n'
        if esm
        else 'const { writeFileSync: __tandemWrite } = require("fs");\n'
    )
    text += f"const __TANDEM_OUT = {json.dumps(out_path)};\n"
    text += f"const __TANDEM_MAX_SOURCE = {MAX_SOURCE};\n"
    text += f"const __TANDEM_BUDGET_MS = {budget_ms};\n"
    text += f"const __TANDEM_SLOW_MS = {SLOW_CALL_MS};\n"
    return text + RUNTIME


def probe_source(
    layout: TestLayout,
    imports: str,
    candidates: list[Candidate],
    out_path: str,
    only: Collection[int] | None = None,
    budget_ms: int = PROBE_BUDGET_MS,
) -> str:
    """The probe's test file: ``imports`` its import lines (the changed source's namespace as
    ``__tandemModule``, and what the candidates' expressions use), one ``it`` per group that
    tries each candidate (those whose index is in ``only``, if given), ``out_path`` where it
    writes the outcomes (index: into ``candidates``), its calls stopped after ``budget_ms``."""
    text = probe_head(layout, imports, out_path, budget_ms)
    tried = [(i, c) for i, c in enumerate(candidates) if only is None or i in only]
    for group in dict.fromkeys(c.group for _, c in tried):
        label = json.dumps(group)
        mine = [(i, c) for i, c in tried if c.group == group]
        body = "".join(
            f"  await __tandemTry({label}, {i}, () => {{\n    {c.setup}\n"
            f"    return ({c.probe});\n  }});\n"
            for i, c in mine
        )
        text += f"\nit({json.dumps('tandem probe ' + group)}, async () => {{\n{body}}}, "
        text += f"{CALL_TIMEOUT_MS * max(1, len(mine))});\n"
    return text


# The outcomes that say nothing of what the call does: never compared with the other commit's.
UNKNOWN = frozenset({"unstable", "cut", "slow"})


def read_outcomes(text: str) -> list[ProbeOutcome] | str:
    """The probe's JSON file as outcomes, or why it cannot be read."""
    try:
        data: Any = json.loads(text)
    except ValueError as error:
        return f"the probe's outcomes are not JSON: {error}"
    if not isinstance(data, list):
        return "the probe's outcomes are not a list"
    found: list[ProbeOutcome] = []
    for item in data:
        outcome = item.get("outcome") if isinstance(item, dict) else None
        if not isinstance(outcome, dict) or not isinstance(item.get("index"), int):
            continue
        found.append(
            ProbeOutcome(
                function=str(item.get("fn")),
                index=item["index"],
                kind=str(outcome.get("kind")),
                source=str(outcome.get("source") or ""),
                awaited=bool(outcome.get("awaited")),
                error=str(outcome.get("name") or ""),
                message=str(outcome.get("message") or ""),
            )
        )
    return found
