"""Run one real OpenHands agent on a local checkout.

``run_agent`` is the only entry point the rest of Tandem needs. It builds an OpenHands
``Agent`` with the ``terminal`` and ``file_editor`` tools (``finish`` and ``think`` are
added by the SDK), runs a ``LocalConversation`` on ``workdir`` and turns whatever
happens into an :class:`AgentOutcome`. It blocks (call it through
``asyncio.to_thread``) and never raises for things the outside world does: an LLM
outage, HTTP 5xx, garbage responses, timeouts, bad tool output or limits being hit
all come back as a status with a one-line reason that is safe to show in a check run.

How the limits work
-------------------
- **Iterations**: ``max_iteration_per_run`` of the conversation. When it is hit the
  SDK sets the status to ERROR and emits a ``ConversationErrorEvent`` with code
  ``MaxIterationsReached`` (it does *not* raise); we report ``"max_iterations"``.
- **Wall time** (counted from the start of ``run_agent``): the conversation runs
  with ``arun()`` on a private event loop and a ``loop.call_later`` timer calls
  ``conversation.interrupt()``. That cancels the run
  task even in the middle of an LLM call (the synchronous ``run()`` cannot be
  paused mid-call: ``pause()`` waits for the state lock the step holds) and sends
  Ctrl-C to a running terminal command. We report ``"timeout"``.
- **Cost** (``AgentLimits.max_cost_usd``): the SDK's own ``max_budget_per_run`` over the
  conversation's combined metrics (agent and condenser); checked before each step, it ends the
  run with a ``MaxBudgetReached`` error event; we report ``"max_cost"``.
- **LLM outages**: litellm retries are kept low (``_LLM_RETRIES`` with short waits),
  so an LLM that always answers 500 ends in ``"llm_error"`` within seconds.

The terminal's environment
--------------------------
The SDK builds every environment it hands to agent-run processes (terminal sessions,
tmux panes, hook commands) with ``openhands.sdk.utils.command.sanitized_env``, which
drops a deny-list of names and prefixes. There is no public hook to extend it, so
before each run we add to that deny-list every variable whose name starts with
``TANDEM_`` or contains ``TOKEN``/``SECRET``/``KEY``/``PASSWORD`` (see
:func:`_deny_secret_env`). The tmux backend unsets the dropped names in its server's
global environment, so new panes never see them. ``os.environ`` itself is never
modified (that would race with the rest of the worker). This keeps secrets out of
``env``; it is not an isolation boundary: in the local (dev) mode the agent's
processes run as the worker's user and could still read ``/proc/<pid>/environ`` of
their ancestors. The Docker sandbox is the boundary.

The file editor runs in the worker, on the host, in both sandbox modes, so it is confined to
the checkout (:func:`checkout_file_editor`): a path that resolves outside it (a symbolic link
in the PR such as ``notes.txt -> /etc/passwd``, an absolute path or ``..`` the LLM was talked
into) gets an error observation, and nothing under ``.git`` is changed through it.

The PR's checkout cannot change how the agent runs: ambient *project* plugins
(``.agents/plugins``, ``.openhands/plugins`` with hooks, MCP servers and skills) are
not loaded for a Tandem workdir, and no agent context (so no project skills or
memory) is used.

The terminal runs with ``HOME`` set to an empty directory of the run's own, so the
worker's rc files, caches and credential files are not in its way, and bash starts
fast. Before the agent's first step the terminal is warmed up (see
:func:`_warm_up_terminal`): the SDK's tmux pane set-up races with a slow bash start.

Persistence: the conversation runs in memory (``persistence_dir=None``), so nothing
is written to ``workdir`` except by the agent's own tools. Everything else (the LLM
profile store the SDK insists on, the terminal's HOME) lives in a temporary directory
that is removed when the run ends; the terminal's tmux server is killed and its socket
removed.
"""

from __future__ import annotations

import os

# Must be set before litellm is first imported: never download the model price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENHANDS_SUPPRESS_BANNER", "1")

import asyncio
import concurrent.futures
import functools
import logging
import math
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from bot.repo_config import TestGeneration
from bot.settings import Settings

__all__ = ["AgentLimits", "AgentOutcome", "LLMSettings", "run_agent"]

