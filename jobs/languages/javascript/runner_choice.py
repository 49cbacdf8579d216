"""A JS/TS package's test runner (:func:`find_runner`). ``scripts.test`` says how the suite
really runs, so it decides first (``npm run x`` and the like are followed); then the runner's
config files; then the dependencies (the workspace root's too, where tools are often hoisted).
vitest and jest are supported; mocha, node:test, ava and the others are an
:class:`Unsupported` value with the reason, as is a package with no runner at all.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from jobs.languages.javascript.packages import Package, RepoFiles, join_path, read_file

# --- the test runner --------------------------------------------------------------------------

RunnerName = Literal["vitest", "jest"]


@dataclass(frozen=True)
class Runner:
    name: RunnerName
    because: str  # "scripts.test runs `vitest run`", "vitest.config.ts", "devDependencies"
    version: str | None = None  # the declared range, when a package.json declares it


@dataclass(frozen=True)
class Unsupported:
    reason: str  # "not supported yet: mocha (scripts.test runs `mocha`)"


# Program names in a test script, and the runner each means
_PROGRAMS: dict[str, str] = {
    "vitest": "vitest",
    "jest": "jest",
    "jest-cli": "jest",
    "mocha": "mocha",
    "_mocha": "mocha",
    "ava": "ava",
    "tap": "tap",
    "tape": "tape",
    "jasmine": "jasmine",
    "karma": "karma",
    "uvu": "uvu",
    "playwright": "playwright",
    "cypress": "cypress",
    "lab": "lab",
    "qunit": "qunit",
}
# Programs that run the rest of their command line (coverage tools, env setters, npx)
_WRAPPERS = {"npx", "cross-env", "dotenv", "c8", "nyc", "time", "env", "nodemon", "with-env"}
_CONFIG_SUFFIXES = ("ts", "mts", "cts", "js", "mjs", "cjs", "json")
_CONFIG_FILES: tuple[tuple[str, str], ...] = (
    *((f"vitest.config.{s}", "vitest") for s in _CONFIG_SUFFIXES),
    *((f"vitest.workspace.{s}", "vitest") for s in _CONFIG_SUFFIXES),
    *((f"jest.config.{s}", "jest") for s in _CONFIG_SUFFIXES),
    *((f".mocharc.{s}", "mocha") for s in ("js", "cjs", "mjs", "json", "jsonc", "yml", "yaml")),
    *((f"ava.config.{s}", "ava") for s in ("js", "cjs", "mjs")),
    *((f"jasmine.{s}", "jasmine") for s in ("json", "js", "mjs")),
    *((f"karma.conf.{s}", "karma") for s in ("js", "cjs", "ts")),
)
_DEPENDENCIES: tuple[tuple[str, str], ...] = (
    ("vitest", "vitest"),
    ("jest", "jest"),
    ("mocha", "mocha"),
    ("ava", "ava"),
    ("tap", "tap"),
    ("tape", "tape"),
    ("jasmine", "jasmine"),
    ("karma", "karma"),
    ("uvu", "uvu"),
)
_SUPPORTED: tuple[RunnerName, ...] = ("vitest", "jest")
_SCRIPT_RUNNERS = {"npm", "pnpm", "yarn", "bun"}
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_COMMAND_SEPARATORS = {"&&", "||", ";", "|", "&"}


def _words(script: str) -> list[str]:
    # shlex does not split `a&&b`; spacing the operators out first keeps quoted text intact
    # enough for a program name, which is all that is read here
    spaced = re.sub(r"(&&|\|\||;|\|)", r" \1 ", script)
    try:
        return shlex.split(spaced)
    except ValueError:  # an unbalanced quote: the plain words are still informative
        return spaced.split()


def _commands(script: str) -> Iterator[list[str]]:
    command: list[str] = []
    for word in _words(script):
        if word in _COMMAND_SEPARATORS:
            if command:
                yield command
            command = []
        else:
            command.append(word)
    if command:
        yield command


def _program_of(command: list[str]) -> tuple[str, list[str]] | None:
    """The program a command runs and its arguments, past env assignments and wrappers."""
    words = list(command)
    wrapped = False
    while words:
        head = words[0]
        name = posixpath.basename(head)
        if _ENV_ASSIGNMENT.match(head) or head.startswith("-") or head == "--":
            words.pop(0)  # an env assignment, or a wrapper's own option (`c8 --all`)
            continue
        if name in _WRAPPERS:
            wrapped = True
            words.pop(0)
            continue
        if name in _SCRIPT_RUNNERS and len(words) > 1 and words[1] in ("exec", "dlx", "x"):
            words = words[2:]  # `pnpm exec vitest`, `yarn dlx jest`
            continue
        if name in _SCRIPT_RUNNERS and len(words) > 1 and words[1] in _PROGRAMS:
            words = words[1:]  # `pnpm vitest`, `yarn jest`: the package's own binary
            continue
        if wrapped and name not in (*_PROGRAMS, *_SCRIPT_RUNNERS, "node", "tsx", "ts-node"):
            # a wrapper's option value (`c8 --reporter lcov mocha`): look further
            words.pop(0)
            continue
        return name, words[1:]
    return None


def _runner_in_script(
    scripts: Mapping[str, str], name: str, seen: frozenset[str] = frozenset()
) -> tuple[str, str] | None:
    """The runner the script ``name`` runs and the command that says so, following
    ``npm run other`` (and pnpm's, yarn's) through the package's scripts."""
    script = scripts.get(name)
    if script is None or name in seen or len(seen) > 8:
        return None
    seen = seen | {name}
    for command in _commands(script):
        found = _program_of(command)
        if found is None:
            continue
        program, args = found
        shown = " ".join(command)
        if program in _PROGRAMS:
            return _PROGRAMS[program], shown
        if program in ("node", "tsx", "ts-node") and "--test" in args:
            return "node:test", shown
        if program in ("react-scripts", "craco") and args[:1] == ["test"]:
            return "react-scripts test (Create React App's own jest setup)", shown
        if program == "ng" and args[:1] == ["test"]:
            return "karma", shown
        if program == "bun" and args[:1] == ["test"]:
            return "bun test", shown
        if program in _SCRIPT_RUNNERS:
            target = _script_target(program, args, scripts)
            if target is not None:
                inner = _runner_in_script(scripts, target, seen)
                if inner is not None:
                    return inner
    return None


