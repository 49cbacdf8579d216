"""What a JS/TS change is made of (pure: file texts in, values out), from the modules that
each decide one thing:

- :mod:`.packages`: whether a changed file is a JS/TS source Tandem writes tests for
  (``.ts .tsx .js .jsx .mjs .cjs .mts .cts``), not a test, a declaration, a tool's config or
  vendored code (:func:`~.packages.is_source`); the package a file belongs to: the nearest
  ``package.json`` above it and, when an ancestor's ``workspaces`` (npm, yarn) or
  ``pnpm-workspace.yaml`` lists it, that workspace's root (:func:`~.packages.find_package`);
- :mod:`.runner_choice`: the package's test runner. ``scripts.test`` says how the suite really
  runs, so it decides first (``npm run x`` and the like are followed); then the runner's config
  files; then the dependencies (the workspace root's too, where tools are often hoisted).
  vitest and jest are supported; mocha, node:test, ava and the others are an
  ``Unsupported`` value with the reason, as is a package with no runner at all;
- :mod:`.package_managers`: npm, pnpm or yarn (classic or berry), from the ``packageManager``
  field and the nearest lockfile, which is checked to parse; and the lockfile-exact install
  for it, with install scripts off unless the configuration allows them (they are the PR
  author's code, run at install time);
- :func:`detect` (here): all of the above for one change, the changed sources grouped by
  package.

Nothing here raises on a repository's content: a malformed ``package.json`` or lockfile is a
``Problem`` value naming the file and what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.languages.javascript.package_managers import PackageManager, find_package_manager
from jobs.languages.javascript.packages import Package, Problem, RepoFiles, find_package, is_source
from jobs.languages.javascript.runner_choice import Runner, Unsupported, find_runner

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
