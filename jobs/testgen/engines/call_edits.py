"""One edit of a call's source, shared by the input makers that vary a call (typed values,
type-hint neighbours, receiver settings). Pure: ``ast`` in, source text out."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from typing import cast


def replaced(root: ast.AST, node: ast.AST, build: Callable[[ast.expr], ast.expr]) -> str:
    """`root`'s source with `node` (one of its nodes) replaced by ``build(its copy)``. `root`
    is copied first: a call is the template for its other values too."""
    memo: dict[int, object] = {}
    copied = copy.deepcopy(root, memo)
    swapped = memo[id(node)]
    replacement = build(cast(ast.expr, swapped))

    class Swap(ast.NodeTransformer):
        def visit(self, child: ast.AST) -> ast.AST:
            return replacement if child is swapped else super().visit(child)

    return ast.unparse(Swap().visit(copied))
