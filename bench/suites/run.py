"""Runs the suites bench: for each recipe, the reference run (a fresh venv, the recipe's
install, its test command under coverage) and Tandem's baseline (``install_dependencies`` then
``run_pytest(measure=True)``) on two fresh clones of the project's tree, then the comparison."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from bench.suites.compare import (
    Side,
    Verdict,
    classify,
    counts,
    sample_files,
    unittest_counts,
    worth_rerun,
)
from bench.suites.recipes import Recipe
from jobs.dependencies.install import install_dependencies
from jobs.dependencies.pip_log import CheckoutFiles, build_failed
from jobs.dependencies.policy import RepoFiles
from jobs.dependencies.sourcetree import declared_requirements, import_root
from jobs.languages.python.pytest_runner import (
    imported_elsewhere,
    read_junit,
    read_report,
)
from jobs.languages.python.unittest_runner import run_baseline
from jobs.sandbox import decisive_line, last_line
from jobs.sandbox.local_sandbox import LocalSandbox

INSTALL_TIMEOUT_S = 600.0
COUNT_UNITTEST = Path(__file__).with_name("count_unittest.py")
_PROJECT = re.compile(r"^\.(?:\[([^\]]*)\])?$")  # ".", ".[test]": the project itself
TEST_TIMEOUT_S = 900.0  # the default of --timeout
# The interpreter the bench runs on, by its real path (a pyenv shim does not work in the
# sandbox's scrubbed environment): the reference venv is made from it.
PYTHON = str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")
# The coverage core Tandem's launchers choose (run_pytest.py's and run_unittest.py's --sysmon:
# COVERAGE_CORE=sysmon where the interpreter has sys.monitoring, as the reference venv's, made
# from this one, does). The reference measures with the same core: under the default tracer a
# loop-heavy suite runs several times slower (more-itertools' passed 15 min) and a project's
# "returns quickly" timing tests fail on the reference only (mistune's).
COVERAGE_ENV = ["env", "COVERAGE_CORE=sysmon"] if hasattr(sys, "monitoring") else []


class MissingMirror(RuntimeError):
    """One line: which mirror is missing and how to get it."""


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tandem" / "suites"


def clone(recipe: Recipe, mirrors: Path, where: Path) -> None:
    """A fresh working tree of the recipe's commit at ``where``, with the mirror's history and
    tags (a setuptools-scm or hatch-vcs version needs them), cloned sharing its objects."""
    mirror = recipe.mirror(mirrors)
    if not (mirror / "HEAD").is_file():
        raise MissingMirror(
            f"no mirror of {recipe.repo} at {mirror}: get it with "
            f"git clone --mirror https://github.com/{recipe.repo} {mirror}"
        )
    if where.exists():
        shutil.rmtree(where)
    where.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(where)],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        ["git", "-C", str(where), "checkout", "-q", "--detach", recipe.commit],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise MissingMirror(f"{recipe.repo}: commit {recipe.commit} not in {mirror}: fetch it")


def error_line(output: str) -> str:
    """The line that says why pytest did not run: its first ``E   `` line (a collection error's
    exception) where it printed one, else the decisive line."""
    for line in output.splitlines():
        if line.startswith("E   ") and line[4:].strip():
            return line[4:].strip()
    return decisive_line(output)


def percents(
    executed: dict[str, set[int]], statements: dict[str, set[int]], files: list[str]
) -> dict[str, float]:
    out: dict[str, float] = {}
    for path in files:
        total = statements.get(path, set())
        if total:
            out[path] = 100.0 * len(executed.get(path, set()) & total) / len(total)
    return out


def relative(lines: dict[str, set[int]], tree: Path) -> dict[str, set[int]]:
    root = str(tree) + "/"
    return {k.removeprefix(root): v for k, v in lines.items()}


@dataclass
class Reference:
    """The reference's installed venv, for running its tests (again)."""

    sandbox: LocalSandbox
    python: str
    tree: Path
    work: Path


