"""The packages of a JS/TS repository (pure: file texts in, values out): which changed files
are sources Tandem writes tests for (:func:`is_source`: ``.ts .tsx .js .jsx .mjs .cjs .mts .cts``,
not a test, a declaration, a tool's config or vendored code), and the package a file belongs to
(:func:`find_package`: the nearest ``package.json`` above it and, when an ancestor's
``workspaces`` (npm, yarn) or ``pnpm-workspace.yaml`` lists it, that workspace's root).

Nothing here raises on a repository's content: a malformed ``package.json`` is a
:class:`Problem` value naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

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
        return join_path(self.dir, "package.json")

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


def join_path(directory: str, name: str) -> str:
    return posixpath.join(directory, name) if directory else name


def parent_dirs(directory: str) -> Iterator[str]:
    """``directory`` and each folder above it, up to the repository root ("")."""
    while True:
        yield directory
        if not directory:
            return
        directory = posixpath.dirname(directory)


def read_file(files: RepoFiles, path: str) -> str | Problem | None:
    try:
        return files.read(path)
    except UnreadableFile as e:
        return Problem(path, str(e))


def read_manifest(files: RepoFiles, directory: str) -> Mapping[str, Any] | Problem | None:
    path = join_path(directory, "package.json")
    text = read_file(files, path)
    if text is None or isinstance(text, Problem):
        return text
    try:
        data = json.loads(text)
    except ValueError as e:
        return Problem(path, f"is not valid JSON ({e})")
    if not isinstance(data, dict):
        return Problem(path, "is not a JSON object")
    return data


# What makes a ``package.json`` a package of its own: without any of these it only marks a
# folder's module scope (luxon's ``src/package.json``: ``{"type": "module", "version": …}``),
# which Node reads, but its files belong to the package above it.
PACKAGE_KEYS = frozenset(
    {"name", "scripts", "workspaces", "dependencies", "devDependencies", "peerDependencies",
     "optionalDependencies"}
)  # fmt: skip


def find_package(files: RepoFiles, path: str) -> Package | Problem | None:
    """The package the file at ``path`` belongs to, None when no ``package.json`` is above it.
    A ``package.json`` below the root with none of :data:`PACKAGE_KEYS` only sets the module
    scope, and belongs to the package above it."""
    directory = posixpath.dirname(path)
    for candidate in parent_dirs(directory):
        manifest = read_manifest(files, candidate)
        if manifest is None:
            continue
        if isinstance(manifest, Problem):
            return manifest
        if candidate and not manifest.keys() & PACKAGE_KEYS:
            continue
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
    pnpm = read_file(files, join_path(root, "pnpm-workspace.yaml"))
    if isinstance(pnpm, str):
        try:
            data = yaml.safe_load(pnpm)
        except yaml.YAMLError:
            data = None  # a broken pnpm workspace file lists nothing; pnpm itself will say why
        if isinstance(data, dict) and isinstance(data.get("packages"), list):
            globs += [g for g in data["packages"] if isinstance(g, str)]
    return globs


def _workspace_root(files: RepoFiles, member: str) -> Package | Problem | None:
    for candidate in list(parent_dirs(member))[1:]:
        manifest = read_manifest(files, candidate)
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
