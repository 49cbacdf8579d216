"""Test generation: clone, measure what the existing tests cover of the changed lines, let an
engine (the OpenHands agent, or Pynguin offline) write tests for what is not covered, keep only
tests that pass every validation run and cover changed lines nothing covered before, deliver
them.

``produce_tests`` is the GitHub-free core (a checkout and its changed lines in, verdicts and
evidence out); ``generate`` wraps it with the clone, the check-run report and the delivery.

Evidence, in order:
1. **Baseline**: the repository's own tests under coverage.py in the sandbox. Failing tests,
   collection errors and a repository without tests are reported, not fatal: whatever ran
   counts.
2. **Plan**: changed statements nothing covers, per file, with the functions they are in;
   files ordered by that count and capped by ``max_files`` (the rest is named in the report).
3. **Engine** writes test files (prompt: the uncovered lines and their code, the repository's
   test conventions, the config's instructions).
4. **Validation**: each candidate runs ``flaky_runs`` times (the first under coverage). A file
   that fails on any run is discarded; when only some top-level test functions fail, those are
   removed and the rest must pass all runs again. The agent is told why a file failed and gets
   ``MAX_FIX_ROUNDS`` focused conversations to fix it.
5. **Coverage filter**: passing files are taken greedily by the changed lines they add; a file
   is kept only if it covers changed lines that neither the baseline nor an already kept file
   covered (``keep_rule: total``: if it adds any covered line of non-test code).
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from bot.filters import path_filter
from bot.repo_config import RepoConfig, TestGeneration
from bot.settings import Settings
from jobs import coverage as cov
from jobs import pynguin_engine
from jobs.agent import (
    AgentLimits,
    AgentOutcome,
    Cancellation,
    LLMSettings,
    llm_settings_for,
    run_agent,
)
from jobs.checkout import clone_pull_request, git
from jobs.conventions import Conventions, detect
from jobs.deliver import deliver_tests, fence_for, tests_patch
from jobs.dependencies import install_dependencies
from jobs.diff import changed_lines
from jobs.runs import github_for, run_part
from jobs.sandbox import Sandbox, open_sandbox
from jobs.state import PartResult, RunOptions, RunState, RunStore

log = logging.getLogger(__name__)

MAX_TEST_FILE_BYTES = 200_000
MAX_FIX_ROUNDS = 2
# Share of the wall-time budget kept back from the agent for validation and coverage.
VALIDATION_RESERVE = 0.25
MAX_EXCERPT_LINES = 40
FAILURE_OUTPUT_CHARS = 3000

Engine = Literal["openhands", "pynguin"]


@dataclass(frozen=True)
class Target:
    path: str
    lines: list[int]  # changed lines
    functions: list[str]  # functions with a changed line
    uncovered: list[int] = field(default_factory=list)  # changed statements nothing covers
    uncovered_functions: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    path: str
    kept: bool
    reason: str
    new_lines: cov.Lines = field(default_factory=dict)


@dataclass
class Validation:
    path: str
    passed: bool
    reason: str
    executed: cov.Lines = field(default_factory=dict)
    measured: bool = False
    pruned: list[str] = field(default_factory=list)
    output: str = ""  # failing run's output tail, for the agent


@dataclass
class Usage:
    """What the LLM conversations of one part spent, added up."""

    conversations: int = 0
    iterations: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    last: AgentOutcome | None = None

    def add(self, outcome: AgentOutcome) -> None:
        self.conversations += 1
        self.iterations += outcome.iterations
        self.prompt_tokens += outcome.prompt_tokens
        self.completion_tokens += outcome.completion_tokens
        self.cost_usd += outcome.cost_usd
        self.duration_s += outcome.duration_s
        self.last = outcome


@dataclass
class Budget:
    """The part's caps: wall time (a deadline), LLM iterations and USD, across conversations."""

    deadline: float
    wall_time_s: float
    max_iterations: int
    max_cost_usd: float
    hit: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, tg: TestGeneration, settings: Settings) -> Budget:
        wall = float(tg.budgets.max_wall_time_s)
        return cls(
            deadline=time.monotonic() + wall,
            wall_time_s=wall,
            max_iterations=min(tg.budgets.max_iterations, settings.agent_max_iterations),
            max_cost_usd=tg.budgets.max_cost_usd,
        )

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def note(self, what: str) -> None:
        if what not in self.hit:
            self.hit.append(what)


