"""The worker side of the part registry: each part's work and its time budget.

`core.part_registry` names the parts; this adds what the worker runs for each. The run lifecycle
(`jobs.runs`) wraps each part's work in `run_part` (fan-in, budget, crash isolation) and the
worker registers that as the part's arq job. A part's work is `(ctx, state) -> PartResult`; it
never calls back into the lifecycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.part_registry import GENERATE_TESTS, REVIEW_REFACTORING, PartInfo, info
from core.settings import Settings
from jobs.review.review_job import review
from jobs.runs import PartWork
from jobs.testgen.testgen_job import generate


@dataclass(frozen=True)
class Part:
    info: PartInfo
    work: PartWork
    # The part's own time budget. arq's timeout for its job is a minute above it, so the part
    # always reports its timeout itself rather than being killed silently by arq.
    budget: Callable[[Settings], float]

    @property
    def name(self) -> str:
        return self.info.name


PARTS: tuple[Part, ...] = (
    Part(
        info(GENERATE_TESTS),
        generate,
        # The agent's wall time, the clone and the push, and the validation runs.
        budget=lambda s: s.agent_wall_time_s + 2 * s.git_timeout_s + 10 * s.test_timeout_s,
    ),
    Part(info(REVIEW_REFACTORING), review, budget=lambda s: s.git_timeout_s + 600),
)


def budgets(settings: Settings) -> dict[str, float]:
    return {p.name: p.budget(settings) for p in PARTS}
