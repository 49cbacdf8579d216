"""The in-process harness: the real arq workers and jobs on the test's event loop, a real Redis,
real git, the fake GitHub and the scripted LLM (and, when asked for, the real web app behind a
test client). One set-up for every test that drives whole runs without processes; the
`make_harness` and `harness` fixtures in tests/conftest.py open it."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from arq import create_pool
from arq.connections import ArqRedis
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import create_app
from bot.event_plan import pull_request_ref, run_key
from core.connections import CONTROL_QUEUE, redis_settings
from core.settings import Settings
from jobs.state import PartResult, RunStore
from jobs.worker import build_workers, running_workers
from tests.fakegithub import FakeGitHub, make_app_key
from tests.fakegithub.payloads import pull_request_event
from tests.llmserver import ScriptedLLM, ScriptFn, Step, finish, tool_call
from tests.waiting import EVENT_LIMIT_S, wait_quiescent, wait_until

APP_ID = 77
INSTALLATION = 9
REPO = "octo/calc"

BASE_SRC = """def classify(n):
    if n < 0:
        return "negative"
    return "non-negative"
"""

HEAD_SRC = """def classify(n):
    if n < 0:
        return "negative"
    elif n == 0:
        return "zero"
    elif n == 1:
        return "one"
    elif n == 2:
        return "two"
    elif n == 3:
        return "three"
    elif n < 10:
        return "small"
    elif n < 100:
        return "medium"
    elif n < 1000:
        return "large"
    elif n < 10000:
        return "huge"
    elif n < 100000:
        return "enormous"
    return "astronomical"
"""

GOOD_TEST = """from calc import classify


def test_zero_and_small():
    assert classify(0) == "zero"
    assert classify(5) == "small"
    assert classify(-1) == "negative"
