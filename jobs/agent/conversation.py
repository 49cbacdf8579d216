"""One agent conversation from start to end: :func:`run_agent` and what it needs around the SDK.

:func:`run_agent` builds the SDK ``LLM`` (:mod:`jobs.agent.agent_llm`) and an ``Agent`` with the
``terminal`` and the confined ``file_editor`` (:mod:`jobs.agent.editor`), then runs a
``LocalConversation`` on the workdir with the hardening of :mod:`jobs.agent.hardening` in place.
The conversation runs with ``arun()`` on a private event loop whose default executor
(:class:`.conversation_teardown.ToolThreads`) runs the tool calls; a ``loop.call_later`` timer
(the wall time, counted from the start of the run) or :class:`Cancellation` calls
``conversation.interrupt()``, which cancels the run even in the middle of an LLM call. Before the
first step the terminal is warmed up (:func:`_warm_up_terminal`); at the end
(:mod:`.conversation_teardown`) its tmux servers are killed and their sockets removed, the loop
and its threads are shut down and the scratch directory (terminal HOME, LLM profile store) is
deleted. How it ended is classified in :mod:`jobs.agent.outcome`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.redaction import one_line
from jobs.agent.agent_llm import LLMSettings, build_llm
from jobs.agent.conversation_teardown import ToolThreads, close, shutdown_loop
from jobs.agent.editor import checkout_file_editor
from jobs.agent.hardening import deny_secret_env, install_plugin_guard, untrusted
from jobs.agent.limits import AgentLimits
from jobs.agent.outcome import AgentOutcome, RunResult, classify, llm_failure, usage

log = logging.getLogger(__name__)

# How long the terminal tool waits for a command whose output stopped changing.
_TERMINAL_NO_CHANGE_TIMEOUT_S = 30
# Upper bound for getting the terminal's first pane in step (see _warm_up_terminal).
_TERMINAL_WARM_UP_S = 20.0


class Cancellation:
    """Lets another thread stop a running agent. Callbacks run in the cancelling thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self.cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Register `callback`; returns a function that unregisters it."""
        with self._lock:
            if not self.cancelled:
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)


def run_agent(
    workdir: Path,
    prompt: str,
    llm: LLMSettings,
    limits: AgentLimits,
    cancel: Cancellation | None = None,
    *,
    shell: list[str] | None = None,
) -> AgentOutcome:
    """Run one agent conversation on ``workdir`` and report how it ended. ``cancel.cancel()``
    (from another thread) interrupts it like the wall clock does: a superseded run stops
    spending LLM tokens at once instead of running on to its time limit.

    ``shell``: the command line of the shell the agent's terminal runs (on a PTY, through the
    SDK's subprocess terminal) instead of a local tmux bash; the Docker sandbox passes a
    ``docker exec -it <container> bash`` (see ``jobs.sandbox.DockerSandbox.terminal_command``),
    so every command the agent runs executes inside the part's container, while the LLM calls
    (and the key) stay in the worker. The file editor works on the same files (the checkout is
    bind-mounted at its own path) and on nothing outside the checkout."""
    secrets = [llm.api_key] if llm.api_key else []
    try:
        sdk_llm = build_llm(llm)
    except Exception as e:  # e.g. a model string pydantic rejects
        return AgentOutcome(
            "error", one_line(f"invalid LLM settings: {e}", secrets), 0, 0.0, 0.0, 0, 0
        )
    return _run_conversation(
        Path(workdir), prompt, sdk_llm, limits, secrets=secrets, cancel=cancel, shell=shell
    )


def _build_agent(llm: Any, terminal_home: Path, shell_path: Path | None = None) -> Any:
    from openhands.sdk import Agent
    from openhands.sdk.context.condenser import LLMSummarizingCondenser
    from openhands.sdk.tool import Tool
    from openhands.tools.terminal import TerminalTool

    terminal: dict[str, Any] = {
        "no_change_timeout_seconds": _TERMINAL_NO_CHANGE_TIMEOUT_S,
        # An empty home of its own: the worker's rc files, caches and
        # credential files (~/.netrc, ~/.config/gh, ...) stay out of the way,
        # and bash starts fast (no pyenv/conda init in ~/.bashrc).
        "env": {"HOME": str(terminal_home)},
    }
    if shell_path is not None:  # a sandboxed shell (its env and HOME are the sandbox's)
        terminal.update(terminal_type="subprocess", shell_path=str(shell_path))
    return Agent(
        llm=llm,
        tools=[
            Tool(name=TerminalTool.name, params=terminal),
            # The SDK's file_editor, confined to the checkout (see checkout_file_editor).
            Tool(name=checkout_file_editor()),
        ],
        system_prompt_kwargs={"cli_mode": True},
        # Summarizes old events once the history grows long; it calls the same LLM.
        condenser=LLMSummarizingCondenser(
            llm=llm.model_copy(update={"usage_id": "tandem-condenser"}),
            max_size=80,
            keep_first=4,
        ),
    )


def _run_conversation(
    workdir: Path,
    prompt: str,
    llm: Any,
    limits: AgentLimits,
    *,
    secrets: list[str] | None = None,
    cancel: Cancellation | None = None,
    shell: list[str] | None = None,
) -> AgentOutcome:
    """Run ``prompt`` with an already-built SDK ``LLM`` (tests pass a ``TestLLM``)."""
    secrets = list(secrets or [])
    start = time.monotonic()
    workdir = workdir.resolve()
    if not workdir.is_dir():
        return AgentOutcome("error", f"workdir {workdir} is not a directory", 0, 0.0, 0.0, 0, 0)

    deny_secret_env(os.environ)
    install_plugin_guard()

    steps = _StepCounter()
    conversation: Any = None
    result = RunResult()
    loop = asyncio.new_event_loop()
    pool = ToolThreads()
    loop.set_default_executor(pool)
    scratch = tempfile.TemporaryDirectory(prefix="tandem-agent-", ignore_cleanup_errors=True)
    scratch_dir = Path(scratch.name)
    try:
        with untrusted(workdir):
            try:
                conversation = _open_conversation(workdir, llm, limits, scratch_dir, shell, steps)
                conversation.send_message(prompt)  # also starts the tools
                # The wall-time limit covers the set-up too.
                _warm_up_terminal(conversation, scratch_dir, _remaining(start, limits))
                result = loop.run_until_complete(
                    _drive(conversation, _remaining(start, limits), cancel)
                )
            except Exception as e:
                result.exception = e
            finally:
                if conversation is not None:
                    close(conversation, pool)
    finally:
        shutdown_loop(loop, pool)
        scratch.cleanup()
    return _outcome(conversation, result, limits, len(steps.responses), start, secrets)


class _StepCounter:
    """A conversation callback that counts the agent's steps."""

    def __init__(self) -> None:
        self.responses: set[str] = set()

    def __call__(self, event: Any) -> None:
        # One agent step = one LLM response, whether it asked for tools or said something.
        if getattr(event, "source", None) == "agent":
            response_id = getattr(event, "llm_response_id", None)
            if response_id:
                self.responses.add(str(response_id))


