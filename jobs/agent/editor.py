"""The agent's file editor, confined to the checkout it works on.

The file editor runs in the worker, on the host, in both sandbox modes (only the terminal runs
in the sandbox), and the SDK's editor opens any absolute path. So Tandem registers the SDK's
``file_editor`` (same name, schema and description for the LLM) with a wrapped executor: a path
that resolves outside the checkout (a symbolic link in the PR such as
``notes.txt -> /etc/passwd``, an absolute path or ``..`` the LLM was talked into) gets an error
observation, and nothing under ``.git`` is changed through it (:func:`file_editor_refusal`).
:func:`checkout_file_editor` registers the tool once per process and names it for an agent's
``Tool`` spec.
"""

from __future__ import annotations

import functools
import logging
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

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
