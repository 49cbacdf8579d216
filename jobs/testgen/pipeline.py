"""One produce-and-report path for the worker and ``tandem run``: produce the tests, report
them, and hand kept tests to a pluggable ``Deliverer`` (the worker's posts them to the pull
request, local mode's writes them into the working tree or a patch file)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.sandbox import Sandbox
from jobs.state import PartResult
from jobs.testgen.deliver import tests_patch
from jobs.testgen.produce import produce_tests
from jobs.testgen.tests_report import evidence, kept_result, unkept_result


@dataclass(frozen=True)
class Delivered:
    """Where the kept tests went: report lines, and the check run's ``delivery`` details."""

    lines: list[str]
    delivery: dict[str, str]


class Deliverer(Protocol):
    """Puts kept tests where people see them. Returns where they went, or the part's result
    when the run is no longer current (nothing was delivered)."""

    async def __call__(
        self, checkout: Path, kept: dict[str, str], patch: str, evidence: str, /
    ) -> Delivered | PartResult: ...


@dataclass(frozen=True)
class ChangeToTest:
    """What the part is given besides the checkout: the head's changed lines per file, the
    commit the change is measured against (where the kept tests and the baseline's failing
    tests run too), and the seconds of the caller's stages before this one (clone, sandbox
    open)."""

    changed: dict[str, set[int]]
    base_sha: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)


async def produce_and_report(
    sandbox: Sandbox,
    checkout: Path,
    change: ChangeToTest,
    config: RepoConfig,
    settings: Settings,
    deliverer: Deliverer,
    *,
    progress: Callable[[str], None] | None = None,
) -> PartResult:
    """``produce_tests`` on the checkout, then the part's result; kept tests are delivered
    first."""
    tg = config.test_generation
    production = await produce_tests(
        sandbox, checkout, change.changed, config, settings, progress, base_sha=change.base_sha
    )
    production.timings = {**change.timings, **production.timings}
    unkept = unkept_result(production, tg)
    if unkept is not None:
        return unkept
    started = time.monotonic()
    kept = production.kept
    patch = await tests_patch(checkout, sorted(kept))
    delivered = await deliverer(checkout, kept, patch, evidence(production, tg, settings.sandbox))
    if isinstance(delivered, PartResult):
        return delivered
    production.timings["delivery"] = time.monotonic() - started
    return kept_result(production, tg, patch, delivered.lines, delivered.delivery)
