"""Runs inside the sandbox beside ``capture_calls.py`` (copied next to it as
``capture_entry.py``): the project's entry point a test called to reach a watched function,
when it lives in another module than the changed one. A source-transforming library's tests
call one function with source text (``_fix_plugins('x: "int"\\n', settings=Settings())``) and
reach the changed helper with tokens or AST nodes, which no repr rebuilds: the entry point's
call is the input that rebuilds, and its string arguments are the ones to vary. Imports nothing
of Tandem's.
"""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any

_TEST_DIRS = {"test", "tests", "testing"}


def project_frame(frame: FrameType, root: str, test_files: set[str], path: str) -> FrameType | None:
    """The outermost frame of the project's own code, in another file than `path` (the changed
    one), between the test's frame and `frame` (a watched call's): the function the test called.
    Frames of the standard library, of installed packages and of test helpers do not count."""
    outer: FrameType | None = None
    current = frame.f_back
    while current is not None:
        file = os.path.abspath(current.f_code.co_filename)
        if file in test_files:
            break
        if file != path and _is_project_code(file, root):
            outer = current
        current = current.f_back
    return outer


def _is_project_code(file: str, root: str) -> bool:
    if not file.startswith(root + os.sep) or not file.endswith(".py"):
        return False
    parts = os.path.relpath(file, root).split(os.sep)
    name = parts[-1]
    hidden = any(p.startswith(".") or p in ("site-packages", "dist-packages") for p in parts)
    tests = any(p in _TEST_DIRS for p in parts[:-1])
    test_module = name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
    return not (hidden or tests or test_module)


def entry_call(capture: Any, frame: FrameType) -> tuple[str, str] | None:
    """(call, module) for the project's entry point on the way to `frame`
    (:func:`project_frame`), the call written in that module's namespace (its values rebuilt
    there, as ``Settings(min_version=(3, 7))``), or None."""
    outer = project_frame(frame, capture.root, capture.test_files, capture.path)
    if outer is None:
        return None
    name = outer.f_globals.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    if module is None or name == "__main__" or module is capture.module:
        return None
    changed = capture.module
    capture.module = module  # the capture rebuilds values in its module's namespace
    try:
        text = capture.call_of(outer)
    finally:
        capture.module = changed
    return (text, str(name)) if text is not None else None
