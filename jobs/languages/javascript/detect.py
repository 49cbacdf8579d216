"""What a JS/TS change is made of (pure: file texts in, values out).

- :func:`is_source`: whether a changed file is a JS/TS source Tandem writes tests for
  (``.ts .tsx .js .jsx .mjs .cjs .mts .cts``), not a test, a declaration, a tool's config or
  vendored code;
- :func:`find_package`: the package a file belongs to: the nearest ``package.json`` above it,
  and, when an ancestor's ``workspaces`` (npm, yarn) or ``pnpm-workspace.yaml`` lists it, that
  workspace's root;
- :func:`find_runner`: the package's test runner. ``scripts.test`` says how the suite really
  runs, so it decides first (``npm run x`` and the like are followed); then the runner's config
  files; then the dependencies (the workspace root's too, where tools are often hoisted).
  vitest and jest are supported; mocha, node:test, ava and the others are an
  :class:`Unsupported` value with the reason, as is a package with no runner at all;
- :func:`find_package_manager`: npm, pnpm or yarn (classic or berry), from the
  ``packageManager`` field and the nearest lockfile, which is checked to parse;
- :func:`install_command`: the lockfile-exact install for it, with install scripts off unless
  the configuration allows them (they are the PR author's code, run at install time);
- :func:`detect`: all of the above for one change, the changed sources grouped by package.

Nothing here raises on a repository's content: a malformed ``package.json`` or lockfile is a
:class:`Problem` value naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal, Protocol

import yaml

from jobs.dependencies.policy import UnreadableFile

SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
# Folders whose files are tests or test data, by the conventions of jest, vitest and mocha
TEST_DIRS = frozenset(
    {"__tests__", "__mocks__", "__fixtures__", "__snapshots__", "test", "tests", "spec", "e2e"}
)
# Code nobody in the PR wrote: installed packages and coverage reports
VENDORED_DIRS = frozenset({"node_modules", "bower_components", "coverage"})
_TEST_FILE = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
_DECLARATION = re.compile(r"\.d\.[cm]?ts$")
# vite.config.ts, eslint.config.js, jest.config.cjs: tool configuration, not code to test
_TOOL_CONFIG = re.compile(r"\.config\.[cm]?[jt]s$")

Files = Mapping[str, str]


class RepoFiles(Protocol):
    """Read access to the repository (``jobs.dependencies.policy.RepoFiles`` fits)."""

    def read(self, path: str) -> str | None: ...


@dataclass(frozen=True)
class Problem:
    """A repository file Tandem cannot use, and why (shown to the user as it is)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"`{self.path}`: {self.message}"


def is_test_file(path: str) -> bool:
    """Whether the file at ``path`` (repository-relative) is a JS/TS test: ``*.test.ts``,
    ``*.spec.js`` and the like, or any JS/TS file under a test folder."""
    parts = path.split("/")
    if not parts[-1].endswith(SOURCE_SUFFIXES):
        return False
    return bool(_TEST_FILE.search(parts[-1])) or any(p in TEST_DIRS for p in parts[:-1])


def is_source(path: str) -> bool:
    """Whether the changed file at ``path`` (repository-relative) is a JS/TS source."""
    parts = path.split("/")
    name = parts[-1]
    if not name.endswith(SOURCE_SUFFIXES) or name.startswith("."):
        return False
    if any(p in TEST_DIRS or p in VENDORED_DIRS for p in parts[:-1]):
        return False
    return not (_TEST_FILE.search(name) or _DECLARATION.search(name) or _TOOL_CONFIG.search(name))


# --- packages and workspaces ----------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    dir: str  # repository-relative, "" for the root
    manifest: Mapping[str, Any]  # package.json
    workspace_root: Package | None = None  # the root whose workspaces list this package

    @property
    def manifest_path(self) -> str:
        return _join(self.dir, "package.json")

    @property
    def name(self) -> str:
        name = self.manifest.get("name")
        return name if isinstance(name, str) and name else (self.dir or ".")

    def dependencies(self) -> dict[str, str]:
        """Every declared dependency and its version range (dev ones included)."""
        found: dict[str, str] = {}
        for key in ("peerDependencies", "optionalDependencies", "dependencies", "devDependencies"):
            table = self.manifest.get(key)
            if isinstance(table, dict):
                found.update({k: v for k, v in table.items() if isinstance(v, str)})
        return found

    def scripts(self) -> dict[str, str]:
        table = self.manifest.get("scripts")
        if not isinstance(table, dict):
            return {}
        return {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, str)}