async def reference(
    recipe: Recipe, tree: Path, work: Path, timeout_s: float = TEST_TIMEOUT_S
) -> tuple[Side, dict[str, set[int]], Reference | None]:
    """The recipe's own way, in a fresh venv outside the tree; also its statements per file,
    and the venv to run the tests again in (None when the install failed)."""
    side = Side()
    venv = work / "ref-venv"
    shutil.rmtree(venv, ignore_errors=True)
    sandbox = LocalSandbox()
    made = await sandbox.run([PYTHON, "-m", "venv", str(venv)], cwd=tree, timeout_s=300)
    if made.returncode:
        return Side(installed=False, install_note=f"venv: {decisive_line(made.output)}"), {}, None
    python = str(venv / "bin" / "python")
    sandbox.use_python(python)
    # pip >= 25.1 for `--group`; coverage to measure the reference run.
    steps = [["pip", "install", "-q", "--upgrade", "pip"], *map(shlex.split, recipe.install)]
    steps.append(["pip", "install", "-q", "coverage"])
    for step in steps:
        result = await sandbox.run([python, "-m", *step], cwd=tree, timeout_s=INSTALL_TIMEOUT_S)
        side.duration_s += result.duration_s
        failed = f"{shlex.join(step)}: {decisive_line(result.output)}"
        alone = (
            fallback_step(step, result.output, CheckoutFiles(tree)) if result.returncode else None
        )
        if alone is not None and not result.timed_out:
            # Tandem's rule when the project's own build fails here (sourcetree): what it
            # declares, installed without it, and its tests import it from the checkout
            result = await sandbox.run(
                [python, "-m", *alone], cwd=tree, timeout_s=INSTALL_TIMEOUT_S
            )
            side.duration_s += result.duration_s
            if not result.returncode:
                await _source_tree_pth(sandbox, python, tree)
                side.install_note = f"⚠️ from the source tree, its build failed ({failed})"
        if result.returncode or result.timed_out:
            side.installed = False
            side.install_note = failed
            return side, {}, None
    env = Reference(sandbox, python, tree, work)
    statements = await reference_tests(recipe, env, side, timeout_s)
    return side, statements, env


def fallback_step(step: list[str], output: str, files: RepoFiles) -> list[str] | None:
    """The source-tree install for a failed install step, only where pip says a build failed
    (Tandem's fallback is for a project that does not build here): :func:`tree_step`; None
    for any other failure, which stays the reference's failed install."""
    return tree_step(step, files) if build_failed(output) else None


def tree_step(step: list[str], files: RepoFiles) -> list[str] | None:
    """The install step without the project, for when its build failed: ``pip install -e
    .[test] x`` becomes ``pip install x`` and what the project and its extra ``test`` declare
    (:func:`declared_requirements`, as Tandem's fallback reads them); None when the step does
    not install the project or its dependencies cannot be read without building it."""
    words = list(step)
    for i, word in enumerate(words):
        found = _PROJECT.match(word)
        if found is None:
            continue
        extras = tuple(e.strip() for e in (found.group(1) or "").split(",") if e.strip())
        declared = declared_requirements(files, extras)
        if declared is None:
            return None
        editable = i > 0 and words[i - 1] in ("-e", "--editable")
        rest = words[: i - 1] if editable else words[:i]
        return [*rest, *words[i + 1 :], *declared]
    return None


async def _source_tree_pth(sandbox: LocalSandbox, python: str, tree: Path) -> None:
    """The checkout's import root on the venv's path, as Tandem's ``tandem-source-tree.pth``."""
    where = await sandbox.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=tree, timeout_s=60,
    )  # fmt: skip
    write_tree_pth(Path(where.output.strip().splitlines()[-1]), tree)