log = logging.getLogger(__name__)

Status = Literal["finished", "max_iterations", "max_cost", "timeout", "llm_error", "error"]

# litellm retries per LLM call (after the first attempt) and their backoff, in seconds.
_LLM_RETRIES = 2
_LLM_RETRY_MIN_WAIT = 1
_LLM_RETRY_MAX_WAIT = 4
# How long the terminal tool waits for a command whose output stopped changing.
_TERMINAL_NO_CHANGE_TIMEOUT_S = 30
# After a wall-time interrupt, how long a running tool call may take to return.
_TOOL_DRAIN_S = 10.0
# Upper bound for getting the terminal's first pane in step (see _warm_up_terminal).
_TERMINAL_WARM_UP_S = 20.0
_REASON_MAX = 300
_USAGE_ID = "tandem-agent"


@dataclass(frozen=True)
class LLMSettings:
    model: str  # any litellm model string, e.g. "openai/gpt-4o-mini"
    base_url: str | None
    api_key: str | None  # never logged
    timeout_s: float = 120.0
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        key = "None" if self.api_key is None else "'***'"
        return (
            f"LLMSettings(model={self.model!r}, base_url={self.base_url!r}, api_key={key}, "
            f"timeout_s={self.timeout_s!r})"
        )


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


@dataclass(frozen=True)
class AgentLimits:
    max_iterations: int = 30
    wall_time_s: float = 600.0
    # USD across the run's LLMs (agent and condenser), from the SDK's own metrics; None: no cap.
    max_cost_usd: float | None = None


@dataclass(frozen=True)
class AgentOutcome:
    status: Status
    reason: str  # one human line, safe to show in a check run (no secrets)
    iterations: int
    duration_s: float
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int


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
            "error", _one_line(f"invalid LLM settings: {e}", secrets), 0, 0.0, 0.0, 0, 0
        )
    return _run_conversation(
        Path(workdir), prompt, sdk_llm, limits, secrets=secrets, cancel=cancel, shell=shell
    )


# --------------------------------------------------------------------------------------
# Building the agent


def build_llm(
    settings: LLMSettings,
    *,
    usage_id: str = _USAGE_ID,
    num_retries: int = _LLM_RETRIES,
    retry_max_wait: int = _LLM_RETRY_MAX_WAIT,
    max_output_tokens: int | None = None,
) -> Any:
    """The SDK LLM for an OpenAI-compatible server (`api_mode="chat"`). The review's LLM pass
    uses it too, with its own usage id, fewer retries and an answer-length cap."""
    from openhands.sdk import LLM

    return LLM(
        model=settings.model,
        base_url=settings.base_url,
        api_key=SecretStr(settings.api_key) if settings.api_key else None,
        api_mode="chat",
        usage_id=usage_id,
        timeout=max(1, math.ceil(settings.timeout_s)),
        num_retries=num_retries,
        retry_min_wait=_LLM_RETRY_MIN_WAIT,
        retry_max_wait=retry_max_wait,
        retry_multiplier=1.0,
        input_cost_per_token=settings.input_cost_per_token,
        output_cost_per_token=settings.output_cost_per_token,
        max_output_tokens=max_output_tokens,
        log_completions=False,
        stream=False,
    )