"""

# A change characterization covers only in part: grade's docstring example reaches its changed
# branch, nothing in the project reaches total's, so with an LLM the agent is asked for it.
ORDERS_SRC = '''def grade(score):
    """The letter for a score.

    >>> grade(95)
    'A'
    """
    if score >= 90:
        return "A"
    return "B"


def total(order):
    if not order["items"]:
        return 0
    return sum(item["price"] * item["qty"] for item in order["items"])
'''

# What the main branch holds unless a test says otherwise.
BASE_FILES: Mapping[str, str] = {"calc.py": BASE_SRC, "tests/__init__.py": ""}


def first_user_text(body: dict[str, Any]) -> str:
    """The text of the first user message of a chat-completions request (the agent's prompt)."""
    for message in body.get("messages", []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content)
            return str(content)
    return ""


def write_good_test(body: dict[str, Any]) -> Step:
    """The default agent: writes GOOD_TEST into the checkout named in the prompt, then stops."""
    match = re.search(r"repository at (/\S+?)\.\n", first_user_text(body))
    turns = sum(1 for m in body["messages"] if m.get("role") == "assistant")
    if match is None or turns > 0:
        return finish("done")
    return tool_call(
        "file_editor",
        command="create",
        path=f"{match.group(1)}/tests/test_calc_tandem.py",
        file_text=GOOD_TEST,
    )


@dataclass
class Harness:
    """What a test drives and observes: the fake GitHub, an arq pool on the harness's Redis,
    the scripted LLM, the workers' settings and, when opened with `web=True`, the web app."""

    github: FakeGitHub
    pool: ArqRedis
    llm: ScriptedLLM
    settings: Settings
    repo: str = REPO
    installation: int = INSTALLATION
    web: TestClient[Any, Any] | None = None  # the web app, when opened with `web=True`

    async def start(self, action: str, number: int, head: str, base: str, **extra: Any) -> None:
        """Enqueue `start_run` for a pull_request event, as the web app does."""
        labels = extra.pop("labels", [])
        payload = pull_request_event(
            action=action,
            repo_full_name=self.repo,
            number=number,
            head_sha=head,
            base_sha=base,
            head_ref=extra.pop("head_ref", "feature"),
            clone_url=self.github.clone_url(self.repo),
            installation_id=self.installation,
            **extra,
        )
        payload["pull_request"]["labels"] = labels
        pr = pull_request_ref(payload)
        await self.pool.enqueue_job(
            "start_run",
            pr.to_dict(),
            f"d-{head[:8]}-{action}",
            action,
            _job_id=f"start_run:{pr.run_key}",
            _queue_name=CONTROL_QUEUE,
        )

    async def wait(
        self, condition: Callable[[], Any], what: str, limit_s: float = EVENT_LIMIT_S
    ) -> Any:
        return await wait_until(condition, what, limit_s)

    async def quiescent(self, limit_s: float = EVENT_LIMIT_S) -> None:
        """The barrier before asserting that nothing happened: see tests/waiting.py."""
        await wait_quiescent(self.pool, limit_s)

    async def results(self, number: int, head: str) -> dict[str, PartResult]:
        """The parts' structured results of the run on (`number`, `head`), from Redis."""
        return await part_results(self.pool, self.repo, number, head)

    async def completed(self, sha: str, limit_s: float = EVENT_LIMIT_S) -> dict[str, Any]:
        """The last completed check run on `sha`, once there is one."""

        def done() -> dict[str, Any] | None:
            runs = [
                r for r in self.github.check_runs_for(self.repo, sha) if r["status"] == "completed"
            ]
            return runs[-1] if runs else None

        result: dict[str, Any] = await self.wait(done, f"check run on {sha[:8]}", limit_s)
        return result


async def part_results(redis: Redis, repo: str, number: int, head: str) -> dict[str, PartResult]:
    """The parts' results (`PartResult`: headline, `details` ...) of a run, as collect read them."""
    state = await RunStore(redis).load(run_key(repo, number, head))
    assert state is not None, f"no run state for {repo}#{number}@{head[:8]}"
    return state.results


def part_results_blocking(
    redis_url: str, repo: str, number: int, head: str
) -> dict[str, PartResult]:
    """`part_results` for synchronous tests (the end-to-end test's processes)."""

    async def load() -> dict[str, PartResult]:
        client = Redis.from_url(redis_url)
        try:
            return await part_results(client, repo, number, head)
        finally:
            await client.aclose()

    return asyncio.run(load())


# `await make_harness(**options)`: the fixture of tests/conftest.py, options as for open_harness.
HarnessFactory = Callable[..., Awaitable[Harness]]


def push_change(github: FakeGitHub, branch: str, files: dict[str, str]) -> tuple[str, str]:
    """A new branch off main with `files` committed on it: (base sha, head sha)."""
    base = github.branch_sha(REPO, "main")
    assert base is not None
    github.create_branch(REPO, branch, base)
    return base, github.commit_files(REPO, branch, files)


@contextlib.asynccontextmanager
async def open_harness(
    root: Path,
    redis_url: str,
    *,
    script: ScriptFn = write_good_test,
    repo: str = REPO,
    app_id: int = APP_ID,
    installation: int = INSTALLATION,
    files: Mapping[str, str] | None = BASE_FILES,
    config: str | None = None,
    llm_configured: bool = True,
    web: bool = False,
    webhook_secret: str | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[Harness]:
    """Start the fake GitHub (with `repo`, whose main holds `files` plus `config` as its
    .github/tandem.yml; no commit at all when `files` is None), the scripted LLM answering with
    `script` (configured as the workers' LLM unless `llm_configured` is False), both arq workers
    and, with `web`, the web app. `settings_overrides` are further Settings fields."""
    async with contextlib.AsyncExitStack() as stack:
        private, public = make_app_key()
        github = FakeGitHub(root / "gh", app_id=app_id, public_key_pem=public)
        await github.start()
        stack.push_async_callback(github.close)
        github.add_installation(installation, repo.split("/")[0])
        github.create_repo(repo, installation_id=installation)
        if files is not None:
            main = dict(files)
            if config is not None:
                main[".github/tandem.yml"] = config
            github.commit_files(repo, "main", main)
        llm = ScriptedLLM(script)
        await llm.start()
        stack.push_async_callback(llm.close)
        values: dict[str, Any] = {
            "github_app_id": app_id,
            "github_private_key": SecretStr(private.decode()),
            "github_api_url": github.url,
            "redis_url": redis_url,
            "data_dir": root / "data",
            "sandbox": "local",
        }
        if llm_configured:
            values.update(
                llm_model="openai/scripted", llm_base_url=llm.url, llm_api_key=SecretStr("sk-test")
            )
        if webhook_secret is not None:
            values["webhook_secret"] = SecretStr(webhook_secret)
        values.update(settings_overrides)
        settings = Settings(**values)
        pool = await create_pool(redis_settings(redis_url))
        stack.push_async_callback(pool.aclose)
        client: TestClient[Any, Any] | None = None
        if web:
            client = TestClient(TestServer(create_app(settings)))
            await client.start_server()
            stack.push_async_callback(client.close)
        await stack.enter_async_context(running_workers(build_workers(settings), grace_s=10))
        yield Harness(
            github=github,
            pool=pool,
            llm=llm,
            settings=settings,
            repo=repo,
            installation=installation,
            web=client,
        )
