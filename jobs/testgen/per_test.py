"""Selection per test, not per file: the tests of every engine's candidate files are tidied
(:mod:`.tidy`), measured together, and the few that cover changed lines nothing else covers
are kept and written back, one file per candidate.

Cost, for N tests in F files and ``runs`` validation runs: ONE measured pytest run of all the
candidates at once, with coverage.py's ``dynamic_context = test_function`` (each executed
line is recorded with the test that executed it, so one run says what every test covers),
then ``runs - 1`` runs of the kept tests only, together. Running each test alone would cost
``runs × N`` pytest starts. The measured run is also the ``--runxfail`` run that names the
exception of each Pynguin ``xfail(strict=True)`` test (see :mod:`.tidy`), which then becomes a
``pytest.raises`` test. If the run of everything times out, each file is measured on its own.

Choice: greedy by the number of changed lines a test covers that neither the baseline nor an
already chosen test covers; ties go to ``prefer(case)`` (e.g. "fails on the base commit"),
then to the shorter source, then to the name. Lines run only while modules are imported
(empty context) count once, for the first test kept. A test that covers nothing new is
dropped, as is everything past ``max_tests``. A kept test that fails a later run is dropped
and the choice is made again without it (at most ``MAX_ROUNDS`` times).

The candidate files are measured where the engine wrote them (the repository's test
directory, so the project's ``conftest.py`` applies); each is overwritten with its kept tests,
or removed when none is kept. Deterministic: the same candidates give the same tests, names
and files.
"""

from __future__ import annotations

import ast
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jobs.sandbox import Sandbox, workdir
from jobs.testgen import line_sets, pytest_runner
from jobs.testgen.budget import Budget
from jobs.testgen.targets import compress
from jobs.testgen.tidy import (
    Prelude,
    TestCase,
    TidyError,
    case_lines,
    join_tests,
    raised_from_junit,
    raises_problem,
    split_tests,
    to_raises,
)
from jobs.testgen.tidy_names import name_tests
from jobs.testgen.tidy_review import review
from jobs.testgen.validation import Verdict

MAX_ROUNDS = 3
# Test files (path -> text) in, (path, test name) of those failing on the base commit out; None
# when that run said nothing.
OnBase = Callable[[dict[str, str]], Awaitable[set[tuple[str, str]] | None]]
CONTEXT_RC = f"{workdir.WORK_DIR}/coveragerc-contexts"
MEASURE_OPTIONS = ["--runxfail", "--continue-on-collection-errors"]


@dataclass
class TestVerdict:
    """What happened to one test."""

    __test__ = False  # not a pytest class

    label: str  # "<candidate file>::<name the engine gave it>"
    kept: bool
    reason: str
    name: str = ""  # its name in the kept file
    new_lines: line_sets.Lines = field(default_factory=dict)


@dataclass
class PerTestSelection:
    kept_files: dict[str, str] = field(default_factory=dict)  # path -> text, as written
    verdicts: list[Verdict] = field(default_factory=list)  # one per candidate file
    tests: list[TestVerdict] = field(default_factory=list)
    covered: line_sets.Lines = field(
        default_factory=dict
    )  # changed lines covered, baseline included
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (label, reason)
    pytest_runs: int = 0
    duration_s: float = 0.0
    pinning: set[str] = field(default_factory=set)  # labels of measured tests failing on base
    # Kept tests failing on the base: label -> the changed functions ("path::qualname") they pin.
    pinned: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Candidate:
    path: str
    prelude: Prelude
    cases: list[TestCase]  # those that passed review
    total: int  # tests in the file as the engine wrote it


@dataclass
class _Measured:
    case: TestCase
    lines: line_sets.Lines


def _module(path: str) -> str:
    return PurePosixPath(path).with_suffix("").as_posix().replace("/", ".")


