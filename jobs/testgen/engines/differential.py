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
import shutil
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jobs.sandbox import Sandbox
from jobs.sandbox.workdir import WORK_DIR
from jobs.testgen.base_tree import BaseTree, BaseTreeError, base_tree
from jobs.testgen.engines import (
    borrowed_receivers,
    call_capture,
    characterize,
    input_variants,
    source_variants,
    typed_inputs,
)
from jobs.testgen.engines.callables import ChangedCallable
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
from jobs.testgen.engines.input_helpers import Defined
from jobs.testgen.engines.seeds import Seed, names_in, seeds_for_change
from jobs.testgen.targets import Target as ChangedFile

# The share of the engine's time left that running the tests to capture their calls may take.
CAPTURE_SHARE = 0.3
MAX_VARIANTS_PER_CALLABLE = 120
# Calls with a source argument spelled another way, per callable, beside the other neighbours:
# a source-transforming entry point takes milliseconds a call.
MAX_SOURCE_VARIANTS_PER_CALLABLE = 120


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
        return await generate(
            workspace.sandbox,
            workspace.checkout,
            changed,
            workspace.output_dir,
            base_sha=workspace.base_sha,
            deadline=workspace.deadline,
            tests=workspace.tests,
        )


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
    """Differential tests of every changed callable that exists in both commits, one file per
    source module in `output_dir`."""
    started = time.monotonic()
    outcome = EngineOutcome()
    if not base_sha:
        outcome.notes.append("no base commit given; no differential tests")
        return outcome
    try:
        async with base_tree(
            checkout, base_sha, timeout_s=max(1.0, (deadline - time.monotonic()) / 4)
        ) as tree:
            run = await _generate_on(sandbox, checkout, tree, changed, tests, deadline, outcome)
            if run is not None:
                write_tests(
                    checkout, run.targets, run.differences, output_dir, outcome, run.compared
                )
    except BaseTreeError as exc:
        outcome.notes.append(f"differential tests: the base commit's files: {exc}")
    outcome.duration_s = time.monotonic() - started
    return outcome


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
    variants = _variants(checkout, base_sources, unpinned, first=novel, typed=typed)
    spelled, cut = _source_variants(checkout, base_sources, unpinned, first=novel)
    variants |= spelled
    outcome.notes += [
        f"differential tests: {tried} of {made} other spellings of the source passed to "
        f"`{qualname}` were tried (at most {MAX_SOURCE_VARIANTS_PER_CALLABLE})"
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

    async def compare(self, calls: set[Seed]) -> None:
        if not calls:
            return
        batch = sorted(calls)
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


def _variants(
    checkout: Path,
    base_sources: Mapping[str, str | None],
    seeds: set[Seed],
    first: Collection[Seed] = (),
    typed: Mapping[tuple[str, str], ChangedCallable] | None = None,
) -> set[Seed]:
    """Neighbours of the seeds' calls (:mod:`.input_variants`), at most
    MAX_VARIANTS_PER_CALLABLE per callable: each seed's first neighbour, then each one's second,
    and so on, the shortest calls first, so no one long call takes a callable's whole share.
    The seeds in `first` (the captured calls that ran lines no other call ran) have all their
    neighbours taken before any other seed's: forty alike calls would otherwise use up the
    share on their first neighbours, and the one call that reaches the change get none."""
    sides: dict[str, tuple[str, str]] = {}  # path -> (base, head), each read once
    tokens: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]] = {}
    queues: dict[tuple[str, str, bool], list[list[tuple[str, None]]]] = {}
    defines: dict[tuple[str, str, str], tuple[Defined, ...]] = {}
    vias: dict[tuple[str, str, str], str] = {}  # a neighbour is written where its seed is
    for seed in _in_turn_order(seeds, first):
        if seed.path not in sides:
            base = base_sources.get(seed.path) or ""
            head = _read(checkout / seed.path) or ""
            sides[seed.path] = (base, head)
            tokens[seed.path] = (
                input_variants.dictionary(base, head) + input_variants.attribute_names(base, head),
                input_variants.returned_values(base, head),
                input_variants.trusts_len(base, head),
                input_variants.exact_type_classes(base, head),
            )
        base, head = sides[seed.path]
        words, returns, wrong_len, classes = tokens[seed.path]
        calls = input_variants.variants(
            seed.call_source, words, returns, wrong_len=wrong_len, subclassed=classes
        )
        # Values of each parameter's own type (:mod:`.typed_inputs`), first: few, and aimed
        # (not for an entry point's call: the parameters are the target's).
        item = None if seed.via else (typed or {}).get((seed.path, seed.qualname))
        calls = [*typed_inputs.variants(seed.call_source, item, head, base), *calls]
        queues.setdefault((seed.path, seed.qualname, seed not in first), []).append(
            [(call, None) for call in calls]
        )
        for call in calls:  # a neighbour takes the same test-module classes as its seed
            defines.setdefault((seed.path, seed.qualname, call), _defines(seed, call, classes))
            vias.setdefault((seed.path, seed.qualname, call), seed.via)
    chosen: dict[tuple[str, str], dict[str, None]] = {}
    for (path, qualname, _), lists in sorted(queues.items(), key=lambda item: item[0][2]):
        _take_in_turn(lists, MAX_VARIANTS_PER_CALLABLE, chosen.setdefault((path, qualname), {}))
    return {
        Seed(
            path,
            qualname,
            call,
            "variant",
            defines[path, qualname, call],
            vias[path, qualname, call],
        )
        for (path, qualname), calls in chosen.items()
        for call in calls
    }