@dataclass
class Production:
    """Everything ``produce_tests`` found out; ``generate`` reports and delivers it."""

    engine: Engine | None
    engine_reason: str
    targets: list[Target] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    baseline: str = ""
    before: cov.ChangedCoverage | None = None
    after: cov.ChangedCoverage | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)
    budget_hit: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fix_rounds: int = 0
    nothing_to_do: str | None = None


def is_test_path(path: str) -> bool:
    name = PurePosixPath(path).name
    parts = PurePosixPath(path).parts
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or "tests" in parts[:-1]
        or "test" in parts[:-1]
    )


def functions_touching(source: str, lines: set[int]) -> list[str]:
    """Qualified names of the functions that contain a changed line."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                qualified = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                if isinstance(child, ast.ClassDef):
                    visit(child, qualified + ".")
                elif any(child.lineno <= line <= end for line in lines):
                    names.append(qualified)
                    visit(child, qualified + ".")

    visit(tree, "")
    return names


def source_changes(changed: dict[str, set[int]], config: RepoConfig) -> dict[str, set[int]]:
    """Changed Python source files (not tests) that the config's paths select."""
    selected = path_filter(config)
    return {
        path: lines
        for path, lines in changed.items()
        if path.endswith(".py") and not is_test_path(path) and lines and selected(path)
    }


def plan_targets(
    checkout: Path,
    sources: dict[str, set[int]],
    before: cov.ChangedCoverage,
    max_files: int,
) -> tuple[list[Target], list[str]]:
    """Files with uncovered changed statements, most uncovered first, capped at ``max_files``.
    Returns the targets and one line per file left out."""
    ranked: list[Target] = []
    left_out: list[str] = []
    for path, lines in sources.items():
        text = (checkout / path).read_text(encoding="utf-8", errors="replace")
        uncovered = before.uncovered(path)
        if not uncovered:
            if before.executable.get(path):
                left_out.append(f"`{path}`: its changed lines are covered already")
            continue
        ranked.append(
            Target(
                path=path,
                lines=sorted(lines),
                functions=functions_touching(text, lines),
                uncovered=sorted(uncovered),
                uncovered_functions=functions_touching(text, uncovered),
            )
        )
    ranked.sort(key=lambda t: (-len(t.uncovered), t.path))
    for target in ranked[max_files:]:
        left_out.append(
            f"`{target.path}`: {len(target.uncovered)} uncovered changed line(s), "
            f"beyond max_files ({max_files})"
        )
    return ranked[:max_files], left_out


def compress(lines: list[int]) -> str:
    """[1,2,3,7,9,10] -> '1-3, 7, 9-10'"""
    if not lines:
        return ""
    ranges: list[str] = []
    start = previous = lines[0]
    for line in [*lines[1:], None]:
        if line is not None and line == previous + 1:
            previous = line
            continue
        ranges.append(f"{start}-{previous}" if previous != start else str(start))
        if line is not None:
            start = previous = line
    return ", ".join(ranges)


def excerpt(checkout: Path, target: Target) -> str:
    source = (checkout / target.path).read_text(encoding="utf-8", errors="replace").splitlines()
    shown = [n for n in target.uncovered if 0 < n <= len(source)][:MAX_EXCERPT_LINES]
    body = "\n".join(f"{n:>5}  {source[n - 1]}" for n in shown)
    more = len(target.uncovered) - len(shown)
    return body + (f"\n  … and {more} more line(s)" if more > 0 else "")


def output_dir_for(tg: TestGeneration, conventions: Conventions) -> str:
    """The config's output_dir; when it is the default and the repo keeps tests elsewhere,
    the repo's own test directory."""
    if tg.output_dir == "tests" and conventions.test_dirs:
        top = conventions.test_dirs[0]
        if top not in (".", "tests"):
            return top
    return tg.output_dir.strip("/") or "tests"


