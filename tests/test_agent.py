"""jobs.agent: a real OpenHands Agent + Conversation against a scripted LLM server.

Only the LLM provider is faked (tests/llmserver.py, an OpenAI-compatible HTTP server on
127.0.0.1); the agent loop, litellm, the terminal (tmux) and file_editor tools are real
and write real files into ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.redaction import one_line
from jobs.agent import (
    AgentLimits,
    AgentOutcome,
    Cancellation,
    LLMSettings,
    is_secret_env_name,
    run_agent,
)
from jobs.agent.conversation import _run_conversation
from tests.llmserver import (
    ScriptedLLM,
    ScriptedLLMThread,
    Step,
    finish,
    terminal,
    tool_call,
    write_file_then_finish,
)

API_KEY = "sk-tandem-test-0123456789abcdef"
MODEL = "openai/gpt-4o-mini"
IN_COST = 1e-6
OUT_COST = 2e-6

StartLLM = Callable[..., Awaitable[ScriptedLLM]]


@pytest.fixture
async def start_llm() -> AsyncIterator[StartLLM]:
    servers: list[ScriptedLLM] = []

    async def start(*args: Any, **kwargs: Any) -> ScriptedLLM:
        server = ScriptedLLM(*args, **kwargs)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def settings(server: ScriptedLLM, **overrides: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "model": MODEL,
        "base_url": server.url,
        "api_key": API_KEY,
        "timeout_s": 30.0,
        "input_cost_per_token": IN_COST,
        "output_cost_per_token": OUT_COST,
    }
    values.update(overrides)
    return LLMSettings(**values)


async def run(
    workdir: Path, server: ScriptedLLM, limits: AgentLimits, prompt: str = "Write tests."
) -> AgentOutcome:
    # The caller (jobs/testgen) runs the blocking run_agent in a thread, so do we.
    return await asyncio.to_thread(run_agent, workdir, prompt, settings(server), limits)


def tmux_sockets() -> set[str]:
    base = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
    return {p.name for p in base.glob("openhands-*")} if base.is_dir() else set()


def running_commands() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "ps -eo" not in line]


def processes_in(workdir: Path) -> list[int]:
    """Live processes whose current directory is ``workdir`` (the agent's shells)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if Path(os.readlink(proc / "cwd")) == workdir:
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


# ------------------------------------------------------------------------------------
# End to end through HTTP


async def test_scripted_agent_writes_files_and_runs_commands(
    tmp_path: Path, start_llm: StartLLM
) -> None:
    test_file = tmp_path / "tests" / "test_generated.py"
    script: list[Step] = [
        terminal("mkdir -p tests"),
        tool_call(
            "file_editor",
            command="create",
            path=str(test_file),
            file_text="def test_one():\n    assert 1 + 1 == 2\n",
        ),
        terminal("python3 -c \"open('marker.txt', 'w').write('ran:' + str(6 * 7))\""),
        finish("Added tests/test_generated.py"),
    ]
    server = await start_llm(script)
    sockets_before = tmux_sockets()

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=10, wall_time_s=60))

    assert outcome.status == "finished", outcome
    assert outcome.reason == "Added tests/test_generated.py"
    assert test_file.read_text() == "def test_one():\n    assert 1 + 1 == 2\n"
    assert (tmp_path / "marker.txt").read_text() == "ran:42"
    # Only what the agent wrote: no .openhands state or other SDK files in the checkout.
    assert sorted(os.listdir(tmp_path)) == ["marker.txt", "tests"]

    assert outcome.iterations == 4
    assert len(server.requests) == 4 and not server.rejected
    # Token counts are the usage blocks the server returned, and cost follows from them.
    assert outcome.prompt_tokens == sum(r["usage"]["prompt_tokens"] for r in server.responses)
    assert outcome.completion_tokens == sum(
        r["usage"]["completion_tokens"] for r in server.responses
    )
    assert outcome.prompt_tokens > 0 and outcome.completion_tokens > 0
    expected_cost = outcome.prompt_tokens * IN_COST + outcome.completion_tokens * OUT_COST
    assert outcome.cost_usd == pytest.approx(expected_cost)
    assert 0 < outcome.duration_s < 60

    # What the agent sent looks like a real chat-completions request.
    first = server.requests[0]
    assert first["model"] == "gpt-4o-mini"
    assert {t["function"]["name"] for t in first["tools"]} == {
        "terminal",
        "file_editor",
        "finish",
        "think",
    }
    assert server.headers[0]["Authorization"] == f"Bearer {API_KEY}"
    assert "Write tests." in json.dumps(first["messages"])
    # The terminal's output went back to the model as a tool message.
    last_tool = [m for m in server.requests[3]["messages"] if m["role"] == "tool"][-1]
    assert "exit code 0" in json.dumps(last_tool)

    # The terminal's tmux server and its shells are gone.
    assert tmux_sockets() <= sockets_before
    assert processes_in(tmp_path) == []


