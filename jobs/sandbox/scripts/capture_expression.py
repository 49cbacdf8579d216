"""Runs inside the sandbox beside ``capture_calls.py`` (copied next to it as
``capture_expression.py``): the test's own expression that led to a watched call, as code the
changed module's namespace can run. Imports nothing of Tandem's."""

from __future__ import annotations

import ast
import linecache
import sys
from types import FrameType
from typing import Any

DATA_TYPES = {
    t.__name__: t
    for t in (bool, bytes, bytearray, complex, dict, float, frozenset, int, list, set, str, tuple)
}


class TestExpression:
    """The sub-expression a test frame is running (from its instruction's source position), with
    each name made something the changed module's namespace runs: a literal, a name the module
    holds, or, for a local the test assigned, that assignment's expression, inlined."""

    MAX_DEPTH = 4

    def __init__(self, capture: Any, frame: FrameType) -> None:
        self.capture = capture
        self.frame = frame
        self.lines = linecache.getlines(frame.f_code.co_filename)

    def text(self) -> str | None:
        positions = list(self.frame.f_code.co_positions())
        index = self.frame.f_lasti // 2
        if index >= len(positions) or None in positions[index]:
            return None
        expression = self.source(*positions[index])  # type: ignore[arg-type]
        if expression is None:
            return None
        resolved = self.resolve(expression, self.frame.f_lineno, 0)
        if resolved is None:
            return None
        text = ast.unparse(resolved)
        return text if len(text) <= 4 * self.capture.max_chars else None

    def source(self, line: int, end_line: int, col: int, end_col: int) -> ast.expr | None:
        chunk = self.lines[line - 1 : end_line]
        if not chunk:
            return None
        if len(chunk) == 1:
            chunk = [chunk[0][col:end_col]]
        else:
            chunk = [chunk[0][col:], *chunk[1:-1], chunk[-1][:end_col]]
        try:
            return ast.parse("(" + "".join(chunk) + ")", mode="eval").body
        except SyntaxError:
            return None

    def resolve(self, node: ast.expr, before_line: int, depth: int) -> ast.expr | None:
        """`node` with its names replaced; None when one cannot be."""
        if depth > self.MAX_DEPTH:
            return None
        capture, module = self.capture, self.capture.module
        for parent in ast.walk(node):
            for field, child in ast.iter_fields(parent):
                if not isinstance(child, ast.expr):
                    continue
                if (
                    isinstance(child, ast.Attribute)
                    and isinstance(child.value, ast.Name)
                    and self.value_of(child.value.id) is module
                    and capture.resolves(child.attr)
                ):
                    setattr(parent, field, ast.Name(child.attr, ast.Load()))
        for name in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
            replacement = self.replacement(name, before_line, depth)
            if replacement is None:
                return None
            node = _Rename(name, replacement).visit(node)
        return node

    def value_of(self, name: str) -> object:
        frame = self.frame
        return frame.f_locals.get(name, frame.f_globals.get(name, _MISSING))

    def replacement(self, name: str, before_line: int, depth: int) -> ast.expr | None:
        ns = self.capture.namespace()
        value = self.value_of(name)
        if value is _MISSING:
            # A name the module holds, where the test's import of the module was dropped.
            known = name in ns or name in DATA_TYPES
            return ast.Name(name, ast.Load()) if known else None
        if name in ns and ns[name] is value:
            return ast.Name(name, ast.Load())
        if isinstance(value, type(sys)):
            return None
        text = self.capture.repr_literal(value)
        if text is not None:
            return ast.parse(text, mode="eval").body
        # The test's own words first (``Meta.from_raw({…})``), then the construction the
        # capture noted for the object (a fixture's or setUp's ``Store(3)``).
        assigned = (
            self.assignment(name, before_line) if name in self.frame.f_code.co_varnames else None
        )
        resolved = None if assigned is None else self.resolve(assigned[1], assigned[0], depth + 1)
        if resolved is not None:
            return resolved
        text = self.capture.literal(value)
        return None if text is None else ast.parse(text, mode="eval").body

    def assignment(self, name: str, before_line: int) -> tuple[int, ast.expr] | None:
        """The last ``name = expression`` of the test function before `before_line`."""
        try:
            tree = ast.parse("".join(self.lines))
        except SyntaxError:
            return None
        first = self.frame.f_code.co_firstlineno
        found = None
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
                first in (node.lineno, *(d.lineno for d in node.decorator_list))
            ):
                for statement in ast.walk(node):
                    if (
                        isinstance(statement, ast.Assign)
                        and len(statement.targets) == 1
                        and isinstance(statement.targets[0], ast.Name)
                        and statement.targets[0].id == name
                        and statement.lineno < before_line
                        and (found is None or statement.lineno > found[0])
                    ):
                        found = (statement.lineno, statement.value)
        return found


_MISSING = object()


class _Rename(ast.NodeTransformer):
    def __init__(self, name: str, replacement: ast.expr) -> None:
        self.name = name
        self.replacement = replacement

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.replacement if node.id == self.name else node