def read_contexts(report: Path) -> tuple[dict[str, line_sets.Lines], line_sets.Lines]:
    """Executed lines per coverage context, and the lines run outside any test (context "")."""
    try:
        files = json.loads(report.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}, {}
    by_context: dict[str, line_sets.Lines] = {}
    outside: line_sets.Lines = {}
    for name, info in files.items():
        rel = PurePosixPath(str(name).replace("\\", "/")).as_posix().removeprefix("./")
        for line, contexts in (info.get("contexts") or {}).items():
            for context in contexts:
                target = by_context.setdefault(context, {}) if context else outside
                target.setdefault(rel, set()).add(int(line))
    return by_context, outside


def _context_owner(context: str, modules: dict[str, str]) -> tuple[str, str] | None:
    """(path, top-level name) of ``tests.test_x.test_y`` or ``test_x.TestC.test_m``."""
    parts = context.split(".")
    for i in range(len(parts) - 1):
        prefix = ".".join(parts[: i + 1])
        for module, path in modules.items():
            if module == prefix or module.endswith("." + prefix):
                return path, parts[i + 1]
    return None


def _junit_outcomes(xml: Path, modules: dict[str, str]) -> dict[tuple[str, str], str]:
    """ "" (passed) or why not, per (path, top-level test name); a class fails with any method."""
    try:
        root = ET.parse(xml).getroot()  # written by pytest; no DTDs or entities
    except (OSError, ET.ParseError):
        return {}
    outcomes: dict[tuple[str, str], str] = {}
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "").split("[")[0]
        if classname in modules:
            key = (modules[classname], name)
        else:
            module, _, cls = classname.rpartition(".")
            if module not in modules:
                continue
            key = (modules[module], cls)
        bad = next(
            (case.find(t) for t in ("failure", "error", "skipped") if case.find(t) is not None),
            None,
        )
        why = ""
        if bad is not None:
            kind = "skipped" if bad.tag == "skipped" else "failed"
            why = f"{kind}: " + " ".join((bad.get("message") or bad.tag).split())[:200]
        if not outcomes.get(key):
            outcomes[key] = why
    return outcomes


async def _measure(
    sandbox: Sandbox, checkout: Path, paths: list[str], *, tag: str, timeout_s: float
) -> tuple[pytest_runner.PytestRun, dict[str, line_sets.Lines], line_sets.Lines, Path]:
    """One pytest run of ``paths`` under coverage with per-test contexts and --runxfail."""
    workdir.prepare(checkout)
    (checkout / CONTEXT_RC).write_text(
        workdir.COVERAGE_RC.replace("[run]\n", "[run]\ndynamic_context = test_function\n", 1)
    )
    junit, data, report = (f"{workdir.WORK_DIR}/{tag}.{ext}" for ext in ("xml", "coverage", "json"))
    for stale in (junit, data, report):
        (checkout / stale).unlink(missing_ok=True)
    python = sandbox.python
    coverage = [python, workdir.LAUNCHER, "--coverage", "run", f"--rcfile={CONTEXT_RC}"]
    command = [*coverage, f"--data-file={data}", "-m", "pytest", *pytest_runner.pytest_args(junit)]
    result = await sandbox.run(
        [*command, *MEASURE_OPTIONS, *paths], cwd=checkout, timeout_s=timeout_s
    )
    run = pytest_runner.PytestRun(
        result.returncode, result.timed_out, result.duration_s, result.output
    )
    contexts: dict[str, line_sets.Lines] = {}
    outside: line_sets.Lines = {}
    if (checkout / data).exists():
        report_cmd = [python, "-m", "coverage", "json", f"--rcfile={CONTEXT_RC}"]
        report_cmd += [f"--data-file={data}", "--show-contexts", "-o", report, "-q"]
        done = await sandbox.run(report_cmd, cwd=checkout, timeout_s=max(30.0, timeout_s / 4))
        if done.returncode == 0:
            contexts, outside = read_contexts(checkout / report)
            run.measured = True
    return run, contexts, outside, checkout / junit