async def test_llm_http_500_ends_quickly_as_llm_error(tmp_path: Path, start_llm: StartLLM) -> None:
    server = await start_llm(mode="http_500")
    started = time.monotonic()

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=10, wall_time_s=120))

    assert outcome.status == "llm_error", outcome
    assert time.monotonic() - started < 15
    assert outcome.llm_failure == "LLM unavailable (HTTP 500 from the provider)"
    assert outcome.reason.startswith(outcome.llm_failure + ": ")
    assert API_KEY not in outcome.reason and "\n" not in outcome.reason
    assert outcome.iterations == 0 and outcome.cost_usd == 0.0
    assert len(server.requests) >= 1


@pytest.mark.parametrize(
    ("mode", "failure"),
    [
        ("http_401", "LLM key rejected (HTTP 401 from the provider)"),
        ("http_404", "LLM model not found (HTTP 404 from the provider)"),
        ("http_429", "LLM rate limit or quota reached (HTTP 429 from the provider)"),
    ],
)
async def test_a_refusing_provider_is_named_in_a_few_words(
    tmp_path: Path, start_llm: StartLLM, mode: str, failure: str
) -> None:
    """The real loop against a provider that refuses every request as OpenAI does: a rejected
    key, a model that does not exist (litellm's NotFoundError, which the SDK does not map to an
    LLM error of its own), a spent quota."""
    server = await start_llm(mode=mode)

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=10, wall_time_s=120))

    assert outcome.status == "llm_error", outcome
    assert outcome.llm_failure == failure
    assert API_KEY not in outcome.reason and API_KEY[-4:] not in (outcome.llm_failure or "")


async def test_llm_garbage_body_is_an_llm_error(tmp_path: Path, start_llm: StartLLM) -> None:
    server = await start_llm(mode="garbage")

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=10, wall_time_s=120))

    assert outcome.status == "llm_error", outcome
    assert outcome.llm_failure == "LLM unusable (unreadable answer from the provider)"


async def test_an_unreachable_llm_is_named(tmp_path: Path) -> None:
    from core.connections import free_port

    llm = LLMSettings(MODEL, f"http://127.0.0.1:{free_port()}/v1", API_KEY, timeout_s=10)

    outcome = await asyncio.to_thread(
        run_agent, tmp_path, "Write tests.", llm, AgentLimits(max_iterations=3, wall_time_s=60)
    )

    assert outcome.status == "llm_error", outcome
    assert outcome.llm_failure == "LLM unreachable (no connection to the provider)"


def _litellm_errors() -> list[tuple[BaseException, str]]:
    import httpx
    import litellm

    forbidden = httpx.Response(403, request=httpx.Request("POST", "http://llm/v1/chat"))
    return [
        (
            litellm.AuthenticationError(f"Incorrect API key {API_KEY}", "openai", "m"),
            "LLM key rejected (HTTP 401 from the provider)",
        ),
        (
            litellm.PermissionDeniedError("no", "openai", "m", response=forbidden),
            "LLM access denied (HTTP 403 from the provider)",
        ),
        (
            litellm.NotFoundError("no such model", "openai", "m"),
            "LLM model not found (HTTP 404 from the provider)",
        ),
        (
            litellm.RateLimitError("slow down", "openai", "m"),
            "LLM rate limit or quota reached (HTTP 429 from the provider)",
        ),
        (
            litellm.InternalServerError("boom", "openai", "m"),
            "LLM unavailable (HTTP 500 from the provider)",
        ),
        (
            litellm.ServiceUnavailableError("down", "openai", "m"),
            "LLM unavailable (HTTP 503 from the provider)",
        ),
        (
            litellm.BadRequestError("bad", "m", "openai"),
            "LLM request rejected (HTTP 400 from the provider)",
        ),
        (
            litellm.APIConnectionError("Connection error.", "openai", "m"),
            "LLM unreachable (no connection to the provider)",
        ),
        (litellm.Timeout("timed out", "m", "openai"), "LLM unavailable (request timed out)"),
    ]


