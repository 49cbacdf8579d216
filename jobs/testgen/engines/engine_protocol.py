"""What every engine that writes candidate test files shares: the :class:`Engine` protocol,
the :class:`Workspace` it works in and the :class:`EngineOutcome` it returns. The registry
(:mod:`.registry`) names the engines and the portfolios that run them.

An engine only writes files under ``workspace.output_dir`` in the checkout, runs project code
only through ``workspace.sandbox``, and stops by ``workspace.deadline``; whatever it writes goes
through the same validation and coverage filter as every other engine's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jobs.sandbox import Sandbox
from jobs.testgen.engines.seeds import SeedPlan
from jobs.testgen.proof.mutants import Mutant
from jobs.testgen.targets import Target


@dataclass
class EngineOutcome:
    """What one engine left: candidate files, and what the check run should hear about."""

    written: list[str] = field(default_factory=list)  # test files written (repo-relative)
    notes: list[str] = field(default_factory=list)  # one line per problem or skip
    # "where: decisive error line" where the engine itself failed (not: found nothing, timed
    # out); each becomes a problem of the part, never shown as ✅.
    crashed: list[str] = field(default_factory=list)
    # source path -> the project's test files whose calls seeded the engine's search
    seeded: dict[str, list[str]] = field(default_factory=dict)
    duration_s: float = 0.0


@dataclass(frozen=True)
class Workspace:
    """Where an engine works, and the evidence read once for every engine of a portfolio."""

    sandbox: Sandbox
    checkout: Path
    output_dir: str  # repo-relative folder for the candidate test files
    deadline: float  # time.monotonic() by which this engine returns
    step: Callable[[str], None]  # hears what the engine starts (``tandem run`` shows it)
    tests: Mapping[str, str]  # the project's test files (:func:`.python_modules.test_sources`)
    seeds: SeedPlan  # calls of the changed callables the project already holds
    # The base commit (in the checkout's object store) the change is measured against, when
    # there is one: what the differential engine compares the head with.
    base_sha: str | None = None
    # Every changed line of the changed source files, covered or not (``targets`` hold only
    # the files with uncovered ones): what base and head are compared on.
    changed: Mapping[str, set[int]] = field(default_factory=dict)
    # The mutants of the changed lines that survived the existing tests, where they ran before
    # the engines (every changed line runs already: :func:`jobs.testgen.stages.survivors`):
    # each is another version of the changed code, as the base is, for an engine to tell apart
    # from the head.
    survivors: tuple[Mutant, ...] = ()

    def until(self, deadline: float) -> Workspace:
        return dataclasses.replace(self, deadline=deadline)


def changed_lines(targets: list[Target]) -> dict[str, set[int]]:
    """Per target path, the changed lines still to cover (all changed lines when none is)."""
    return {t.path: set(t.uncovered or t.lines) for t in targets}


class Engine(Protocol):
    """An engine that writes candidate test files for the targets' changed lines."""

    name: str  # its registry name, as portfolios list it
    label: str  # how the check run names it: "CrossHair crashed on …"
    # Its share of what is left of the engine budget when it starts, in a portfolio (the last
    # engine of a portfolio gets all of it).
    share: float

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        """Write candidate test files for the targets; what the project's code does is never
        raised (a failure of the engine itself is ``crashed``)."""
        ...