def _prepare(checkout: Path, paths: list[str], out: PerTestSelection) -> list[_Candidate]:
    candidates = []
    for path in sorted(set(paths)):
        try:
            prelude, cases = split_tests((checkout / path).read_text(encoding="utf-8"), path)
        except (OSError, UnicodeDecodeError, TidyError) as exc:
            out.verdicts.append(Verdict(path, False, f"not split into tests: {exc}"))
            continue
        kept = []
        for case in cases:
            reviewed = review(case, prelude)
            if reviewed.case is None:
                out.dropped.append((case.label, reviewed.reason))
            else:
                kept.append(reviewed.case)
        if not kept:
            out.verdicts.append(Verdict(path, False, "no test left after review"))
            continue
        candidates.append(_Candidate(path, prelude, kept, len(cases)))
        (checkout / path).write_text(join_tests(prelude, kept))
    return candidates


async def select_tests(
    sandbox: Sandbox,
    checkout: Path,
    candidates: list[str],
    baseline: pytest_runner.PytestRun,
    changed_exec: line_sets.Lines,
    *,
    runs: int,
    timeout_s: float,
    max_tests: int = 20,
    prefer: Callable[[TestCase], bool] | None = None,
    on_base: OnBase | None = None,
    budget: Budget | None = None,
) -> PerTestSelection:
    """Choose the tests of ``candidates`` (test files in the checkout) worth keeping. With
    ``on_base``, the measured tests that reach a changed line run on the base commit first,
    and a test failing there (it pins the change) wins a tie."""
    started = time.monotonic()
    out = PerTestSelection()
    files = _prepare(checkout, candidates, out)

    def left() -> float:
        return min(timeout_s, budget.remaining_s()) if budget is not None else timeout_s

    modules = {_module(c.path): c.path for c in files}
    paths = [c.path for c in files]
    measured: list[
        tuple[str, pytest_runner.PytestRun, dict[str, line_sets.Lines], line_sets.Lines, Path]
    ] = []
    if paths:
        run, contexts, outside, junit = await _measure(
            sandbox, checkout, paths, tag="per-test", timeout_s=left()
        )
        out.pytest_runs += 1
        if run.timed_out and len(paths) > 1:
            for index, path in enumerate(paths):
                one = await _measure(
                    sandbox, checkout, [path], tag=f"per-test-{index}", timeout_s=left()
                )
                out.pytest_runs += 1
                measured.append((path, *one))
        else:
            measured.append(("", run, contexts, outside, junit))
    pool: list[_Measured] = []
    collection: line_sets.Lines = {}
    for only, run, contexts, outside, junit in measured:
        outcomes = _junit_outcomes(junit, modules)
        junit_text = junit.read_text(encoding="utf-8") if junit.exists() else ""
        collection = line_sets.union(collection, line_sets.restrict(outside, changed_exec))
        per_case: dict[tuple[str, str], line_sets.Lines] = {}
        for context, lines in contexts.items():
            owner = _context_owner(context, modules)
            if owner is not None:
                per_case[owner] = line_sets.union(per_case.get(owner, {}), lines)
        for candidate in files:
            if only and candidate.path != only:
                continue
            starts = case_lines((checkout / candidate.path).read_text(encoding="utf-8"))
            raised = raised_from_junit(junit_text, candidate.path)
            for case in candidate.cases:
                key = (candidate.path, case.name)
                why = outcomes.get(key)
                if run.timed_out:
                    why = f"timed out after {run.duration_s:.0f} s (with its file)"
                elif why is None:
                    why = "did not run (collection error?)"
                elif case.expects_exception and why.startswith("failed") and case.name in raised:
                    exc = raised[case.name]
                    why = raises_problem(case, exc, starts.get(case.name, 1)) or ""
                    if not why:
                        case = to_raises(case, exc.exc_type, exc.message)
                elif case.expects_exception and not why:
                    why = "expected to raise, but did not"
                if why or not run.measured:
                    out.dropped.append((case.label, why or "coverage was not measured"))
                    continue
                pool.append(
                    _Measured(case, line_sets.restrict(per_case.get(key, {}), changed_exec))
                )

    if on_base is not None:
        out.pinning = await _pinning(files, pool, on_base)
        if out.pinning:
            prefer = _preferring(out.pinning, prefer)
    base = line_sets.restrict(baseline.executed, changed_exec)
    functions = changed_functions(checkout, changed_exec)
    excluded: dict[str, str] = {}

    def choose(
        usable: list[_Measured],
    ) -> tuple[list[tuple[_Measured, line_sets.Lines]], line_sets.Lines, list[tuple[str, str]]]:
        chosen, covered, rejected = _choose(usable, base, collection, max_tests, prefer)
        picked = {m.case.label for m, _ in chosen}
        rest = [m for m in usable if m.case.label not in picked]
        pins, out.pinned = choose_pins(
            [m for m, _ in chosen], rest, out.pinning, functions, _pinned_by
        )
        pinned = {m.case.label for m in pins}
        rejected = [r for r in rejected if r[0] not in pinned]
        return chosen + [(m, {}) for m in pins], covered, rejected

    for round_number in range(1, MAX_ROUNDS + 1):
        usable = [m for m in pool if m.case.label not in excluded]
        chosen, covered, rejected = choose(usable)
        texts, names = _write(checkout, files, [m for m, _ in chosen])
        failing = await _flaky_runs(sandbox, checkout, texts, names, modules, runs, left, out)
        excluded.update(failing)
        if not failing:
            break
        if round_number == MAX_ROUNDS:  # the rest passed every run of this round
            rest = [m for m, _ in chosen if m.case.label not in failing]
            chosen, covered, more = choose(rest)
            rejected += more
            texts, names = _write(checkout, files, [m for m, _ in chosen])
    out.dropped.extend(excluded.items())
    out.dropped.extend(rejected)
    out.covered, out.kept_files = covered, texts
    _verdicts(out, files, chosen, names, runs)
    out.duration_s = time.monotonic() - started
    return out


