"""The arq worker: settings, startup/shutdown and the job registry."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from arq import Worker
from arq.worker import func

from bot.connections import redis_settings
from bot.settings import Settings
from jobs.collect import collect
from jobs.review_job import review_refactoring
from jobs.runs import cancel_pr_runs, start_run
from jobs.sandbox import open_sandbox
from jobs.testgen import generate_tests

log = logging.getLogger(__name__)

QUEUE = "arq:queue"


def job_timeouts(settings: Settings) -> dict[str, float]:
    """arq's timeout is the backstop behind each part's own bounds, so it sits above them."""
    testgen = settings.agent_wall_time_s + 4 * settings.git_timeout_s + 10 * settings.test_timeout_s
    return {
        "start_run": 120 + settings.git_timeout_s,
        "generate_tests": testgen + 60,
        "review_refactoring": 2 * settings.git_timeout_s + 600,
        "collect": 300,
        "cancel_pr_runs": 120,
    }


def build_worker(settings: Settings, *, burst: bool = False, max_jobs: int = 10) -> Worker:
    settings.require("redis_url", "github_app_id", "github_private_key")
    open_sandbox(settings.sandbox)  # an unbuilt sandbox stops the worker at start, clearly
    timeouts = job_timeouts(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["session"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        if settings.sandbox == "local":
            log.warning(
                "TANDEM_SANDBOX=local: the PR's code and generated tests run as plain "
                "subprocesses on this machine, NOT isolated. Use only for development."
            )

    async def shutdown(ctx: dict[str, Any]) -> None:
        session: aiohttp.ClientSession | None = ctx.get("session")
        if session is not None:
            await session.close()

    functions = [
        func(start_run, name="start_run", timeout=timeouts["start_run"], max_tries=3),
        func(
            generate_tests, name="generate_tests", timeout=timeouts["generate_tests"], max_tries=2
        ),
        func(
            review_refactoring,
            name="review_refactoring",
            timeout=timeouts["review_refactoring"],
            max_tries=2,
        ),
        func(collect, name="collect", timeout=timeouts["collect"], max_tries=5),
        func(
            cancel_pr_runs, name="cancel_pr_runs", timeout=timeouts["cancel_pr_runs"], max_tries=3
        ),
    ]
    assert settings.redis_url is not None
    return Worker(
        functions=functions,  # type: ignore[arg-type]
        redis_settings=redis_settings(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        allow_abort_jobs=True,
        keep_result=0,  # run state lives in Redis hashes; job ids must free up once done
        max_jobs=max_jobs,
        burst=burst,
        handle_signals=True,
        poll_delay=0.05,
    )
