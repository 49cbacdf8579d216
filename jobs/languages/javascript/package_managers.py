"""A JS/TS package's package manager and its install (pure). :func:`find_package_manager`:
npm, pnpm or yarn (classic or berry), from the ``packageManager`` field and the nearest
lockfile, which is checked to parse; :func:`install_command`: the lockfile-exact install for
it, with install scripts off unless the configuration allows them (they are the PR author's
code, run at install time).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import yaml

from jobs.languages.javascript.packages import (
    Package,
    Problem,
    RepoFiles,
    join_path,
    parent_dirs,
    read_file,
    read_manifest,
)

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
    for candidate in parent_dirs(package.dir):
        for name, other in UNSUPPORTED_LOCKFILES.items():
            path = join_path(candidate, name)
            if isinstance(read_file(files, path), str):
                return Problem(path, f"{other} is not supported yet (npm, pnpm and yarn are)")
        locks = [
            (join_path(candidate, name), manager)
            for name, manager in LOCKFILES
            if isinstance(read_file(files, join_path(candidate, name)), str)
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
        elif isinstance(read_file(files, join_path(root, ".yarnrc.yml")), str):
            berry = True
    if lockfile is None:
        notes.append(f"no lockfile: {tool} resolves the dependencies afresh")
    return PackageManager(tool, root, lockfile, version, berry, tuple(notes))


def _declared_manager(
    files: RepoFiles, root: str, package: Package
) -> tuple[ManagerName, str] | Problem | None:
    for directory in dict.fromkeys((root, package.dir)):
        manifest = read_manifest(files, directory)
        if isinstance(manifest, Problem):
            return manifest
        if manifest is None or "packageManager" not in manifest:
            continue
        value = manifest["packageManager"]
        path = join_path(directory, "package.json")
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
    text = read_file(files, path)
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
