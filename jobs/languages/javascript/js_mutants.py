"""Mutants of the changed lines of JS/TS sources (issue 19 item 2, for issue 20), run through the
package's own runner: the JavaScript backend's ``run_mutants``, which
:func:`jobs.testgen.proof.measure.against_the_suite` calls for it.

The mutants come from ``mutate.cjs``, a small mutator on the TypeScript compiler API the
characterization engine already loads, with Python's operators (comparisons, ``&&``/``||``,
``!`` removed, arithmetic, constants ±1, ``true``/``false``, strings emptied, conditions negated
or made true, returned values made ``undefined``, expression statements removed, a declared
value made ``undefined``, a ``for … of`` loop over ``[]``; module-level variables too). Stryker 10
was the other choice; it needs its core and a runner plugin installed into the sandbox on the
install's network, and its vitest runner's floor (vitest ≥ 2) leaves out the bench's vitest 0.x
and 1.x packages, while this runs wherever the project's runner runs.

The mutants run in batches through their schemata (:mod:`.mutant_schemata`: many mutants to a
runner process); a mutant with no switch in a schema (a module-level value, or one whose switch
does not parse), or a failed batch's, runs alone: written into the source in place (the original
is always put back), and the package's runner runs once on the test files whose tests ran the
mutant's lines in the baseline (the record :func:`.javascript_runs.run_suite` writes) and on the
kept and candidate files; a mutant's killers are the candidate tests that failed on it (ids,
``file > describe > title``): the kill matrix per test of :mod:`.js_per_test`.
Only a test that ran and failed kills a mutant, and an existing test only if it passed in the
baseline: a file that does not load, a run with no tests or a runner that did not run is
``error``, a run stopped at its time limit is ``timeout``.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.languages.javascript import javascript_runs
from jobs.languages.javascript.javascript_runs import Share
from jobs.languages.javascript.mutant_schemata import (
    BATCH,
    BatchFailed,
    Planned,
    Schemata,
    parse_schemata,
    run_batch,
    split_results,
)
from jobs.languages.javascript.package_job import FilesRun, RunnerError
from jobs.languages.javascript.run_results import ReportProblem, runner_line
from jobs.languages.javascript.toolchain import (
    Node,
    NodeScript,
    NodeUnavailable,
    ScriptTrouble,
    find_node,
    script_json,
)
from jobs.languages.javascript.typescript_tool import typescript_for
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import Sandbox
from jobs.testgen.proof.measure import (
    DEADLINE_SHARE,
    MAX_MUTANTS,
    Measured,
    TestFiles,
    none_judged,
)
from jobs.testgen.proof.mutants import Mutant
from jobs.testgen.proof.score import MutantScore, Outcome

MUTATOR = Path(__file__).with_name("mutate.cjs")
REQUEST = "mutate.json"
OUT = "mutate-out.json"
MIN_RUN_S = 15.0  # one mutant's run may take at least this, and at most a quarter of the stage
KINDS = ("return", "statement", "condition", "comparison", "boolean", "arithmetic", "constant")


@dataclass(frozen=True)
class Record:
    """The baseline's record: which changed lines each existing test file ran, and which tests
    passed (a test that failed without a mutant kills none)."""

    files: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    passed: frozenset[str] = frozenset()
    covered: dict[str, set[int]] = field(default_factory=dict)  # the whole run's lines
    problems: tuple[str, ...] = ()  # why the recorder left lines out (its library did not load)
    trouble: str = ""  # why the baseline's run is no baseline (it did not run, or timed out)

    def files_running(self, mutant: Mutant) -> list[str]:
        """The existing test files that ran the mutant's lines: those the per-test record
        names; every test file where the whole run ran them but no test's record names the
        source at all (the recorder said nothing of it); none where no test ran them."""
        first, last = mutant.lines
        wanted = set(range(first, last + 1))
        if not self.covered.get(mutant.path, set()) & wanted:
            return []
        named = sorted(f for f, ran in self.files.items() if ran.get(mutant.path, set()) & wanted)
        return named if named or self.attributes(mutant.path) else sorted(self.files)

    def attributes(self, path: str) -> bool:
        """Whether the per-test record names any line of ``path``."""
        return any(ran.get(path) for ran in self.files.values())


def read_record(path: Path) -> Record | str:
    """The baseline's record, or why there is none to read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {
            str(f): {str(p): {int(n) for n in ns} for p, ns in dict(ran).items()}
            for f, ran in dict(data["files"]).items()
        }
        covered = {str(p): {int(n) for n in ns} for p, ns in dict(data["covered"]).items()}
        problems = tuple(str(p) for p in data.get("problems") or [])
        trouble = str(data.get("trouble") or "")
        passed = frozenset(str(t) for t in data["passed"])
        return Record(files, passed, covered, problems, trouble)
    except OSError:
        return "the baseline left no record of what each test file ran"
    except (ValueError, KeyError, TypeError) as exc:
        return f"the baseline's record of what each test file ran is unreadable ({exc!r})"


