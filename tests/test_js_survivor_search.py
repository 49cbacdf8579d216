"""The JS/TS characterization engine's search of the surviving mutants
(:mod:`jobs.languages.javascript.survivor_search`, :mod:`.survivor_probe`): which calls tell a
survivor apart and which are written (pure), then a real vitest package through the real
stages with no LLM: its existing test runs the changed `total >= 100` line on both sides but
never at the edge, so the comparison's mutants survive it; the engine's own choice of calls
(the package's rows first) would not write the edge, and only the search does, so the kept
test is the one that kills a survivor, and the check run's mutant line shows the kill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.languages.javascript.export_candidates import Candidate
from jobs.languages.javascript.export_probe import ProbeOutcome
from jobs.languages.javascript.export_tests import chosen, write_tests
from jobs.languages.javascript.survivor_probe import (
    Search,
    head_key,
    killing_calls,
    read_search,
    search_source,
)
from jobs.languages.javascript.survivor_search import switches_of, told_note
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.testgen import produce_tests
from jobs.testgen.proof.mutants import Mutant
from tests.js_support import node_or_skip
from tests.test_js_export_engine import JEST_CJS, VITEST
from tests.test_js_runs import locked_project


def mutant(n: int, text: str = "  if (total > 100) return total - 10;") -> Mutant:
    return Mutant(
        id=f"src/price.ts:2:{n}",
        path="src/price.ts",
        line=2,
        lines=(2, 2),
        function="discount",
        kind="comparison",
        description=f"mutant {n}",
        start=2,
        end=2,
        source=text,
        chain=(),
    )


def value(index: int, source: str, group: str = "discount") -> ProbeOutcome:
    return ProbeOutcome(group, index, "value", source)


def test_a_survivor_is_found_in_the_new_schema_by_its_place_and_text_not_its_id() -> None:
    survivor = mutant(7)
    again = [mutant(0, "other"), mutant(3)]  # the same mutant, numbered in a run of one file
    again[1] = Mutant(**{**again[1].__dict__, "description": "mutant 7"})
    assert switches_of([survivor], again, {again[0].id: 1, again[1].id: 2}) == {2: survivor}
    assert switches_of([survivor], again, {again[0].id: 1}) == {}  # no switch: not searched


def test_each_survivors_first_killing_call_comes_before_any_second() -> None:
    search = Search(kills={4: [9, 2], 1: [2, 5], 6: [7]})
    assert killing_calls(search) == [2, 9, 7, 5]
    assert killing_calls(search, limit_per_mutant=1) == [2, 9, 7]


def test_the_probes_findings_are_read_and_a_malformed_entry_left_out() -> None:
    text = json.dumps(
        {
            "kills": [{"index": 3, "switch": 2}, {"index": "x"}, {"index": 4, "switch": 2}],
            "tried": 10,
            "cut": 1,
            "unmatched": 0,
            "hangs": {"5": 2},
        }
    )
    found = read_search(text)
    assert isinstance(found, Search)
    assert (found.kills, found.tried, found.cut, found.hangs) == ({2: [3, 4]}, 10, 1, {5: 2})
    assert isinstance(read_search("[1"), str) and isinstance(read_search("[]"), str)
    note = told_note(found, {2: mutant(2), 5: mutant(5)}, left=0, unswitched=1)
    assert note.startswith("2 surviving mutant(s) searched with 10 call(s): 1 told apart")
    assert "1 call(s) cut" in note and "1 hung" in note and "1 with no switch" in note


def test_the_probe_compares_each_call_with_the_heads_outcome_under_each_switch() -> None:
    candidates = [
        Candidate("discount", f"discount({n})", f"__tandemModule.discount({n})") for n in (5, 100)
    ]
    heads = {1: value(1, "90")}
    text = search_source(VITEST, "", candidates, heads, [3, 1], "/tmp/out.json")
    assert "const __TANDEM_SWITCHES = [1, 3];" in text
    assert json.dumps({"1": head_key(heads[1])}) in text
    assert "__tandemTell(1, " in text and "__tandemTell(0, " not in text  # only what is asserted


def test_the_calls_that_kill_a_survivor_are_written_past_the_rows_that_fill_the_limit() -> None:
    # twelve rows of the package's own test, each a behaviour of its own, fill the limit; the
    # edge call (index 20) is written only because it tells a survivor apart
    outcomes = [value(i, str(i)) for i in range(12)] + [value(20, "90")]
    assert value(20, "90") not in chosen(outcomes, set())
    picked = chosen(outcomes, set(), killing=[("discount", 20)])
    assert picked[0] == value(20, "90") and len(picked) == 13
    candidates = [Candidate("discount", f"discount({n})", "x") for n in range(21)]
    written = write_tests(
        VITEST, ("test/price.tandem.test.ts", "src/price.ts"), candidates, outcomes,
        killing=[("discount", 20)],
    )  # fmt: skip
    assert written.killing == 1 and "expect(discount(20)).toEqual(90);" in (written.text or "")


# A schema as `mutate.cjs` writes one: each mutant behind its switch, its hit counted.
SCHEMA = """\
const on = (n) => globalThis.__tandemMutant === n && globalThis.__tandemHit();
exports.spin = (n) => { let i = 0; while (on(1) ? true : i < n) i++; return i; };
exports.edge = (n) => (on(2) ? n > 100 : n >= 100);
exports.later = async (n) => (on(3) ? new Promise(() => {}) : n);
let calls = 0;
exports.counter = () => (calls += 1);
"""


async def test_the_probe_tells_a_mutant_apart_and_a_hang_or_a_changed_head_is_no_kill(
    node: Node, tmp_path: Path
) -> None:
    # the probe's runtime under plain node, with `it` calling its test at once
    (tmp_path / "schema.cjs").write_text(SCHEMA)
    calls = ["spin(5)", "edge(100)", "edge(5)", "later(1)", "counter()"]
    candidates = [Candidate("f", c, f"__tandemModule.{c}") for c in calls]
    heads = {
        0: value(0, "5"),
        1: value(1, "true"),
        2: value(2, "false"),
        3: ProbeOutcome("f", 3, "value", "1", awaited=True),
        4: value(4, "2"),  # the head probe's second call: this process's first gives 1
    }
    out = tmp_path / "out.json"
    imports = 'const __tandemModule = require("./schema.cjs");\n'
    text = search_source(JEST_CJS, imports, candidates, heads, [1, 2, 3], str(out))
    (tmp_path / "probe.cjs").write_text(text)
    result = await LocalSandbox().run(
        [
            *env_prefix(),
            str(node.path),
            "-e",
            "globalThis.it = (n, f) => f(); require('./probe.cjs')",
        ],
        cwd=tmp_path,
        timeout_s=60,
    )
    assert result.returncode == 0, result.output
    found = read_search(out.read_text())
    assert isinstance(found, Search)
    assert found.kills == {2: [1]}  # `edge(100)` only: `edge(5)` is false either way
    assert found.hangs == {1: 1, 3: 1}  # the endless loop and the promise that never settles
    assert (found.tried, found.unmatched, found.cut) == (4, 1, 0)


PRICE = """\
export function discount(total: number): number {
  if (100 <= total) return total - 10;
  return total;
}
"""
ROWS = """\
import { expect, test } from "vitest";
import { discount } from "../src/price";