def llm_settings_for(settings: Settings, tg: TestGeneration) -> LLMSettings | None:
    """The LLM a repository gets: its `test_generation.model` or the app's, priced by
    `test_generation.model_price`. None when neither names a model."""
    model = tg.model or settings.llm_model
    if model is None:
        return None
    price = tg.model_price
    return LLMSettings(
        model=model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_s=settings.llm_timeout_s,
        input_cost_per_token=(
            None if price.input_per_million_tokens is None else price.input_per_million_tokens / 1e6
        ),
        output_cost_per_token=(
            None
            if price.output_per_million_tokens is None
            else price.output_per_million_tokens / 1e6
        ),
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


# --------------------------------------------------------------------------------------
# The file editor, confined to the checkout

_FILE_EDITOR_SPEC = "tandem_file_editor"


def file_editor_refusal(root: Path, path: str, command: str) -> tuple[str | None, Path | None]:
    """Whether the file editor may run ``command`` on ``path`` in the checkout at ``root``
    (already resolved): ``(None, real path)`` if it may, ``(reason, None)`` if not.

    The path is resolved first (symbolic links followed, ``..`` folded), so a link in the PR
    (``notes.txt -> /etc/passwd``) or a path the LLM was talked into (``/proc/self/environ``,
    ``<checkout>/../secret``) is refused when it ends outside the checkout. Changes under
    ``.git`` are refused too: the worker runs git on this checkout outside the sandbox.
    Relative paths pass through unchanged; the SDK's editor refuses them itself."""
    if not os.path.isabs(path):
        return None, None
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError) as e:
        return f"Refused: cannot resolve {path!r} ({type(e).__name__}).", None
    if not real.is_relative_to(root):
        shown = path if str(real) == os.path.normpath(path) else f"{path} (which leads to {real})"
        return (
            f"Refused: {shown} is outside the repository checkout {root}. The file editor only "
            "works on files inside the checkout; symbolic links are followed before this check."
        ), None
    if command != "view" and real.is_relative_to(root / ".git"):
        return f"Refused: {path} is inside .git; the file editor does not change git's files.", None
    return None, real


@functools.cache
def checkout_file_editor() -> str:
    """Register (once per process) the SDK's ``file_editor`` confined to the conversation's
    workspace, and return the name to put in an agent's ``Tool`` spec.

    The file editor runs in the worker, on the host, even when the terminal runs in a sandbox
    container; the SDK's editor opens any absolute path. This keeps the SDK's tool (same name,
    ``file_editor``, same schema and description for the LLM) and wraps its executor: an
    action whose path resolves outside the checkout (see :func:`file_editor_refusal`) gets an
    error observation instead of being run; an allowed one runs on the resolved path, so the
    editor does not follow a link again. A directory view does not descend into linked
    directories outside the checkout. It is registered under its own name, so the SDK's plain
    ``file_editor`` stays as it is for anyone else in the process."""
    from openhands.sdk.tool import register_tool
    from openhands.tools.file_editor import FileEditorAction, FileEditorObservation
    from openhands.tools.file_editor import FileEditorTool as SDKFileEditorTool
    from openhands.tools.file_editor.editor import FileEditor
    from openhands.tools.file_editor.impl import FileEditorExecutor

    class CheckoutFileEditor(FileEditor):
        def __init__(self, root: Path) -> None:
            super().__init__(workspace_root=str(root))
            self.root = root

        def _list_directory_for_view(self, path: Path) -> list[str]:
            # The SDK's listing (two levels, hidden entries left out), except that it does not
            # look inside a linked directory that leads out of the checkout.
            entries = [path]
            for item in sorted(path.iterdir(), key=str):
                if item.name.startswith("."):
                    continue
                entries.append(item)
                if item.is_dir() and Path(os.path.realpath(item)).is_relative_to(self.root):
                    with suppress(OSError):
                        entries.extend(
                            child
                            for child in sorted(item.iterdir(), key=str)
                            if not child.name.startswith(".")
                        )
            return [self._format_directory_entry(path, entry) for entry in entries]

    class CheckoutFileEditorExecutor(FileEditorExecutor):
        def __init__(self, root: Path) -> None:
            # What FileEditorExecutor.__init__ sets, with the confined editor.
            self.editor = CheckoutFileEditor(root)
            self.allowed_edits_files = None
            self.root = root

        def __call__(
            self, action: FileEditorAction, conversation: Any = None
        ) -> FileEditorObservation:
            refusal, real = file_editor_refusal(self.root, action.path, action.command)
            if refusal is not None:
                log.warning("file_editor %s refused: %s", action.command, refusal)
                return FileEditorObservation.from_text(
                    text=refusal, command=action.command, is_error=True
                )
            if real is not None and str(real) != action.path:
                action = action.model_copy(update={"path": str(real)})
            return super().__call__(action, conversation)

    class CheckoutFileEditorTool(SDKFileEditorTool):
        name = SDKFileEditorTool.name  # what the LLM calls: file_editor

        @classmethod
        def create(cls, conv_state: Any) -> Any:
            root = Path(conv_state.workspace.working_dir).resolve()
            return [
                tool.set_executor(CheckoutFileEditorExecutor(root)).model_copy(
                    update={
                        "description": f"{tool.description}\nOnly files inside {root} can be "
                        "viewed or changed; a path (or a symbolic link) leading outside it is "
                        "refused."
                    }
                )
                for tool in super().create(conv_state)
            ]

    register_tool(_FILE_EDITOR_SPEC, CheckoutFileEditorTool)
    return _FILE_EDITOR_SPEC