def test_llm_failures_are_named_from_litellm_exceptions_as_the_sdk_wraps_them() -> None:
    """As the conversation raises them: the SDK's ConversationRunError around the SDK's own
    LLM error (its mapping keeps no status code) raised from litellm's exception."""
    from openhands.sdk.conversation.exceptions import ConversationRunError
    from openhands.sdk.llm.exceptions import map_provider_exception

    from jobs.agent.outcome import llm_failure

    for error, failure in _litellm_errors():
        mapped = map_provider_exception(error)  # type: ignore[arg-type]
        if mapped is not error:
            mapped.__cause__ = error
        wrapped = ConversationRunError("conv-1", mapped)  # type: ignore[arg-type]
        assert (llm_failure(error), llm_failure(wrapped)) == (failure, failure), error
        assert API_KEY not in llm_failure(wrapped)


async def test_never_finishing_agent_stops_at_max_iterations(
    tmp_path: Path, start_llm: StartLLM
) -> None:
    counter = iter(range(1000))
    server = await start_llm(lambda body: terminal(f"echo step {next(counter)} >> steps.txt"))

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=3, wall_time_s=60))

    assert outcome.status == "max_iterations", outcome
    assert "3" in outcome.reason
    assert outcome.iterations == 3
    assert len(server.requests) == 3
    assert (tmp_path / "steps.txt").read_text().split("\n")[:3] == [
        "step 0",
        "step 1",
        "step 2",
    ]


async def test_agent_repeating_itself_is_reported_as_stuck(
    tmp_path: Path, start_llm: StartLLM
) -> None:
    server = await start_llm(lambda body: terminal("echo same"))

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=20, wall_time_s=60))

    assert outcome.status == "error", outcome
    assert "stuck" in outcome.reason
    assert outcome.iterations < 20


async def test_parallel_runs_in_one_process_stay_apart(tmp_path: Path, start_llm: StartLLM) -> None:
    dirs = [tmp_path / "a", tmp_path / "b"]
    servers = []
    for d in dirs:
        d.mkdir()
        servers.append(
            await start_llm(
                [terminal(f"sleep 0.5; echo {d.name} > who.txt"), finish(f"done {d.name}")]
            )
        )
    limits = AgentLimits(max_iterations=5, wall_time_s=60)

    outcomes = await asyncio.gather(
        *(run(d, s, limits) for d, s in zip(dirs, servers, strict=True))
    )

    for d, outcome in zip(dirs, outcomes, strict=True):
        assert outcome.status == "finished", outcome
        assert outcome.reason == f"done {d.name}"
        assert (d / "who.txt").read_text() == f"{d.name}\n"


async def test_slow_llm_hits_wall_time_limit(tmp_path: Path, start_llm: StartLLM) -> None:
    server = await start_llm(mode="slow", slow_s=30)
    started = time.monotonic()

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=10, wall_time_s=3))

    elapsed = time.monotonic() - started
    assert outcome.status == "timeout", outcome
    assert "3s" in outcome.reason
    assert 3 <= elapsed < 25  # stopped by the limit, not by the 30 s answer
    assert len(server.requests) == 1


async def test_wall_time_interrupts_a_long_terminal_command(
    tmp_path: Path, start_llm: StartLLM
) -> None:
    server = await start_llm([terminal("sleep 57 && touch late.txt")])
    started = time.monotonic()

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=10, wall_time_s=3))

    assert outcome.status == "timeout", outcome
    assert time.monotonic() - started < 45  # the 57 s command did not run to its end
    await asyncio.sleep(0.5)
    assert not (tmp_path / "late.txt").exists()
    assert not [line for line in running_commands() if "sleep 57" in line]
    # No shell survives in the checkout, not even one the SDK's tmux recovery started.
    await asyncio.sleep(1)
    assert processes_in(tmp_path) == []