def build_prompt(
    targets: list[Target],
    checkout: Path,
    conventions: Conventions | None = None,
    tg: TestGeneration | None = None,
) -> str:
    tg = tg or TestGeneration()
    conventions = conventions or detect(checkout)
    out = output_dir_for(tg, conventions)
    described = []
    for target in targets:
        functions = ", ".join(target.uncovered_functions or target.functions)
        lines = target.uncovered or target.lines
        described.append(
            f"### `{target.path}`\nChanged lines no existing test covers: {compress(lines)}"
            f"\nIn: {functions or 'module-level code'}\n```\n{excerpt(checkout, target)}\n```"
        )
    instructions = (
        f"\n\nInstructions from the repository's maintainers:\n{tg.instructions.strip()}"
        if tg.instructions.strip()
        else ""
    )
    return (
        "You are writing pytest tests for a pull request in the repository at "
        f"{checkout}.\n\nThe pull request changed code that the existing tests do not run. "
        "Cover these lines:\n\n"
        + "\n\n".join(described)
        + "\n\nThe repository's test conventions:\n"
        + conventions.describe()
        + "\n\nRules:\n"
        f"- Put new test files under `{out}/`, named `test_<module>_tandem.py` "
        f"(create the directory first with `mkdir -p {out}` if it does not exist).\n"
        "- Do not modify existing files; only create new test files.\n"
        "- Tests must be deterministic: no network, no sleeps, no dependence on time, order or "
        "files left behind by an earlier run. Each file will be run "
        f"{tg.flaky_runs} times in a row and discarded if any run fails.\n"
        "- A test file is kept only if it runs changed lines listed above. Aim for at least "
        f"{tg.coverage.target}% of the changed statements covered.\n"
        "- Run them with `python -m pytest -q <file>` and fix them until they pass.\n"
        "- When done, call finish with a one-line description of what you tested." + instructions
    )


def fix_prompt(
    checkout: Path, failed: list[Validation], targets: list[Target], tg: TestGeneration
) -> str:
    problems = []
    for v in failed:
        problems.append(f"### `{v.path}`\n{v.reason}\n```\n{v.output[-FAILURE_OUTPUT_CHARS:]}\n```")
    goals = "\n".join(
        f"- `{t.path}`: lines {compress(t.uncovered)} ({', '.join(t.uncovered_functions)})"
        for t in targets
    )
    return (
        "You wrote pytest tests for a pull request in the repository at "
        f"{checkout}.\n\nTandem ran each test file {tg.flaky_runs} times in its sandbox. "
        "These files were discarded:\n\n"
        + "\n\n".join(problems)
        + "\n\nFix each file in place (same path) so that it passes every run: if a test "
        "expects the wrong value, read the code under test and correct the expectation; if it "
        "depends on state left by an earlier run (files, globals, time), make it independent. "
        "Delete a test you cannot make reliable. Do not modify any other file.\n"
        f"The lines the tests should run:\n{goals}\n"
        "Run `python -m pytest -q <file>` several times to check, then call finish."
    )


async def new_test_files(checkout: Path) -> list[str]:
    status = await git(checkout, "status", "--porcelain", "--untracked-files=all", "-z")
    files = []
    for entry in status.split("\0"):
        if entry.startswith("?? "):
            path = entry[3:]
            name = PurePosixPath(path).name
            if path.startswith(f"{cov.WORK_DIR}/"):
                continue
            if path.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                files.append(path)
    return sorted(files)


async def revert_changes(checkout: Path) -> list[str]:
    """Undo changes the engine made to tracked files (it may only add files)."""
    changed = [
        line
        for line in (await git(checkout, "diff", "--name-only", "-z", "HEAD")).split("\0")
        if line
    ]
    if changed:
        await git(checkout, "checkout", "-q", "HEAD", "--", ".")
    return changed


def prune(checkout: Path, path: str, functions: set[str]) -> bool:
    """Remove top-level test functions from a file. True when some test is left."""
    file = checkout / path
    text = file.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    drop: list[tuple[int, int]] = []
    remaining = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in functions:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            drop.append((start, node.end_lineno or node.lineno))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            remaining += node.name.startswith(("test", "Test"))
    if not drop or not remaining:
        return False
    lines = text.splitlines(keepends=True)
    for start, end in sorted(drop, reverse=True):
        del lines[start - 1 : end]
    file.write_text("".join(lines))
    return True


async def validate(
    sandbox: Sandbox,
    checkout: Path,
    path: str,
    *,
    runs: int,
    timeout_s: float,
    budget: Budget | None = None,
) -> Validation:
    """Run one test file ``runs`` times; the first run is measured with coverage."""
    file = checkout / path
    if not file.is_file():
        return Validation(path, False, "file was removed")
    if file.stat().st_size > MAX_TEST_FILE_BYTES:
        return Validation(path, False, "file too large")
    pruned: list[str] = []
    tag = hashlib.sha256(path.encode()).hexdigest()[:10]
    while True:
        first: cov.PytestRun | None = None
        failure: tuple[int, cov.PytestRun] | None = None
        for number in range(1, runs + 1):
            left = budget.remaining_s() if budget is not None else timeout_s
            if left <= 1:
                return Validation(
                    path,
                    False,
                    f"not validated: wall-time budget reached after {number - 1} of {runs} runs",
                )
            run = await cov.run_pytest(
                sandbox,
                checkout,
                [path],
                tag=f"{tag}-{number}",
                timeout_s=min(timeout_s, left),
                measure=number == 1,
            )
            if number == 1:
                first = run
            if not run.ok:
                failure = (number, run)
                break
        assert first is not None
        if failure is None:
            reason = f"passed {runs}/{runs} runs"
            if pruned:
                reason += f" after removing failing test(s) {', '.join(pruned)}"
            return Validation(
                path,
                True,
                reason,
                executed=first.executed,
                measured=first.measured,
                pruned=pruned,
            )
        number, run = failure
        functions = {f.function_in(path) for f in run.failures}
        if (
            not pruned
            and run.returncode == 1
            and run.failures
            and None not in functions
            and prune(checkout, path, {f for f in functions if f})
        ):
            pruned = sorted(f for f in functions if f)
            continue
        return Validation(path, False, failure_reason(number, runs, run), output=run.output)


