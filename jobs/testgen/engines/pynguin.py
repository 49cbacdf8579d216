"""The offline engine: Pynguin (search-based test generation for Python) in the sandbox.

Pynguin imports and executes the module under test, so it runs only through
``sandbox.run``. Its docs require the environment variable ``PYNGUIN_DANGER_AWARE`` to be set
before it will run (it executes arbitrary code); the sandbox interface takes a plain argv, so
the variable is set with ``env`` in front of the command (with a fixed ``PYTHONHASHSEED``: see
:data:`ITERATIONS_PER_S`). The tests it writes are moved to the
repository's test directory under Tandem's naming and then go through the same validation and
coverage filter as the agent's.

Its first generation is seeded from the project's tests that call the module
(:mod:`.pynguin_seeds`: one merged file in ``WORK_DIR``, passed with
``--initial-population-seeding``): Pynguin mutates the inputs the tests build instead of
finding them by chance. Seeding does not change determinism (Pynguin parses the file, it does
not run it). If Pynguin fails with the seeds, the module runs again without them, with a note.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from jobs.sandbox import CommandResult, Sandbox, decisive_line
from jobs.sandbox.workdir import ALL_TOOLS, WORK_DIR
from jobs.testgen.engines.engine_protocol import EngineOutcome, Workspace
from jobs.testgen.engines.pynguin_seeds import calling_tests, seed_file_name, seed_module
from jobs.testgen.engines.python_modules import module_for
from jobs.testgen.targets import Target

DANGER_ENV = "PYNGUIN_DANGER_AWARE"
# Seconds of search per module, and what Pynguin needs besides (start, minimisation, writing).
MAX_SEARCH_S = 30
MIN_SEARCH_S = 3
OVERHEAD_S = 60
SEED = 20240601
# Determinism: with the seed fixed and the hash seed too, Pynguin's search is the same run
# after run as long as it stops on its iteration bound, not on the clock. About half the
# iterations a mid-sized module gets through per second on a 2-core machine (boltons.strutils:
# 20 iterations in 14 s, 60 in 44 s, Pynguin's start included), so the bound comes first; the
# search time stays the cap for a slow module.
HASH_SEED = "0"
ITERATIONS_PER_S = 1.0
MIN_ITERATIONS = 5


def test_name_for(module: str) -> str:
    return f"test_{module.replace('.', '_')}_tandem.py"


def search_seconds(remaining_s: float, modules: int) -> int:
    per = (remaining_s - OVERHEAD_S * modules) / max(1, modules)
    return int(max(MIN_SEARCH_S, min(MAX_SEARCH_S, per)))


class Pynguin:
    """The engine as portfolios run it (:class:`.base.Engine`)."""

    name = "pynguin"
    label = "Pynguin"
    share = 1.0
    # A search in its own process bounded by its iterations: it may run alongside the other
    # such engine of a portfolio (see .offline).
    alongside = True

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        workspace.step(f"Pynguin writing tests for {len(targets)} file(s)")
        return await generate(
            workspace.sandbox,
            workspace.checkout,
            [t.path for t in targets],
            workspace.output_dir,
            deadline=workspace.deadline,
            tests=workspace.tests,
        )


async def generate(
    sandbox: Sandbox,
    checkout: Path,
    paths: list[str],
    output_dir: str,
    *,
    deadline: float,
    tests: Mapping[str, str],
) -> EngineOutcome:
    """Pynguin on each path's module; `tests`: the repository's test files
    (:func:`.python_modules.test_sources`), whose calls of a module seed Pynguin's first
    generation."""
    outcome = EngineOutcome()
    started = time.monotonic()
    todo = [(p, module_for(checkout, p)) for p in paths]
    for path, found in todo:
        if found is None:
            outcome.notes.append(f"`{path}`: not an importable module; skipped")
    modules = [(p, m) for p, m in todo if m is not None]
    for index, (path, (root, module)) in enumerate(modules):
        remaining = deadline - time.monotonic()
        if remaining < MIN_SEARCH_S + 10:
            left = ", ".join(f"`{p}`" for p, _ in modules[index:])
            outcome.notes.append(f"wall-time budget reached before Pynguin ran on {left}")
            break
        search = search_seconds(remaining, len(modules) - index)
        out = f"{WORK_DIR}/pynguin/{index}"
        seeds = write_seeds(checkout, f"{WORK_DIR}/pynguin/{index}-seeds", module, tests)
        result = await _run(sandbox, checkout, (root, module), out, search, remaining, seeds)
        if seeds is not None and crashed(result, checkout / out):
            # Seeding is an extra, not a condition: the run without it is the one to have. Said
            # as what happened, not as a failure of the engine: the part's run went on whole.
            outcome.notes.append(
                f"`{path}`: Pynguin could not start from the project's tests as seeds "
                f"({decisive_line(result.output)}); it ran again without them"
            )
            seeds = None
            remaining = deadline - time.monotonic()
            result = await _run(sandbox, checkout, (root, module), out, search, remaining, None)
        if seeds is not None:
            outcome.seeded[path] = calling_tests(tests, module)
        produced = sorted((checkout / out).glob("test_*.py"))
        if result.timed_out:
            outcome.notes.append(
                f"`{path}`: Pynguin timed out after {result.duration_s:.0f} s"
                f" ({last_said(result.output)})"
            )
        elif crashed(result, checkout / out):
            crash = f"`{path}`: {decisive_line(result.output)}"
            outcome.crashed.append(crash)
            outcome.notes.append(f"Pynguin failed on {crash}")
        if not produced:
            if result.returncode == 0:
                outcome.notes.append(f"`{path}`: Pynguin wrote no tests")
            continue
        target = PurePosixPath(output_dir) / test_name_for(module)
        (checkout / target).parent.mkdir(parents=True, exist_ok=True)
        text = produced[0].read_text(encoding="utf-8")
        (checkout / target).write_text(tidy(text, path))
        outcome.written.append(target.as_posix())
    outcome.duration_s = time.monotonic() - started
    return outcome


def write_seeds(
    checkout: Path, directory: str, module: str, tests: Mapping[str, str]
) -> str | None:
    """The seed directory for `module` (one file, see :mod:`.pynguin_seeds`), or None when no
    test file calls the module."""
    shutil.rmtree(checkout / directory, ignore_errors=True)
    text = seed_module(tests, calling_tests(tests, module))
    if text is None:
        return None
    (checkout / directory).mkdir(parents=True)
    seed = checkout / directory / seed_file_name(module)
    seed.write_text(text, encoding="utf-8")
    return directory


def last_said(output: str) -> str:
    """Where a run that timed out was: its last line of output (Pynguin logs each phase)."""
    lines = [" ".join(line.split()) for line in output.splitlines() if line.strip()]
    return f"last: {lines[-1][:160]}" if lines else "no output"


def crashed(result: CommandResult, out: Path) -> bool:
    """Pynguin itself failed (not: timed out, or searched and found nothing to keep)."""
    return not result.timed_out and result.returncode != 0 and not any(out.glob("test_*.py"))


async def _run(
    sandbox: Sandbox,
    checkout: Path,
    found: tuple[str, str],
    out: str,
    search: int,
    remaining: float,
    seeds: str | None,
) -> CommandResult:
    """Pynguin on ``found`` (the project root and the module in it, as :func:`module_for` gives
    them), writing to ``out``, for ``search`` seconds within ``remaining``."""
    root, module = found
    shutil.rmtree(checkout / out, ignore_errors=True)
    (checkout / out).mkdir(parents=True)
    seeding = (
        []
        if seeds is None
        else ["--initial-population-seeding", "True", "--initial-population-data", seeds]
    )
    return await sandbox.run(
        [
            "env",
            f"{DANGER_ENV}=1",
            f"PYTHONHASHSEED={HASH_SEED}",
            ALL_TOOLS,  # the engine's own packages, behind the project's
            sandbox.python,
            "-m",
            "pynguin",
            "--project-path",
            root if root != "." else ".",
            "--module-name",
            module,
            "--output-path",
            out,
            "--maximum-search-time",
            str(search),
            "--maximum-iterations",
            str(max(MIN_ITERATIONS, int(search * ITERATIONS_PER_S))),
            "--seed",
            str(SEED),
            "--assertion-generation",
            "SIMPLE",
            *seeding,
        ],
        cwd=checkout,
        timeout_s=min(remaining, search + OVERHEAD_S),
    )


_HEADER = re.compile(r"^#\s*This file was automatically generated using Pynguin\.?\s*$", re.M)


def tidy(text: str, source: str) -> str:
    header = f"# Tests for {source}, generated by Pynguin for Tandem and validated before delivery."
    return _HEADER.sub(header, text, count=1)
