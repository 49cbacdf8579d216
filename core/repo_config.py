"""`.github/tandem.yml`: the model (the single source of truth) and its defaults;
:mod:`core.repo_config_file` reads a file into it, with errors located at a line and column.

The pydantic model below generates `config/tandem.schema.json` and docs/configuration.md's
reference (both checked by tests), and `config/default.yml` must parse to its defaults.
"""

from __future__ import annotations

import posixpath
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from core.engine_names import EngineSetting

CONFIG_PATH = ".github/tandem.yml"

Level = Literal["notice", "warning", "failure"]
Permission = Literal["read", "triage", "write", "maintain", "admin"]
TriggerEvent = Literal["opened", "reopened", "synchronize", "ready_for_review"]
ALL_TRIGGER_EVENTS: tuple[TriggerEvent, ...] = (
    "opened",
    "reopened",
    "synchronize",
    "ready_for_review",
)
FindingKind = Literal[
    "complexity_increase", "length", "nesting", "parameters", "duplication", "llm", "syntax_error"
]
TestFindingKind = Literal["broken_tests"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class Triggers(_Section):
    events: list[TriggerEvent] = Field(
        default_factory=lambda: list(ALL_TRIGGER_EVENTS),
        description="pull_request actions that start a run",
    )
    drafts: bool = Field(default=False, description="run on draft pull requests too")
    skip_labels: list[str] = Field(
        default_factory=lambda: ["skip-tandem"],
        description="a pull request with any of these labels is not run",
    )
    skip_authors: list[str] = Field(
        default_factory=lambda: ["dependabot[bot]", "renovate[bot]"],
        description="pull requests by these users are not run",
    )
    branches: list[str] = Field(
        default_factory=lambda: ["*"],
        description="globs of base branches whose pull requests are run",
    )


class Paths(_Section):
    include: list[str] = Field(
        default_factory=lambda: ["**"], description="globs of files Tandem looks at"
    )
    exclude: list[str] = Field(
        default_factory=lambda: ["vendor/**", "third_party/**", "**/migrations/**"],
        description="globs of files Tandem ignores (wins over include)",
    )


class Coverage(_Section):
    keep_rule: Literal["new_changed_lines", "total"] = Field(
        default="new_changed_lines",
        description="`new_changed_lines`: keep a test for what it proves about the change (a "
        "changed line nothing ran, a mutant nothing kills, a change nothing pins); `total`: keep "
        "a file if it raises total coverage",
    )
    target: int = Field(
        default=80, ge=0, le=100, description="changed-line coverage (%) to aim for"
    )


class Budgets(_Section):
    max_iterations: int = Field(default=30, ge=1, le=500, description="agent steps per run")
    max_wall_time_s: int = Field(
        default=900, ge=30, le=7200, description="wall time of test generation per run"
    )
    max_cost_usd: float = Field(default=1.0, ge=0, description="LLM spend per run")


class ModelPrice(_Section):
    input_per_million_tokens: float | None = Field(
        default=None, ge=0, description="USD per million prompt tokens, for cost budgets"
    )
    output_per_million_tokens: float | None = Field(
        default=None, ge=0, description="USD per million completion tokens"
    )


MAX_REQUIREMENTS_FILES = 20
MAX_SETUP_COMMANDS = 10
# One shell command line: no NUL (it cannot be passed) and no newline (one command an item, so
# the check run can say which one failed).
SetupCommand = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00\n\r]*\S[^\x00\n\r]*$")
]
# Control characters, backslashes, colons (URL schemes, drive letters) and `$` (pip expands
# ${VARS} in requirement files) have no place in a repository-relative file name.
_UNSAFE_PATH = re.compile(r"[\x00-\x1f\x7f\\:$]")


def repo_relative_path(value: str) -> str:
    """A file path inside the repository, normalised (`./a//b` -> `a/b`). Raises ValueError for
    anything else: absolute paths, `..`, `~`, URLs, and names that pip would read as an option
    (a leading `-`)."""
    path = value.strip()
    if not path:
        raise ValueError("empty path")
    if len(path) > 255:
        raise ValueError("path longer than 255 characters")
    if path.startswith("/"):
        raise ValueError(f"{path!r} is absolute; give a path relative to the repository root")
    if path.startswith(("-", "~")):
        raise ValueError(f"{path!r} must not start with '-' or '~'")
    if _UNSAFE_PATH.search(path):
        raise ValueError(f"{path!r}: control characters, backslashes, ':' and '$' are not allowed")
    if ".." in path.split("/"):
        raise ValueError(f"{path!r} must stay inside the repository (no '..')")
    normalized = posixpath.normpath(path)
    if normalized in (".", ""):
        raise ValueError(f"{path!r} does not name a file")
    if normalized.startswith(("-", "~")):
        raise ValueError(f"{path!r} must not start with '-' or '~'")
    return normalized


class Dependencies(_Section):
    install: Literal["auto", "none"] = Field(
        default="auto",
        description="install the repository's dependencies in the sandbox before its tests run: "
        "auto (the project in pyproject.toml/setup.py with its test extras, and requirements "
        "files found at the root) or none",
    )
    requirements: list[str] = Field(
        default_factory=list,
        max_length=MAX_REQUIREMENTS_FILES,
        description="requirements files to install instead of what auto finds (paths relative "
        "to the repository root)",
    )
    install_scripts: bool = Field(
        default=False,
        description="run the install scripts (preinstall, install, postinstall) of a "
        "JavaScript/TypeScript install (npm ci, pnpm, yarn): they are code from the dependencies "
        "and the pull request, so they stay off (--ignore-scripts) unless this is true",
    )

    @field_validator("requirements")
    @classmethod
    def _inside_repository(cls, value: list[str]) -> list[str]:
        return [repo_relative_path(path) for path in value]