def _open_conversation(
    workdir: Path,
    llm: Any,
    limits: AgentLimits,
    scratch_dir: Path,
    shell: list[str] | None,
    steps: _StepCounter,
) -> Any:
    """The SDK conversation on ``workdir``, everything it keeps in memory or in ``scratch_dir``."""
    from openhands.sdk.conversation.impl.local_conversation import LocalConversation
    from openhands.sdk.io import InMemoryFileStore

    terminal_home = scratch_dir / "home"
    terminal_home.mkdir()
    shell_path = _shell_script(scratch_dir, shell) if shell else None
    return LocalConversation(
        agent=_build_agent(llm, terminal_home, shell_path),
        workspace=str(workdir),
        # Events stay in memory: nothing lands in workdir or on disk.
        persistence_dir=None,
        file_store=InMemoryFileStore(),
        # The SDK creates its LLM profile store eagerly; keep it out of ~.
        profile_store_dir=scratch_dir / "profiles",
        callbacks=[steps],
        max_iteration_per_run=max(1, limits.max_iterations),
        max_budget_per_run=limits.max_cost_usd,
        visualizer=None,
        delete_on_close=True,
    )


def _outcome(
    conversation: Any,
    result: RunResult,
    limits: AgentLimits,
    iterations: int,
    start: float,
    secrets: list[str],
) -> AgentOutcome:
    """How the conversation ended, what it spent (reasons redacted), logged once."""
    status, reason = classify(conversation, result, limits)
    prompt_tokens, completion_tokens, cost = usage(conversation)
    outcome = AgentOutcome(
        status=status,
        reason=one_line(reason, secrets),
        iterations=iterations,
        duration_s=round(time.monotonic() - start, 3),
        cost_usd=cost,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        llm_failure=(
            llm_failure(result.exception)
            if status == "llm_error" and result.exception is not None
            else None
        ),
    )
    log.info(
        "agent run ended: %s (%s) after %d iterations, %.1fs, $%.4f",
        outcome.status,
        outcome.reason,
        outcome.iterations,
        outcome.duration_s,
        outcome.cost_usd,
    )
    return outcome


