"""The survivor probe of the JS/TS characterization engine (pure: text in and out;
:mod:`.survivor_search` runs it): one test file, run once by the project's runner with the
changed source replaced by its mutant schema (:mod:`.mutant_schemata`), that calls each
candidate the head probe could assert with no switch set (the head: the schema is the source
itself then) and once with each surviving mutant's switch set, and writes which calls tell a
survivor apart from the head.

A schema's switch rather than a copy of the source per mutant: one runner process (its start,
a ts-jest transform, is most of a probe's time) answers for every survivor, and the schema is
what the mutant stage already runs, so a switch here is the mutant the selection then judges.
A call tells a mutant apart where its outcome under the switch is a value, an error or a
rejection (or a value with no source form) that is not the head's: what a test asserting the
head's outcome fails on. A call whose head outcome under the schema is not the head probe's
(state left by an earlier call) is not compared. The mutant's code counts its runs (the schema's
hit counter): past :data:`HIT_LIMIT` hits, or past :data:`MUTANT_CALL_MS` for a promise, the
call hangs on that mutant, which is no kill (a test that hangs is not one that fails).

Bounds: the probe's calls stop after ``budget_ms`` (the rest "cut"), and a mutant stops being
tried once :data:`KILLERS` calls told it apart.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from jobs.languages.javascript.export_candidates import Candidate
from jobs.languages.javascript.export_probe import ProbeOutcome, probe_head
from jobs.languages.javascript.suite_layout import TestLayout

KILLERS = 2  # calls found per survivor: a second in case the first fails a validation run
HIT_LIMIT = 1_000_000  # a mutant's code run this often in one call: a loop that never ends
MUTANT_CALL_MS = 2_000  # a promise pending this long under a mutant: it hangs there
SEARCH_BUDGET_MS = 30_000
HANGS = "Tandem: the mutant's code ran past its hit limit"

# Each candidate's calls: the head's under the schema, compared with the head probe's outcome
# (`__TANDEM_HEADS`), then one per live survivor's switch; what differs is written as it is found.
SEARCH = r"""
class __TandemHang extends Error {}
async function __tandemMutantOutcome(call, at) {
  let hits = 0;
  Reflect.set(globalThis, "__tandemHit", () => {
    if (++hits > __TANDEM_HIT_LIMIT) throw new __TandemHang(__TANDEM_HANGS);
    return true;
  });
  Reflect.set(globalThis, "__tandemMutant", at);
  let timer;
  try {
    const late = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ kind: "hangs" }), __TANDEM_MUTANT_MS);
    });
    return await Promise.race([__tandemOutcome(call), late]);
  } finally {
    clearTimeout(timer);
    Reflect.set(globalThis, "__tandemMutant", undefined);
  }
}

const __tandemDecisive = new Set(["value", "json", "throws", "rejects", "opaque"]);
const __tandemKey = (o) => JSON.stringify([o.kind, o.source || "", o.message || ""]);
const __tandemTold = {}; // switch -> calls that told it apart
const __tandemSearch = { kills: [], tried: 0, cut: 0, unmatched: 0, hangs: {} };
async function __tandemTell(index, call) {
  if (Date.now() - __tandemStarted > __TANDEM_BUDGET_MS) {
    __tandemSearch.cut += 1;
    return;
  }
  const head = await __tandemOutcome(call);
  if (__tandemKey(head) !== __TANDEM_HEADS[index]) {
    __tandemSearch.unmatched += 1;
  } else {
    __tandemSearch.tried += 1;
    for (const at of __TANDEM_SWITCHES) {
      if ((__tandemTold[at] || 0) >= __TANDEM_KILLERS) continue;
      const got = await __tandemMutantOutcome(call, at);
      const hung = got.kind === "hangs" || (got.message || "").includes(__TANDEM_HANGS);
      if (hung) {
        __tandemSearch.hangs[at] = (__tandemSearch.hangs[at] || 0) + 1;
      } else if (__tandemDecisive.has(got.kind) && __tandemKey(got) !== __TANDEM_HEADS[index]) {
        __tandemTold[at] = (__tandemTold[at] || 0) + 1;
        __tandemSearch.kills.push({ index, switch: at });
      }
    }
  }
  __tandemWrite(__TANDEM_OUT, JSON.stringify(__tandemSearch));
}
"""


def head_key(outcome: ProbeOutcome) -> str:
    """The head outcome as the probe's runtime keys an outcome (kind, source, message)."""
    return json.dumps([outcome.kind, outcome.source, outcome.message], separators=(",", ":"))


