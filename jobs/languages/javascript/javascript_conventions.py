"""A JS/TS package's test conventions as the stages read them (a
:class:`~jobs.languages.conventions.Conventions`): where a new test goes, ``.test`` or ``.spec``,
ESM or CommonJS, the import style and the runner, from :mod:`.suite_layout` over the package's
files and its runner's config (read, never run). The package is the first changed source's
whose runner is supported.

For the agent (:meth:`JsConventions.prompting`): the runner, the path each changed source's
new test goes at (``<name>.tandem-agent.test.ts`` where the package's own test of it would go,
so that the runner's config collects it), the import of the source from there, and the exact
command that runs one file with the package's own installed runner and Tandem's Node. The
agent's new files are judged by the same globs (:func:`collected_tests`): a file the runner
would not collect is no test of the package."""

from __future__ import annotations

import os
import posixpath
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from jobs.dependencies import CheckoutFiles
from jobs.languages.conventions import Conventions, Prompting
from jobs.languages.javascript import jest_runs, vitest_per_test
from jobs.languages.javascript.packages import SOURCE_SUFFIXES, Package, find_package
from jobs.languages.javascript.runner_choice import Runner, find_runner
from jobs.languages.javascript.suite_layout import (
    Globs,
    TestLayout,
    collected_by,
    is_test_name,
    jest_globs,
    read_layout,
    tandem_path,
    vitest_globs,
)
from jobs.languages.javascript.toolchain import Node, find_node
from jobs.languages.javascript.vitest import runner_entry
from jobs.sandbox import workdir

MAX_FILES = 5000  # files of a package looked at
MAX_TEXTS = 20  # test files read for their style
MAX_TEXT_BYTES = 200_000
SKIPPED = frozenset({"node_modules", ".git", workdir.WORK_DIR, "dist", "build", "coverage"})
AGENT_SUFFIX = "tandem-agent"  # the agent's files: test/calc.tandem-agent.test.ts
_OTHER = {"vitest": "jest", "jest": "vitest"}  # the runner a package's tests must not be for


@dataclass
class JsConventions(Conventions):
    """The layout of one package, for a prompt; ``package``: its folder ("" for the root)."""

    package: str = ""
    layout: TestLayout | None = None
    source: str | None = None  # the changed source a test path is chosen for (package-relative)
    # repository-relative: each changed source of the package -> where the agent's test of it goes
    agent_paths: dict[str, str] = field(default_factory=dict)
    command: str | None = None  # the shell command that runs one test file (``<file>``)

    def prompting(self) -> Prompting:
        """The package's runner, its paths and its command for the agent's prompts."""
        if self.layout is None:
            return Prompting()
        runner = self.layout.runner
        where = "; ".join(f"the test of `{s}` at `{t}`" for s, t in self.agent_paths.items())
        new_files = (
            f"Put each new test file where {runner} collects it: {where} (create its folder "
            "first with `mkdir -p` if it does not exist)."
            if where
            else f"Put new test files where {runner} collects them, as described above."
        )
        rules = [
            f"Write {runner} tests and run them with the package's own {runner} only: never "
            f"another runner ({_OTHER[runner]} tests are not kept), and install nothing."
        ]
        rules += [
            f"In `{t}`, import the code under test as `{self._import(t, s)}`."
            for s, t in self.agent_paths.items()
        ]
        if self.package:
            rules.append(f"`<file>` in the command is the test file's path in `{self.package}`.")
        fallback = "npx vitest run <file>" if runner == "vitest" else "npx jest <file>"
        return Prompting(
            runner=runner,
            new_files=new_files,
            proof_file=f"a new test file beside them, named `<name>.{AGENT_SUFFIX}-proof."
            f"{self.layout.kind}.<ext>`",
            run=self.command or fallback,
            rules=tuple(rules),
        )

    def _import(self, test: str, source: str) -> str:
        assert self.layout is not None
        return self.layout.import_of(_inside(test, self.package), _inside(source, self.package))

    def describe(self) -> str:
        if self.layout is None:
            return "- No JavaScript/TypeScript package with a supported runner (vitest, jest)."
        lines = [f"- The package is `{self.package or '.'}` (its `package.json`)."]
        lines.append(self.layout.describe(self.command))
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


