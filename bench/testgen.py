"""Test-generation benchmark: where the time of one test-generation part goes, what the
sandbox costs to open and close, and what the Pynguin engine achieves on changed lines.

A fixture repository (``FIXTURE``: a package with one existing test) gets a pull request that
changes a known set of lines (``CHANGED``: 3 functions, 17 changed statements, 2 of them
covered by the existing test). Two runs of the real part go through the real worker, Redis, git,
the fake GitHub (clone and delivery over smart HTTP) and the local sandbox:

- openhands: the real OpenHands agent loop against the scripted LLM (writes one good test file);
- pynguin:   Pynguin offline in the sandbox, no LLM.

Per run it prints the stage times the part records (sandbox open, clone, baseline coverage,
engine, validation runs, coverage filter, delivery), the changed-line coverage before and after,
and the verdicts. Then it times ``open_sandbox`` + one trivial command + ``close`` (the sandbox
start/teardown overhead) for the configured kind. It prints figures and asserts nothing.

    python -m bench.testgen                 # both engines, 5 validation runs, 10 sandbox cycles
    python -m bench.testgen --sandbox docker  # the docker sandbox (needs an engine and image)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import tempfile
import time
from typing import Any

from arq import create_pool
from pydantic import SecretStr

from bot.event_plan import pull_request_ref
from core.connections import CONTROL_QUEUE, redis_settings, start_embedded_redis
from core.part_registry import GENERATE_TESTS
from core.settings import Settings
from jobs.sandbox import open_sandbox
from jobs.state import RunStore
from jobs.worker import build_workers
from tandem.demo import BASE_FILES, HEAD_FILES
from tests.fakegithub import FakeGitHub, make_app_key, pull_request_event
from tests.harness import first_user_text
from tests.llmserver import ScriptedLLM, Step, finish, tool_call

REPO = "bench/shapes"
APP_ID, INSTALLATION = 5, 6

# The demo's package and test (not its README); the change is the demo's first three functions
# and a small `scale` instead of its long `label`.
FIXTURE = {k: v for k, v in BASE_FILES.items() if k != "README.md"}
HEAD = (
    HEAD_FILES["shapes/geometry.py"].split("def label")[0]
    + """def scale(w, h, factor):
    if factor <= 0:
        raise ValueError("factor must be positive")
    return w * factor, h * factor
"""
)

GOOD_TEST = """import pytest

from shapes.geometry import kind, perimeter


def test_perimeter_and_kind():
    assert perimeter(2, 3) == 10
    assert kind(2, 2) == "square"
    assert kind(3, 2) == "wide"
    assert kind(2, 3) == "tall"
    with pytest.raises(ValueError):
        perimeter(-1, 2)
