"""The parts of a run, as both sides see them: the registry of names.

A run is made of parts that work in parallel and report into one check run. This is the one
place that names them: what each is called, how it is titled, whether a repository's config
enables it, and which comment command and check-run button ask for it alone. The worker side
(`jobs.part_work`) adds each part's job and budget. Everything else — the web tier's commands and
buttons, fan-out, collect, local mode — iterates over `PARTS` or looks a part up here, so adding
a part means adding an entry here and one in `jobs.part_work`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from core.repo_config import RepoConfig

PartName = Literal["generate_tests", "review_refactoring"]

GENERATE_TESTS: PartName = "generate_tests"
REVIEW_REFACTORING: PartName = "review_refactoring"


@dataclass(frozen=True)
class PartInfo:
    name: PartName
    title: str  # lower case, as in "the test generation failed"; capitalized in tables
    command: str  # the comment command that runs this part alone: `/generate-tests`
    # Its check-run button (GitHub: identifier and label at most 20 characters, description 40).
    button: tuple[str, str, str]
    enabled: Callable[[RepoConfig], bool]

    @property
    def heading(self) -> str:
        return self.title[:1].upper() + self.title[1:]


PARTS: tuple[PartInfo, ...] = (
    PartInfo(
        name=GENERATE_TESTS,
        title="test generation",
        command="generate-tests",
        button=("generate_tests", "Generate tests", "Generate tests for this commit again"),
        enabled=lambda config: config.test_generation.enabled,
    ),
    PartInfo(
        name=REVIEW_REFACTORING,
        title="refactoring review",
        command="review-refactoring",
        button=("rerun_review", "Re-run review", "Run the refactoring review again"),
        enabled=lambda config: config.refactoring_review.enabled,
    ),
)
PART_NAMES: tuple[PartName, ...] = tuple(p.name for p in PARTS)
BY_NAME: dict[str, PartInfo] = {p.name: p for p in PARTS}


def info(name: str) -> PartInfo:
    return BY_NAME[name]


def title(name: str) -> str:
    return BY_NAME[name].title


def parts_for(config: RepoConfig) -> list[PartName]:
    """The parts this repository's config enables, in registry order."""
    return [p.name for p in PARTS if p.enabled(config)]