def _join(directory: str, name: str) -> str:
    return posixpath.join(directory, name) if directory else name


def _parents(directory: str) -> Iterator[str]:
    """``directory`` and each folder above it, up to the repository root ("")."""
    while True:
        yield directory
        if not directory:
            return
        directory = posixpath.dirname(directory)


def _read(files: RepoFiles, path: str) -> str | Problem | None:
    try:
        return files.read(path)
    except UnreadableFile as e:
        return Problem(path, str(e))


def _manifest(files: RepoFiles, directory: str) -> Mapping[str, Any] | Problem | None:
    path = _join(directory, "package.json")
    text = _read(files, path)
    if text is None or isinstance(text, Problem):
        return text
    try:
        data = json.loads(text)
    except ValueError as e:
        return Problem(path, f"is not valid JSON ({e})")
    if not isinstance(data, dict):
        return Problem(path, "is not a JSON object")
    return data


def find_package(files: RepoFiles, path: str) -> Package | Problem | None:
    """The package the file at ``path`` belongs to, None when no ``package.json`` is above it."""
    directory = posixpath.dirname(path)
    for candidate in _parents(directory):
        manifest = _manifest(files, candidate)
        if manifest is None:
            continue
        if isinstance(manifest, Problem):
            return manifest
        package = Package(candidate, manifest)
        if candidate:
            root = _workspace_root(files, candidate)
            if isinstance(root, Problem):
                return root
            if root is not None:
                package = Package(candidate, manifest, root)
        return package
    return None


def _workspace_globs(files: RepoFiles, root: str, manifest: Mapping[str, Any]) -> list[str]:
    declared = manifest.get("workspaces")
    if isinstance(declared, dict):  # yarn classic: {"packages": [...], "nohoist": [...]}
        declared = declared.get("packages")
    globs = [g for g in declared if isinstance(g, str)] if isinstance(declared, list) else []
    pnpm = _read(files, _join(root, "pnpm-workspace.yaml"))
    if isinstance(pnpm, str):
        try:
            data = yaml.safe_load(pnpm)
        except yaml.YAMLError:
            data = None  # a broken pnpm workspace file lists nothing; pnpm itself will say why
        if isinstance(data, dict) and isinstance(data.get("packages"), list):
            globs += [g for g in data["packages"] if isinstance(g, str)]
    return globs


def _workspace_root(files: RepoFiles, member: str) -> Package | Problem | None:
    for candidate in list(_parents(member))[1:]:
        manifest = _manifest(files, candidate)
        if manifest is None:
            continue
        if isinstance(manifest, Problem):
            return manifest
        relative = posixpath.relpath(member, candidate) if candidate else member
        if workspace_lists(_workspace_globs(files, candidate, manifest), relative):
            return Package(candidate, manifest)
    return None


def workspace_lists(globs: list[str], relative: str) -> bool:
    """Whether the workspace globs (``packages/*``, ``apps/**``, ``!packages/old``) take the
    package folder ``relative`` to the workspace root; the last matching glob decides."""
    listed = False
    for glob in globs:
        negated = glob.startswith("!")
        pattern = glob[1:] if negated else glob
        pattern = pattern.removeprefix("./").rstrip("/")
        if _glob_matches(pattern.split("/"), relative.split("/")):
            listed = not negated
    return listed