def unusable(record: Record | str) -> str | None:
    """Why the baseline's record cannot judge mutants, or None (pure). Without a baseline that
    ran, no existing test is known to pass: every mutant would "survive" them, a figure of
    Tandem's trouble, not of the tests."""
    if isinstance(record, str):
        return record
    return record.trouble or None


def record_notes(record: Record, mutants: list[Mutant]) -> list[str]:
    """What the mutants' notes say of the baseline's per-test record (pure): why the recorder
    left lines out, and which sources it names no line of (their mutants run on every file)."""
    notes = [f"the per-test record is incomplete: {why}" for why in record.problems]
    unattributed = sorted({m.path for m in mutants if not record.attributes(m.path)})
    if unattributed and record.files:
        shown = ", ".join(f"`{p}`" for p in unattributed)
        notes.append(
            f"the per-test record names no line of {shown}: each of its mutants ran against "
            "every existing test file of its package"
        )
    return notes


def parse_mutants(data: Any) -> tuple[list[Mutant], int, list[str]]:
    """The mutator's JSON (pure): its mutants, how many were left out as the same text, and
    its problems. A malformed entry is left out."""
    mutants: list[Mutant] = []
    if not isinstance(data, dict):
        return [], 0, ["the mutator printed no JSON object"]
    for n, raw in enumerate(data.get("mutants") or []):
        try:
            path, line = str(raw["path"]), int(raw["line"])
            mutants.append(
                Mutant(
                    id=f"{path}:{line}:{n}",
                    path=path,
                    line=line,
                    lines=(int(raw["first"]), int(raw["last"])),
                    function=str(raw["function"]) or "(module)",
                    kind=str(raw["kind"]) if raw["kind"] in KINDS else "statement",
                    description=str(raw["description"]),
                    start=int(raw["start"]),
                    end=int(raw["end"]),
                    source=str(raw["text"]),
                    chain=(),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    equivalent = data.get("equivalent")
    problems = [str(p) for p in data.get("problems") or []]
    return mutants, equivalent if isinstance(equivalent, int) else 0, problems


def mutated(original: str, mutant: Mutant) -> str:
    """``original`` with lines ``start..end`` replaced by the mutant's text (pure)."""
    lines = original.split("\n")
    return "\n".join([*lines[: mutant.start - 1], mutant.source, *lines[mutant.end :]])


def outcome_of(
    mutant: Mutant, run: FilesRun | RunnerError, groups: dict[str, str], passed: frozenset[str]
) -> Outcome:
    """A mutant's fate from one run (pure). ``groups``: test file -> "existing", "kept" or
    "candidate"; an existing test's failure counts only if it passed in the baseline."""
    ran = len(groups)
    if isinstance(run, RunnerError):
        return Outcome(mutant, "timeout" if run.timed_out else "error", tests=ran, why=run.reason)
    if isinstance(run.results, ReportProblem):
        return Outcome(mutant, "error", tests=ran, why=run.results.reason)
    failed: dict[str, set[str]] = {}
    for test, result in run.results.tests.items():
        file = test.partition(" > ")[0]
        group = groups.get(file)
        if result.status != "fail" or group is None:
            continue
        if group == "existing" and test not in passed:
            continue
        failed.setdefault(group, set()).add(test)  # a candidate's killers: its tests, by id
    for group in ("existing", "kept"):
        if group in failed:
            return Outcome(mutant, "killed", by=group, tests=ran)
    if "candidate" in failed:
        killers = tuple(sorted(failed["candidate"]))
        return Outcome(mutant, "killed", by="candidate", tests=ran, killers=killers)
    if not run.results.tests:
        why = next(iter(run.results.unloaded.values()), runner_line(run.result.output))
        return Outcome(mutant, "error", tests=ran, why=f"no test ran: {why}")
    return Outcome(mutant, "survived", tests=ran)


@dataclass(frozen=True)
class Made:
    mutants: list[Mutant]
    equivalent: int = 0  # left out as the same text
    problems: list[str] = field(default_factory=list)
    schemata: Schemata = field(default_factory=Schemata)


async def make_mutants(
    sandbox: Sandbox, node: Node, checkout: Path, changed: dict[str, set[int]], timeout_s: float
) -> Made | str:
    """The mutants of the changed lines of ``changed``'s JS/TS files and their schemata, or why
    none were made."""
    paths = sorted(p for p in changed if (checkout / p).is_file())
    if not paths:
        return Made([])
    found, _ = await asyncio.to_thread(javascript_runs.shares, checkout, paths)
    if not found:
        return Made([], problems=[f"`{p}`: no package to run it in" for p in paths])
    package_dir = checkout / found[0].package.dir
    typescript = await typescript_for(sandbox, node, checkout, package_dir, timeout_s)
    if isinstance(typescript, str):
        return typescript
    work = checkout / workdir.WORK_DIR
    out = work / OUT
    request: dict[str, object] = {
        "typescript": str(typescript),
        "out": str(out),
        "files": [
            {"path": p, "file": str((checkout / p).resolve()), "changed": sorted(changed[p])}
            for p in paths
        ],
    }
    await asyncio.to_thread(_write_request, work, request)
    out.unlink(missing_ok=True)
    data = await script_json(
        sandbox,
        node,
        NodeScript(
            work / MUTATOR.name,
            work / REQUEST,
            out,
            failed="the mutator did not run",
            name="mutator",
        ),
        cwd=checkout,
        timeout_s=timeout_s,
    )
    if isinstance(data, ScriptTrouble):
        return data.why
    mutants, equivalent, problems = parse_mutants(data)
    ids = {int(m.id.rpartition(":")[2]): m.id for m in mutants}
    return Made(mutants, equivalent, problems, parse_schemata(data, ids))


def _write_request(work: Path, request: dict[str, object]) -> None:
    work.mkdir(exist_ok=True)
    workdir.copy_fresh(MUTATOR, work / MUTATOR.name)
    workdir.write_fresh(json.dumps(request), work / REQUEST)


async def run_mutants(
    sandbox: Sandbox,
    checkout: Path,
    changed: dict[str, set[int]],
    tests: TestFiles,
    *,
    timeout_s: float,
    batched: bool = True,
) -> Measured:
    """Make the mutants of ``changed`` and run them through their package's runner on the test
    files that ran their lines, and ``tests``' kept and candidate files: in batches through
    their schemata (:mod:`.mutant_schemata`; ``batched`` False: none), the rest in a process
    each; bounded by ``timeout_s`` (the mutants not started by then are cut)."""
    started = time.monotonic()
    node = find_node()
    if isinstance(node, NodeUnavailable):
        return Measured(MutantScore(), problem=node.reason)
    made = await make_mutants(sandbox, node, checkout, changed, timeout_s / 4)
    if isinstance(made, str):
        return Measured(MutantScore(), problem=made)
    score = MutantScore(equivalent=made.equivalent, notes=made.problems)
    record = await asyncio.to_thread(
        read_record, checkout / javascript_runs.test_lines_record(javascript_runs.BASELINE)
    )
    if not made.mutants:
        return Measured(score)
    if isinstance(record, str) or record.trouble:
        return Measured(score, problem=f"not run: {unusable(record)}")
    score.notes += record_notes(record, made.mutants)
    run = _Run(sandbox, node, checkout, record, started + timeout_s * DEADLINE_SHARE, timeout_s)
    outcomes: dict[str, Outcome] = {}
    alone: list[tuple[Mutant, Share, dict[str, str]]] = []
    batch: list[tuple[Planned, Share, dict[str, str]]] = []
    for mutant in made.mutants[:MAX_MUTANTS]:
        plan = await _plan(checkout, mutant, tests, record)
        switch = made.schemata.switches.get(mutant.id) if batched else None
        if isinstance(plan, Outcome):
            outcomes[mutant.id] = plan
        elif switch is not None:
            batch.append((Planned(mutant, switch, tuple(sorted(plan[1]))), *plan))
        else:
            alone.append((mutant, *plan))
    alone += await run.batches(batch, made.schemata, outcomes, score.notes, len(alone))
    for mutant, share, groups in alone:
        if (left := run.left()) <= 0:
            outcomes[mutant.id] = Outcome(mutant, "cut")
            continue
        run_s = min(left, max(MIN_RUN_S, timeout_s / 4))
        outcomes[mutant.id] = await _run_one(run, mutant, share, groups, run_s)
    score.outcomes += [outcomes.get(m.id, Outcome(m, "cut")) for m in made.mutants]
    score.tests = len(record.passed)
    score.seconds = time.monotonic() - started
    errors = [o for o in score.outcomes if o.status == "error"]
    if errors and len(errors) == score.total:
        return Measured(score, problem=f"no mutant could be run ({errors[0].why})")
    if (none := none_judged(score)) is not None:
        return Measured(score, problem=none, cut=score.count("cut"))
    return Measured(score, cut=score.count("cut"))


async def _plan(
    checkout: Path, mutant: Mutant, tests: TestFiles, record: Record
) -> Outcome | tuple[Share, dict[str, str]]:
    """The mutant's outcome where no run is needed, else its package and the test files that
    may notice it (checkout-relative -> "existing", "kept" or "candidate")."""
    if mutant.id in tests.settled:  # the existing tests killed it in an earlier run
        return Outcome(mutant, "killed", by="existing", tests=len(record.files_running(mutant)))
    groups = dict.fromkeys(record.files_running(mutant), "existing")
    groups |= dict.fromkeys(tests.kept, "kept") | dict.fromkeys(tests.candidates, "candidate")
    for ignored in tests.ignore:
        groups.pop(ignored, None)
    if not groups:
        return Outcome(mutant, "uncovered")
    found, problems = await asyncio.to_thread(javascript_runs.shares, checkout, [mutant.path])
    if not found:
        return Outcome(mutant, "error", why="; ".join(problems) or "no package")
    share = found[0]
    prefix = f"{share.package.dir}/" if share.package.dir else ""
    return share, {f: g for f, g in groups.items() if f.startswith(prefix)}


@dataclass(frozen=True)
class _Run:
    """What a mutant run shares: where it runs, the baseline's record and its deadline."""

    sandbox: Sandbox
    node: Node
    checkout: Path
    record: Record
    deadline: float
    timeout_s: float

    def left(self) -> float:
        return self.deadline - time.monotonic()

    async def batches(
        self,
        planned: list[tuple[Planned, Share, dict[str, str]]],
        schemata: Schemata,
        outcomes: dict[str, Outcome],
        notes: list[str],
        after: int = 0,
    ) -> list[tuple[Mutant, Share, dict[str, str]]]:
        """The planned mutants in batches, each package's apart; their outcomes go into
        ``outcomes``. Returns those left to run a process each: a failed batch's (and, when
        it failed for all, every later one's). ``after``: the mutants that run a process each
        after the batches, whose share of the time a batch leaves them."""
        alone: list[tuple[Mutant, Share, dict[str, str]]] = []
        packages: dict[str, list[tuple[Planned, Share, dict[str, str]]]] = {}
        for entry in planned:
            packages.setdefault(entry[1].package.dir, []).append(entry)
        paths = sorted(schemata.texts)
        found, _ = await asyncio.to_thread(javascript_runs.shares, self.checkout, paths)
        whole = {share.package.dir: share for share in found}  # with all of its schemata
        waiting = len(planned)  # the batched mutants not run yet
        for folder, entries in packages.items():
            share = whole.get(folder, entries[0][1])
            for at in range(0, len(entries), BATCH):
                chunk = entries[at : at + BATCH]
                if (left := self.left()) <= 0:
                    return alone + [(p.mutant, s, g) for p, s, g in entries[at:]]
                run_s = batch_seconds(left, self.timeout_s, len(chunk), waiting + after)
                waiting -= len(chunk)
                mutants = [p for p, _, _ in chunk]
                ran = await run_batch(
                    self.sandbox, self.node, self.checkout, share, mutants, schemata, run_s
                )
                got = (
                    ran
                    if isinstance(ran, BatchFailed)
                    else split_results(ran, mutants, self.record.passed)
                )
                if isinstance(got, BatchFailed):
                    notes.append(f"a batch of mutants ran a process each: {got.reason}")
                    alone += [
                        (p.mutant, s, g) for p, s, g in (entries[at:] if got.fatal else chunk)
                    ]
                    if got.fatal:
                        break
                    continue
                for item, _, groups in chunk:
                    outcomes[item.mutant.id] = outcome_of(
                        item.mutant, got[item.mutant.id], groups, self.record.passed
                    )
        return alone


def batch_seconds(left: float, stage_s: float, size: int, waiting: int) -> float:
    """A batch's time limit: its mutants' share of the time ``left`` (``waiting``: the mutants
    not run yet, its own included), and at least half the stage's ``stage_s`` (or
    ``2 * MIN_RUN_S``), never past ``left``. A batch that times out gives nothing (its mutants go
    back to a process each, which the time left rarely covers), so the last batch gets all that
    is left rather than half the stage: entities' one batch of 6 took longer than its 30 s on a
    loaded machine, and 5 of its 6 mutants were then cut."""
    return min(left, max(2 * MIN_RUN_S, stage_s / 2, left * size / max(1, waiting)))


async def _run_one(
    run: _Run, mutant: Mutant, share: Share, groups: dict[str, str], timeout_s: float
) -> Outcome:
    """One mutant in place, its package's runner on the files that may notice it, the
    original put back."""
    files = sorted(groups)
    source = run.checkout / mutant.path
    original = await asyncio.to_thread(source.read_bytes)  # bytes: its line ends stay as they are
    text = mutated(original.decode("utf-8", errors="surrogateescape"), mutant)
    job = share.job(run.checkout, tag="mutant", timeout_s=timeout_s, tests=False)
    try:
        await asyncio.to_thread(source.write_bytes, text.encode("utf-8", errors="surrogateescape"))
        run_files = javascript_runs.RUN_FILES[share.runner]
        result = await run_files(run.sandbox, run.node, job, [share.relative(f) for f in files])
    finally:
        await asyncio.to_thread(source.write_bytes, original)
    return outcome_of(mutant, result, groups, run.record.passed)
