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
- **LLM outages**: litellm retries are kept low (a few, with short waits; see
  :mod:`jobs.agent.agent_llm`), so an LLM that always answers 500 ends in ``"llm_error"``
  within seconds;
  ``AgentOutcome.llm_failure`` then names the failure in a few words for a headline ("LLM key
  rejected (HTTP 401 from the provider)"; see :func:`jobs.agent.outcome.llm_failure`).

The terminal's environment
--------------------------
The SDK builds every environment it hands to agent-run processes (terminal sessions,
tmux panes, hook commands) with ``openhands.sdk.utils.command.sanitized_env``, which
drops a deny-list of names and prefixes. There is no public hook to extend it, so
before each run we add to that deny-list every variable whose name starts with
``TANDEM_`` or contains ``TOKEN``/``SECRET``/``KEY``/``PASSWORD`` (see
:func:`jobs.agent.hardening.deny_secret_env`). The tmux backend unsets the dropped names
in its server's global environment, so new panes never see them. ``os.environ`` itself is never
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
``_warm_up_terminal`` in :mod:`jobs.agent.conversation`): the SDK's tmux pane set-up races
with a slow bash start.

Persistence: the conversation runs in memory (``persistence_dir=None``), so nothing
is written to ``workdir`` except by the agent's own tools. Everything else (the LLM
profile store the SDK insists on, the terminal's HOME) lives in a temporary directory
that is removed when the run ends; the terminal's tmux server is killed and its socket
removed.

The modules
-----------
- :mod:`jobs.agent.agent_llm`: :class:`LLMSettings`, :func:`llm_settings_for`, :func:`build_llm`.
- :mod:`jobs.agent.editor`: the file editor confined to the checkout.
- :mod:`jobs.agent.hardening`: the secret-env deny-list and the project-plugin guard.
- :mod:`jobs.agent.limits`: :class:`AgentLimits`, what a run may spend.
- :mod:`jobs.agent.conversation`: :func:`run_agent`, enforcing the limits, the terminal and the
  loop.
- :mod:`jobs.agent.outcome`: :class:`AgentOutcome` and how the end of a run is classified.
"""

from __future__ import annotations

import os

# Must be set before litellm is first imported (the submodules below may import it): never
# download the model price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENHANDS_SUPPRESS_BANNER", "1")

from jobs.agent.agent_llm import LLMSettings, build_llm, llm_settings_for
from jobs.agent.conversation import Cancellation, run_agent
from jobs.agent.editor import checkout_file_editor, file_editor_refusal
from jobs.agent.hardening import is_secret_env_name
from jobs.agent.limits import AgentLimits
from jobs.agent.outcome import AgentOutcome, Status

__all__ = [
    "AgentLimits",
    "AgentOutcome",
    "Cancellation",
    "LLMSettings",
    "Status",
    "build_llm",
    "checkout_file_editor",
    "file_editor_refusal",
    "is_secret_env_name",
    "llm_settings_for",
    "run_agent",
]
