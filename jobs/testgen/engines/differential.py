"""An offline engine that looks for inputs on which the base and the head of a changed function
behave differently, and writes one test per difference that asserts the head's behaviour: it
fails on the base commit by construction, so it pins the change.

What it compares (:mod:`.differential_targets`): the changed callables that exist in both
commits, a new one through the callables of both that call it, a changed module-level name
through the callables that use it. Inputs come from four places, cheapest first:

- **the characterization seeds** (:mod:`.seeds`): docstring examples, the tests'
  literal calls, the values a changed branch compares against;
- **the calls the project's tests make as they run** (:mod:`.call_capture`): the changed
  callable's own calls and the calls of the same file the tests made to reach it, and the entry
  point of another module the test called (``_fix_plugins(src, settings=…)``);
- **their neighbours, aimed at the change's tokens** (:mod:`.input_variants`), a source
  argument spelled another way (:mod:`.source_variants`), and values of each parameter's own
  type (:mod:`.typed_inputs`), for the callables no earlier input pinned;
- **``crosshair diffbehavior``** on each changed top-level function, and on each changed method
  on the receivers those calls built (:mod:`.differential_search`).

Every call then runs in the characterization probe (:mod:`.characterize_probe`) twice: once with
the checkout's import root first on the path, once with the base tree's. A call whose result
(its value when the value's repr evaluates back to it, or its exception type and message) differs
becomes a test named after what changed (``test_classify_10_is_big_now``,
:mod:`.differential_cases`). A value that does not round-trip through repr is skipped, never
guessed; so are nondeterministic calls and time-outs. Where the results agree, the state the
call left behind in its receiver, its changeable arguments and an object it built is compared
too (:mod:`.differential_state`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jobs.sandbox import Sandbox
from jobs.sandbox.workdir import WORK_DIR
from jobs.testgen.base_tree import BaseTree, BaseTreeError, base_tree
from jobs.testgen.engines import (
    borrowed_receivers,
    call_capture,
    characterize,
    differential_inputs,
    differential_mutants,
    input_variants,
)
from jobs.testgen.engines.differential_cases import Difference, differs, write_tests
from jobs.testgen.engines.differential_search import (
    MAX_SEARCH_S,
    MIN_SEARCH_S,
    SCRATCH,
    SEARCH_OVERHEAD_S,
    calls_from_report,
    search,
)
from jobs.testgen.engines.differential_search import jobs as search_jobs
from jobs.testgen.engines.differential_targets import DiffTarget, plan
from jobs.testgen.engines.engine_protocol import EngineOutcome, Workspace
from jobs.testgen.engines.seeds import Seed, SeedPlan, seeds_for_change
from jobs.testgen.targets import Target as ChangedFile

# The share of the engine's time left that running the tests to capture their calls may take.
CAPTURE_SHARE = 0.3
# The share of the engine's time kept for telling the surviving mutants apart, when there are.
MUTANT_SHARE = 0.25


class Differential:
    """The engine as portfolios run it (:class:`.base.Engine`)."""

    name = "differential"
    label = "Differential search"
    share = 0.3

    async def generate(self, workspace: Workspace, targets: list[ChangedFile]) -> EngineOutcome:
        changed = dict(workspace.changed) or {t.path: set(t.lines) for t in targets}
        workspace.step(
            f"comparing base and head of the changed functions of {len(changed)} file(s)"
        )
        return await compare(dataclasses.replace(workspace, changed=changed))


async def generate(
    sandbox: Sandbox,
    checkout: Path,
    changed: Mapping[str, set[int]],
    output_dir: str,
    *,
    base_sha: str | None,
    deadline: float,
    tests: Mapping[str, str],
) -> EngineOutcome:
    """:func:`compare` on these, with no surviving mutants."""
    workspace = Workspace(
        sandbox,
        checkout,
        output_dir,
        deadline,
        lambda _: None,
        tests,
        SeedPlan(),
        base_sha,
        changed,
    )
    return await compare(workspace)


async def compare(workspace: Workspace) -> EngineOutcome:
    """Differential tests of every changed callable (``workspace.changed``) that exists in both
    commits, one file per source module in the output folder; then, on the same inputs, the
    surviving mutants (``workspace.survivors``) told apart from the head, in files of their own
    (:mod:`.differential_mutants`), in the last MUTANT_SHARE of the time."""
    started, outcome = time.monotonic(), EngineOutcome()
    checkout, deadline = workspace.checkout, workspace.deadline
    if not workspace.base_sha:
        outcome.notes.append("no base commit given; no differential tests")
        return outcome
    share = MUTANT_SHARE if workspace.survivors else 0.0
    compared_by = deadline - (deadline - started) * share
    try:
        async with base_tree(
            checkout, workspace.base_sha, timeout_s=max(1.0, (deadline - started) / 4)
        ) as tree:
            where = (workspace.sandbox, checkout, tree, workspace.changed, workspace.tests)
            run = await _generate_on(*where, compared_by, outcome)
            if run is not None:
                write_tests(
                    checkout, run.targets, run.differences, workspace.output_dir, outcome,
                    run.compared,
                )  # fmt: skip
            if run is not None and workspace.survivors:
                await _kill_survivors(workspace, run)
    except BaseTreeError as exc:
        outcome.notes.append(f"differential tests: the base commit's files: {exc}")
    outcome.duration_s = time.monotonic() - started
    return outcome


async def _kill_survivors(workspace: Workspace, run: _Run) -> None:
    """The surviving mutants told apart from the head on every input compared so far."""
    workspace.step(f"looking for calls that kill {len(workspace.survivors)} surviving mutant(s)")
    killing, notes = await differential_mutants.look_for(
        workspace.sandbox, workspace.checkout, run.targets, run.tried, workspace.survivors,
        workspace.deadline,
    )  # fmt: skip
    run.outcome.notes += notes
    differential_mutants.write_tests(
        workspace.checkout, run.targets, killing, workspace.survivors, workspace.output_dir,
        run.outcome,
    )  # fmt: skip


async def _generate_on(
    sandbox: Sandbox,
    checkout: Path,
    tree: BaseTree,
    changed: Mapping[str, set[int]],
    tests: Mapping[str, str],
    deadline: float,
    outcome: EngineOutcome,
) -> _Run | None:
    """Base and head compared on every input, cheapest first; None when there was nothing to
    compare."""
    base_sources = {path: _read(tree.root / path) for path in changed}
    targets, notes = plan(checkout, changed, base_sources, tests)
    outcome.notes += notes
    if not targets:
        outcome.notes.append("no changed function exists in both commits; no differential tests")
        return None
    wanted = {(t.path, t.callable.qualname) for t in targets}
    seed_plan = seeds_for_change(checkout, changed, tests)
    seeds = {s for s in seed_plan.seeds if (s.path, s.qualname) in wanted}
    scratch = checkout / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    run = _Run(sandbox, checkout, tree, deadline, targets, outcome)
    # The project's own inputs first: cheap, and the likeliest to reach the change.
    await run.compare(seeds)
    # Then the calls its tests make as they run (private functions reached through the public
    # API), and the neighbours of every input, aimed at the tokens the change touched.
    captured, novel, receivers = await _capture(
        sandbox, checkout, base_sources, targets, tests, deadline
    )
    # A changed method the tests never call, on the objects they call its class's other
    # methods on.
    captured |= borrowed_receivers.borrowed_calls(targets, seeds | captured | receivers)
    captured -= seeds
    await run.compare(captured)
    differed = {(d.seed.path, d.seed.qualname) for d in run.differences}
    unpinned = {s for s in seeds | captured if (s.path, s.qualname) not in differed}
    typed = {(t.path, t.callable.qualname): t.callable for t in targets}
    variants = differential_inputs.variants(
        checkout, base_sources, unpinned, first=novel, typed=typed
    )
    spelled, cut = differential_inputs.spelled_variants(
        checkout, base_sources, unpinned, first=novel
    )
    variants |= spelled
    variants |= differential_inputs.classified_variants(
        checkout, base_sources, unpinned, first=novel
    )
    outcome.notes += [
        f"differential tests: {tried} of {made} other spellings of the source passed to "
        f"`{qualname}` were tried (at most {differential_inputs.MAX_SOURCE_VARIANTS_PER_CALLABLE})"
        for qualname, (tried, made) in sorted(cut.items())
    ]
    await run.compare(variants - seeds - captured)
    await run.compare(await run.search_all(seeds | captured) - seeds)
    if not run.asked:
        outcome.notes.append("no inputs for the changed functions; no differential tests")
        return None
    if run.compared < run.asked:
        outcome.notes.append(
            f"differential tests: {run.asked - run.compared} of {run.asked} call(s) could not "
            "be compared on both commits (time-out, or the wall-time budget)"
        )
    return run


@dataclass
class _Run:
    """One comparison of base and head: where it runs and what it found so far."""

    sandbox: Sandbox
    checkout: Path
    tree: BaseTree
    deadline: float
    targets: list[DiffTarget]
    outcome: EngineOutcome
    differences: list[Difference] = field(default_factory=list)
    compared: int = 0  # calls compared on both sides
    asked: int = 0  # calls asked for
    tried: set[Seed] = field(default_factory=set)  # every call asked for

    async def compare(self, calls: set[Seed]) -> None:
        if not calls:
            return
        batch = sorted(calls)
        self.tried |= calls
        # Both sides at once, each within the whole time left: one after the other, the engine
        # waited out the head's imports and calls before the base's started, and each side is a
        # single-threaded interpreter that mostly waits on imports and the call time-outs.
        head, base = await asyncio.gather(
            self.probe(batch, side="head"),
            # The base tree is a fresh directory directly under the scratch directory.
            self.probe(batch, side="base", root_of=f"{WORK_DIR}/{self.tree.root.name}"),
        )
        both = [i for i in range(len(batch)) if i in head and i in base]
        self.compared += len(both)
        self.asked += len(batch)
        self.differences.extend(
            Difference(batch[i], head[i], base[i]) for i in both if differs(head[i], base[i])
        )

    async def search_all(self, known: set[Seed]) -> set[Seed]:
        """The calls ``crosshair diffbehavior`` finds for the searchable targets (a method on
        the receivers the `known` calls build), sharing out four fifths of the time left (the
        rest is for running what it finds)."""
        sources = {t.path: _read(self.checkout / t.path) or "" for t in self.targets}
        pinned = {(d.seed.path, d.seed.qualname) for d in self.differences}
        searched = search_jobs(self.targets, known, sources, pinned=pinned)
        search_deadline = time.monotonic() + (self.deadline - time.monotonic()) * 0.8
        found: set[Seed] = set()
        for index, job in enumerate(searched):
            remaining = search_deadline - time.monotonic()
            if remaining < MIN_SEARCH_S + SEARCH_OVERHEAD_S:
                names = {f"`{j.target.callable.qualname}`" for j in searched[index:]}
                left = ", ".join(sorted(names))
                self.outcome.notes.append(
                    f"wall-time budget reached before the differential search on {left}"
                )
                break
            share = remaining / (len(searched) - index) - SEARCH_OVERHEAD_S
            seconds = int(max(MIN_SEARCH_S, min(MAX_SEARCH_S, share)))
            where = (self.sandbox, self.checkout, self.tree)
            report, note = await search(*where, job, index, seconds, remaining)
            self.outcome.notes += [note] if note else []
            found |= set(calls_from_report(report, job))
        return found

    async def probe(
        self, seeds: list[Seed], *, side: str, root_of: str | None = None
    ) -> dict[int, dict[str, object]]:
        """Run the characterization probe on every seed, on one side (the base's with `root_of`,
        the base tree's folder), within the time left: seed index -> record."""
        modules = {
            t.path: (
                t.root if root_of is None else (PurePosixPath(root_of) / t.root).as_posix(),
                t.module,
            )
            for t in self.targets
        }
        records, _ = await characterize.run_probe(
            self.sandbox,
            self.checkout,
            SCRATCH,
            modules,
            seeds,
            characterize.ProbeOptions(
                budget_s=self.deadline - time.monotonic(), tag=f"-{side}", walk=True, state=True
            ),
        )
        return {int(str(r["id"])): r for r in records if "id" in r}


async def _capture(
    sandbox: Sandbox,
    checkout: Path,
    base_sources: Mapping[str, str | None],
    targets: list[DiffTarget],
    tests: Mapping[str, str],
    deadline: float,
) -> tuple[set[Seed], set[Seed], set[Seed]]:
    """The calls of the targets the project's tests make as they run, per changed module, in a
    share of the time left (:mod:`.call_capture`), those that mention the change's words
    beyond the usual cap; those of them that ran lines no other call ran (novel); and the
    calls of the changed methods' classes' other methods, for their receivers
    (:mod:`.borrowed_receivers`)."""
    found: set[Seed] = set()
    novel: set[Seed] = set()
    receivers: set[Seed] = set()
    by_path: dict[str, list[DiffTarget]] = {}
    for target in targets:
        by_path.setdefault(target.path, []).append(target)
    for index, (path, group) in enumerate(sorted(by_path.items())):
        share = (deadline - time.monotonic()) * CAPTURE_SHARE / (len(by_path) - index)
        names = [t.callable.qualname for t in group]
        others = borrowed_receivers.siblings(_read(checkout / path) or "", group)
        job = call_capture.CaptureJob(
            root=group[0].root,
            module=group[0].module,
            path=path,
            targets=names + others,
            tests=call_capture.tests_mentioning(tests, group[0].module, names + others),
            tokens=input_variants.change_words(
                base_sources.get(path) or "", _read(checkout / path) or ""
            ),
        )
        captured = await call_capture.capture(
            sandbox, checkout, SCRATCH, job, deadline=time.monotonic() + share
        )
        found |= {s for s in captured.seeds if s.qualname in names}
        receivers |= {s for s in captured.seeds if s.qualname in others}
        novel |= captured.novel
    return found, novel, receivers


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except OSError:
        return None