def search_source(
    layout: TestLayout,
    imports: str,
    candidates: list[Candidate],
    heads: dict[int, ProbeOutcome],
    switches: Collection[int],
    out_path: str,
    budget_ms: int = SEARCH_BUDGET_MS,
) -> str:
    """The survivor probe's test file: the candidates of ``heads`` (index -> the head probe's
    outcome, one a test asserts) called on the head and under each of ``switches``."""
    text = probe_head(layout, imports, out_path, budget_ms)
    text += f"const __TANDEM_SWITCHES = {json.dumps(sorted(switches))};\n"
    text += f"const __TANDEM_KILLERS = {KILLERS};\n"
    text += f"const __TANDEM_HIT_LIMIT = {HIT_LIMIT};\n"
    text += f"const __TANDEM_MUTANT_MS = {MUTANT_CALL_MS};\n"
    text += f"const __TANDEM_HANGS = {json.dumps(HANGS)};\n"
    keys = {str(i): head_key(o) for i, o in sorted(heads.items())}
    text += f"const __TANDEM_HEADS = {json.dumps(keys)};\n"
    text += SEARCH
    calls = "".join(
        f"  await __tandemTell({i}, () => {{\n    {candidates[i].setup}\n"
        f"    return ({candidates[i].probe});\n  }});\n"
        for i in sorted(heads)
        if 0 <= i < len(candidates)
    )
    timeout = budget_ms + MUTANT_CALL_MS * 10 + 20_000
    return text + f'\nit("tandem survivor probe", async () => {{\n{calls}}}, {timeout});\n'


@dataclass
class Search:
    """What the survivor probe found: switch -> the candidates (indexes) that tell it apart,
    in the order found; how many calls were compared, cut, or not the head's under the schema;
    switch -> calls that hung on that mutant."""

    kills: dict[int, list[int]] = field(default_factory=dict)
    tried: int = 0
    cut: int = 0
    unmatched: int = 0
    hangs: dict[int, int] = field(default_factory=dict)


def read_search(text: str) -> Search | str:
    """The survivor probe's JSON file, or why it cannot be read."""
    try:
        data: Any = json.loads(text)
    except ValueError as error:
        return f"the survivor probe's outcomes are not JSON: {error}"
    if not isinstance(data, dict):
        return "the survivor probe's outcomes are not an object"
    found = Search()
    for kill in data.get("kills") or []:
        if isinstance(kill, dict):
            index, switch = kill.get("index"), kill.get("switch")
            if isinstance(index, int) and isinstance(switch, int):
                found.kills.setdefault(switch, []).append(index)
    for name in ("tried", "cut", "unmatched"):
        if isinstance(data.get(name), int):
            setattr(found, name, data[name])
    hangs = data.get("hangs")
    if isinstance(hangs, dict):
        found.hangs = {int(k): v for k, v in hangs.items() if k.isdigit() and isinstance(v, int)}
    return found


def killing_calls(search: Search, limit_per_mutant: int = KILLERS) -> list[int]:
    """The candidates to write for the survivors (pure): each told-apart mutant's first call,
    then each one's second, without repeats; a call that tells several apart comes once."""
    order: list[int] = []
    for rank in range(limit_per_mutant):
        for switch in sorted(search.kills):
            calls = search.kills[switch]
            if rank < len(calls) and calls[rank] not in order:
                order.append(calls[rank])
    return order