async def _pinning(files: list[_Candidate], pool: list[_Measured], on_base: OnBase) -> set[str]:
    """The labels of the pool's tests that fail on the base commit. Each test runs there in a
    file of its own, with only the imports it uses: a file that does not import on the base
    (another test of it uses what the change adds) must not count for every test in it."""
    texts: dict[str, str] = {}
    owner: dict[tuple[str, str], str] = {}
    for candidate in files:
        stem = PurePosixPath(candidate.path)
        for index, m in enumerate(c for c in pool if c.case.origin == candidate.path):
            path = stem.with_name(f"{stem.stem}_pin{index}.py").as_posix()
            texts[path] = join_tests(candidate.prelude, [m.case])
            owner[(path, m.case.name)] = m.case.label
    failing = await on_base(texts) if texts else None
    if not failing:
        return set()
    return {owner[key] for key in failing if key in owner}


# The key of a pin that runs no changed line of a function in its own test (the change runs at
# import, a module constant): it counts only where nothing else pins anything.
ANYWHERE = "*"


def changed_functions(checkout: Path, changed_exec: line_sets.Lines) -> dict[str, line_sets.Lines]:
    """ "path::qualname" of the innermost function or method holding each changed statement ->
    those statements (parsed, never run); module-level statements are left out."""
    functions: dict[str, line_sets.Lines] = {}
    for path, lines in sorted(changed_exec.items()):
        try:
            tree = ast.parse((checkout / path).read_bytes())
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        spans = _function_spans(tree)
        for line in lines:
            around = [s for s in spans if s[0] <= line <= s[1]]
            if around:
                name = max(around, key=lambda s: s[0])[2]  # the innermost starts last
                functions.setdefault(f"{path}::{name}", {}).setdefault(path, set()).add(line)
    return functions


