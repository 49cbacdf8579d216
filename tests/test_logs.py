"""Logs an operator can use: JSON lines (TANDEM_LOG_FORMAT=json) that carry the delivery id, run
key, repository, PR, head sha and part, with secrets masked and ordinary words left alone. The
web app and a real arq worker on real Redis bind the fields."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from arq import Worker
from arq.connections import create_pool
from redis.asyncio import Redis

from core import logs
from core.connections import redis_settings
from jobs.worker import PART_NAMES, bind_job_context
from tests.test_app import SECRET, make_client, post, pr_payload

SHA = "c" * 40
LLM_KEY = "sk-live-0123456789abcdefXYZ"


@pytest.fixture
def json_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    logs.configure("info", "json", [LLM_KEY, "x", SECRET])

    def read() -> list[dict[str, Any]]:
        err = capsys.readouterr().err
        try:
            return [json.loads(line) for line in err.splitlines() if line]
        except ValueError:
            raise AssertionError(f"not one JSON object a line:\n{err}") from None

    yield read
    logs.remove()


def test_a_job_id_names_its_run_and_part() -> None:
    fields = logs.job_fields(f"generate_tests:octo/demo#3@{SHA}", PART_NAMES)
    assert fields == {
        "job": f"generate_tests:octo/demo#3@{SHA}",
        "run_key": f"octo/demo#3@{SHA}",
        "repo": "octo/demo",
        "pr": 3,
        "head_sha": SHA,
        "part": "generate_tests",
    }
    assert "part" not in logs.job_fields(f"collect:octo/demo#3@{SHA}", PART_NAMES)
    assert logs.job_fields("cron:cleanup", PART_NAMES) == {"job": "cron:cleanup"}
    assert logs.job_fields(f"start_run:a/b#x@{SHA}", PART_NAMES) == {
        "job": f"start_run:a/b#x@{SHA}"
    }


def test_json_lines_carry_the_context_and_mask_secrets(json_lines: Any) -> None:
    log = logging.getLogger("tandem.test")
    with logs.bind(run_key=f"octo/demo#3@{SHA}", part="review_refactoring"):
        log.warning("LLM said OpenAIException with key %s", LLM_KEY)
        try:
            raise RuntimeError(f"failed with {LLM_KEY}")
        except RuntimeError:
            log.exception("part failed")
    log.info("outside")
    first, failed, outside = json_lines()
    assert first["message"] == "LLM said OpenAIException with key ***"
    assert (first["level"], first["logger"]) == ("WARNING", "tandem.test")
    assert first["run_key"] == f"octo/demo#3@{SHA}" and first["part"] == "review_refactoring"
    assert "time" in first
    assert LLM_KEY not in json.dumps(failed) and "RuntimeError: failed with ***" in json.dumps(
        failed
    )
    assert "run_key" not in outside and outside["message"] == "outside"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="TANDEM_LOG_FORMAT must be text or json"):
        logs.configure("info", "yaml")


async def test_the_web_app_logs_the_delivery_id(redis_url: str, json_lines: Any) -> None:
    client = await make_client(redis_url)
    try:
        response = await post(client, "pull_request", pr_payload(), delivery="delivery-42")
        assert response.status == 202
    finally:
        await client.close()
    accepted = [line for line in json_lines() if "queued" in line["message"]]
    assert accepted and accepted[0]["delivery"] == "delivery-42"
    assert accepted[0]["event"] == "pull_request"
    assert SECRET not in json.dumps(accepted)


async def say_hello(ctx: dict[str, Any]) -> str:
    logging.getLogger("jobs.test").info("working on it")
    return "done"


async def test_a_workers_job_lines_carry_its_run(
    redis_url: str, redis_client: Redis, json_lines: Any
) -> None:
    pool = await create_pool(redis_settings(redis_url))
    job_id = f"generate_tests:octo/demo#3@{SHA}"
    await pool.enqueue_job("say_hello", _job_id=job_id, _queue_name="tandem:test-logs")
    worker = Worker(
        functions=[say_hello],  # type: ignore[list-item]
        redis_settings=redis_settings(redis_url),
        queue_name="tandem:test-logs",
        on_job_start=bind_job_context,
        burst=True,
        handle_signals=False,
        poll_delay=0.05,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()
        await pool.aclose()
    lines = json_lines()
    mine = [line for line in lines if line["message"] == "working on it"]
    assert mine and mine[0]["run_key"] == f"octo/demo#3@{SHA}"
    assert (mine[0]["part"], mine[0]["pr"], mine[0]["repo"]) == ("generate_tests", 3, "octo/demo")
    # arq's own line about the job carries it too.
    assert any(line.get("job") == job_id and line["logger"] == "arq.worker" for line in lines)


async def test_build_workers_binds_each_jobs_context(redis_url: str) -> None:
    from pydantic import SecretStr

    from core.settings import Settings
    from jobs.worker import build_workers

    settings = Settings(  # type: ignore[call-arg]
        redis_url=redis_url,
        github_app_id=1,
        github_private_key=SecretStr("not used here"),
        sandbox="local",
    )
    workers = build_workers(settings)
    assert [w.on_job_start for w in workers] == [bind_job_context, bind_job_context]
