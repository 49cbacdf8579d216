"""``crosshair diffbehavior`` of the head against a surviving mutant that no known call told
apart (:mod:`.differential_mutants`): the mutated module is written as a file of its own and
loaded as the head module's sibling, exactly as the base's is (:mod:`.differential_search`), so
``n > 10`` becoming ``n >= 10`` gives ``n=10`` as it does between base and head. Each search is
a process of its own, so only a few mutants are searched, while the time lasts."""

from __future__ import annotations

import shutil
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jobs.sandbox import Sandbox
from jobs.sandbox.workdir import WORK_DIR
from jobs.testgen.base_tree import BaseTree
from jobs.testgen.engines.differential_search import (
    MAX_SEARCH_S,
    MIN_SEARCH_S,
    SEARCH_OVERHEAD_S,
    SearchJob,
    calls_from_report,
    search,
)
from jobs.testgen.engines.differential_search import jobs as search_jobs
from jobs.testgen.engines.differential_targets import DiffTarget
from jobs.testgen.engines.seeds import Seed
from jobs.testgen.proof.mutants import Mutant

MAX_SEARCHED = 4  # surviving mutants searched, at most: each is a CrossHair process
# Seconds of search per mutant: a mutant differs from the head in one place, which CrossHair
# finds in a few seconds or not at all (a function it cannot reason about times out).
MAX_MUTANT_SEARCH_S = 5
# What the search leaves of its time for running what it found on the head and the mutants.
RESERVED_S = 15.0
INDEX_BASE = 1000  # the wrappers' numbers, apart from the base comparison's


@dataclass
class Searched:
    """The calls CrossHair found (mutant id -> calls), and the mutants it had no time for."""

    calls: dict[str, set[Seed]] = field(default_factory=dict)
    cut: list[Mutant] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def mutated_source(head: str, mutant: Mutant) -> str:
    """The head's module with the mutant's function replaced (its lines start..end)."""
    lines = head.splitlines(keepends=True)
    return "".join([*lines[: mutant.start - 1], mutant.source, *lines[mutant.end :]])


def searchable(
    mutants: Sequence[Mutant], targets: Sequence[DiffTarget], known: Collection[Seed]
) -> list[tuple[Mutant, SearchJob]]:
    """The mutants whose function is a target CrossHair can search (a top-level function, or a
    method on a receiver a known call built), each with its first search job."""
    found = []
    for mutant in mutants:
        own = [
            t for t in targets if (t.path, t.callable.qualname) == (mutant.path, mutant.function)
        ]
        jobs = search_jobs(own, known, {}) if own else []
        if jobs:
            found.append((mutant, jobs[0]))
    return found


async def search_mutants(
    sandbox: Sandbox,
    checkout: Path,
    targets: Sequence[DiffTarget],
    known: Collection[Seed],
    left: Sequence[Mutant],
    deadline: float,
) -> Searched:
    """``crosshair diffbehavior`` of the head against each of `left` it can search, at most
    MAX_SEARCHED, by `deadline` less RESERVED_S: the calls each report names."""
    searched = Searched()
    chosen = searchable(left, targets, known)
    gave_up: set[str] = set()  # functions whose search timed out or failed: not searched again
    for index, (mutant, job) in enumerate(chosen[:MAX_SEARCHED]):
        if mutant.function in gave_up:
            continue
        remaining = deadline - RESERVED_S - time.monotonic()
        if remaining < MIN_SEARCH_S + SEARCH_OVERHEAD_S:
            searched.cut = [m for m, _ in chosen[index:MAX_SEARCHED]]
            break
        share = remaining / (min(len(chosen), MAX_SEARCHED) - index) - SEARCH_OVERHEAD_S
        seconds = int(max(MIN_SEARCH_S, min(MAX_MUTANT_SEARCH_S, MAX_SEARCH_S, share)))
        root = checkout / WORK_DIR / f"mutant-{index}"
        shutil.rmtree(root, ignore_errors=True)
        (root / mutant.path).parent.mkdir(parents=True)
        head = (checkout / mutant.path).read_text(encoding="utf-8", errors="replace")
        (root / mutant.path).write_text(mutated_source(head, mutant), encoding="utf-8")
        try:
            report, note = await search(
                sandbox, checkout, BaseTree(root, 1), job, INDEX_BASE + index, seconds, remaining
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)
        if note:
            searched.notes.append(note.replace("differential search", "mutant search", 1))
            gave_up.add(mutant.function)
        if calls := set(calls_from_report(report, job)):
            searched.calls[mutant.id] = calls
    return searched