def write_tree_pth(purelib: Path, tree: Path) -> None:
    entries = {
        d: sorted(p.name for p in (tree / d).iterdir()) for d in ("", "src") if (tree / d).is_dir()
    }
    if purelib.is_dir():
        root = (tree / import_root(entries)).resolve()
        (purelib / "bench-source-tree.pth").write_text(f"{root}\n", encoding="utf-8")


async def reference_tests(
    recipe: Recipe, env: Reference, side: Side, timeout_s: float
) -> dict[str, set[int]]:
    """The recipe's test command under coverage in the reference venv, into ``side``; the
    statements per file it measured."""
    sandbox, python, tree, work = env.sandbox, env.python, env.tree, env.work
    # A project's own pytest-cov (`--cov` in its addopts) would replace this coverage run's
    # tracer and leave the reference at 0%; its counts are the same without it.
    has_cov = await sandbox.run([python, "-c", "import pytest_cov"], cwd=work, timeout_s=60)
    no_cov = ["--no-cov"] if has_cov.returncode == 0 else []
    junit, data, report = work / "ref.xml", work / "ref.coverage", work / "ref.json"
    rcfile = work / "ref.coveragerc"
    rcfile.write_text("[run]\nbranch = False\n[report]\nignore_errors = True\n")
    for stale in (junit, data, report):
        stale.unlink(missing_ok=True)
    # unittest's own command, counted test by test (count_unittest.py); or pytest
    runner = [str(COUNT_UNITTEST)] if recipe.runner == "unittest" else ["-m", "pytest"]
    command = [
        *COVERAGE_ENV, python, "-m", "coverage", "run", f"--rcfile={rcfile}", f"--data-file={data}",
        f"--source={tree}", *runner, *recipe.pytest_args(),
    ]  # fmt: skip
    if recipe.runner == "pytest":
        command += [*no_cov, "-p", "no:cacheprovider", "-o", "junit_family=xunit2"]
        command.append(f"--junitxml={junit}")
    result = await sandbox.run(command, cwd=tree, timeout_s=timeout_s)
    side.duration_s += result.duration_s
    side.returncode, side.timed_out = result.returncode, result.timed_out
    if recipe.runner == "unittest":
        # The project's own runner's own count, read from its summary
        side.passed, side.failed, first = unittest_counts(result.output)
        side.decisive = first if side.failed else error_line(result.output)
    else:
        failures, side.passed = read_junit(junit)
        side.failed = len(failures)
        side.decisive = (
            f"{failures[0].nodeid}: {failures[0].message}"
            if failures and side.returncode == 1  # a collection error's junit says little
            else error_line(result.output)
        )
    statements: dict[str, set[int]] = {}
    if data.exists():
        done = await sandbox.run(
            [python, "-m", "coverage", "json", f"--rcfile={rcfile}", f"--data-file={data}",
             "-o", str(report), "-q"],
            cwd=tree, timeout_s=300,
        )  # fmt: skip
        if done.returncode == 0:
            executed, statements = read_report(report)
            executed, statements = relative(executed, tree), relative(statements, tree)
            files = sample_files({k: len(v) for k, v in statements.items()}, recipe.paths)
            side.coverage = percents(executed, statements, files)
    return statements


async def tandem(
    recipe: Recipe, tree: Path, sources: list[str], timeout_s: float = TEST_TIMEOUT_S
) -> tuple[Side, LocalSandbox]:
    """Tandem's baseline as the worker makes it (local sandbox): after a failed install, the
    tests still run, in the tools' environment, as the worker's do. Also the sandbox, set to
    the installed environment, to run the tests again in."""
    side = Side()
    sandbox = LocalSandbox()
    outcome = await install_dependencies(
        sandbox, tree, timeout_s=INSTALL_TIMEOUT_S, network="bridge"
    )
    side.duration_s += outcome.duration_s
    if outcome.status == "failed":
        side.installed = False
        side.install_note = outcome.note or last_line(outcome.output)
    await tandem_tests(recipe, sandbox, tree, sources, side, timeout_s)
    return side, sandbox