def failure_reason(number: int, runs: int, run: cov.PytestRun) -> str:
    if run.timed_out:
        what = f"timed out after {run.duration_s:.0f} s"
    elif run.returncode == 5:
        return "no tests collected"
    elif run.returncode == 1:
        what = f"failed: {run.failure_text()}"
    else:
        what = f"could not run (pytest exit {run.returncode}): {cov.last_line(run.output)}"
    if number > 1:
        return f"flaky: passed {number - 1} run(s), then run {number} of {runs} {what}"
    return what


def select(
    passed: list[Validation],
    baseline: cov.PytestRun,
    changed_exec: cov.Lines,
    rule: str,
) -> tuple[list[Verdict], cov.Lines]:
    """The coverage filter. Returns verdicts for the passing files and the changed lines
    covered afterwards."""
    covered = cov.restrict(baseline.executed, changed_exec)
    total = {p: ls for p, ls in baseline.executed.items() if not is_test_path(p)}

    def gain(v: Validation) -> int:
        return cov.count(cov.gained(v.executed, covered, among=changed_exec))

    verdicts: list[Verdict] = []
    for v in sorted(passed, key=lambda v: (-gain(v), v.path)):
        if not v.measured:
            verdicts.append(Verdict(v.path, False, f"{v.reason}, but coverage was not measured"))
            continue
        new_changed = cov.gained(v.executed, covered, among=changed_exec)
        source_lines = {p: ls for p, ls in v.executed.items() if not is_test_path(p)}
        new_total = cov.gained(source_lines, total)
        keep = bool(new_changed) if rule == "new_changed_lines" else bool(new_total)
        if keep:
            covered = cov.union(covered, cov.restrict(v.executed, changed_exec))
            total = cov.union(total, source_lines)
            where = "; ".join(f"{p} {compress(sorted(ls))}" for p, ls in new_changed.items())
            reason = f"{v.reason}; covers {cov.count(new_changed)} changed line(s) not covered "
            reason += f"before: {where}" if where else "before"
            if rule == "total":
                reason += f"; +{cov.count(new_total)} line(s) of total coverage"
            verdicts.append(Verdict(v.path, True, reason, new_changed))
        elif rule == "total":
            verdicts.append(Verdict(v.path, False, f"{v.reason}, but adds no covered line"))
        else:
            verdicts.append(
                Verdict(
                    v.path,
                    False,
                    f"{v.reason}, but covers no changed line that was not covered already",
                )
            )
    return verdicts, covered


def choose_engine(tg: TestGeneration, settings: Settings) -> tuple[Engine | None, str]:
    llm = llm_settings_for(settings, tg)
    model = llm.model if llm is not None else None
    if tg.engine == "openhands":
        if model is None:
            return None, (
                "engine openhands needs an LLM: set TANDEM_LLM_MODEL (and TANDEM_LLM_BASE_URL / "
                "TANDEM_LLM_API_KEY) or test_generation.model"
            )
        return "openhands", f"openhands ({model})"
    if tg.engine == "pynguin":
        return "pynguin", "pynguin (offline)"
    if model is not None:
        return "openhands", f"openhands ({model}; engine auto)"
    return "pynguin", "pynguin (offline; engine auto, no LLM configured)"


def llm_settings(settings: Settings, tg: TestGeneration | None = None) -> LLMSettings:
    llm = llm_settings_for(settings, tg or TestGeneration())
    assert llm is not None, "only called once choose_engine picked openhands"
    return llm


