"""Test generation: clone, find the changed code, let the agent write tests, keep those that
pass, deliver them."""

from __future__ import annotations

import ast
import asyncio
import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bot.settings import Settings
from jobs.agent import AgentLimits, AgentOutcome, Cancellation, LLMSettings, run_agent
from jobs.checkout import clone_pull_request, git
from jobs.deliver import deliver_tests
from jobs.diff import changed_lines
from jobs.runs import github_for, run_part
from jobs.sandbox import LocalSandbox, open_sandbox
from jobs.state import PartResult, RunState, RunStore

log = logging.getLogger(__name__)

MAX_TEST_FILE_BYTES = 200_000
MAX_TARGET_FILES = 10


@dataclass(frozen=True)
class Target:
    path: str
    lines: list[int]
    functions: list[str]


@dataclass
class Verdict:
    path: str
    kept: bool
    reason: str


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


def find_targets(checkout: Path, changed: dict[str, set[int]]) -> list[Target]:
    targets = []
    for path, lines in sorted(changed.items(), key=lambda item: -len(item[1])):
        if not path.endswith(".py") or is_test_path(path) or not lines:
            continue
        source = (checkout / path).read_text(encoding="utf-8", errors="replace")
        targets.append(Target(path, sorted(lines), functions_touching(source, lines)))
    return targets[:MAX_TARGET_FILES]


def build_prompt(targets: list[Target], checkout: Path) -> str:
    described = []
    for target in targets:
        functions = ", ".join(target.functions) or "module-level code"
        described.append(
            f"- `{target.path}`: changed lines {compress(target.lines)}; functions: {functions}"
        )
    return (
        "You are writing pytest tests for a pull request in the repository at "
        f"{checkout}.\n\nThe pull request changed this code:\n"
        + "\n".join(described)
        + "\n\nWrite focused pytest tests that exercise the changed lines and check their "
        "behaviour. Rules:\n"
        "- Put new test files under `tests/`, named `test_<module>_tandem.py` "
        "(create the directory first with `mkdir -p tests` if it does not exist).\n"
        "- Do not modify existing files; only create new test files.\n"
        "- Tests must be deterministic: no network, no sleeps, no dependence on time or order.\n"
        "- Run them with `python -m pytest -q <file>` and fix them until they pass.\n"
        "- When done, call finish with a one-line description of what you tested."
    )


def compress(lines: list[int]) -> str:
    """[1,2,3,7,9,10] -> '1-3, 7, 9-10'"""
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


async def new_test_files(checkout: Path) -> list[str]:
    status = await git(checkout, "status", "--porcelain", "--untracked-files=all", "-z")
    files = []
    for entry in status.split("\0"):
        if entry.startswith("?? "):
            path = entry[3:]
            name = PurePosixPath(path).name
            if path.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                files.append(path)
    return sorted(files)