async def tandem_tests(
    recipe: Recipe,
    sandbox: LocalSandbox,
    tree: Path,
    sources: list[str],
    side: Side,
    timeout_s: float,
) -> None:
    """The baseline ``run_pytest`` (measured), into ``side``."""
    # The worker's choice of runner: pytest, or the project's own unittest command
    run = await run_baseline(sandbox, tree, list(recipe.paths), timeout_s=timeout_s)
    side.duration_s += run.duration_s
    side.returncode, side.timed_out = run.returncode, run.timed_out
    side.passed, side.failed = run.passed, len(run.failures)
    side.decisive = (
        f"{run.failures[0].nodeid}: {run.failures[0].message}"
        if run.failures and run.returncode == 1
        else error_line(run.output)
    )
    side.coverage = percents(run.executed, run.statements, sources)
    side.elsewhere = [
        f"{module} -> {where}"
        for module, where in imported_elsewhere(sources, run.modules, str(tree))
    ]


async def run_recipe(
    recipe: Recipe, mirrors: Path, cache: Path, timeout_s: float = TEST_TIMEOUT_S
) -> Verdict:
    """``cache`` must be a real path: coverage and the module record give real paths."""
    work = cache / recipe.name
    ref_tree, tandem_tree = work / "ref", work / "tandem"
    clone(recipe, mirrors, ref_tree)
    clone(recipe, mirrors, tandem_tree)
    ref, statements, env = await reference(recipe, ref_tree, work, timeout_s)
    if not ref.ran or env is None:
        # Nothing to compare with; Tandem's side still runs (but after a reference that timed
        # out), so the row shows what a user of Tandem would see on this project.
        side = Side() if ref.timed_out else (await tandem(recipe, tandem_tree, [], timeout_s))[0]
        return classify(recipe.name, recipe.split, ref, side)
    # The package's files (not tests) the reference measured: the sample for coverage, and
    # where to look for modules Tandem's run imported from outside its checkout.
    sources = sorted(ref.coverage) or sample_files({k: len(v) for k, v in statements.items()})
    all_sources = sample_files({k: len(v) for k, v in statements.items()}, recipe.paths, k=10**6)
    measured = sorted(set(sources) | set(all_sources))
    side, sandbox = await tandem(recipe, tandem_tree, measured, timeout_s)
    first_run = ""
    if worth_rerun(ref, side):
        # The bench's flaky-test policy (compare.worth_rerun): both sides' tests once more.
        first_run = f"{counts(ref)} vs {counts(side)}"
        note(f"{recipe.name}: counts differ ({first_run}): both sides run again")
        forget_first_run(ref_tree)
        forget_first_run(tandem_tree)
        ref = replace(ref, coverage={})
        await reference_tests(recipe, env, ref, timeout_s)
        side = replace(side, coverage={}, elsewhere=[])
        await tandem_tests(recipe, sandbox, tandem_tree, measured, side, timeout_s)
    side.coverage = {k: v for k, v in side.coverage.items() if k in ref.coverage}
    return replace(classify(recipe.name, recipe.split, ref, side), first_run=first_run)


# What a test run keeps in the tree for the next one: Hypothesis's example database replays the
# failures the first run happened to find (w3lib's reference found `%2F` once in six seeds, and
# its second run replayed it), so the second pair would not be a second try.
RUN_STATE = (".hypothesis",)


def forget_first_run(tree: Path) -> None:
    """The tree as a fresh CI checkout has it for a re-run: without the first run's state."""
    for name in RUN_STATE:
        shutil.rmtree(tree / name, ignore_errors=True)


def write_json(path: Path, verdicts: list[Verdict]) -> None:
    path.write_text(json.dumps([v.as_json() for v in verdicts], indent=1), encoding="utf-8")


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