"""


def agent(body: dict[str, Any]) -> Step | None:
    match = re.search(r"repository at (/\S+?)\.\n", first_user_text(body))
    turns = sum(1 for m in body["messages"] if m.get("role") == "assistant")
    if match is None or turns:
        return finish("done")
    return tool_call(
        "file_editor",
        command="create",
        path=f"{match.group(1)}/tests/test_geometry_tandem.py",
        file_text=GOOD_TEST,
    )


async def one_run(
    tmp: Path, redis_url: str, engine: str, number: int, sandbox: str, runs: int
) -> dict[str, Any]:
    private, public = make_app_key()
    github = FakeGitHub(tmp / f"gh-{engine}", app_id=APP_ID, public_key_pem=public)
    await github.start()
    llm = ScriptedLLM(agent)
    await llm.start()
    installation = INSTALLATION + number  # a fresh App per run: no cached token
    github.add_installation(installation, "bench")
    github.create_repo(REPO, installation_id=installation)
    config = f"test_generation:\n  engine: {engine}\n  flaky_runs: {runs}\n"
    github.commit_files(REPO, "main", {**FIXTURE, ".github/tandem.yml": config})
    base = github.branch_sha(REPO, "main")
    assert base is not None
    github.create_branch(REPO, "feature", base)
    head = github.commit_files(REPO, "feature", {"shapes/geometry.py": HEAD})
    settings = Settings(
        github_app_id=APP_ID,
        github_private_key=SecretStr(private.decode()),
        github_api_url=github.url,
        redis_url=redis_url,
        data_dir=tmp / f"data-{engine}",
        llm_model="openai/scripted" if engine == "openhands" else None,
        llm_base_url=llm.url,
        llm_api_key=SecretStr("sk-bench"),
        sandbox=sandbox,
    )  # type: ignore[call-arg]
    workers = build_workers(settings)
    tasks = [asyncio.create_task(w.async_run()) for w in workers]
    pool = await create_pool(redis_settings(redis_url))
    try:
        payload = pull_request_event(
            action="opened",
            repo_full_name=REPO,
            number=number,
            head_sha=head,
            base_sha=base,
            head_ref="feature",
            clone_url=github.clone_url(REPO),
            installation_id=installation,
        )
        pr = pull_request_ref(payload)
        started = time.monotonic()
        await pool.enqueue_job(
            "start_run",
            pr.to_dict(),
            f"bench-{engine}",
            "opened",
            _job_id=f"start_run:{pr.run_key}",
            _queue_name=CONTROL_QUEUE,
        )
        # The benchmark observes the fake's recorded state; the product itself never polls.
        while not [r for r in github.check_runs_for(REPO, head) if r["status"] == "completed"]:
            if time.monotonic() - started > 600:
                raise RuntimeError(f"no completed check run for the {engine} run in 600 s")
            await asyncio.sleep(0.05)
        total = time.monotonic() - started
        state = await RunStore(pool).load(pr.run_key)
        assert state is not None
        result = state.results[GENERATE_TESTS]
        return {
            "total": total,
            "part": result.duration_s,
            "headline": result.headline,
            **result.details,
        }
    finally:
        for w in workers:
            await w.close()
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await pool.aclose()
        await llm.close()
        await github.close()


async def sandbox_cycles(kind: str, cycles: int, tmp: Path) -> tuple[list[float], list[float]]:
    opened, closed = [], []
    settings = Settings(sandbox=kind)  # type: ignore[call-arg]
    for i in range(cycles):
        work = tmp / f"sb{i}"
        work.mkdir()
        started = time.monotonic()
        sandbox = open_sandbox(settings, run_key=f"bench-{i}", mount=work)
        result = await sandbox.run([sandbox.python, "-c", "pass"], cwd=work, timeout_s=120)
        opened.append(time.monotonic() - started - 0)
        assert result.returncode == 0, result.output
        started = time.monotonic()
        await sandbox.close()
        closed.append(time.monotonic() - started)
    return opened, closed


def show(label: str, figures: dict[str, Any]) -> None:
    print(
        f"\n== {label}: {figures['headline']} (part {figures['part']:.1f} s, "
        f"webhook-to-check-run {figures['total']:.1f} s)"
    )
    for stage, seconds in figures.get("timings", {}).items():
        print(f"  {stage:<18} {seconds:7.2f} s")
    c = figures.get("coverage")
    if c:
        print(
            f"  changed lines covered: {c['percent_before']}% -> {c['percent_after']}% "
            f"({c['covered_before']} -> {c['covered_after']} of {c['changed_statements']})"
        )
    for v in figures.get("verdicts", []):
        print(f"  {'kept' if v['kept'] else 'discarded'}: {v['path']} ({v['reason']})")
    if figures.get("iterations"):
        print(
            f"  LLM: {figures['iterations']} iterations, {figures['prompt_tokens']} prompt + "
            f"{figures['completion_tokens']} completion tokens, ${figures['cost_usd']:.4f}"
        )


async def bench(args: argparse.Namespace, tmp: Path) -> None:
    redis = start_embedded_redis(tmp / "redis", persist=False)
    try:
        results = {}
        for number, engine in enumerate(args.engines, start=1):
            results[engine] = await one_run(tmp, redis.url, engine, number, args.sandbox, args.runs)
            show(
                f"{engine} engine, {args.sandbox} sandbox, {args.runs} validation runs",
                results[engine],
            )
        opened, closed = await sandbox_cycles(args.sandbox, args.cycles, tmp)
        print(
            f"\n== {args.sandbox} sandbox, {args.cycles} cycles: open + first command "
            f"median {statistics.median(opened) * 1000:.1f} ms (max {max(opened) * 1000:.1f}), "
            f"close median {statistics.median(closed) * 1000:.1f} ms "
            f"(max {max(closed) * 1000:.1f})"
        )
    finally:
        redis.stop()
    if args.json:
        await asyncio.to_thread(Path(args.json).write_text, json.dumps(results, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["openhands", "pynguin"])
    parser.add_argument("--sandbox", default="local", choices=["local", "docker"])
    parser.add_argument("--runs", type=int, default=5, help="flaky_runs")
    parser.add_argument("--cycles", type=int, default=10, help="sandbox open/close cycles")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