def _globs(runner: Runner, folder: Path) -> Globs:
    """The globs of the test files ``runner`` collects in the package at ``folder``."""
    return (vitest_globs if runner.name == "vitest" else jest_globs)(*_config(runner, folder))


def layout_of(checkout: Path, package: Package, runner: Runner) -> TestLayout:
    folder = checkout / package.dir
    name, text = _config(runner, folder)
    globs = (vitest_globs if runner.name == "vitest" else jest_globs)(name, text)
    paths = package_files(folder)
    tests = collected_by(globs, paths)[:MAX_TEXTS]  # what read_layout calls collected
    texts = {path: text for path in tests if (text := _read(folder / path)) is not None}
    return read_layout(runner.name, globs, paths, texts, package.manifest, config_text=text)


def _inside(path: str, package: str) -> str:
    """A repository-relative path made package-relative."""
    return posixpath.relpath(path, package) if package else path


def _repository(path: str, package: str) -> str:
    return posixpath.join(package, path) if package else path


def run_command(checkout: Path, package: Package, runner: Runner, node: Node) -> str | None:
    """The shell command that runs one test file (``<file>``, package-relative) with the
    package's own installed runner and Tandem's Node; None before the install."""
    folder = checkout / package.dir
    entry = runner_entry(runner.name, folder, checkout)
    if isinstance(entry, tuple):
        script = os.path.relpath(entry[1], folder)
        run = " run" if runner.name == "vitest" else ""
        return f"cd {shlex.quote(str(folder))} && {node.path} {script}{run} <file>"
    return None


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
        relative = _inside(source, package.dir)
        tests = layout.test_path_for(relative)
        folder = posixpath.dirname(tests) if tests else ""
        agent_paths = {}
        for other in sources:  # the package's changed sources, each with its test's path
            owner = find_package(files, other)
            if isinstance(owner, Package) and owner.dir == package.dir:
                test = layout.test_path_for(_inside(other, package.dir))
                if test is not None and layout.globs.admits(tandem_path(test, AGENT_SUFFIX)):
                    agent_paths[other] = _repository(tandem_path(test, AGENT_SUFFIX), package.dir)
        node = find_node()
        command = run_command(checkout, package, runner, node) if isinstance(node, Node) else None
        return JsConventions(
            framework=runner.name,
            test_dirs=[_repository(folder, package.dir) or "."],
            naming=f"<name>.{layout.kind}.<ext>",
            test_files=layout.existing,
            example=layout.example,
            package=package.dir,
            layout=layout,
            source=relative,
            agent_paths=agent_paths,
            command=command,
        )
    return JsConventions(framework="none", test_dirs=[], naming="")


def collected_tests(checkout: Path, untracked: list[str]) -> list[str]:
    """The files among ``untracked`` (repository-relative) that their package's runner collects
    as tests: a test's name, inside the folders its config's globs admit."""
    files = CheckoutFiles(checkout)
    globs: dict[str, Globs | None] = {}  # package folder -> its runner's globs (None: no runner)
    found = []
    for path in untracked:
        if not path.endswith(SOURCE_SUFFIXES) or not is_test_name(path):
            continue
        package = find_package(files, path)
        if not isinstance(package, Package):
            continue
        if package.dir not in globs:
            runner = find_runner(files, package)
            globs[package.dir] = (
                _globs(runner, checkout / package.dir) if isinstance(runner, Runner) else None
            )
        admitted = globs[package.dir]
        if admitted is not None and admitted.admits(_inside(path, package.dir)):
            found.append(path)
    return found