async def agent_conversation(
    checkout: Path,
    prompt: str,
    llm: LLMSettings,
    limits: AgentLimits,
    *,
    sandbox: Sandbox,
) -> AgentOutcome:
    cancellation = Cancellation()
    # docker: the agent's terminal is a shell inside the part's container (None: local).
    shell = await sandbox.terminal_command(checkout)
    try:
        return await asyncio.to_thread(
            run_agent, checkout, prompt, llm, limits, cancellation, shell=shell
        )
    except asyncio.CancelledError:
        # Aborted (superseded, closed) or out of budget: the agent's thread would run on to
        # its wall-time limit spending tokens, so stop it now.
        cancellation.cancel()
        raise


def agent_limits(budget: Budget, usage: Usage, settings: Settings, share: float) -> AgentLimits:
    wall = min(settings.agent_wall_time_s, budget.remaining_s() - budget.wall_time_s * share)
    return AgentLimits(
        max_iterations=max(1, budget.max_iterations - usage.iterations),
        wall_time_s=max(1.0, wall),
        max_cost_usd=max(0.0, budget.max_cost_usd - usage.cost_usd),
    )


def budget_left_for_agent(budget: Budget, usage: Usage) -> str | None:
    """Why no further conversation may start, or None."""
    if usage.iterations >= budget.max_iterations:
        return f"iteration budget ({budget.max_iterations}) used"
    if usage.cost_usd >= budget.max_cost_usd:
        return f"cost budget (${budget.max_cost_usd:.2f}) used"
    if budget.remaining_s() < budget.wall_time_s * VALIDATION_RESERVE + 10:
        return f"wall-time budget ({budget.wall_time_s:.0f} s) nearly used"
    return None


BUDGET_STATUSES = {
    "max_iterations": "iteration budget reached",
    "max_cost": "cost budget reached",
    "timeout": "wall-time budget reached",
}