# --------------------------------------------------------------------------------------
# Environment and project-plugin hardening

_SECRET_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_SECRET_PREFIX = "TANDEM_"
_hardening_lock = threading.Lock()
# Workdirs of runs in progress: ambient plugins are never loaded from these.
_untrusted_dirs: dict[str, int] = {}


def is_secret_env_name(name: str) -> bool:
    """Whether the agent's processes must not inherit an env var with this name."""
    return name.upper().startswith(_SECRET_PREFIX) or bool(_SECRET_NAME.search(name))


def _deny_secret_env(environ: Mapping[str, str]) -> None:
    """Add secret-looking names in ``environ`` to the SDK's sanitized_env deny-list."""
    from openhands.sdk.utils import command

    names = {k for k in environ if is_secret_env_name(k)}
    with _hardening_lock:
        denied = frozenset(command._SENSITIVE_ENV_VARS)
        if not names <= denied:
            command._SENSITIVE_ENV_VARS = denied | names
        prefixes = tuple(command._SENSITIVE_ENV_PREFIXES)
        if _SECRET_PREFIX not in prefixes:
            command._SENSITIVE_ENV_PREFIXES = (*prefixes, _SECRET_PREFIX)


def _install_plugin_guard() -> None:
    """Make LocalConversation skip ambient plugins for workdirs registered here."""
    from openhands.sdk.conversation.impl import local_conversation as lc

    with _hardening_lock:
        original = lc.load_available_plugins
        if getattr(original, "_tandem_guard", False):
            return

        def guarded(work_dir: str | Path | None = None, **kwargs: Any) -> Any:
            if work_dir is not None and str(Path(work_dir).resolve()) in _untrusted_dirs:
                return {}
            return original(work_dir, **kwargs)

        guarded._tandem_guard = True  # type: ignore[attr-defined]
        lc.load_available_plugins = guarded


@contextmanager
def _untrusted(workdir: Path) -> Iterator[None]:
    key = str(workdir.resolve())
    with _hardening_lock:
        _untrusted_dirs[key] = _untrusted_dirs.get(key, 0) + 1
    try:
        yield
    finally:
        with _hardening_lock:
            _untrusted_dirs[key] -= 1
            if not _untrusted_dirs[key]:
                del _untrusted_dirs[key]


# --------------------------------------------------------------------------------------
# Running


@dataclass
class _RunResult:
    timed_out: bool = False
    cancelled: bool = False
    exception: BaseException | None = None


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
    from openhands.sdk.conversation.impl.local_conversation import LocalConversation
    from openhands.sdk.io import InMemoryFileStore

    secrets = list(secrets or [])
    start = time.monotonic()
    workdir = workdir.resolve()
    if not workdir.is_dir():
        return AgentOutcome("error", f"workdir {workdir} is not a directory", 0, 0.0, 0.0, 0, 0)

    _deny_secret_env(os.environ)
    _install_plugin_guard()

    responses: set[str] = set()

    def count_steps(event: Any) -> None:
        # One agent step = one LLM response, whether it asked for tools or said something.
        if getattr(event, "source", None) == "agent":
            response_id = getattr(event, "llm_response_id", None)
            if response_id:
                responses.add(str(response_id))

    conversation: Any = None
    result = _RunResult()
    loop = asyncio.new_event_loop()
    pool = _ToolThreads()
    loop.set_default_executor(pool)
    scratch = tempfile.TemporaryDirectory(prefix="tandem-agent-", ignore_cleanup_errors=True)
    scratch_dir = Path(scratch.name)
    terminal_home = scratch_dir / "home"
    terminal_home.mkdir()
    shell_path = _shell_script(scratch_dir, shell) if shell else None
    try:
        with _untrusted(workdir):
            try:
                conversation = LocalConversation(
                    agent=_build_agent(llm, terminal_home, shell_path),
                    workspace=str(workdir),
                    # Events stay in memory: nothing lands in workdir or on disk.
                    persistence_dir=None,
                    file_store=InMemoryFileStore(),
                    # The SDK creates its LLM profile store eagerly; keep it out of ~.
                    profile_store_dir=scratch_dir / "profiles",
                    callbacks=[count_steps],
                    max_iteration_per_run=max(1, limits.max_iterations),
                    max_budget_per_run=limits.max_cost_usd,
                    visualizer=None,
                    delete_on_close=True,
                )
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
                    _close(conversation, pool)
    finally:
        _shutdown_loop(loop, pool)
        scratch.cleanup()

    status, reason = _classify(conversation, result, limits)
    prompt_tokens, completion_tokens, cost = _usage(conversation)
    outcome = AgentOutcome(
        status=status,
        reason=_one_line(reason, secrets),
        iterations=len(responses),
        duration_s=round(time.monotonic() - start, 3),
        cost_usd=cost,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
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
) -> _RunResult:
    result = _RunResult()

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


