"""Mutants of the changed lines of JS/TS sources (:mod:`jobs.languages.javascript.js_mutants`):
reading the mutator's output and a run's outcome (pure), then a real tiny vitest package through
the real stages, with no LLM: where the existing test runs every changed line and kills none of
its mutants, the offline engine's file is kept because it kills one, and the check run's mutant
line says so; where it kills none, it is not kept. Skips, saying why, without Node or the npm
registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.languages.javascript.javascript_runs import (
    TestFileLines,
    add_to_record,
    write_test_lines,
)
from jobs.languages.javascript.js_mutants import (
    MIN_RUN_S,
    batch_seconds,
    make_mutants,
    mutated,
    outcome_of,
    parse_mutants,
)
from jobs.languages.javascript.measured_run import PerTestLines
from jobs.languages.javascript.mutant_record import Record, read_record, record_notes, unusable
from jobs.languages.javascript.mutant_schemata import HIT_LIMIT
from jobs.languages.javascript.package_job import FilesRun, RunnerError
from jobs.languages.javascript.run_results import Outcome, RunResults
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.sandbox.sandbox_protocol import CommandResult
from jobs.testgen import produce_tests
from jobs.testgen.proof.mutants import Mutant
from tests.js_support import node_or_skip, npm_install
from tests.test_js_runs import locked_project


def mutant(**fields: object) -> Mutant:
    base: dict[str, object] = {
        "id": "src/a.ts:2:0",
        "path": "src/a.ts",
        "line": 2,
        "lines": (2, 2),
        "function": "classify",
        "kind": "comparison",
        "description": "`n > 10` becomes `n >= 10`",
        "start": 2,
        "end": 2,
        "source": "  return (n >= 10) ? 1 : 0;",
        "chain": (),
    }
    return Mutant(**{**base, **fields})  # type: ignore[arg-type]


def run(tests: dict[str, str], unloaded: dict[str, str] | None = None) -> FilesRun:
    results = RunResults({t: Outcome(s) for t, s in tests.items()}, unloaded or {})
    return FilesRun(
        CommandResult(returncode=1, output="", duration_s=1.0, timed_out=False), results
    )


def test_the_mutators_output_becomes_mutants_and_replaces_whole_lines() -> None:
    data = {
        "mutants": [
            {
                "path": "src/a.ts",
                "line": 2,
                "first": 2,
                "last": 3,
                "start": 2,
                "end": 3,
                "function": "classify",
                "kind": "comparison",
                "description": "`n > 10` becomes `n >= 10`",
                "text": "  return (n >= 10)\n    ? 1 : 0;",
            },
            {"path": "src/a.ts"},  # malformed: left out
        ],
        "equivalent": 1,
        "problems": ["`src/b.ts` not mutated: boom"],
    }
    (found,), equivalent, problems = parse_mutants(data)
    assert (found.id, found.lines, equivalent) == ("src/a.ts:2:0", (2, 3), 1)
    assert problems == ["`src/b.ts` not mutated: boom"]
    original = "export function f(n) {\r\n  return n > 10\n    ? 1 : 0;\n}\n"
    assert (
        mutated(original, found)
        == "export function f(n) {\r\n  return (n >= 10)\n    ? 1 : 0;\n}\n"
    )
    assert parse_mutants([]) == ([], 0, ["the mutator printed no JSON object"])


def test_the_last_batch_gets_all_the_time_left_and_others_their_share() -> None:
    # one batch and nothing after it: all that is left, not half the stage
    assert batch_seconds(left=50, stage_s=60, size=6, waiting=6) == 50
    # the first of four batches: at least half the stage, as before
    assert batch_seconds(left=100, stage_s=120, size=10, waiting=40) == 60
    # mutants that run a process each after it keep their share
    assert batch_seconds(left=100, stage_s=40, size=10, waiting=20) == 50
    # never past what is left, and never below the least a batch needs
    assert batch_seconds(left=20, stage_s=60, size=10, waiting=10) == 20
    assert batch_seconds(left=300, stage_s=10, size=1, waiting=100) == 2 * MIN_RUN_S


def test_only_a_test_that_ran_and_failed_kills_a_mutant() -> None:
    m = mutant()
    groups = {"t/a.test.ts": "existing", "t/new.test.ts": "candidate"}
    passed = frozenset({"t/a.test.ts > ok", "t/a.test.ts > edge"})
    killed = outcome_of(m, run({"t/a.test.ts > edge": "fail"}), groups, passed)
    assert (killed.status, killed.by) == ("killed", "existing")
    by_new = outcome_of(
        m, run({"t/a.test.ts > ok": "pass", "t/new.test.ts > x": "fail"}), groups, passed
    )
    assert (by_new.status, by_new.by, by_new.killers) == (
        "killed",
        "candidate",
        ("t/new.test.ts > x",),
    )
    # an existing test that failed before any mutant kills nothing
    broken = outcome_of(m, run({"t/a.test.ts > broken": "fail"}), groups, passed)
    assert broken.status == "survived"
    # a file that does not load and a run with no test are no kills
    unloaded = outcome_of(m, run({}, {"t/new.test.ts": "SyntaxError"}), groups, passed)
    assert (unloaded.status, unloaded.why) == ("error", "no test ran: SyntaxError")
    hung = outcome_of(
        m, RunnerError("vitest did not finish in 15 s", timed_out=True), groups, passed
    )
    assert hung.status == "timeout"


def test_a_copy_that_threw_past_its_hit_limit_hung_and_did_not_kill() -> None:
    groups = {"t/a.test.ts": "existing"}
    passed = frozenset({"t/a.test.ts > loops", "t/a.test.ts > checks"})
    result = CommandResult(returncode=1, output="", duration_s=1.0, timed_out=False)
    hit = Outcome("fail", f"Error: {HIT_LIMIT}")
    alone = RunResults({"t/a.test.ts > loops": hit, "t/a.test.ts > checks": Outcome("pass")})
    got = outcome_of(mutant(), FilesRun(result, alone), groups, passed)
    assert (got.status, got.why) == ("timeout", "its code ran past the hit limit")
    # another test's plain failure still kills it
    both = RunResults({"t/a.test.ts > loops": hit, "t/a.test.ts > checks": Outcome("fail")})
    assert outcome_of(mutant(), FilesRun(result, both), groups, passed).status == "killed"


def test_the_record_names_the_files_that_ran_a_mutants_lines() -> None:
    covered = {"src/a.ts": {1, 2, 3, 5}}
    files = {"t/a.test.ts": {"src/a.ts": {1, 2}}, "t/b.test.ts": {"src/a.ts": {5}}}
    record = Record(files, covered=covered)
    assert record.files_running(mutant(lines=(2, 3))) == ["t/a.test.ts"]
    assert record.files_running(mutant(lines=(4, 4))) == []  # no test ran it: uncovered
    # the whole run ran it, but the per-test record says nothing of the source (the recorder
    # gave no lines): every test file runs on it, never "uncovered"
    silent = Record({"t/a.test.ts": {}, "t/b.test.ts": {}}, covered=covered)
    assert silent.files_running(mutant(lines=(2, 3))) == ["t/a.test.ts", "t/b.test.ts"]
    assert silent.files_running(mutant(lines=(4, 4))) == []


def test_the_recorders_problem_reaches_the_mutants_notes(tmp_path: Path) -> None:
    lines = TestFileLines(
        files={"t/a.test.ts": {}},
        passed={"t/a.test.ts > ok"},
        covered={"src/a.ts": {2}},
        problems={"@jridgewell/trace-mapping did not load (x): no line … is recorded"},
    )
    (tmp_path / ".tandem-work").mkdir()
    record = read_record(tmp_path / write_test_lines(tmp_path, "baseline", lines))
    assert isinstance(record, Record), record

    notes = record_notes(record, [mutant()])

    assert notes == [
        "the per-test record is incomplete: @jridgewell/trace-mapping did not load (x): "
        "no line … is recorded",
        "the per-test record names no line of `src/a.ts`: each of its mutants ran against "
        "every existing test file of its package",
    ]
    whole = Record({"t/a.test.ts": {"src/a.ts": {2}}}, covered={"src/a.ts": {2}})
    assert record_notes(whole, [mutant()]) == []


def test_a_run_with_no_per_test_record_puts_every_test_file_on_the_mutants() -> None:
    # jest.config.ts (ms): jest ran every file, but the recorder could not be loaded
    lines = TestFileLines()
    results = RunResults(
        {"src/a.test.ts > ok": Outcome("pass"), "src/b.test.ts > broken": Outcome("fail")},
        {"src/c.test.ts": "SyntaxError"},
    )
    add_to_record(lines, PerTestLines(), results, "no per-test record: jest.config.ts")
    lines.covered = {"src/a.ts": {2}}

    record = Record(lines.files, frozenset(lines.passed), lines.covered)
    # a covered line's mutant runs against every file that ran, never against none
    assert record.files_running(mutant()) == ["src/a.test.ts", "src/b.test.ts", "src/c.test.ts"]
    assert lines.passed == {"src/a.test.ts > ok"}
    assert lines.problems == {"no per-test record: jest.config.ts"}


def test_a_baseline_that_did_not_run_judges_no_mutant(tmp_path: Path) -> None:
    (tmp_path / ".tandem-work").mkdir()
    missing = read_record(tmp_path / ".tandem-work/baseline.test-lines.json")
    assert unusable(missing) == "the baseline left no record of what each test file ran"
    stopped = TestFileLines(trouble="the existing tests did not run (jest exit 1): boom")
    record = read_record(tmp_path / write_test_lines(tmp_path, "baseline", stopped))
    assert unusable(record) == "the existing tests did not run (jest exit 1): boom"
    assert unusable(Record({"t/a.test.ts": {}}, frozenset({"t/a.test.ts > ok"}))) is None


CLASSIFY = """\
export function classify(n: number): string {
  return n > 10 ? "big" : "small";
}
"""
# Runs the changed line and notices none of its bugs.
RUNS_ONLY = """\
import { expect, test } from "vitest";
import { classify } from "../src/size";