async def test_cancellation_from_another_thread_stops_the_agent(
    tmp_path: Path, start_llm: StartLLM
) -> None:
    server = await start_llm([terminal("sleep 57 && touch late.txt")])
    cancellation = Cancellation()
    loop = asyncio.get_running_loop()
    loop.call_later(2.0, cancellation.cancel)
    started = time.monotonic()

    outcome = await asyncio.to_thread(
        run_agent,
        tmp_path,
        "Write tests.",
        settings(server),
        AgentLimits(max_iterations=10, wall_time_s=120),
        cancellation,
    )

    assert outcome.status == "error", outcome
    assert outcome.reason == "agent stopped: the run was cancelled"
    assert time.monotonic() - started < 45  # well before the command or the wall time
    await asyncio.sleep(0.5)
    assert not (tmp_path / "late.txt").exists()


def test_cancellation_registered_after_cancel_fires_at_once() -> None:
    cancellation = Cancellation()
    cancellation.cancel()
    fired: list[bool] = []
    cancellation.on_cancel(lambda: fired.append(True))
    assert fired == [True]
    late = Cancellation()
    forget = late.on_cancel(lambda: fired.append(False))
    forget()
    late.cancel()
    assert fired == [True]


async def test_terminal_env_has_no_secrets(
    tmp_path: Path, start_llm: StartLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_WEBHOOK_SECRET", "whsec-do-not-leak")
    monkeypatch.setenv("TANDEM_REDIS_URL", "redis://user:pw@127.0.0.1:6390")
    monkeypatch.setenv("ACME_ACCESS_TOKEN", "acme-token-do-not-leak")
    monkeypatch.setenv("my_private_key_path", "/secret/key.pem")
    monkeypatch.setenv("DB_PASSWORD", "hunter2-do-not-leak")
    monkeypatch.setenv("TANDEM_TEST_PLAIN_VALUE", "prefix-is-enough")
    monkeypatch.setenv("PLAIN_VISIBLE_VAR", "visible-42")
    server = await start_llm([terminal("env > envdump.txt")])

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=5, wall_time_s=60))

    assert outcome.status == "finished", outcome
    dump = (tmp_path / "envdump.txt").read_text()
    names = {line.split("=", 1)[0] for line in dump.splitlines() if "=" in line}
    assert "PLAIN_VISIBLE_VAR" in names  # the dump is real
    assert "PATH" in names
    leaked = sorted(n for n in names if is_secret_env_name(n))
    assert leaked == []
    for value in ("whsec-do-not-leak", "acme-token", "hunter2", "user:pw", "prefix-is-enough"):
        assert value not in dump
    # The terminal has a private, empty HOME outside the checkout.
    home = next(line.split("=", 1)[1] for line in dump.splitlines() if line.startswith("HOME="))
    assert home != os.environ.get("HOME") and not home.startswith(str(tmp_path))
    # The worker's own environment is untouched.
    assert os.environ["TANDEM_WEBHOOK_SECRET"] == "whsec-do-not-leak"


async def test_project_plugins_in_the_checkout_are_not_loaded(
    tmp_path: Path, start_llm: StartLLM
) -> None:
    # A PR could ship a plugin whose hook runs on the worker when the session starts.
    plugin = tmp_path / ".openhands" / "plugins" / "evil"
    (plugin / ".plugin").mkdir(parents=True)
    (plugin / ".plugin" / "plugin.json").write_text(json.dumps({"name": "evil"}))
    (plugin / "hooks").mkdir()
    hook = {"type": "command", "command": f"touch {tmp_path}/hook-ran"}
    (plugin / "hooks" / "hooks.json").write_text(
        json.dumps({"hooks": {"SessionStart": [{"hooks": [hook]}]}})
    )
    server = await start_llm([finish("done")])

    outcome = await run(tmp_path, server, AgentLimits(max_iterations=5, wall_time_s=60))

    assert outcome.status == "finished", outcome
    assert not (tmp_path / "hook-ran").exists()