def _glob_matches(pattern: list[str], parts: list[str]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_glob_matches(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return (
        bool(parts) and fnmatchcase(parts[0], pattern[0]) and _glob_matches(pattern[1:], parts[1:])
    )


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
        path = _join(package.dir, name)
        if isinstance(_read(files, path), str):
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


# --- the package manager and the install --------------------------------------------------

ManagerName = Literal["npm", "pnpm", "yarn"]
LOCKFILES: tuple[tuple[str, ManagerName], ...] = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)
UNSUPPORTED_LOCKFILES = {"bun.lockb": "bun", "bun.lock": "bun", "deno.lock": "deno"}
_PACKAGE_MANAGER_FIELD = re.compile(
    r"^(?P<name>[a-z]+)@(?P<version>\d+(\.\d+){0,2}[^+\s]*)(\+\S+)?$"
)


@dataclass(frozen=True)
class PackageManager:
    name: ManagerName
    root: str  # where the install runs: the lockfile's folder (a workspace's root)
    lockfile: str | None  # repository path; None: the project has none
    version: str | None = None  # from the "packageManager" field, for corepack
    berry: bool = False  # yarn 2 or newer (`--immutable`, .yarnrc.yml) rather than yarn 1
    notes: tuple[str, ...] = ()


def find_package_manager(files: RepoFiles, package: Package) -> PackageManager | Problem:
    """The package manager that installs ``package``: the nearest lockfile at or above it, and
    the ``packageManager`` field of that folder's (or the package's) ``package.json``."""
    root = package.dir
    locks: list[tuple[str, ManagerName]] = []
    tool: ManagerName
    version: str | None
    for candidate in _parents(package.dir):
        for name, other in UNSUPPORTED_LOCKFILES.items():
            path = _join(candidate, name)
            if isinstance(_read(files, path), str):
                return Problem(path, f"{other} is not supported yet (npm, pnpm and yarn are)")
        locks = [
            (_join(candidate, name), manager)
            for name, manager in LOCKFILES
            if isinstance(_read(files, _join(candidate, name)), str)
        ]
        if locks:
            root = candidate
            break
    if not locks and package.workspace_root is not None:
        root = package.workspace_root.dir
    declared = _declared_manager(files, root, package)
    if isinstance(declared, Problem):
        return declared
    notes: list[str] = []
    lockfile: str | None = None
    if declared is not None:
        tool, version = declared
        matching = [path for path, t in locks if t == tool]
        if locks and not matching:
            return Problem(
                locks[0][0], f'the "packageManager" field says {tool}, but this lockfile is not its'
            )
        lockfile = matching[0] if matching else None
    elif locks:
        lockfile, tool = locks[0]
        version = None
        if len({t for _, t in locks}) > 1:
            notes.append(
                f"lockfiles of several package managers; used `{lockfile}` "
                '(a "packageManager" field in package.json would decide)'
            )
    else:
        tool, version = "npm", None
    berry = False
    if lockfile is not None:
        checked = _check_lockfile(files, lockfile, tool)
        if isinstance(checked, Problem):
            return checked
        berry = checked
    if tool == "yarn":
        if version is not None:
            berry = not version.startswith("1.")
        elif isinstance(_read(files, _join(root, ".yarnrc.yml")), str):
            berry = True
    if lockfile is None:
        notes.append(f"no lockfile: {tool} resolves the dependencies afresh")
    return PackageManager(tool, root, lockfile, version, berry, tuple(notes))


def _declared_manager(
    files: RepoFiles, root: str, package: Package
) -> tuple[ManagerName, str] | Problem | None:
    for directory in dict.fromkeys((root, package.dir)):
        manifest = _manifest(files, directory)
        if isinstance(manifest, Problem):
            return manifest
        if manifest is None or "packageManager" not in manifest:
            continue
        value = manifest["packageManager"]
        path = _join(directory, "package.json")
        match = _PACKAGE_MANAGER_FIELD.match(value) if isinstance(value, str) else None
        if match is None:
            return Problem(path, f'"packageManager" is not `name@version`: {value!r}')
        name = match["name"]
        if name not in ("npm", "pnpm", "yarn"):
            return Problem(path, f"{name} is not supported yet (npm, pnpm and yarn are)")
        tool: ManagerName = "npm" if name == "npm" else "pnpm" if name == "pnpm" else "yarn"
        return tool, match["version"]
    return None


def _check_lockfile(files: RepoFiles, path: str, tool: ManagerName) -> bool | Problem:
    """Whether the lockfile parses; for yarn, whether it is berry's (True) or yarn 1's."""
    text = _read(files, path)
    if not isinstance(text, str):
        return text if isinstance(text, Problem) else Problem(path, "cannot be read")
    if tool == "npm":
        try:
            data = json.loads(text)
        except ValueError as e:
            return Problem(path, f"is not valid JSON ({e})")
        if not isinstance(data, dict) or "lockfileVersion" not in data:
            return Problem(path, "has no lockfileVersion")
        return False
    if tool == "yarn" and "# yarn lockfile v1" in text[:500]:
        return False
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if isinstance(line, int) else ""
        return Problem(path, f"is not valid YAML{where}")
    if tool == "pnpm":
        if not isinstance(data, dict) or "lockfileVersion" not in data:
            return Problem(path, "has no lockfileVersion")
        return False
    if not isinstance(data, dict) or "__metadata" not in data:
        return Problem(path, "is neither a yarn 1 lockfile nor a yarn 2+ one (no __metadata)")
    return True


@dataclass(frozen=True)
class InstallCommand:
    """One install, for the toolchain to run: ``tool`` is ``npm``, or ``pnpm``/``yarn`` with
    the version corepack should fetch (``pnpm@9.12.0``, ``yarn@1``)."""

    tool: str
    args: tuple[str, ...]
    cwd: str  # repository-relative
    env: Mapping[str, str] = field(default_factory=dict)

    def shown(self) -> str:
        return " ".join((self.tool.split("@", 1)[0], *self.args))


# corepack 0.34 rejects current yarn 1 and pnpm downloads ("No compatible signature found")
# unless the integrity keys are off; the lockfile still pins every package's integrity. With a
# registry set, corepack fetches yarn 2+ from the npm registry (@yarnpkg/cli-dist) instead of
# repo.yarnpkg.com: one registry for the sandbox's network to allow, not two.
_COREPACK_ENV = {
    "COREPACK_INTEGRITY_KEYS": "0",
    "COREPACK_ENABLE_DOWNLOAD_PROMPT": "0",
    "COREPACK_NPM_REGISTRY": "https://registry.npmjs.org",
}


def install_command(manager: PackageManager, allow_scripts: bool = False) -> InstallCommand:
    """The lockfile-exact install of the dependencies. Install scripts (``postinstall`` and
    the like) are the PR author's code and the dependencies' code run at install time: they are
    off unless the repository's configuration allows them."""
    locked = manager.lockfile is not None
    if manager.name == "npm":
        args = ["ci"] if locked else ["install", "--no-package-lock"]
        args += ["--no-audit", "--no-fund"]
        if not allow_scripts:
            args.append("--ignore-scripts")
        return InstallCommand("npm", tuple(args), manager.root)
    env = dict(_COREPACK_ENV)
    if manager.name == "pnpm":
        args = ["install", "--frozen-lockfile" if locked else "--no-frozen-lockfile"]
        if not allow_scripts:
            args.append("--ignore-scripts")
        return InstallCommand(f"pnpm@{manager.version or 'latest'}", tuple(args), manager.root, env)
    if manager.berry:
        # Plug'n'Play leaves no node_modules for the runners to import from
        env["YARN_NODE_LINKER"] = "node-modules"
        env["YARN_ENABLE_SCRIPTS"] = "true" if allow_scripts else "false"
        if not locked:
            env["YARN_ENABLE_IMMUTABLE_INSTALLS"] = "false"
        args = ["install", "--immutable"] if locked else ["install"]
        return InstallCommand(f"yarn@{manager.version or 'stable'}", tuple(args), manager.root, env)
    # yarn 1 has no --immutable; --frozen-lockfile is its name for it. It refuses tools that
    # declare a newer node than the one running unless told to ignore engines.
    args = ["install", "--frozen-lockfile"] if locked else ["install"]
    args.append("--ignore-engines")
    if not allow_scripts:
        args.append("--ignore-scripts")
    return InstallCommand(f"yarn@{manager.version or '1'}", tuple(args), manager.root, env)


# --- one change, package by package -----------------------------------------------------------


@dataclass(frozen=True)
class ChangedPackage:
    """The changed sources of one package and how its suite runs (or why it cannot)."""

    package: Package
    sources: tuple[str, ...]
    runner: Runner | Unsupported
    manager: PackageManager | Problem


@dataclass(frozen=True)
class Detection:
    packages: tuple[ChangedPackage, ...]
    # sources Tandem cannot place: no package.json above them, or one that does not parse
    unplaced: tuple[tuple[str, str], ...]  # (path, why)


def detect(files: RepoFiles, changed: list[str]) -> Detection:
    """The JS/TS sources among the changed paths, grouped by package, in the order given."""
    grouped: dict[str, tuple[Package, list[str]]] = {}
    unplaced: list[tuple[str, str]] = []
    for path in changed:
        if not is_source(path):
            continue
        package = find_package(files, path)
        if package is None:
            unplaced.append((path, "no package.json above it"))
        elif isinstance(package, Problem):
            unplaced.append((path, str(package)))
        else:
            grouped.setdefault(package.dir, (package, []))[1].append(path)
    return Detection(
        tuple(
            ChangedPackage(
                package,
                tuple(sources),
                find_runner(files, package),
                find_package_manager(files, package),
            )
            for package, sources in grouped.values()
        ),
        tuple(unplaced),
    )
