"""Dependency-install benchmark: what installing a PR's declared dependencies adds to a
test-generation part, per sandbox kind.

A fixture repository (``tests.test_dependencies.helper_repo``: code that imports a package it
vendors and lists in requirements.txt) is installed offline (``network none``: pip --no-index,
the sandbox's own setuptools) into a fresh checkout ``--rounds`` times per sandbox kind. The
baseline taken in the same run is one pytest run of the repository's test in the same sandbox,
so the ratio says how many test runs one install costs. It prints figures and asserts nothing.

    python -m bench.dependencies                     # local sandbox
    python -m bench.dependencies --sandbox docker    # needs an engine and TANDEM_SANDBOX_IMAGE
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import statistics
import tempfile
import time

from core.settings import Settings
from jobs.dependencies import install_dependencies
from jobs.languages.python import pytest_runner
from jobs.sandbox import open_sandbox
from tests.test_dependencies import helper_repo


async def one_round(root: Path, kind: str, number: int) -> tuple[float, float, str]:
    repo = helper_repo(root / f"repo{number}")
    settings = Settings(sandbox=kind)  # type: ignore[call-arg]
    sandbox = open_sandbox(settings, run_key=f"bench-deps-{number}", mount=repo)
    try:
        await sandbox.run(["true"], cwd=repo, timeout_s=60)  # container start is not counted
        started = time.monotonic()
        outcome = await install_dependencies(sandbox, repo, timeout_s=300, network="none")
        install_s = time.monotonic() - started
        started = time.monotonic()
        run = await pytest_runner.run_pytest(
            sandbox, repo, ["tests"], tag="bench", timeout_s=120, measure=False
        )
        test_s = time.monotonic() - started
        status = f"{outcome.status}, tests exit {run.returncode}"
    finally:
        await sandbox.close()
    return install_s, test_s, status


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandbox", default="local", choices=["local", "docker"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    installs, tests = [], []
    with tempfile.TemporaryDirectory(prefix="tandem-bench-deps-") as tmp:
        for number in range(args.rounds):
            install_s, test_s, status = await one_round(Path(tmp), args.sandbox, number)
            installs.append(install_s)
            tests.append(test_s)
            print(
                f"round {number}: install {install_s:.2f} s, one test run {test_s:.2f} s ({status})"
            )
    install, test = statistics.median(installs), statistics.median(tests)
    print(
        f"== {args.sandbox} sandbox, {args.rounds} rounds: install median {install:.2f} s "
        f"(max {max(installs):.2f}), one test run median {test:.2f} s; "
        f"install / test run = {install / test:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