def _source_variants(
    checkout: Path,
    base_sources: Mapping[str, str | None],
    seeds: set[Seed],
    first: Collection[Seed] = (),
) -> tuple[set[Seed], dict[str, tuple[int, int]]]:
    """The seeds' calls with a Python-source argument spelled another way
    (:mod:`.source_variants`), the kinds the change's tokens name first, at most
    MAX_SOURCE_VARIANTS_PER_CALLABLE per callable beside the other neighbours: each seed's
    first, then each one's second, the calls that ran new lines and then the shortest first.
    And, per callable the cap cut, (tried, made)."""
    words: dict[str, tuple[str, ...]] = {}
    queues: dict[tuple[str, str], list[tuple[Seed, list[str]]]] = {}
    for seed in _in_turn_order(seeds, first):
        if seed.path not in words:
            base, head = base_sources.get(seed.path) or "", _read(checkout / seed.path) or ""
            words[seed.path] = input_variants.dictionary(base, head)
        calls = source_variants.variants(seed.call_source, words[seed.path])
        if calls:
            queues.setdefault((seed.path, seed.qualname), []).append((seed, calls))
    found: set[Seed] = set()
    cut: dict[str, tuple[int, int]] = {}
    for (_, qualname), lists in queues.items():
        taken: dict[str, Seed] = {}
        _take_in_turn(
            [[(call, seed) for call in calls] for seed, calls in lists],
            MAX_SOURCE_VARIANTS_PER_CALLABLE,
            taken,
        )
        found |= {
            Seed(s.path, s.qualname, call, "variant", s.defines, s.via) for call, s in taken.items()
        }
        made = len({call for _, calls in lists for call in calls})
        if made > len(taken):
            cut[qualname] = (len(taken), made)
    return found, cut


def _in_turn_order(seeds: Collection[Seed], first: Collection[Seed]) -> list[Seed]:
    """The order seeds' neighbours queue in: the calls that ran new lines, then the shortest."""
    return sorted(seeds, key=lambda s: (s not in first, len(s.call_source), s))


def _take_in_turn[V](lists: list[list[tuple[str, V]]], cap: int, taken: dict[str, V]) -> None:
    """Each list's first (call, value) into `taken`, then each one's second, and so on, until
    `taken` holds `cap` calls: no one long list takes the whole share."""
    for round_ in range(max((len(items) for items in lists), default=0)):
        for items in lists:
            if round_ < len(items) and len(taken) < cap:
                call, value = items[round_]
                taken.setdefault(call, value)


def _defines(seed: Seed, call: str, classes: tuple[str, ...]) -> tuple[Defined, ...]:
    """The classes `call` (a neighbour of `seed`'s) needs defined: its seed's, and the
    subclasses of the module's classes it was given (:func:`.input_variants.subclass_of`)."""
    names = set(names_in(call))
    own = {d.name for d in seed.defines}
    extra = [
        input_variants.subclass_of(cls)
        for cls in classes
        if input_variants.subclass_name(cls) in names - own
    ]
    return (*seed.defines, *extra)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except OSError:
        return None
