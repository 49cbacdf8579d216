"""The offline portfolio: the engines that need no LLM, run one after the other within the
part's engine budget, their candidate files pooled for validation and selection.

1. **Characterization** (:mod:`.characterize`) calls each changed callable on the inputs the
   project already holds (its docstring examples, the literal calls in its tests, the literals
   a changed branch compares against) and records the head's result. It is cheap, and it is
   the engine most likely to reach the one changed line and pin it.
2. **CrossHair** (:mod:`.crosshair`) explores exactly the changed callables symbolically, with
   the same seeds as evidence for parameter types.
3. **Pynguin** (:mod:`.pynguin`) gets what is left for whole modules.

`engine: offline` (and `auto` without an LLM) runs all three; `crosshair` or `pynguin` runs one
alone. An engine that crashes is a problem with its decisive line; the others still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jobs.sandbox import Sandbox
from jobs.testgen.engines import characterize, crosshair, pynguin
from jobs.testgen.seeds import SeedPlan, seeds_for_change
from jobs.testgen.targets import Target

# Each engine's share of what is left of the engine budget when it starts (the last gets all).
SHARES = {"characterize": 0.15, "crosshair": 0.45, "pynguin": 1.0}
PORTFOLIO: dict[str, tuple[str, ...]] = {
    "offline": ("characterize", "crosshair", "pynguin"),
    "characterize": ("characterize",),  # before the agent, with an LLM
    "crosshair": ("crosshair",),
    "pynguin": ("pynguin",),
}
LABELS = {"characterize": "Characterization", "crosshair": "CrossHair", "pynguin": "Pynguin"}


EngineOutcome = (
    characterize.CharacterizeOutcome | crosshair.CrosshairOutcome | pynguin.PynguinOutcome
)


@dataclass
class OfflineOutcome:
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def seed_calls(plan: SeedPlan) -> dict[str, list[str]]:
    """CrossHair's form of the seeds: "path::qualname" -> call expressions."""
    calls: dict[str, list[str]] = {}
    for seed in plan.seeds:
        calls.setdefault(f"{seed.path}::{seed.qualname}", []).append(seed.call_source)
    return calls


async def generate(
    engine: str,
    sandbox: Sandbox,
    checkout: Path,
    targets: list[Target],
    output_dir: str,
    *,
    deadline: float,
    step: Callable[[str], None],
) -> OfflineOutcome:
    """Run the portfolio's engines for `engine` on the targets' uncovered changed lines."""
    outcome = OfflineOutcome()
    lines = {t.path: set(t.uncovered or t.lines) for t in targets}
    tests = crosshair.test_sources(checkout)
    plan = seeds_for_change(checkout, lines, tests, {t.path: set(t.lines) for t in targets})
    engines = PORTFOLIO[engine]
    for index, name in enumerate(engines):
        started = time.monotonic()
        last = index == len(engines) - 1
        until = deadline if last else started + (deadline - started) * SHARES[name]
        found: (
            characterize.CharacterizeOutcome | crosshair.CrosshairOutcome | pynguin.PynguinOutcome
        )
        if name == "characterize":
            step(f"calling the changed functions on the project's own examples ({len(plan.seeds)})")
            found = await characterize.generate(
                sandbox, checkout, lines, output_dir, deadline=until, seeds=plan
            )
        elif name == "crosshair":
            step(f"CrossHair exploring the changed functions of {len(targets)} file(s)")
            found = await crosshair.generate(
                sandbox,
                checkout,
                lines,
                output_dir,
                deadline=until,
                seeds=seed_calls(plan),
                tests=tests,
            )
        else:
            step(f"Pynguin writing tests for {len(targets)} file(s)")
            paths = [t.path for t in targets]
            found = await pynguin.generate(
                sandbox, checkout, paths, output_dir, deadline=until, tests=tests
            )
        outcome.timings[f"engine_{name}"] = time.monotonic() - started
        outcome.written.extend(p for p in found.written if p not in outcome.written)
        outcome.notes.extend(found.notes)
        outcome.problems.extend(f"{LABELS[name]} crashed on {c}" for c in found.crashed)
    return outcome