const rows: [number, number][] = [
  [1, 1], [2, 2], [5, 5], [10, 10], [20, 20], [30, 30], [40, 40],
  [200, 190], [300, 290], [400, 390], [500, 490], [600, 590], [700, 690], [1000, 990],
];
for (const [total, want] of rows) {
  test(`discount ${total}`, () => {
    expect(discount(total)).toBe(want);
  });
}
"""


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


@pytest.mark.slow
async def test_only_the_search_writes_the_call_that_kills_a_survivor_and_it_is_kept(
    node: Node, tmp_path: Path
) -> None:
    head = PRICE.replace("100 <= total", "total >= 100")  # the same behaviour: nothing to pin
    files = {"src/price.ts": PRICE, "test/price.test.ts": ROWS}
    checkout, base_sha = await locked_project(node, tmp_path, files, {"src/price.ts": head})
    settings = Settings(
        llm_model=None, sandbox="local", data_dir=tmp_path / "data", test_timeout_s=300
    )  # type: ignore[call-arg]
    production = await produce_tests(
        LocalSandbox(), checkout, {"src/price.ts": {2}}, RepoConfig(), settings, base_sha=base_sha
    )

    assert not production.problems, production.problems
    existing = production.existing_score
    assert existing is not None and 0 < existing.alive < existing.total, existing
    (note,) = [n for n in production.notes if "characterization" in n]
    assert "surviving mutant(s) searched" in note and "told apart from the head" in note, note
    kept = production.kept.get("test/price.tandem.test.ts", "")
    # the edge: `total >= 100` becoming `total > 100` (or 100 becoming 101) differs only there
    assert "expect(discount(100)).toEqual(90);" in kept, (production.verdicts, note)
    # none of the package's own rows is kept: they kill nothing the existing test does not
    assert "discount(200)" not in kept and "discount(5)" not in kept
    tests = [t for t in production.tests if t["kept"]]
    assert tests and all("no other test kills" in t["reason"] for t in tests), tests
    score = production.mutants
    assert score is not None and score.killed_with_kept > score.killed_existing, score
    line = score.line(kept=True)
    assert line is not None and f"with the kept tests {score.killed_with_kept}" in line
    assert (checkout / "src/price.ts").read_text() == head  # the schema was put back
    assert not list((checkout / "test").glob("*tandem-probe*"))
