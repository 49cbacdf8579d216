"""The offline portfolio: the engines that need no LLM, run one after the other within the
part's engine budget, their candidate files pooled for validation and selection.

1. **Characterization** (:mod:`.characterize`) calls each changed callable on the inputs the
   project already holds (its docstring examples, the literal calls in its tests, the literals
   a changed branch compares against) and records the head's result. It is cheap, and it is
   the engine most likely to reach the one changed line and pin it.
2. **CrossHair** (:mod:`.crosshair`) explores exactly the changed callables symbolically, with
   the same seeds as evidence for parameter types.
3. **Pynguin** (:mod:`.pynguin`) gets what is left for whole modules.

CrossHair and Pynguin run at the same time (their ``alongside``): each is a search in its own
single-threaded process, bounded by its own iterations rather than the clock, that neither
reads the other's output; on 2 cores the pair takes the longer one's time instead of the sum
(boltons' ``bytes2human``: about 60 s each). Each keeps the deadline it would have had had it
started first, and their candidates are pooled in the portfolio's order, so validation and
selection see what they saw before.

Which engines a portfolio runs, in which order and with what share of the budget, is data in
the registry (:mod:`.registry`): `engine: offline` (and `auto` without an LLM) runs all three;
`crosshair` or `pynguin` runs one alone; `auto` with an LLM runs characterization before the
agent. An engine that crashes is a problem with its decisive line; the others still run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jobs.testgen.engines import registry
from jobs.testgen.engines.engine_protocol import EngineOutcome, Workspace, changed_lines
from jobs.testgen.engines.python_modules import test_sources
from jobs.testgen.engines.seeds import SeedPlan, seeds_for_change
from jobs.testgen.targets import Target


def alongside(name: str) -> bool:
    """Whether the engine may run at the same time as the engines beside it in a portfolio
    that may too (its class's ``alongside``)."""
    return bool(getattr(registry.ENGINES[name], "alongside", False))


async def _run(
    name: str,
    last: bool,
    started: float,
    deadline: float,
    workspace: Workspace,
    targets: list[Target],
) -> tuple[EngineOutcome, float]:
    """One engine with its share of the time left at ``started`` (all of it when ``last``):
    what it found and its seconds."""
    engine = registry.ENGINES[name]
    until = deadline if last else started + (deadline - started) * engine.share
    found = await engine.generate(workspace.until(until), targets)
    return found, time.monotonic() - started


@dataclass
class OfflineOutcome:
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def read_evidence(checkout: Path, targets: list[Target]) -> tuple[dict[str, str], SeedPlan]:
    """What every engine of a portfolio reads, once: the project's test files, and the calls
    of the changed callables they and the sources already hold (a :class:`.Workspace`'s
    ``tests`` and ``seeds``)."""
    tests = test_sources(checkout)
    seeds = seeds_for_change(
        checkout, changed_lines(targets), tests, {t.path: set(t.lines) for t in targets}
    )
    return tests, seeds


async def generate(
    engines: Sequence[str], workspace: Workspace, targets: list[Target]
) -> OfflineOutcome:
    """Run the registered `engines`, in order, on the targets' uncovered changed lines, by
    ``workspace.deadline``; ``workspace.changed`` serves the engines that look at covered lines
    too (differential, with ``workspace.base_sha``)."""
    outcome = OfflineOutcome()
    deadline = workspace.deadline
    index = 0
    while index < len(engines):
        # Consecutive engines that may run alongside each other start together.
        group = [engines[index]]
        while (
            index + len(group) < len(engines)
            and alongside(engines[index + len(group) - 1])
            and alongside(engines[index + len(group)])
        ):
            group.append(engines[index + len(group)])
        started = time.monotonic()
        async with asyncio.TaskGroup() as tasks:
            running = [
                tasks.create_task(
                    _run(name, index + i == len(engines) - 1, started, deadline, workspace, targets)
                )
                for i, name in enumerate(group)
            ]
        for name, task in zip(group, running, strict=True):  # in the portfolio's order
            found, seconds = task.result()
            engine = registry.ENGINES[name]
            outcome.timings[f"engine_{name}"] = seconds
            outcome.written.extend(p for p in found.written if p not in outcome.written)
            outcome.notes.extend(found.notes)
            outcome.problems.extend(f"{engine.label} crashed on {c}" for c in found.crashed)
        index += len(group)
    return outcome
