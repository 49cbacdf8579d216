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

from jobs.languages.javascript import javascript_runs, mutant_rounds
from jobs.languages.javascript.javascript_runs import Share
from jobs.languages.javascript.mutant_record import Record, read_record, record_notes, unusable
from jobs.languages.javascript.mutant_schemata import (
    BATCH,
    HIT_LIMIT,
    BatchFailed,
    Planned,
    Schemata,
    parse_schemata,
    run_batch,
    split_results,
)
from jobs.languages.javascript.package_job import FilesRun, RunnerError
from jobs.languages.javascript.run_results import ReportProblem, RunResults, runner_line
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
from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox
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
    hung = False
    for test, result in run.results.tests.items():
        file = test.partition(" > ")[0]
        group = groups.get(file)
        if result.status != "fail" or group is None:
            continue
        if group == "existing" and test not in passed:
            continue
        if HIT_LIMIT in result.message:  # the copy stopped a loop that never ends: no kill
            hung = True
            continue
        failed.setdefault(group, set()).add(test)  # a candidate's killers: its tests, by id
    for group in ("existing", "kept"):
        if group in failed:
            return Outcome(mutant, "killed", by=group, tests=ran)
    if "candidate" in failed:
        killers = tuple(sorted(failed["candidate"]))
        return Outcome(mutant, "killed", by="candidate", tests=ran, killers=killers)
    if hung:
        return Outcome(mutant, "timeout", tests=ran, why="its code ran past the hit limit")
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
        """The planned mutants in batches, each package's apart, round by round
        (:mod:`.mutant_rounds`); their outcomes go into ``outcomes``, "cut" where the time ran
        out first. Returns those left to run a process each: a failed batch's (and, when it
        failed for all, every later one's of its package). ``after``: the mutants that run a
        process each after the batches, whose share of the time a batch leaves them."""
        alone: list[tuple[Mutant, Share, dict[str, str]]] = []
        paths = sorted(schemata.texts)
        found, _ = await asyncio.to_thread(javascript_runs.shares, self.checkout, paths)
        whole = {share.package.dir: share for share in found}  # with all of its schemata
        active = [
            (mutant_rounds.start(p.mutant, groups, self.record.files), p.switch, share)
            for p, share, groups in planned
        ]
        while active and self.left() > 0:
            failed = await self._round(active, whole, schemata, notes, len(active) + after)
            alone += [(p.mutant, s, p.groups) for p, _, s in failed]
            gone = {id(p) for p, _, _ in failed}
            for pending, _, _ in active:
                if id(pending) not in gone and pending.settled(self.record.passed):
                    ran = FilesRun(CommandResult(0, pending.output, 0.0, False), pending.results)
                    groups = mutant_rounds.ran_groups(pending)
                    outcomes[pending.mutant.id] = outcome_of(
                        pending.mutant, ran, groups, self.record.passed
                    )
            active = [e for e in active if id(e[0]) not in gone and e[0].mutant.id not in outcomes]
        for pending, _, _ in active:
            outcomes[pending.mutant.id] = Outcome(pending.mutant, "cut")
        return alone

    async def _round(
        self,
        active: list[tuple[mutant_rounds.Pending, int, Share]],
        whole: dict[str, Share],
        schemata: Schemata,
        notes: list[str],
        waiting: int,
    ) -> list[tuple[mutant_rounds.Pending, int, Share]]:
        """One round of the active mutants' batches, each one's results added to its
        ``Pending``; returns the mutants of the batches that failed, to run a process each."""
        failed: list[tuple[mutant_rounds.Pending, int, Share]] = []
        packages: dict[str, list[tuple[mutant_rounds.Pending, int, Share]]] = {}
        for entry in active:
            packages.setdefault(entry[2].package.dir, []).append(entry)
        for folder, entries in packages.items():
            share = whole.get(folder, entries[0][2])
            for at in range(0, len(entries), BATCH):
                chunk = entries[at : at + BATCH]
                if (left := self.left()) <= 0:
                    return failed
                run_s = batch_seconds(left, self.timeout_s, len(chunk), waiting)
                waiting -= len(chunk)
                mutants = [Planned(p.mutant, switch, p.next_files()) for p, switch, _ in chunk]
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
                    failed += entries[at:] if got.fatal else chunk
                    if got.fatal:
                        break
                    continue
                for pending, _, _ in chunk:
                    run = got[pending.mutant.id]
                    if isinstance(run.results, RunResults):
                        pending.add(run.results, run.result.output)
        return failed


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