class TestGeneration(_Section):
    __test__ = False  # not a pytest class

    enabled: bool = Field(default=True, description="generate tests for the changed code")
    engine: EngineSetting = Field(
        default="auto",
        description="openhands (LLM agent); offline: the offline engines pooled "
        "(characterization tests from the project's own examples, differential tests between "
        "base and head, the project's tests amplified, crosshair, pynguin); crosshair "
        "(symbolic), pynguin (search-based), amplify (the project's tests with one input "
        "changed) or amplify-js (the same for JS/TS) alone; auto: offline without an LLM, "
        "and with one characterization, differential and amplified tests first, then "
        "openhands for the changed lines still uncovered",
    )
    framework: Literal["pytest"] = Field(default="pytest", description="test framework")
    output_dir: str = Field(default="tests", description="where new test files go")
    delivery: Literal["pull_request", "commit", "comment", "none"] = Field(
        default="pull_request",
        description="how kept tests are delivered; forks always get a comment",
    )
    allow_commit: bool = Field(
        default=False, description="allow delivery: commit to push onto the PR branch"
    )
    max_files: int = Field(
        default=10, ge=1, le=100, description="changed files to write tests for, at most"
    )
    flaky_runs: int = Field(
        default=5, ge=1, le=20, description="a test file must pass this many runs in a row"
    )
    coverage: Coverage = Field(default_factory=Coverage)
    dependencies: Dependencies = Field(default_factory=Dependencies)
    setup: list[SetupCommand] = Field(
        default_factory=list,
        max_length=MAX_SETUP_COMMANDS,
        description="shell commands that prepare the test environment, run in order in the "
        "sandbox after the dependency install and before the existing tests: in the repository's "
        "root, with its environment's python and pip first on PATH and the install network; "
        "the first that fails stops the rest (e.g. `pip install -r ci/test-requirements.txt`)",
    )
    instructions: str = Field(
        default="", max_length=4000, description="extra instructions for the agent"
    )
    model: str | None = Field(
        default=None, description="litellm model for this repository (default: the app's)"
    )
    model_price: ModelPrice = Field(default_factory=ModelPrice)
    budgets: Budgets = Field(default_factory=Budgets)
    fail_on: list[TestFindingKind] = Field(
        default_factory=list,
        description="findings that make the check run fail: broken_tests (existing tests that "
        "pass on the base commit and fail with the change); empty means neutral",
    )


class Thresholds(_Section):
    complexity: int = Field(default=10, ge=1, description="cyclomatic complexity per function")
    function_length: int = Field(default=60, ge=1, description="lines per function")
    nesting: int = Field(default=4, ge=1, description="block nesting depth in a function")
    parameters: int = Field(default=6, ge=1, description="parameters (self/cls not counted)")


class Duplication(_Section):
    enabled: bool = Field(default=True, description="report code the PR duplicates")
    min_lines: int = Field(default=6, ge=3, description="smallest duplicated block reported")


class LlmReview(_Section):
    enabled: bool = Field(default=False, description="ask the LLM for refactoring suggestions")
    max_functions: int = Field(
        default=5, ge=1, le=50, description="worst-scoring functions sent to the LLM"
    )
    max_cost_usd: float = Field(default=0.25, ge=0, description="LLM spend per review")


class Levels(_Section):
    complexity_increase: Level = "warning"
    length: Level = "notice"
    nesting: Level = "notice"
    parameters: Level = "notice"
    duplication: Level = "warning"
    llm: Level = "notice"


class RefactoringReview(_Section):
    enabled: bool = Field(default=True, description="review the changed code")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    duplication: Duplication = Field(default_factory=Duplication)
    languages: list[str] = Field(
        default_factory=lambda: ["python", "javascript", "typescript", "go", "java", "c", "cpp"],
        description="languages reviewed (python via radon and ast, others via lizard)",
    )
    llm: LlmReview = Field(default_factory=LlmReview)
    levels: Levels = Field(default_factory=Levels, description="annotation level per finding")
    fail_on: list[FindingKind] = Field(
        default_factory=list,
        description="findings that make the check run fail; empty means advice only",
    )
    max_annotations: int = Field(
        default=200, ge=1, le=1000, description="annotations shown, at most"
    )


class Commands(_Section):
    allowed_permission: Permission = Field(
        default="write", description="lowest collaborator permission that may run commands"
    )
    reply_to_unauthorized: bool = Field(
        default=False, description="answer others with a short reply instead of silence"
    )


class RepoConfig(_Section):
    extends: str | None = Field(
        default=None,
        alias="_extends",
        description="merge another repository's tandem.yml first: owner/repo, or .github "
        "for the organisation's .github repository",
    )
    enabled: bool = Field(default=True, description="Tandem runs on this repository")
    triggers: Triggers = Field(default_factory=Triggers)
    paths: Paths = Field(default_factory=Paths)
    test_generation: TestGeneration = Field(default_factory=TestGeneration)
    refactoring_review: RefactoringReview = Field(default_factory=RefactoringReview)
    commands: Commands = Field(default_factory=Commands)