async def produce_tests(
    sandbox: Sandbox,
    checkout: Path,
    changed: dict[str, set[int]],
    config: RepoConfig,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
) -> Production:
    """Baseline coverage, plan, engine, validation and the coverage filter on a checkout.
    `progress` hears each stage as it starts (`tandem run` shows it)."""
    tg = config.test_generation
    step = progress or (lambda _: None)
    budget = Budget.start(tg, settings)
    timings: dict[str, float] = {}
    engine, engine_reason = choose_engine(tg, settings)
    production = Production(engine=engine, engine_reason=engine_reason, timings=timings)
    sources = source_changes(changed, config)
    if not sources:
        production.nothing_to_do = "No changed Python source files (outside tests) to test."
        return production
    if engine is None:
        production.nothing_to_do = engine_reason
        return production

    step("installing the repository's dependencies")
    started = time.monotonic()
    installed = await install_dependencies(
        sandbox,
        checkout,
        config=tg.dependencies,
        timeout_s=budget.remaining_s() / 3,
        network=settings.sandbox_install_network,
    )
    timings["dependencies"] = time.monotonic() - started
    if installed.note:
        production.notes.append(installed.note)

    step("measuring what the existing tests cover")
    started = time.monotonic()
    baseline = await cov.run_pytest(
        sandbox,
        checkout,
        [],
        tag="baseline",
        timeout_s=min(settings.test_timeout_s, max(10.0, budget.remaining_s() / 3)),
        measure=True,
    )
    timings["baseline_coverage"] = time.monotonic() - started
    production.baseline = baseline_line(baseline)
    changed_exec = cov.changed_executable(checkout, sources, baseline.statements)
    before = cov.ChangedCoverage(changed_exec, cov.restrict(baseline.executed, changed_exec))
    production.before = production.after = before
    targets, left_out = plan_targets(checkout, sources, before, tg.max_files)
    production.targets, production.left_out = targets, left_out
    if not targets:
        production.nothing_to_do = (
            "Every changed statement is covered by the existing tests already."
            if before.total
            else "The changed Python files have no changed statements to cover."
        )
        return production

    conventions = detect(checkout)
    out = output_dir_for(tg, conventions)
    validations: dict[str, Validation] = {}

    async def validate_all(paths: list[str]) -> list[Validation]:
        results = []
        for path in paths:
            step(f"validating {path} ({tg.flaky_runs} runs)")
            v = await validate(
                sandbox,
                checkout,
                path,
                runs=tg.flaky_runs,
                timeout_s=settings.test_timeout_s,
                budget=budget,
            )
            if v.reason.startswith("not validated: wall-time"):
                budget.note("wall-time budget reached during validation")
            validations[path] = v
            results.append(v)
        return results

    if engine == "pynguin":
        step(f"Pynguin writing tests for {len(targets)} file(s)")
        started = time.monotonic()
        result = await pynguin_engine.generate(
            sandbox,
            checkout,
            [t.path for t in targets],
            out,
            deadline=budget.deadline - budget.wall_time_s * VALIDATION_RESERVE,
        )
        timings["engine"] = time.monotonic() - started
        production.notes.extend(result.notes)
        started = time.monotonic()
        await validate_all(result.written)
        timings["validation"] = time.monotonic() - started
    else:
        llm = llm_settings(settings, tg)
        usage = production.usage
        timings["engine"] = timings["validation"] = 0.0

        async def converse(prompt: str, what: str) -> None:
            step(what)
            started = time.monotonic()
            outcome = await agent_conversation(
                checkout,
                prompt,
                llm,
                agent_limits(budget, usage, settings, VALIDATION_RESERVE),
                sandbox=sandbox,
            )
            usage.add(outcome)
            timings["engine"] += time.monotonic() - started

        await converse(
            build_prompt(targets, checkout, conventions, tg),
            f"the agent writing tests for {len(targets)} file(s)",
        )
        for round_number in range(MAX_FIX_ROUNDS + 1):
            reverted = await revert_changes(checkout)
            if reverted:
                production.notes.append(
                    "The agent changed existing files; reverted: "
                    + ", ".join(f"`{p}`" for p in reverted[:10])
                )
            started = time.monotonic()
            todo = [
                p
                for p in await new_test_files(checkout)
                if p not in validations or not validations[p].passed
            ]
            await validate_all(todo)
            timings["validation"] += time.monotonic() - started
            failed = [
                v
                for v in validations.values()
                if not v.passed and not v.reason.startswith("not validated")
            ]
            if not failed or round_number == MAX_FIX_ROUNDS:
                break
            if usage.last is not None and usage.last.status in ("llm_error", "error"):
                break
            why_not = budget_left_for_agent(budget, usage)
            if why_not is not None:
                production.notes.append(f"No fix round for the failing tests: {why_not}.")
                break
            for v in failed:  # the agent rewrites them; forget the old verdicts
                validations.pop(v.path, None)
            await converse(
                fix_prompt(checkout, failed, targets, tg),
                f"the agent fixing {len(failed)} failing test file(s)",
            )
            production.fix_rounds += 1
            for v in failed:
                validations.setdefault(v.path, v)  # still there if the agent left it alone
                if (checkout / v.path).is_file():
                    validations.pop(v.path, None)
        if usage.last is not None and usage.last.status in BUDGET_STATUSES:
            budget.note(BUDGET_STATUSES[usage.last.status])

    step("keeping the tests that cover changed lines")
    started = time.monotonic()
    passed = [v for v in validations.values() if v.passed]
    chosen, covered = select(passed, baseline, changed_exec, tg.coverage.keep_rule)
    timings["coverage_filter"] = time.monotonic() - started
    failed_verdicts = [
        Verdict(v.path, False, v.reason) for v in validations.values() if not v.passed
    ]
    production.verdicts = sorted(chosen + failed_verdicts, key=lambda v: (not v.kept, v.path))
    production.kept = {
        v.path: (checkout / v.path).read_text(encoding="utf-8") for v in chosen if v.kept
    }
    production.after = cov.ChangedCoverage(changed_exec, covered)
    production.budget_hit = budget.hit
    return production


def baseline_line(run: cov.PytestRun) -> str:
    if run.timed_out:
        return (
            f"Existing tests: timed out after {run.duration_s:.0f} s; "
            "what they covered before that is not counted."
        )
    if run.returncode == 5:
        return "Existing tests: none found."
    text = f"Existing tests: {run.describe()}"
    if run.returncode not in (0, 5):
        text += " (coverage counted for what ran)" if run.measured else " (no coverage data)"
    return text + "."


def coverage_line(production: Production) -> str | None:
    before, after = production.before, production.after
    if before is None or after is None or not before.total:
        return None
    return (
        f"**changed lines covered: {before.percent()}% → {after.percent()}%** "
        f"({before.covered_count} → {after.covered_count} of {before.total} changed statements)"
    )


def target_note(production: Production, target: int) -> str:
    """Whether the changed-line coverage reached `test_generation.coverage.target`."""
    after = production.after
    if after is None or not after.total:
        return ""
    reached = after.percent() >= target
    return f"; target {target}%: {'reached' if reached else 'not reached'}"


def usage_line(usage: Usage, budget_cost: float) -> str:
    last = usage.last
    assert last is not None
    rounds = f", {usage.conversations} conversations" if usage.conversations > 1 else ""
    return (
        f"Agent: {last.status} after {usage.iterations} iterations in {usage.duration_s:.1f} s"
        f"{rounds} ({usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens, "
        f"${usage.cost_usd:.4f} of ${budget_cost:.2f}). {last.reason}"
    )