def _function_spans(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function and method."""
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                end = child.end_lineno or child.lineno
                spans.append((child.lineno, end, prefix + child.name))
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return spans


def _pinned_by(m: _Measured, functions: dict[str, line_sets.Lines]) -> set[str]:
    hit = {
        f for f, lines in functions.items() if line_sets.count(line_sets.restrict(m.lines, lines))
    }
    return hit or {ANYWHERE}


def choose_pins(
    chosen: list[_Measured],
    rest: list[_Measured],
    pinning: set[str],
    functions: dict[str, line_sets.Lines],
    pinned_by: Callable[[_Measured, dict[str, line_sets.Lines]], set[str]],
) -> tuple[list[_Measured], dict[str, list[str]]]:
    """Tests kept for what they pin, though they cover no new changed line: for each changed
    function that no chosen test failing on the base commit runs, the test failing there that
    pins the most such functions, the shortest first. Returns them, and for every chosen or
    picked test failing on the base, the functions it pins (label -> "path::qualname")."""
    said: dict[str, list[str]] = {}
    done: set[str] = set()
    for m in chosen:
        if m.case.label in pinning:
            mine = pinned_by(m, functions)
            said[m.case.label] = sorted(mine - {ANYWHERE})
            done |= mine
    picked: list[_Measured] = []
    candidates = sorted((m for m in rest if m.case.label in pinning), key=lambda m: m.case.label)

    def gain(m: _Measured) -> set[str]:
        mine = pinned_by(m, functions) - done
        return set() if mine == {ANYWHERE} and done else mine

    while candidates:
        best = min(candidates, key=lambda m: (-len(gain(m)), len(m.case.source), m.case.label))
        new = gain(best)
        if not new:
            break
        picked.append(best)
        said[best.case.label] = sorted(pinned_by(best, functions) - {ANYWHERE})
        done |= new
        candidates.remove(best)
    return picked, said


def _preferring(
    pinning: set[str], prefer: Callable[[TestCase], bool] | None
) -> Callable[[TestCase], bool]:
    def preferred(case: TestCase) -> bool:
        return case.label in pinning or (prefer is not None and prefer(case))

    return preferred


def _choose(
    pool: list[_Measured],
    base: line_sets.Lines,
    collection: line_sets.Lines,
    max_tests: int,
    prefer: Callable[[TestCase], bool] | None,
) -> tuple[list[tuple[_Measured, line_sets.Lines]], line_sets.Lines, list[tuple[str, str]]]:
    """Greedy choice: (chosen with the lines each adds, lines covered after, rejected)."""
    covered = base
    chosen: list[tuple[_Measured, line_sets.Lines]] = []
    rest = sorted(pool, key=lambda m: m.case.label)
    while rest and len(chosen) < max_tests:
        best = min(rest, key=lambda m: _rank(m, covered, prefer))
        new = line_sets.gained(best.lines, covered)
        if not new:
            break
        chosen.append((best, new))
        covered = line_sets.union(covered, new)
        rest.remove(best)
    imported = line_sets.gained(collection, covered)
    if imported and rest and not chosen:  # only import-time lines are new: one test brings them
        best = min(rest, key=lambda m: _rank(m, covered, prefer))
        chosen.append((best, imported))
        rest.remove(best)
    if chosen:
        covered = line_sets.union(covered, imported)
    reasons = []
    for m in rest:
        if line_sets.gained(m.lines, covered):
            reasons.append((m.case.label, f"left out: the limit of {max_tests} tests was reached"))
        else:
            why = "covers no changed line that the baseline or a kept test does not cover"
            reasons.append((m.case.label, why))
    return chosen, covered, reasons


def _rank(
    m: _Measured, covered: line_sets.Lines, prefer: Callable[[TestCase], bool] | None
) -> tuple[int, bool, int, str]:
    gain = line_sets.count(line_sets.gained(m.lines, covered))
    preferred = prefer(m.case) if prefer is not None else False
    return (-gain, not preferred, len(m.case.source), m.case.label)


def _write(
    checkout: Path, files: list[_Candidate], chosen: list[_Measured]
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Write each candidate file with its chosen tests (remove it when none): the texts, and
    per file each final test name's label."""
    labels = {m.case.label for m in chosen}
    by_label = {m.case.label: m.case for m in chosen}
    texts: dict[str, str] = {}
    names: dict[str, dict[str, str]] = {}
    for candidate in files:
        cases = [by_label[c.label] for c in candidate.cases if c.label in labels]
        if not cases:
            (checkout / candidate.path).unlink(missing_ok=True)
            continue
        named = name_tests(cases, candidate.prelude)
        texts[candidate.path] = join_tests(candidate.prelude, named)
        (checkout / candidate.path).write_text(texts[candidate.path])
        names[candidate.path] = {n.name: n.label for n in named}
    return texts, names


async def _flaky_runs(
    sandbox: Sandbox,
    checkout: Path,
    texts: dict[str, str],
    names: dict[str, dict[str, str]],
    modules: dict[str, str],
    runs: int,
    left: Callable[[], float],
    out: PerTestSelection,
) -> dict[str, str]:
    """Runs 2…``runs`` of the kept files together: label -> why, for each test that failed."""
    paths = sorted(texts)
    everyone = {label: path for path in paths for label in names[path].values()}
    for number in range(2, runs + 1):
        if not paths:
            return {}
        if left() <= 1:
            why = f"not validated: wall-time budget reached after {number - 1} of {runs} runs"
            return dict.fromkeys(everyone, why)
        run = await pytest_runner.run_pytest(
            sandbox, checkout, paths, tag=f"per-test-run-{number}", timeout_s=left(), measure=False
        )
        out.pytest_runs += 1
        if run.ok:
            continue
        prefix = f"flaky: passed {number - 1} run(s), then run {number} of {runs}"
        failing: dict[str, str] = {}
        for failure in run.failures:
            module, _, cls = failure.classname.rpartition(".")
            path = modules.get(failure.classname) or modules.get(module)
            top = failure.name.split("[")[0] if failure.classname in modules else cls
            label = names.get(path or "", {}).get(top)
            if label is not None:
                failing[label] = f"{prefix} failed: {failure.message}"
        if run.returncode != 1 or not failing:
            return dict.fromkeys(everyone, f"{prefix} {run.describe()}")
        return failing
    return {}


def _verdicts(
    out: PerTestSelection,
    files: list[_Candidate],
    chosen: list[tuple[_Measured, line_sets.Lines]],
    names: dict[str, dict[str, str]],
    runs: int,
) -> None:
    final = {label: name for per in names.values() for name, label in per.items()}
    for m, new in chosen:
        where = "; ".join(f"{p} {compress(sorted(ls))}" for p, ls in sorted(new.items()))
        reason = f"passed {runs}/{runs} runs; "
        if new:
            reason += f"covers {line_sets.count(new)} changed line(s) not covered before: {where}"
        if m.case.label in out.pinned:
            functions = ", ".join(f"`{f.split('::', 1)[1]}`" for f in out.pinned[m.case.label])
            reason += "; " if new else ""
            reason += "fails on the base commit: pins the change" + (
                f" to {functions}" if functions else ""
            )
        out.tests.append(TestVerdict(m.case.label, True, reason, final[m.case.label], new))
    for label, why in out.dropped:
        out.tests.append(TestVerdict(label, False, why))
    out.tests.sort(key=lambda t: (not t.kept, t.label))
    for candidate in files:
        mine = [t for t in out.tests if t.label.startswith(candidate.path + "::")]
        kept = [t for t in mine if t.kept]
        total = candidate.total
        if kept:
            new = line_sets.union(*(t.new_lines for t in kept))
            where = "; ".join(f"{p} {compress(sorted(ls))}" for p, ls in sorted(new.items()))
            reason = f"kept {len(kept)} of {total} test(s), each passed {runs}/{runs} runs; "
            reason += (
                f"they cover {line_sets.count(new)} changed line(s) not covered before: {where}"
            )
            pins = [t for t in kept if t.label in out.pinned]
            if pins:
                reason += f"; {len(pins)} fail on the base commit (they pin the change)"
            out.verdicts.append(Verdict(candidate.path, True, reason, new))
        else:
            reasons = sorted({t.reason.split(":")[0] for t in mine})
            out.verdicts.append(
                Verdict(candidate.path, False, "no test kept: " + "; ".join(reasons)[:300])
            )
    out.verdicts.sort(key=lambda v: (not v.kept, v.path))