async def validate(sandbox: LocalSandbox, checkout: Path, path: str, timeout_s: float) -> Verdict:
    file = checkout / path
    if file.stat().st_size > MAX_TEST_FILE_BYTES:
        return Verdict(path, False, "file too large")
    result = await sandbox.run(
        [sandbox.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", path],
        cwd=checkout,
        timeout_s=timeout_s,
    )
    if result.timed_out:
        return Verdict(path, False, f"timed out after {timeout_s:.0f} s")
    if result.returncode == 5:
        return Verdict(path, False, "no tests collected")
    if result.returncode != 0:
        last = [line for line in result.output.splitlines() if line.strip()][-1:] or ["failed"]
        return Verdict(path, False, f"failed: {last[0][:200]}")
    return Verdict(path, True, "passed")


def llm_settings(settings: Settings) -> LLMSettings:
    assert settings.llm_model is not None
    return LLMSettings(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_s=settings.llm_timeout_s,
    )


def work_dir(settings: Settings, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return settings.data_dir.resolve() / "work" / digest / "generate_tests"


def agent_line(outcome: AgentOutcome) -> str:
    return (
        f"Agent: {outcome.status} after {outcome.iterations} iterations in "
        f"{outcome.duration_s:.1f} s ({outcome.prompt_tokens} prompt + "
        f"{outcome.completion_tokens} completion tokens, ${outcome.cost_usd:.4f}). "
        f"{outcome.reason}"
    )


async def generate(ctx: dict[str, Any], state: RunState) -> PartResult:
    settings: Settings = ctx["settings"]
    pr = state.pr
    assert pr is not None
    checkout = work_dir(settings, state.key)
    shutil.rmtree(checkout, ignore_errors=True)
    try:
        gh, token = await github_for(ctx, pr.installation_id)
        await clone_pull_request(pr, token, checkout, timeout_s=settings.git_timeout_s)
        changed = await asyncio.to_thread(changed_lines, checkout, pr.base_sha, pr.head_sha)
        targets = find_targets(checkout, changed)
        if not targets:
            return PartResult(
                part="generate_tests",
                status="skipped",
                headline="no changed Python code",
                summary="No changed Python source files (outside tests) to write tests for.",
            )
        if settings.llm_model is None:
            return PartResult(
                part="generate_tests",
                status="skipped",
                headline="no LLM configured",
                summary="Test generation needs an LLM: set TANDEM_LLM_MODEL "
                "(and TANDEM_LLM_BASE_URL / TANDEM_LLM_API_KEY).",
            )
        cancellation = Cancellation()
        try:
            outcome = await asyncio.to_thread(
                run_agent,
                checkout,
                build_prompt(targets, checkout),
                llm_settings(settings),
                AgentLimits(
                    max_iterations=settings.agent_max_iterations,
                    wall_time_s=settings.agent_wall_time_s,
                ),
                cancellation,
            )
        except asyncio.CancelledError:
            # Aborted (superseded, closed) or out of budget: the agent's thread would run on to
            # its wall-time limit spending tokens, so stop it now.
            cancellation.cancel()
            raise
        sandbox = open_sandbox(settings.sandbox)
        verdicts = [
            await validate(sandbox, checkout, path, settings.test_timeout_s)
            for path in await new_test_files(checkout)
        ]
        return await report(ctx, state, gh, token, checkout, outcome, verdicts)
    finally:
        shutil.rmtree(checkout.parent, ignore_errors=True)


async def report(
    ctx: dict[str, Any],
    state: RunState,
    gh: Any,
    token: str,
    checkout: Path,
    outcome: AgentOutcome,
    verdicts: list[Verdict],
) -> PartResult:
    settings: Settings = ctx["settings"]
    pr = state.pr
    assert pr is not None
    kept = {v.path: (checkout / v.path).read_text(encoding="utf-8") for v in verdicts if v.kept}
    table = "\n".join(
        f"- `{v.path}`: {'kept' if v.kept else 'discarded'} ({v.reason})" for v in verdicts
    )
    lines = [agent_line(outcome), "", table or "The agent wrote no test files."]
    details: dict[str, Any] = {
        "agent_status": outcome.status,
        "kept": sorted(kept),
        "discarded": [v.path for v in verdicts if not v.kept],
        "cost_usd": outcome.cost_usd,
    }
    if not kept:
        failed = outcome.status != "finished"
        return PartResult(
            part="generate_tests",
            status="failed" if failed else "ok",
            headline=f"test generation {outcome.status}" if failed else "no passing tests",
            summary="\n".join(lines),
            details=details,
        )
    current = await RunStore(ctx["redis"]).load(state.key)
    if current is None or current.status != "running":
        return PartResult(part="generate_tests", status="skipped", headline="run no longer current")
    evidence = f"{len(kept)} test file(s) passed in Tandem's {settings.sandbox} sandbox."
    delivery = await deliver_tests(
        gh, pr, token, checkout, kept, evidence, git_timeout_s=settings.git_timeout_s
    )
    details["delivery"] = {"kind": delivery.kind, "url": delivery.url}
    lines.append(f"\nDelivered as {delivery.description}: {delivery.url}")
    return PartResult(
        part="generate_tests",
        status="ok",
        headline=f"{len(kept)} test file(s) generated",
        summary="\n".join(lines),
        details=details,
    )


async def generate_tests(ctx: dict[str, Any], key: str) -> str:
    return await run_part(ctx, "generate_tests", key, generate)