def _close(conversation: Any, pool: _ToolThreads) -> None:
    """Stop the terminal (its tmux server and shells) and close the conversation.

    After a wall-time interrupt a tool call may still be running in a worker thread (it
    got Ctrl-C). Give it a moment to return first: the SDK's terminal executor rebuilds
    its tmux pool when a running command loses its server, which would leave a fresh
    tmux server behind if we killed the old one under it. Recovery is switched off for
    the same reason.
    """
    pool.wait_idle(_TOOL_DRAIN_S)
    executors = _terminal_executors(conversation)
    for executor in executors:
        try:
            executor._recover_tmux_pool = _no_recovery
        except Exception as e:
            log.debug("terminal recovery off: %s", e)
    servers = _tmux_servers(executors)
    try:
        conversation.close()
    except Exception as e:
        log.warning("closing the agent conversation failed: %s", type(e).__name__)
    _kill_tmux(servers + _tmux_servers(executors))


def _no_recovery(failed_pool: Any) -> None:
    return None


def _terminal_executors(conversation: Any) -> list[Any]:
    try:
        tools = list(conversation.agent.tools_map.values())
    except Exception:
        return []
    executors = [getattr(tool, "executor", None) for tool in tools]
    return [e for e in executors if e is not None and hasattr(e, "_recover_tmux_pool")]


def _tmux_servers(executors: list[Any]) -> list[Any]:
    """The tmux servers behind the terminal executors (SDK internals; best effort)."""
    servers = []
    for executor in executors:
        for holder in (getattr(executor, "_pool", None), getattr(executor, "_session", None)):
            terminal = getattr(holder, "terminal", holder)
            server = getattr(terminal, "_server", None) or getattr(terminal, "server", None)
            if server is not None and hasattr(server, "is_alive"):
                servers.append(server)
    return servers


def _kill_tmux(servers: list[Any]) -> None:
    # tmux 3.x leaves its socket file behind when the last session is killed.
    for server in servers:
        try:
            if server.is_alive():
                server.kill()
            if server.socket_path:
                Path(server.socket_path).unlink(missing_ok=True)
            elif server.socket_name:
                tmux_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
                (tmux_dir / str(server.socket_name)).unlink(missing_ok=True)
        except Exception as e:
            log.debug("tmux cleanup: %s", e)


class _ToolThreads(concurrent.futures.ThreadPoolExecutor):
    """The run's default executor; remembers its futures so we can wait for them."""

    def __init__(self) -> None:
        super().__init__(max_workers=8, thread_name_prefix="tandem-agent")
        self._futures: list[concurrent.futures.Future[Any]] = []
        self._futures_lock = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._futures_lock:
            self._futures = [f for f in self._futures if not f.done()] + [future]
        return future

    def wait_idle(self, timeout: float) -> bool:
        with self._futures_lock:
            futures = list(self._futures)
        _, not_done = concurrent.futures.wait(futures, timeout=timeout)
        return not not_done


def _shutdown_loop(loop: asyncio.AbstractEventLoop, pool: concurrent.futures.Executor) -> None:
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=5))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception as e:
        log.debug("event loop shutdown: %s", e)
    finally:
        loop.close()
        # A tool thread interrupted by the wall clock may still be finishing: don't wait.
        pool.shutdown(wait=False, cancel_futures=True)


