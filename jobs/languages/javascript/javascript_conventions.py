"""A JS/TS package's test conventions as the stages read them (a
:class:`~jobs.languages.conventions.Conventions`): where a new test goes, ``.test`` or ``.spec``,
ESM or CommonJS, the import style and the runner, from :mod:`.suite_layout` over the package's
files and its runner's config (read, never run). The package is the first changed source's
whose runner is supported."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from jobs.dependencies import CheckoutFiles
from jobs.languages.conventions import Conventions
from jobs.languages.javascript import jest_runs, vitest_per_test
from jobs.languages.javascript.packages import Package, find_package
from jobs.languages.javascript.runner_choice import Runner, find_runner
from jobs.languages.javascript.suite_layout import (
    TestLayout,
    collected_by,
    jest_globs,
    read_layout,
    vitest_globs,
)
from jobs.sandbox import workdir

MAX_FILES = 5000  # files of a package looked at
MAX_TEXTS = 20  # test files read for their style
MAX_TEXT_BYTES = 200_000
SKIPPED = frozenset({"node_modules", ".git", workdir.WORK_DIR, "dist", "build", "coverage"})


@dataclass
class JsConventions(Conventions):
    """The layout of one package, for a prompt; ``package``: its folder ("" for the root)."""

    package: str = ""
    layout: TestLayout | None = None
    source: str | None = None  # the changed source a test path is chosen for (package-relative)

    def describe(self) -> str:
        if self.layout is None:
            return "- No JavaScript/TypeScript package with a supported runner (vitest, jest)."
        lines = [f"- The package is `{self.package or '.'}` (its `package.json`)."]
        lines.append(self.layout.describe())
        if self.source is not None:
            where = self.layout.test_path_for(self.source)
            if where is not None:
                shown = posixpath.join(self.package, where) if self.package else where
                source = posixpath.join(self.package, self.source) if self.package else self.source
                lines.append(f"- A test of `{source}` goes at `{shown}`.")
        return "\n".join(lines)


def package_files(folder: Path) -> list[str]:
    """The package's files, relative to it, without installed or generated folders."""
    found: list[str] = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not d.startswith("."))
        base = Path(here).relative_to(folder).as_posix()
        found += [posixpath.join(base, n) if base != "." else n for n in sorted(names)]
        if len(found) >= MAX_FILES:
            break
    return found[:MAX_FILES]


def _config(runner: Runner, folder: Path) -> tuple[str | None, str | None]:
    config = (
        vitest_per_test.project_config(folder)
        if runner.name == "vitest"
        else jest_runs.project_config(folder)
    )
    if config is None:
        return None, None
    try:
        return config.name, config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return config.name, None


def _read(path: Path) -> str | None:
    """A test file's text for its style: a regular file of the PR's (never a symlink out of
    the checkout), at most :data:`MAX_TEXT_BYTES`."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_TEXT_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def layout_of(checkout: Path, package: Package, runner: Runner) -> TestLayout:
    folder = checkout / package.dir
    name, text = _config(runner, folder)
    globs = (vitest_globs if runner.name == "vitest" else jest_globs)(name, text)
    paths = package_files(folder)
    tests = collected_by(globs, paths)[:MAX_TEXTS]  # what read_layout calls collected
    texts = {path: text for path in tests if (text := _read(folder / path)) is not None}
    return read_layout(runner.name, globs, paths, texts, package.manifest, config_text=text)


def conventions_for(checkout: Path, sources: list[str]) -> JsConventions:
    files = CheckoutFiles(checkout)
    for source in sources:
        package = find_package(files, source)
        if not isinstance(package, Package):
            continue
        runner = find_runner(files, package)
        if not isinstance(runner, Runner):
            continue
        layout = layout_of(checkout, package, runner)
        relative = posixpath.relpath(source, package.dir) if package.dir else source
        tests = layout.test_path_for(relative)
        folder = posixpath.dirname(tests) if tests else ""
        where = posixpath.join(package.dir, folder) if package.dir else folder
        return JsConventions(
            framework=runner.name,
            test_dirs=[where or "."],
            naming=f"<name>.{layout.kind}.<ext>",
            test_files=layout.existing,
            example=layout.example,
            package=package.dir,
            layout=layout,
            source=relative,
        )
    return JsConventions(framework="none", test_dirs=[], naming="")