def test_scripted_llm_thread_serves_from_another_thread(tmp_path: Path) -> None:
    target = tmp_path / "from_thread.py"
    with ScriptedLLMThread(write_file_then_finish(str(target), "X = 1\n")) as llm:
        assert llm.url.startswith("http://127.0.0.1:")
        outcome = run_agent(
            tmp_path,
            "Create the file.",
            LLMSettings(MODEL, llm.url, API_KEY),
            AgentLimits(max_iterations=5, wall_time_s=60),
        )
        assert len(llm.requests) == 2
    assert outcome.status == "finished", outcome
    assert target.read_text() == "X = 1\n"


# ------------------------------------------------------------------------------------
# Without HTTP: the SDK's TestLLM


def test_run_with_sdk_test_llm(tmp_path: Path) -> None:
    from openhands.sdk.llm import Message, MessageToolCall, TextContent
    from openhands.sdk.llm.exceptions import LLMServiceUnavailableError
    from openhands.sdk.testing import TestLLM

    def call(name: str, **args: Any) -> Message:
        return Message(
            role="assistant",
            content=[TextContent(text="")],
            tool_calls=[
                MessageToolCall(
                    id=f"call_{name}",
                    name=name,
                    arguments=json.dumps(args),
                    origin="completion",
                )
            ],
        )

    target = tmp_path / "test_unit.py"
    llm = TestLLM.from_messages(
        [
            call("file_editor", command="create", path=str(target), file_text="ok = 1\n"),
            call("finish", message="unit done"),
        ],
        # A vision-capable name: for other models the SDK scans ~/.openhands/profiles.
        model="gpt-4o-mini",
    )
    outcome = _run_conversation(tmp_path, "go", llm, AgentLimits(max_iterations=5))
    assert outcome.status == "finished", outcome
    assert outcome.reason == "unit done"
    assert outcome.iterations == 2
    assert target.read_text() == "ok = 1\n"

    down = TestLLM.from_messages(
        [LLMServiceUnavailableError("provider is down")], model="gpt-4o-mini"
    )
    outcome = _run_conversation(tmp_path, "go", down, AgentLimits(max_iterations=5))
    assert outcome.status == "llm_error", outcome
    assert "provider is down" in outcome.reason


def test_bad_workdir_is_an_error_not_an_exception(tmp_path: Path) -> None:
    outcome = run_agent(
        tmp_path / "missing",
        "go",
        LLMSettings(MODEL, "http://127.0.0.1:9/v1", API_KEY),
        AgentLimits(),
    )
    assert outcome.status == "error"
    assert "not a directory" in outcome.reason


# ------------------------------------------------------------------------------------
# The file editor stays inside the checkout

SECRET = "s3cret-outside-the-checkout-7f1c"
HIDDEN_NAME = "private-name-9d2e.txt"  # a file name outside that a listing must not reveal


@pytest.fixture
def hostile_checkout(tmp_path: Path) -> Path:
    """A checkout whose PR content links out of it: to a secret file next to it (absolute and
    relative links), to the worker's /proc/self/environ and to a directory outside."""
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / HIDDEN_NAME).write_text(SECRET)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (checkout / "notes.txt").symlink_to(tmp_path / "secret.txt")
    (checkout / "rel-notes.txt").symlink_to("../secret.txt")
    (checkout / "environ.txt").symlink_to("/proc/self/environ")
    (checkout / "linked").symlink_to(outside)
    (checkout / "alias.py").symlink_to("calc.py")  # a link that stays inside is fine
    (checkout / ".git").mkdir()
    (checkout / ".git" / "config").write_text("[core]\n")
    return checkout


def file_editor_conversation(checkout: Path) -> Any:
    """A conversation whose agent has only Tandem's file editor, as jobs.agent builds it."""
    from openhands.sdk import Agent
    from openhands.sdk.conversation.impl.local_conversation import LocalConversation
    from openhands.sdk.io import InMemoryFileStore
    from openhands.sdk.testing import TestLLM
    from openhands.sdk.tool import Tool

    from jobs.agent import checkout_file_editor

    agent = Agent(
        llm=TestLLM.from_messages([], model="gpt-4o-mini"),
        tools=[Tool(name=checkout_file_editor())],
    )
    return LocalConversation(
        agent=agent,
        workspace=str(checkout),
        persistence_dir=None,
        file_store=InMemoryFileStore(),
        profile_store_dir=checkout.parent / "profiles",
        visualizer=None,
    )