def agent_line(outcome: AgentOutcome) -> str:
    usage = Usage()
    usage.add(outcome)
    return usage_line(usage, 0.0)


def work_dir(settings: Settings, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return settings.data_dir.resolve() / "work" / digest / "generate_tests"


def config_of(state: RunState) -> RepoConfig:
    """The repository's config with a `/generate-tests` command's overrides applied."""
    try:
        config = RepoConfig.model_validate_json(state.config) if state.config else RepoConfig()
    except ValueError:
        config = RepoConfig()
    return with_options(config, state.options)


def with_options(config: RepoConfig, options: RunOptions) -> RepoConfig:
    tg = config.test_generation
    tg_update: dict[str, Any] = {}
    if options.engine is not None:
        tg_update["engine"] = options.engine
    if options.delivery is not None:
        tg_update["delivery"] = options.delivery
    if options.instructions:
        tg_update["instructions"] = "\n".join(
            text for text in (tg.instructions.strip(), options.instructions.strip()) if text
        )
    update: dict[str, Any] = {"test_generation": tg.model_copy(update=tg_update)}
    if options.paths:
        # Only the paths the command named; the repository's excludes still apply.
        update["paths"] = config.paths.model_copy(update={"include": list(options.paths)})
    return config.model_copy(update=update)


def render(production: Production, tg: TestGeneration) -> tuple[list[str], dict[str, Any]]:
    """Summary lines and details for the check run (without the delivery line)."""
    lines = [f"Engine: {production.engine_reason}."]
    usage = production.usage
    if usage.last is not None:
        lines.append(usage_line(usage, tg.budgets.max_cost_usd))
    if production.baseline:
        lines.append(production.baseline)
    shown = coverage_line(production)
    if shown:
        lines.append(shown + target_note(production, tg.coverage.target))
    if production.budget_hit:
        lines.append("Budget: " + "; ".join(production.budget_hit) + ". Reporting what was done.")
    lines.append("")
    if production.verdicts:
        lines.extend(
            f"- `{v.path}`: {'kept' if v.kept else 'discarded'} ({v.reason})"
            for v in production.verdicts
        )
    else:
        lines.append(
            "The agent wrote no test files."
            if production.engine == "openhands"
            else "No test files were generated."
        )
    if production.fix_rounds:
        lines.append(
            f"\nFailing tests were sent back to the agent {production.fix_rounds} time(s)."
        )
    if production.left_out:
        lines.append("\nLeft out: " + "; ".join(production.left_out[:30]))
        if len(production.left_out) > 30:
            lines.append(f"… and {len(production.left_out) - 30} more file(s).")
    if production.notes:
        lines.append("\nNotes: " + " ".join(production.notes))
    before, after = production.before, production.after
    details: dict[str, Any] = {
        "engine": production.engine,
        "agent_status": usage.last.status if usage.last else None,
        "kept": sorted(production.kept),
        "discarded": [v.path for v in production.verdicts if not v.kept],
        "verdicts": [
            {"path": v.path, "kept": v.kept, "reason": v.reason} for v in production.verdicts
        ],
        "cost_usd": round(usage.cost_usd, 6),
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "iterations": usage.iterations,
        "fix_rounds": production.fix_rounds,
        "budget_hit": production.budget_hit,
        "left_out": production.left_out,
        "timings": {k: round(v, 3) for k, v in production.timings.items()},
    }
    if before is not None and after is not None:
        details["coverage"] = {
            "changed_statements": before.total,
            "covered_before": before.covered_count,
            "covered_after": after.covered_count,
            "percent_before": before.percent(),
            "percent_after": after.percent(),
        }
    return lines, details


async def generate(ctx: dict[str, Any], state: RunState) -> PartResult:
    settings: Settings = ctx["settings"]
    pr = state.pr
    assert pr is not None
    config = config_of(state)
    checkout = work_dir(settings, state.key)
    shutil.rmtree(checkout, ignore_errors=True)
    timings: dict[str, float] = {}
    started = time.monotonic()
    # One sandbox (with docker: one container, started on first use) for the whole part.
    sandbox = open_sandbox(settings, run_key=state.key, mount=checkout)
    timings["sandbox_open"] = time.monotonic() - started
    try:
        started = time.monotonic()
        gh, token = await github_for(ctx, pr.installation_id)
        await clone_pull_request(pr, token, checkout, timeout_s=settings.git_timeout_s)
        changed = await asyncio.to_thread(changed_lines, checkout, pr.base_sha, pr.head_sha)
        timings["clone"] = time.monotonic() - started
        production = await produce_tests(sandbox, checkout, changed, config, settings)
        production.timings = {**timings, **production.timings}
        return await report(ctx, state, gh, token, checkout, production, config)
    finally:
        started = time.monotonic()
        await sandbox.close()
        shutil.rmtree(checkout.parent, ignore_errors=True)
        log.info("generate_tests sandbox close + cleanup: %.2f s", time.monotonic() - started)


def unkept_result(production: Production, tg: TestGeneration) -> PartResult | None:
    """The part's result when no test file is kept, so there is nothing to deliver."""
    lines, details = render(production, tg)
    if production.nothing_to_do is not None:
        headline = (
            "no LLM configured"
            if production.engine is None
            else "no changed Python code"
            if not production.targets and production.before is None
            else "nothing to cover"
        )
        summary = production.nothing_to_do
        if production.before is not None:
            summary += "\n\n" + "\n".join(line for line in lines[1:] if line)
        return PartResult(
            part="generate_tests",
            status="skipped",
            headline=headline,
            summary=summary,
            details=details,
        )
    if production.kept:
        return None
    last = production.usage.last
    failed = last is not None and last.status not in ("finished",)
    if production.budget_hit and last is not None and last.status in BUDGET_STATUSES:
        headline = f"no tests kept ({'; '.join(production.budget_hit)})"
    elif failed:
        headline = f"test generation {last.status if last else 'failed'}"
    elif production.verdicts:
        headline = "no passing tests"
    else:
        headline = "no tests written"
    return PartResult(
        part="generate_tests",
        status="failed" if failed else "ok",
        headline=headline,
        summary="\n".join(lines),
        details=details,
    )


def evidence(production: Production, tg: TestGeneration, sandbox_kind: str) -> str:
    """One paragraph on why the kept tests can be trusted, for the PR, comment or commit."""
    text = (
        f"{len(production.kept)} test file(s) passed {tg.flaky_runs} runs each in Tandem's "
        f"{sandbox_kind} sandbox and cover changed lines the existing tests did not."
    )
    shown = coverage_line(production)
    if shown:
        text += " " + shown.replace("**", "") + "."
    return text


def kept_result(
    production: Production,
    tg: TestGeneration,
    patch: str,
    delivered: list[str],
    delivery: dict[str, str],
) -> PartResult:
    """The part's result for kept tests; `delivered` are the lines saying where they went."""
    lines, details = render(production, tg)
    lines.extend(delivered)
    details["timings"] = {k: round(v, 3) for k, v in production.timings.items()}
    details["delivery"] = delivery
    headline = f"{len(production.kept)} test file(s) generated"
    if production.budget_hit:
        headline += " (budget reached)"
    fence = fence_for(patch)
    return PartResult(
        part="generate_tests",
        status="ok",
        headline=headline,
        summary="\n".join(lines),
        details=details,
        text=f"### Generated tests as a patch\n\nApply with `git apply`.\n\n"
        f"{fence}diff\n{patch}{fence}\n",
    )


async def report(
    ctx: dict[str, Any],
    state: RunState,
    gh: Any,
    token: str,
    checkout: Path,
    production: Production,
    config: RepoConfig,
) -> PartResult:
    settings: Settings = ctx["settings"]
    pr = state.pr
    assert pr is not None
    tg = config.test_generation
    unkept = unkept_result(production, tg)
    if unkept is not None:
        return unkept
    current = await RunStore(ctx["redis"]).load(state.key)
    if current is None or current.status != "running":
        return PartResult(part="generate_tests", status="skipped", headline="run no longer current")
    started = time.monotonic()
    kept = production.kept
    patch = await tests_patch(checkout, sorted(kept))
    delivery = await deliver_tests(
        gh,
        pr,
        token,
        checkout,
        kept,
        evidence(production, tg, settings.sandbox),
        git_timeout_s=settings.git_timeout_s,
        mode=tg.delivery,
        allow_commit=tg.allow_commit,
    )
    production.timings["delivery"] = time.monotonic() - started
    where = f": {delivery.url}" if delivery.url and delivery.kind != "commit" else ""
    delivered = [f"\nDelivered as {delivery.description}{where}."]
    if delivery.note:
        delivered.append(f"Note: {delivery.note}.")
    return kept_result(
        production, tg, patch, delivered, {"kind": delivery.kind, "url": delivery.url}
    )


async def generate_tests(ctx: dict[str, Any], key: str) -> str:
    return await run_part(ctx, "generate_tests", key, generate)