test("runs", () => {
  expect(() => classify(3)).not.toThrow();
});
"""
# The changed line is a side effect no return value shows.
NOTED = """\
const seen: number[] = [];
export function classify(n: number): string {
  seen.push(n);
  return n > 10 ? "big" : "small";
}
"""


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


async def produced(node: Node, tmp_path: Path, base: str, head: str, changed: set[int]):  # type: ignore[no-untyped-def]
    files = {"src/size.ts": base, "test/size.test.ts": RUNS_ONLY}
    checkout, _ = await locked_project(node, tmp_path, files, {"src/size.ts": head})
    settings = Settings(
        llm_model=None, sandbox="local", data_dir=tmp_path / "data", test_timeout_s=300
    )  # type: ignore[call-arg]
    # no base commit: nothing can pin the change, only the mutants tell a test's worth
    return await produce_tests(
        LocalSandbox(), checkout, {"src/size.ts": changed}, RepoConfig(), settings
    )


@pytest.mark.slow
async def test_a_test_that_kills_a_mutant_nothing_kills_is_kept(node: Node, tmp_path: Path) -> None:
    head = CLASSIFY.replace('"big" : "small"', '"big" : "small" ')  # the line changed, same code
    production = await produced(node, tmp_path, CLASSIFY, head, {2})

    assert not production.problems, production.problems
    assert production.before is not None and production.before.covered_count == 1
    assert production.existing_score is not None
    assert production.existing_score.killed_existing == 0 and production.existing_score.total >= 5
    assert list(production.kept) == ["test/size.tandem.test.ts"], production.verdicts
    (verdict,) = [v for v in production.verdicts if v.kept]
    assert "kill mutants no other test kills" in verdict.reason, verdict.reason
    # chosen test by test: each kept one kills a mutant no test kept before it kills
    kept = [t for t in production.tests if t["kept"]]
    assert kept and len(kept) < len(production.tests), production.tests
    assert all("mutant(s) of the changed lines no other test kills" in t["reason"] for t in kept)
    score = production.mutants
    assert score is not None and score.killed_with_kept > score.killed_existing == 0
    line = score.line(kept=True)
    assert line is not None
    assert line.startswith(f"mutants of the changed lines: existing tests kill 0 of {score.total}")
    assert f"with the kept tests {score.killed_with_kept} of {score.total}" in line
    assert (tmp_path / "checkout/src/size.ts").read_text() == head  # every mutant put back
    # the mutants ran in batches through the schema, and no test file's copy is left behind
    assert not [n for n in score.notes if "a batch of mutants" in n], score.notes
    assert not list((tmp_path / "checkout").rglob("*.tandem-m*"))


@pytest.mark.slow
async def test_a_test_that_kills_no_surviving_mutant_is_not_kept(
    node: Node, tmp_path: Path
) -> None:
    base = NOTED.replace("  seen.push(n);\n", "")
    production = await produced(node, tmp_path, base, NOTED, {3})

    assert not production.problems, production.problems
    assert production.existing_score is not None
    assert production.existing_score.alive == production.existing_score.total >= 1
    assert not production.kept, production.verdicts
    assert production.tests and not any(t["kept"] for t in production.tests)
    assert all("kills no mutant" in t["reason"] for t in production.tests), production.tests
    score = production.mutants
    assert score is not None and score.killed_with_kept == 0
    assert (
        score.line(kept=False)
        == f"mutants of the changed lines: existing tests kill 0 of {score.total}"
    )


MUTATED = """\
import { join } from "node:path";
type Unit = "kb" | "mb";
export function size(n: number, unit: Unit = "kb"): string {
  if (n > 10 && !unit) throw new Error("big");
  return join(String(n * 2), unit);
}
export const LIMIT = 10;
const SPLIT = /(?<!-)-(?!-)/;
export function parts(path: string): string[] {
  const pieces = path.split(SPLIT);
  const found: string[] = [];
  for (const piece of pieces) found.push(piece);
  const made = () => found;
  return made();
}
"""


@pytest.mark.slow
async def test_the_mutator_mutates_the_changed_lines_of_functions_and_module_variables(
    node: Node, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/size.ts").write_text(MUTATED)
    sandbox = LocalSandbox()
    (tmp_path / "package.json").write_text('{"name": "m", "private": true}')
    await npm_install(sandbox, node, tmp_path, "typescript@5.6.3")
    # its runner, named (not installed: the mutator only parses)
    manifest = {"name": "m", "private": True, "devDependencies": {"vitest": "4.1.2"}}
    (tmp_path / "package.json").write_text(json.dumps(manifest))
    changed = {"src/size.ts": {1, 2, 3, 4, 5, 7, 8, 10, 12, 13}}
    made = await make_mutants(sandbox, node, tmp_path, changed, timeout_s=120)
    assert not isinstance(made, str), made
    mutants, problems = made.mutants, made.problems
    assert not problems
    shown = {(m.line, m.kind, m.description) for m in mutants}
    assert (4, "comparison", "`n > 10` becomes `(n >= 10)`") in shown
    assert (4, "boolean", "`n > 10 && !unit` becomes `(n > 10 || !unit)`") in shown
    assert (4, "boolean", "`!unit` becomes `unit`") in shown
    assert (4, "constant", "`10` becomes `11`") in shown
    assert (4, "condition", "`n > 10 && !unit` becomes `!(n > 10 && !unit)`") in shown
    assert (4, "statement", '`throw new Error("big");` is removed') in shown
    assert (5, "arithmetic", "`n * 2` becomes `(n / 2)`") in shown
    assert (5, "return", "`return join(String(n * 2), unit);` becomes `return undefined;`") in shown
    # a default runs at each call: mutated; imports and types are left alone
    assert {(m.line, m.description) for m in mutants if m.line == 3} == {(3, '`"kb"` becomes `""`')}
    # a module variable's value runs as each test file loads it, in each mutant's own run
    assert (7, "constant", "`10` becomes `11`") in shown
    assert (7, "statement", "`10` becomes `undefined`") in shown
    assert (8, "statement", "`/(?<!-)-(?!-)/` becomes `undefined`") in shown
    # a declaration's value is lost, a loop runs no iteration; a function value is left whole
    assert (10, "statement", "`path.split(SPLIT)` becomes `undefined`") in shown
    assert (12, "statement", "`pieces` becomes `[]`") in shown
    assert not [m for m in mutants if m.line == 13]
    assert {m.line for m in mutants} == {3, 4, 5, 7, 8, 10, 12}
    assert {m.function for m in mutants if m.line in (3, 4, 5)} == {"size"}
    assert {m.function for m in mutants if m.line in (7, 8)} == {"(module)"}
    comparison = next(m for m in mutants if m.kind == "comparison")
    assert mutated(MUTATED, comparison).splitlines()[3] == (
        '  if ((n >= 10) && !unit) throw new Error("big");'
    )
    loop = next(m for m in mutants if m.line == 12)
    assert mutated(MUTATED, loop).splitlines()[11] == "  for (const piece of []) found.push(piece);"
    # the schema: every function's mutant behind its switch; a module variable's runs alone
    schema, switches = made.schemata.texts["src/size.ts"], made.schemata.switches
    assert {m.line for m in mutants if m.id not in switches} == {7, 8}
    assert schema.startswith("// @ts-nocheck\n")
    hit = "globalThis.__tandemHit()"
    switch = f"globalThis.__tandemMutant === {switches[comparison.id]} && {hit}"
    assert f"{switch} ? ((n >= 10)) : " in schema
    switch = f"globalThis.__tandemMutant === {switches[loop.id]} && {hit}"
    assert f"for (const piece of ({switch} ? ([])" in schema