def test_file_editor_refuses_paths_that_leave_the_checkout(hostile_checkout: Path) -> None:
    from openhands.tools.file_editor import FileEditorAction

    checkout = hostile_checkout
    outside = checkout.parent
    conversation = file_editor_conversation(checkout)
    try:

        def edit(command: Any, path: Path | str, **args: Any) -> Any:
            action = FileEditorAction(command=command, path=str(path), **args)
            return conversation.execute_tool("file_editor", action)

        refused = [
            edit("view", checkout / "notes.txt"),  # absolute link to a file outside
            edit("view", checkout / "rel-notes.txt"),  # relative link, ../secret.txt
            edit("view", checkout / "environ.txt"),  # the worker's environment
            edit("view", "/proc/self/environ"),
            edit("view", "/etc/passwd"),  # an absolute path outside
            edit("view", f"{checkout}/../secret.txt"),  # .. out of the checkout
            edit("view", checkout / "linked" / HIDDEN_NAME),  # through a linked directory
            edit("view", checkout / "linked"),
            edit("str_replace", checkout / "notes.txt", old_str=SECRET, new_str="gone"),
            edit("create", f"{checkout}/../planted.py", file_text="x = 1\n"),
            edit("create", checkout / "linked" / "planted.py", file_text="x = 1\n"),
            edit("create", checkout / ".git" / "hooks" / "pre-commit", file_text="#!/bin/sh\n"),
            edit("insert", checkout / ".git" / "config", insert_line=1, new_str="x=1\n"),
        ]
        for observation in refused:
            assert observation.is_error, observation.text
            assert observation.text.startswith("Refused: "), observation.text
            assert SECRET not in observation.text
            assert "PATH=" not in observation.text and "root:" not in observation.text
        assert "outside the repository checkout" in refused[0].text
        assert f"leads to {outside / 'secret.txt'}" in refused[0].text
        assert "inside .git" in refused[-1].text
        # Nothing was changed or planted outside, nor under .git.
        assert (outside / "secret.txt").read_text() == SECRET + "\n"
        assert not (outside / "planted.py").exists()
        assert not (outside / "outside" / "planted.py").exists()
        assert not (checkout / ".git" / "hooks").exists()
        assert (checkout / ".git" / "config").read_text() == "[core]\n"

        # Inside the checkout everything works as before.
        target = checkout / "tests" / "test_calc.py"
        (checkout / "tests").mkdir()
        created = edit("create", target, file_text="from calc import add\n")
        assert not created.is_error, created.text
        replaced = edit("str_replace", target, old_str="add", new_str="add as plus")
        assert not replaced.is_error, replaced.text
        assert target.read_text() == "from calc import add as plus\n"
        shown = edit("view", checkout / "alias.py")
        assert not shown.is_error and "return a + b" in shown.text
        listing = edit("view", checkout)
        assert not listing.is_error, listing.text
        assert f"{checkout}/calc.py" in listing.text and f"{checkout}/linked/" in listing.text
        # The listing does not look inside a linked directory that leads out.
        assert HIDDEN_NAME not in listing.text
        # The .git directory may still be read (no secret is kept there).
        assert not edit("view", checkout / ".git" / "config").is_error
    finally:
        conversation.close()