def _shell_script(scratch: Path, shell: list[str]) -> Path:
    """The SDK's subprocess terminal takes a shell *binary* and runs ``<it> -i``."""
    import shlex

    script = scratch / "sandbox-shell"
    script.write_text(f'#!/bin/sh\nexec {shlex.join(shell)} "$@"\n')
    script.chmod(0o700)
    return script


def _remaining(start: float, limits: AgentLimits) -> float:
    return max(0.0, limits.wall_time_s - (time.monotonic() - start))


def _warm_up_terminal(conversation: Any, scratch: Path, budget_s: float) -> None:
    """Get the terminal's first tmux pane in step before the agent uses it.

    The SDK types its prompt set-up (``PROMPT_COMMAND`` printing a JSON ``PS1`` that it
    parses to see where a command ends) into a new pane 0.1 s after starting bash. When
    bash starts slower than that (a busy machine, a slow rc file), the set-up is lost
    or its first prompt arrives late, and the SDK then reports commands as finished
    before they ran, or waits for its no-change timeout on every command. So we run
    the same set-up as a command, followed by a marker, until a command comes back
    with its marker and a parsed exit code. ``execute_tool`` adds no events: none of
    this is in the agent's history.
    """
    from openhands.tools.terminal import TerminalAction
    from openhands.tools.terminal.metadata import CmdOutputMetadata

    setup = scratch / "terminal-setup.sh"
    ps1 = CmdOutputMetadata.to_ps1_prompt()
    setup.write_text(f'set +H; export PROMPT_COMMAND=\'export PS1="{ps1}"\'; export PS2=""\n')
    deadline = time.monotonic() + min(_TERMINAL_WARM_UP_S, budget_s / 2)
    attempt = 0
    while True:
        marker = f"tandem-ready-{attempt}"
        try:
            observation = conversation.execute_tool(
                "terminal",
                TerminalAction(command=f". {setup}; echo {marker}", timeout=1.5),
            )
        except Exception as e:
            log.warning("terminal warm-up failed: %s", type(e).__name__)
            return
        if marker in observation.text and observation.metadata.exit_code == 0:
            if attempt:
                log.info("terminal warm-up: in step after %d retries", attempt)
            return
        if time.monotonic() > deadline:
            log.warning("terminal did not settle during warm-up; continuing")
            return
        attempt += 1


async def _drive(
    conversation: Any, wall_time_s: float, cancel: Cancellation | None = None
) -> RunResult:
    result = RunResult()

    def on_timeout() -> None:
        result.timed_out = True
        conversation.interrupt()

    def on_cancel() -> None:
        if not result.timed_out:
            result.cancelled = result.timed_out = True
            conversation.interrupt()

    loop = asyncio.get_running_loop()
    task = loop.create_task(conversation.arun())
    timer = loop.call_later(max(0.0, wall_time_s), on_timeout)

    def cancel_from_any_thread() -> None:
        loop.call_soon_threadsafe(on_cancel)

    forget = cancel.on_cancel(cancel_from_any_thread) if cancel is not None else None
    try:
        await task
    except asyncio.CancelledError:
        # arun() turns an interrupt into PAUSED, except before its run loop started.
        if not result.timed_out:
            raise
    except Exception as e:
        result.exception = e
    finally:
        if forget is not None:
            forget()
        timer.cancel()
    return result