# --------------------------------------------------------------------------------------
# Classifying the end of a run


def _classify(conversation: Any, result: _RunResult, limits: AgentLimits) -> tuple[Status, str]:
    from openhands.sdk.conversation.state import ConversationExecutionStatus as S

    if result.exception is not None:
        return _classify_exception(result.exception)
    if conversation is None:
        return "error", "the agent conversation could not be created"

    status = conversation.state.execution_status
    error = _last_conversation_error(conversation)
    if status == S.FINISHED:
        return "finished", _finish_message(conversation) or "agent finished"
    if result.cancelled:
        return "error", "agent stopped: the run was cancelled"
    if result.timed_out:
        return "timeout", f"agent stopped after the wall-time limit of {limits.wall_time_s:g}s"
    if status == S.ERROR and error is not None and error.code == "MaxIterationsReached":
        return "max_iterations", f"agent reached the iteration limit ({limits.max_iterations})"
    if status == S.ERROR and error is not None and error.code == "MaxBudgetReached":
        return "max_cost", f"agent reached the cost limit (${limits.max_cost_usd or 0:.4f})"
    if status == S.STUCK:
        return "error", "agent got stuck repeating the same actions"
    if error is not None:
        return "error", f"agent error ({error.code}): {error.detail}"
    return "error", f"agent stopped in state {getattr(status, 'value', status)}"


_LLM_EXCEPTION_MODULES = ("litellm", "openai", "httpx", "httpcore", "aiohttp")


def _is_llm_exception(e: BaseException) -> bool:
    from openhands.sdk.llm.exceptions import LLMError

    if isinstance(e, LLMError):
        return True
    return any(
        (type(x).__module__ or "").split(".")[0] in _LLM_EXCEPTION_MODULES
        for x in type(e).__mro__
        if x not in (BaseException, Exception, object)
    )


def _classify_exception(e: BaseException) -> tuple[Status, str]:
    from openhands.sdk.conversation.exceptions import ConversationRunError

    original: BaseException = e
    if isinstance(e, ConversationRunError):
        original = e.original_exception
    if _is_llm_exception(original):
        return "llm_error", f"LLM request failed: {_describe(original)}"
    if isinstance(original, TimeoutError):
        return "llm_error", f"LLM request timed out: {_describe(original)}"
    return "error", f"agent failed: {_describe(original)}"


def _describe(e: BaseException) -> str:
    text = str(e).strip() or "no details"
    return f"{type(e).__name__}: {text}"


def _last_conversation_error(conversation: Any) -> Any:
    from openhands.sdk.event.conversation_error import ConversationErrorEvent

    for event in reversed(list(conversation.state.events)):
        if isinstance(event, ConversationErrorEvent):
            return event
    return None


def _finish_message(conversation: Any) -> str | None:
    from openhands.sdk.event import ActionEvent, MessageEvent

    for event in reversed(list(conversation.state.events)):
        if isinstance(event, ActionEvent) and event.tool_name == "finish":
            message = getattr(event.action, "message", None)
            return str(message) if message else None
        if isinstance(event, MessageEvent) and event.source == "agent":
            from openhands.sdk.llm import content_to_str

            return " ".join(content_to_str(event.llm_message.content)) or None
    return None


def _usage(conversation: Any) -> tuple[int, int, float]:
    if conversation is None:
        return 0, 0, 0.0
    try:
        metrics = conversation.conversation_stats.get_combined_metrics()
    except Exception:
        return 0, 0, 0.0
    usage = metrics.accumulated_token_usage
    prompt = int(usage.prompt_tokens) if usage is not None else 0
    completion = int(usage.completion_tokens) if usage is not None else 0
    return prompt, completion, float(metrics.accumulated_cost or 0.0)


_URL_CREDENTIALS = re.compile(r"(\w+://)[^/\s:@]+:[^/\s@]+@")
_KEYISH = re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|Bearer\s+\S+)")


def _one_line(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _KEYISH.sub("***", text)
    text = " ".join(text.split())
    if len(text) > _REASON_MAX:
        text = text[: _REASON_MAX - 1] + "…"
    return text
