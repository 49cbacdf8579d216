"""What keeps the worker's secrets and the PR's project files out of an agent run.

The SDK builds every environment it hands to agent-run processes (terminal sessions, tmux
panes, hook commands) with ``openhands.sdk.utils.command.sanitized_env``, which drops a
deny-list of names and prefixes. There is no public hook to extend it, so before each run
:func:`deny_secret_env` adds to that deny-list every variable whose name starts with
``TANDEM_`` or contains ``TOKEN``/``SECRET``/``KEY``/``PASSWORD`` (:func:`is_secret_env_name`).
``os.environ`` itself is never modified (that would race with the rest of the worker).

The PR's checkout cannot change how the agent runs: :func:`install_plugin_guard` makes
``LocalConversation`` skip ambient *project* plugins (``.agents/plugins``,
``.openhands/plugins`` with hooks, MCP servers and skills) for every workdir registered with
:func:`untrusted` while its run is in progress.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SECRET_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_SECRET_PREFIX = "TANDEM_"
_hardening_lock = threading.Lock()
# Workdirs of runs in progress: ambient plugins are never loaded from these.
_untrusted_dirs: dict[str, int] = {}


def is_secret_env_name(name: str) -> bool:
    """Whether the agent's processes must not inherit an env var with this name."""
    return name.upper().startswith(_SECRET_PREFIX) or bool(_SECRET_NAME.search(name))


def deny_secret_env(environ: Mapping[str, str]) -> None:
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


def install_plugin_guard() -> None:
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
def untrusted(workdir: Path) -> Iterator[None]:
    """Mark ``workdir`` as a PR's checkout while the block runs, so the plugin guard loads no
    ambient plugins from it. Runs on the same workdir may overlap (a count per path)."""
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