def test_agent_cannot_read_a_linked_secret_through_the_file_editor(
    hostile_checkout: Path,
) -> None:
    """The real agent loop: an LLM (prompt-injected by the PR) asks the file editor for a
    link to a secret outside the checkout, for the worker's environment and for a path with
    `..`. Every observation it gets back is a refusal; the secret is never in what it sees."""
    from openhands.sdk.llm import Message, MessageToolCall, TextContent
    from openhands.sdk.testing import TestLLM

    seen: list[str] = []

    class RecordingLLM(TestLLM):
        def completion(self, messages: list[Message], *args: Any, **kwargs: Any) -> Any:
            seen.append(json.dumps([m.model_dump(mode="json") for m in messages]))
            return super().completion(messages, *args, **kwargs)

    def view(n: int, path: str) -> Message:
        arguments = json.dumps({"command": "view", "path": path})
        return Message(
            role="assistant",
            content=[TextContent(text="")],
            tool_calls=[
                MessageToolCall(
                    id=f"call_view_{n}",
                    name="file_editor",
                    arguments=arguments,
                    origin="completion",
                )
            ],
        )

    checkout = hostile_checkout
    finish = Message(
        role="assistant",
        content=[TextContent(text="")],
        tool_calls=[
            MessageToolCall(
                id="call_finish",
                name="finish",
                arguments=json.dumps({"message": "done"}),
                origin="completion",
            )
        ],
    )
    llm = RecordingLLM.from_messages(
        [
            view(1, str(checkout / "notes.txt")),
            view(2, "/proc/self/environ"),
            view(3, f"{checkout}/../secret.txt"),
            view(4, str(checkout / "calc.py")),
            finish,
        ],
        model="gpt-4o-mini",
    )
    outcome = _run_conversation(checkout, "Write tests.", llm, AgentLimits(max_iterations=8))
    assert outcome.status == "finished", outcome
    assert len(seen) == 5  # one LLM call per step: every observation reached the LLM
    everything = seen[-1]
    assert everything.count("Refused: ") == 3, everything
    assert "return a + b" in everything  # the file inside was shown
    assert SECRET not in everything and SECRET not in outcome.reason
    assert "PATH=" not in everything


# ------------------------------------------------------------------------------------
# Pure helpers


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("TANDEM_WEBHOOK_SECRET", True),
        ("TANDEM_LOG_LEVEL", True),
        ("GITHUB_TOKEN", True),
        ("aws_secret_access_key", True),
        ("OPENAI_API_KEY", True),
        ("PGPASSWORD", True),
        ("PATH", False),
        ("HOME", False),
        ("LANG", False),
    ],
)
def test_is_secret_env_name(name: str, secret: bool) -> None:
    assert is_secret_env_name(name) is secret


def test_reason_is_one_redacted_line() -> None:
    text = "boom\nwith key sk-abcdefghijkl and https://u:p4ss@host/x and MYKEY and Bearer abc"
    line = one_line(text + " " + "x" * 1000, ["MYKEY"])
    assert "\n" not in line and len(line) <= 300
    for secret in ("sk-abcdefghijkl", "p4ss", "MYKEY", "Bearer abc"):
        assert secret not in line
    assert "LLMSettings" in repr(LLMSettings(MODEL, None, "k-123")) and "k-123" not in repr(
        LLMSettings(MODEL, None, "k-123")
    )


# ------------------------------------------------------------------------------------
# The fake itself behaves like an OpenAI-compatible server


async def test_scripted_llm_rejects_malformed_requests(start_llm: StartLLM) -> None:
    server = await start_llm([])
    url = server.url + "/chat/completions"
    auth = {"Authorization": "Bearer k"}
    user = {"role": "user", "content": "hi"}
    call = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "finish", "arguments": "{}"}}
        ],
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"model": "m", "messages": [user]}) as r:
            assert r.status == 401
        async with http.post(url, data=b"{nope", headers=auth) as r:
            assert r.status == 400
            assert (await r.json())["error"]["type"] == "invalid_request_error"
        async with http.post(url, json={"messages": [user]}, headers=auth) as r:
            assert r.status == 400
        async with http.post(url, json={"model": "m", "messages": []}, headers=auth) as r:
            assert r.status == 400
        async with http.post(url, json={"model": "m", "messages": [user, call]}, headers=auth) as r:
            assert r.status == 400
            assert "tool_call_id" in (await r.json())["error"]["message"]
        bad_tools = {"model": "m", "messages": [user], "tools": [{"type": "function"}]}
        async with http.post(url, json=bad_tools, headers=auth) as r:
            assert r.status == 400
        tools = [
            {"type": "function", "function": {"name": "finish", "parameters": {"type": "object"}}}
        ]
        ok = {"model": "m", "messages": [user], "tools": tools}
        async with http.post(url, json=ok, headers=auth) as r:
            assert r.status == 200
            body = await r.json()
    assert body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"]["name"] == "finish"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "message": "nothing more to do"
    }
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
