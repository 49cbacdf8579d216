"""How an agent conversation is torn down (:mod:`jobs.agent.conversation` runs it): its tool
threads (:class:`ToolThreads`, the private event loop's default executor, which remembers its
futures so a call interrupted by the wall clock can drain), the terminal's tmux servers and
their sockets, and the loop itself. All of it best effort: SDK internals, read defensively.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# After a wall-time interrupt, how long a running tool call may take to return.
_TOOL_DRAIN_S = 10.0


def close(conversation: Any, pool: ToolThreads) -> None:
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


class ToolThreads(concurrent.futures.ThreadPoolExecutor):
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


def shutdown_loop(loop: asyncio.AbstractEventLoop, pool: concurrent.futures.Executor) -> None:
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