def _script_target(program: str, args: list[str], scripts: Mapping[str, str]) -> str | None:
    """The package script ``npm run x`` / ``npm test`` / ``pnpm x`` / ``yarn x`` runs."""
    if not args:
        return None
    if args[0] in ("run", "run-script") and len(args) > 1:
        return args[1]
    if args[0] in ("test", "t", "tst"):
        return "test"
    if program in ("pnpm", "yarn", "bun") and args[0] in scripts:
        return args[0]
    return None


def find_runner(files: RepoFiles, package: Package) -> Runner | Unsupported:
    """The package's test runner (see the module docstring for the order of the evidence)."""
    scripted = _runner_in_script(package.scripts(), "test")
    if scripted is not None:
        runner, command = scripted
        return _decide(runner, f"scripts.test runs `{command}`", package)
    for name, runner in _CONFIG_FILES:
        path = join_path(package.dir, name)
        if isinstance(read_file(files, path), str):
            return _decide(runner, f"`{path}`", package)
    if isinstance(package.manifest.get("jest"), dict):
        return _decide("jest", f'the "jest" key of `{package.manifest_path}`', package)
    for owner in (package, package.workspace_root):
        if owner is None:
            continue
        dependencies = owner.dependencies()
        for dependency, runner in _DEPENDENCIES:
            if dependency in dependencies:
                return _decide(runner, f"`{owner.manifest_path}` depends on {dependency}", package)
    return Unsupported(
        f"no test runner found for `{package.manifest_path}`: its scripts.test names none, "
        "and no vitest or jest config file or dependency is there"
    )


def _decide(runner: str, because: str, package: Package) -> Runner | Unsupported:
    if runner not in _SUPPORTED:
        return Unsupported(f"not supported yet: {runner} ({because})")
    name: RunnerName = "vitest" if runner == "vitest" else "jest"
    version = None
    for owner in (package, package.workspace_root):
        if owner is not None and version is None:
            version = owner.dependencies().get(name)
    return Runner(name, because, version)
