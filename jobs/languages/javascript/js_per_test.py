"""Selection per test, not per file, for JS/TS (issue 20 item 6, "as for Python"): the
JavaScript backend's ``per_test`` (a :class:`~jobs.testgen.per_test_selection.SelectTests`).

1. The candidate files are split into their ``it``/``test`` blocks with the TypeScript compiler
   API (``split_tests.cjs``, :mod:`.split_tests`), and the changed sources into functions (a pin
   is named after the function it reaches).
2. ONE measured run of every candidate file through the package's own runner, with the
   per-test recorder the baseline uses (:mod:`.vitest_per_test`, :mod:`.jest_runs`): which
   tests passed, and the changed lines each ran; the lines a file runs while loading count for
   the first test kept. A file that did not load drops its tests, saying so.
3. The candidate files, with only the tests that passed, run on the base commit
   (``Options.on_base``): a test that ran and failed there pins the change; a file that did not
   load there pins nothing (its own outcome, never a pin per test).
4. The mutants of the changed lines run against them (``Options.on_mutants``): each mutant's
   killers are the tests that failed on it (:mod:`.js_mutants`), the kill matrix per test.
5. The choice is the language-neutral one (:mod:`jobs.testgen.test_choice`): by what each test
   proves that nothing before it did, on the kill matrix; without one, by new lines, then pins.
6. Each candidate file is written back with its chosen tests (removed when none), and the kept
   files run ``runs - 1`` more times together through the runner (the measured run was the
   first): a kept test that fails a later run is dropped and the choice is made again without
   it (at most ``MAX_ROUNDS`` times). A kept file holds only kept tests, so a run of it is a run
   of them alone.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from jobs.languages.javascript import javascript_runs, jest_runs, vitest_per_test
from jobs.languages.javascript.measured_run import PerTestLines
from jobs.languages.javascript.package_job import RunnerError
from jobs.languages.javascript.run_results import ReportProblem, RunResults
from jobs.languages.javascript.split_tests import (
    JsTest,
    Split,
    SplitFile,
    canonical,
    parse_split,
    with_tests,
)
from jobs.languages.javascript.suite_results import LOAD
from jobs.languages.javascript.toolchain import (
    Node,
    NodeScript,
    NodeUnavailable,
    ScriptTrouble,
    find_node,
    script_json,
)
from jobs.languages.javascript.typescript_tool import typescript_for
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import Sandbox, workdir
from jobs.testgen import line_sets
from jobs.testgen.per_test_selection import OnMutants, Options, PerTestSelection, kill_matrix
from jobs.testgen.proof import worth
from jobs.testgen.proof.score import MutantScore
from jobs.testgen.test_choice import (
    Choice,
    Measured,
    choose_by_lines,
    choose_by_proof,
    choose_pins,
    pinned_by,
    preferring,
    record_verdicts,
)
from jobs.testgen.validation import Verdict

SPLITTER = Path(__file__).with_name("split_tests.cjs")
TAG = "js-per-test"
MAX_ROUNDS = 3


async def split_files(
    sandbox: Sandbox,
    node: Node,
    checkout: Path,
    paths: list[str],
    changed: line_sets.Lines,
    left: float,
) -> Split | str:
    """The candidate files' tests and the changed sources' functions, or why not read."""
    found, problems = await asyncio.to_thread(javascript_runs.shares, checkout, paths)
    if not found:
        return "; ".join(problems) or "no package to run the tests in"
    package_dir = checkout / found[0].package.dir
    typescript = await typescript_for(sandbox, node, checkout, package_dir, left)
    if isinstance(typescript, str):
        return typescript
    texts: dict[str, str] = {}
    for path in paths:
        try:
            texts[path] = (checkout / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    work = checkout / workdir.WORK_DIR
    out = work / "split-tests-out.json"
    request = {
        "typescript": str(typescript),
        "out": str(out),
        "files": [{"path": p, "file": str((checkout / p).resolve())} for p in sorted(texts)],
        "sources": [
            {"path": p, "file": str((checkout / p).resolve())}
            for p in sorted(changed)
            if (checkout / p).is_file()
        ],
    }

    def write() -> None:
        workdir.copy_fresh(SPLITTER, work / SPLITTER.name)
        workdir.write_fresh(json.dumps(request), work / "split-tests.json")
        out.unlink(missing_ok=True)

    await asyncio.to_thread(write)
    data = await script_json(
        sandbox,
        node,
        NodeScript(
            work / SPLITTER.name,
            work / "split-tests.json",
            out,
            failed="splitting the test files with the TypeScript compiler failed",
            name="splitter",
        ),
        cwd=checkout,
        timeout_s=left,
    )
    if isinstance(data, ScriptTrouble):
        return data.why
    return parse_split(data, texts, changed)


@dataclass
class _Pool:
    """What the measured run says: the tests that passed with the changed lines each ran, the
    changed lines the files ran while loading, and how many runner runs it took."""

    passed: list[Measured[JsTest]] = field(default_factory=list)
    collection: line_sets.Lines = field(default_factory=dict)
    runs: int = 0


def judge(
    file: SplitFile,
    results: RunResults | ReportProblem | RunnerError,
    per_test: PerTestLines,
    changed: line_sets.Lines,
    out: PerTestSelection,
) -> tuple[list[Measured[JsTest]], line_sets.Lines]:
    """The file's tests that passed the measured run, with their changed lines, and the changed
    lines its loading ran (pure); the others go to ``out.dropped`` with why."""
    if isinstance(results, RunnerError | ReportProblem):
        out.dropped += [(t.label, f"did not run: {results.reason}") for t in file.tests]
        return [], {}
    if file.path in results.unloaded:
        why = f"did not load: {results.unloaded[file.path]}"
        out.dropped += [(t.label, why) for t in file.tests]
        return [], {}
    passed = []
    outcomes = {canonical(test): outcome for test, outcome in results.tests.items()}
    ran = {canonical(test): lines for test, lines in per_test.lines.items()}
    for test in file.tests:
        outcome = outcomes.get(test.test_id)
        if outcome is None:
            out.dropped.append((test.label, "did not run (not in the runner's report)"))
        elif outcome.status == "fail":
            out.dropped.append((test.label, f"failed: {outcome.message}"[:300]))
        elif outcome.status != "pass":
            out.dropped.append((test.label, "skipped"))
        else:
            lines = line_sets.restrict(ran.get(test.test_id, {}), changed)
            passed.append(Measured(test, lines))
    loading = ran.get(f"{file.path} > {LOAD}", {})
    return passed, line_sets.restrict(loading, changed)


async def _measure(
    sandbox: Sandbox,
    node: Node,
    checkout: Path,
    files: list[SplitFile],
    changed: line_sets.Lines,
    options: Options,
    out: PerTestSelection,
) -> _Pool:
    """One measured run of every candidate file, package by package."""
    pool = _Pool()
    by_path = {f.path: f for f in files}
    found, problems = await asyncio.to_thread(javascript_runs.shares, checkout, sorted(by_path))
    placed = {p for share in found for p in share.paths}
    for path in sorted(set(by_path) - placed):
        unplaced = RunnerError("; ".join(problems) or "no package")
        judge(by_path[path], unplaced, PerTestLines(), changed, out)
    for share in found:
        job = share.job(checkout, tag=TAG, timeout_s=options.left(), tests=True)
        run = await (
            vitest_per_test.run_per_test(sandbox, node, job)
            if share.runner == "vitest"
            else jest_runs.run_per_test(sandbox, node, job)
        )
        pool.runs += 1
        results = run if isinstance(run, RunnerError) else run.results
        per_test = PerTestLines() if isinstance(run, RunnerError) else run.per_test
        if not isinstance(run, RunnerError) and run.per_test.problems:
            why = "; ".join(sorted(run.per_test.problems))
            out.notes.append(f"The per-test record of the generated tests is incomplete: {why}.")
        if isinstance(run, jest_runs.JestPerTestRun) and run.note:
            out.notes.append(f"The generated tests' lines were not recorded per test: {run.note}.")
        for path in share.paths:
            passed, loading = judge(by_path[path], results, per_test, changed, out)
            pool.passed += passed
            pool.collection = line_sets.union(pool.collection, loading)
    return pool


def _write(
    checkout: Path, files: list[SplitFile], chosen: list[Measured[JsTest]]
) -> dict[str, str]:
    """Each candidate file with its chosen tests (removed when none): the texts written."""
    names: dict[str, set[str]] = {}
    for m in chosen:
        names.setdefault(m.case.origin, set()).add(m.case.name)
    texts: dict[str, str] = {}
    for file in files:
        text = with_tests(file, names.get(file.path, set()))
        if text is None:
            (checkout / file.path).unlink(missing_ok=True)
            continue
        (checkout / file.path).write_text(text, encoding="utf-8")
        texts[file.path] = text
    return texts


def failing_labels(failing: set[tuple[str, str]], pool: list[Measured[JsTest]]) -> set[str]:
    """The labels of the pool's tests among ``failing`` ((file, ``describe > title``) of the
    tests that failed on the base commit); a file that did not load there pins nothing."""
    labels = {m.case.label for m in pool}
    return {f"{path}::{canonical(name)}" for path, name in failing if name != LOAD} & labels


async def _kill_matrix(
    pool: list[Measured[JsTest]],
    paths: list[str],
    on_mutants: OnMutants | None,
    out: PerTestSelection,
) -> list[worth.Kills] | None:
    """The mutants of the changed lines against the existing tests and every passing candidate:
    which tests kill which mutants. None (and a note why) where they did not run."""
    if on_mutants is None or not pool:
        return None
    label_of = {m.case.test_id: m.case.label for m in pool}
    return await kill_matrix(on_mutants, paths, out, lambda score: relabeled(score, label_of))


def relabeled(score: MutantScore, label_of: dict[str, str]) -> MutantScore:
    """``score`` with each killer (a test id, ``file > describe > title``) replaced by its
    candidate's label; killers that are no candidate's test are left out (pure)."""
    outcomes = [
        replace(
            o,
            killers=tuple(
                sorted({label_of[canonical(k)] for k in o.killers if canonical(k) in label_of})
            ),
        )
        for o in score.outcomes
    ]
    return replace(score, outcomes=outcomes)


async def _flaky_runs(
    sandbox: Sandbox, checkout: Path, kept: list[Measured[JsTest]], options: Options
) -> tuple[dict[str, str], int]:
    """Runs 2…``runs`` of the kept files (written with the ``kept`` tests only) together:
    label -> why, for each test that failed, and how many runs that took."""
    everyone = {m.case.label: m.case for m in kept}
    paths = sorted({m.case.origin for m in kept})
    runs = options.runs
    for number in range(2, runs + 1):
        if not paths:
            return {}, number - 2
        if options.left() <= 1:
            why = f"not validated: wall-time budget reached after {number - 1} of {runs} runs"
            return dict.fromkeys(everyone, why), number - 2
        tag = f"{TAG}-run-{number}"
        run = await javascript_runs.run_tests(
            sandbox, checkout, paths, tag=tag, timeout_s=options.left(), measure=False
        )
        if run.ok:
            continue
        prefix = f"flaky: passed {number - 1} run(s), then run {number} of {runs}"
        failing: dict[str, str] = {}
        for failure in run.failures:
            for label, test in everyone.items():
                whole_file = failure.name == LOAD and test.origin == failure.classname
                if whole_file or label == f"{failure.classname}::{canonical(failure.name)}":
                    failing[label] = f"{prefix} failed: {failure.message}"[:300]
        if run.status != "failed" or not failing:
            return dict.fromkeys(everyone, f"{prefix} {run.describe()}"), number - 1
        return failing, number - 1
    return {}, max(0, runs - 1)


@dataclass(frozen=True)
class _Chooser:
    """The choice of the tests among those usable: by proof on the kill matrix (``out.matrix``),
    else by the changed lines each newly covers, then by pins; it records in ``out`` what the
    chosen tests pin and kill."""

    out: PerTestSelection
    base: line_sets.Lines  # the changed lines the existing tests run
    collection: line_sets.Lines  # the changed lines the files run while loading
    functions: dict[str, line_sets.Lines]  # the changed functions
    max_tests: int
    prefer: Callable[[JsTest], bool] | None

    def __call__(self, usable: list[Measured[JsTest]]) -> Choice[JsTest]:
        out = self.out
        if out.matrix is not None:
            found = choose_by_proof(
                usable,
                out.matrix,
                out.pinning,
                self.base,
                self.collection,
                self.functions,
                self.max_tests,
            )
            out.pinned, out.kills = found.pinned, found.kills
            return found.choice
        chosen, covered, rejected = choose_by_lines(
            usable, self.base, self.collection, self.max_tests, self.prefer
        )
        picked = {m.case.label for m, _ in chosen}
        rest = [m for m in usable if m.case.label not in picked]
        pins, out.pinned = choose_pins(
            [m for m, _ in chosen], rest, out.pinning, self.functions, pinned_by
        )
        pinned = {m.case.label for m in pins}
        rejected = [r for r in rejected if r[0] not in pinned]
        return chosen + [(m, {}) for m in pins], covered, rejected


async def select_tests(
    sandbox: Sandbox,
    checkout: Path,
    candidates: list[str],
    baseline: SuiteRun,
    changed_exec: line_sets.Lines,
    options: Options,
) -> PerTestSelection:
    """Choose the tests of ``candidates`` (test files in the checkout) worth keeping, as
    ``options`` says, and write the kept ones back (a file with none kept is removed)."""
    started = time.monotonic()
    out = PerTestSelection(covered=line_sets.restrict(baseline.executed, changed_exec))
    if not candidates:  # nothing to judge: not a trouble of the selection
        return out
    node = find_node()
    if isinstance(node, NodeUnavailable):
        return _none_kept(checkout, candidates, out, node.reason)
    split = await split_files(
        sandbox, node, checkout, sorted(set(candidates)), changed_exec, options.left()
    )
    if isinstance(split, str):
        return _none_kept(checkout, candidates, out, split)
    files = []
    for file in split.files:
        if file.problem is not None:
            out.verdicts.append(Verdict(file.path, False, f"not split into tests: {file.problem}"))
            (checkout / file.path).unlink(missing_ok=True)
        else:
            files.append(file)
    measured = await _measure(sandbox, node, checkout, files, changed_exec, options, out)
    pool = measured.passed
    out.pytest_runs += measured.runs
    # As measured: only the tests that passed, for the base commit and the mutants.
    passing = _write(checkout, files, pool)
    prefer: Callable[[JsTest], bool] | None = options.prefer
    if options.on_base is not None and passing:
        failing = await options.on_base(passing)
        out.pinning = failing_labels(failing or set(), pool)
        if out.pinning:
            prefer = preferring(out.pinning, prefer)
    base = line_sets.restrict(baseline.executed, changed_exec)
    out.matrix = await _kill_matrix(pool, sorted(passing), options.on_mutants, out)
    choose = _Chooser(out, base, measured.collection, split.functions, options.max_tests, prefer)
    excluded: dict[str, str] = {}
    for round_number in range(1, MAX_ROUNDS + 1):
        usable = [m for m in pool if m.case.label not in excluded]
        kept, covered, rejected = choose(usable)
        texts = _write(checkout, files, [m for m, _ in kept])
        failing_runs, ran = await _flaky_runs(sandbox, checkout, [m for m, _ in kept], options)
        out.pytest_runs += ran
        excluded.update(failing_runs)
        if not failing_runs:
            break
        if round_number == MAX_ROUNDS:  # the rest passed every run of this round
            rest = [m for m, _ in kept if m.case.label not in failing_runs]
            kept, covered, more = choose(rest)
            rejected += more
            texts = _write(checkout, files, [m for m, _ in kept])
    out.dropped.extend(excluded.items())
    out.dropped.extend(rejected)
    out.covered, out.kept_files = covered, texts
    final = {m.case.label: m.case.name for m, _ in kept}
    record_verdicts(out, {f.path: len(f.tests) for f in files}, kept, final, options.runs)
    out.verdicts.sort(key=lambda v: (not v.kept, v.path))
    out.duration_s = time.monotonic() - started
    return out


def _none_kept(
    checkout: Path, candidates: list[str], out: PerTestSelection, why: str
) -> PerTestSelection:
    """No test could be judged: every candidate file dropped, saying why."""
    for path in sorted(set(candidates)):
        out.verdicts.append(Verdict(path, False, f"not judged test by test: {why}"))
        (checkout / path).unlink(missing_ok=True)
    out.notes.append(f"The generated tests could not be judged one by one: {why}.")
    return out
