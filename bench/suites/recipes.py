"""The bench's recipes (``recipes.toml``): which repository at which commit, and how its own
tox env or CI installs it and runs its tests. Pure: parsing and validation only."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RECIPES = Path(__file__).with_name("recipes.toml")
SPLITS = ("dev", "heldout")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_KEYS = {"name", "repo", "commit", "split", "install", "test", "paths", "source"}
_REQUIRED = _KEYS - {"paths"}


class RecipeError(ValueError):
    """A recipe the bench refuses; the message names the project and what is wrong."""


@dataclass(frozen=True)
class Recipe:
    name: str
    repo: str  # owner/name on GitHub
    commit: str  # full sha
    split: str  # "dev" or "heldout"
    install: tuple[str, ...]  # each `pip install ...`, run by the reference venv's pip
    test: str  # `python -m pytest ...`, or `python -m unittest ...` where that is the project's
    paths: tuple[str, ...]  # the test paths Tandem's baseline is given ([] = all)
    source: str  # where in the project the recipe was read (tox.ini, a CI workflow, ...)

    def mirror(self, mirrors: Path) -> Path:
        """Where ``fetch`` puts this repository: ``<mirrors>/owner+name/repo``."""
        return mirrors / self.repo.replace("/", "+") / "repo"

    def pytest_args(self) -> list[str]:
        """The test command's arguments after ``python -m pytest`` (or ``unittest``)."""
        return shlex.split(self.test)[3:]

    @property
    def runner(self) -> str:
        """ "pytest" or "unittest": the module the test command runs."""
        return shlex.split(self.test)[2]


def _strings(name: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RecipeError(f"{name}: {key} must be a list of non-empty strings")
    return tuple(value)


def parse_recipe(entry: Mapping[str, object]) -> Recipe:
    """One ``[[project]]`` table as a Recipe, or a RecipeError that says why not."""
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RecipeError(f"a project has no valid name (lower-case, no spaces): {name!r}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise RecipeError(f"{name}: unknown keys {unknown}")
    missing = sorted(_REQUIRED - set(entry))
    if missing:
        raise RecipeError(f"{name}: missing {missing}")
    for key in ("repo", "commit", "split", "test", "source"):
        if not isinstance(entry[key], str):
            raise RecipeError(f"{name}: {key} must be a string")
    repo, commit, split, test = (str(entry[k]) for k in ("repo", "commit", "split", "test"))
    if not _REPO.match(repo):
        raise RecipeError(f"{name}: repo {repo!r} is not owner/name")
    if not _SHA.match(commit):
        raise RecipeError(f"{name}: commit {commit!r} is not a full 40-hex sha")
    if split not in SPLITS:
        raise RecipeError(f"{name}: split {split!r} is not one of {list(SPLITS)}")
    install = _strings(name, "install", entry["install"])
    if not install:
        raise RecipeError(f"{name}: install is empty")
    for command in install:
        if shlex.split(command)[:2] != ["pip", "install"]:
            raise RecipeError(f"{name}: install command {command!r} is not `pip install ...`")
    try:
        words = shlex.split(test)
    except ValueError as exc:
        raise RecipeError(f"{name}: test command {test!r}: {exc}") from None
    if words[:2] != ["python", "-m"] or words[2:3] not in (["pytest"], ["unittest"]):
        raise RecipeError(
            f"{name}: test command {test!r} is not `python -m pytest ...` or "
            "`python -m unittest ...`"
        )
    if any(w.startswith("--junitxml") for w in words):
        raise RecipeError(f"{name}: test command sets --junitxml; the bench sets its own")
    paths = _strings(name, "paths", entry.get("paths", []))
    for path in paths:
        if path not in words[3:]:
            raise RecipeError(f"{name}: path {path!r} is not in the test command {test!r}")
    if not str(entry["source"]).strip():
        raise RecipeError(f"{name}: source is empty: say where the recipe was read")
    return Recipe(name, repo, commit, split, install, test, paths, str(entry["source"]))


def parse_recipes(text: str) -> list[Recipe]:
    """All recipes of a TOML text; a bad one, or two with one name, is a RecipeError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipes are not valid TOML: {exc}") from None
    entries = data.get("project")
    if not isinstance(entries, list) or not entries:
        raise RecipeError("no [[project]] tables")
    recipes = [parse_recipe(entry) for entry in entries]
    seen: set[str] = set()
    for recipe in recipes:
        if recipe.name in seen:
            raise RecipeError(f"{recipe.name}: two projects with that name")
        seen.add(recipe.name)
    return recipes


def load_recipes(path: Path = RECIPES) -> list[Recipe]:
    return parse_recipes(path.read_text(encoding="utf-8"))
