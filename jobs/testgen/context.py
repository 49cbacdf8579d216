"""What the stages of ``produce_tests`` work with: :class:`Context`, the same for every stage
(the sandbox, the checkout, the base branch's config, the settings, the part's budget, the
progress line, the change's language and the base commit), and :class:`Plan`, what the
baseline and the plan found for the stages after them. Two objects, so that a stage's
parameters say what else it reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.repo_config import RepoConfig, TestGeneration
from core.settings import Settings
from jobs.languages.conventions import Conventions
from jobs.languages.language_protocol import Language
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import Sandbox
from jobs.testgen import line_sets
from jobs.testgen.budget import Budget
from jobs.testgen.engines.registry import Portfolio
from jobs.testgen.targets import Target


@dataclass(frozen=True)
class Context:
    sandbox: Sandbox
    checkout: Path
    config: RepoConfig  # the base branch's, never the head's
    settings: Settings
    budget: Budget  # the part's, across every stage
    step: Callable[[str], None]  # hears each stage as it starts (``tandem run`` shows it)
    # The language of the change's sources (jobs.languages.language_registry.change_for):
    # every run of tests, on the head or the base commit, and the conventions go through it.
    language: Language
    # The base commit (present in the checkout's object store) the change is measured against:
    # the failing existing tests and the candidates run there too. None: no base runs.
    base_sha: str | None = None

    @property
    def tg(self) -> TestGeneration:
        return self.config.test_generation


@dataclass(frozen=True)
class Plan:
    """What the baseline and the plan found, for the stages after them."""

    portfolio: Portfolio
    sources: dict[str, set[int]]  # the changed source files that parse, and their changed lines
    baseline: SuiteRun  # the existing tests under coverage
    changed_exec: line_sets.Lines  # the changed executable lines
    before: line_sets.ChangedCoverage  # what the existing tests cover of them
    targets: list[Target]  # the files with changed lines nothing covers, in order
    # Every changed line runs already: only the differential engine looks for what to pin.
    pin_only: bool
    conventions: Conventions
    output_dir: str  # where candidate test files go (repo-relative)
    # Every changed line runs already, and the mutants of the changed lines are to be run
    # against the existing tests first (:func:`jobs.testgen.stages.survivors`): the engines
    # write tests only where some survive (``targets`` are then the changed functions).
    all_run: bool = False
