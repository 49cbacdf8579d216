"""A call of a special method written the way people write it: ``Box(1).__eq__(Box(2))`` as
``(Box(1) == Box(2))``, ``Box(1).__len__()`` as ``len(Box(1))``, ``Box(1).__getitem__(0)`` as
``Box(1)[0]``. The engines call the changed method itself (a changed ``__eq__`` is what is
compared), and a test a reviewer would merge reads as the code that uses it.

On the head both spellings give the same result wherever the method returned a value:
Python's operator falls back to the other operand's reflected method only when the first
returns ``NotImplemented``, which a test that asserts that sentinel keeps spelled as a call.
A rewritten test still runs 5 times and on the base commit before it is kept, as any other.

Pure: an expression in, an expression out.
"""

from __future__ import annotations

import ast

COMPARISONS: dict[str, type[ast.cmpop]] = {
    "__eq__": ast.Eq,
    "__ne__": ast.NotEq,
    "__lt__": ast.Lt,
    "__le__": ast.LtE,
    "__gt__": ast.Gt,
    "__ge__": ast.GtE,
}
ARITHMETIC: dict[str, type[ast.operator]] = {
    "__add__": ast.Add,
    "__sub__": ast.Sub,
    "__mul__": ast.Mult,
    "__matmul__": ast.MatMult,
    "__truediv__": ast.Div,
    "__floordiv__": ast.FloorDiv,
    "__mod__": ast.Mod,
    "__pow__": ast.Pow,
    "__lshift__": ast.LShift,
    "__rshift__": ast.RShift,
    "__and__": ast.BitAnd,
    "__or__": ast.BitOr,
    "__xor__": ast.BitXor,
}
# Builtins that call the method and check its result's type, as the method's own caller would.
BUILTINS = {
    "__len__": "len",
    "__repr__": "repr",
    "__str__": "str",
    "__bool__": "bool",
    "__abs__": "abs",
    "__int__": "int",
    "__float__": "float",
}


def operator_syntax(call: str) -> str:
    """`call` with its outermost special-method call written as the operator, subscript or
    builtin that runs it; anything else unchanged. A binary operator comes in parentheses, so
    an assertion around it (``… is False``) cannot chain with it."""
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return call
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and not node.keywords
        and not any(isinstance(a, ast.Starred) for a in node.args)
    ):
        return call
    receiver, name, args = node.func.value, node.func.attr, node.args
    if isinstance(receiver, ast.Name) and receiver.id[:1].isupper() and not receiver.id.isupper():
        return call  # a class's method called unbound (`Box.__eq__(b)`) is no operator
    if len(args) == 1 and name in COMPARISONS:
        text = ast.unparse(ast.Compare(receiver, [COMPARISONS[name]()], args))
    elif len(args) == 1 and name in ARITHMETIC:
        text = ast.unparse(ast.BinOp(receiver, ARITHMETIC[name](), args[0]))
    elif len(args) == 1 and name == "__contains__":
        text = ast.unparse(ast.Compare(args[0], [ast.In()], [receiver]))
    elif len(args) == 1 and name == "__getitem__":
        return ast.unparse(ast.Subscript(receiver, args[0]))
    elif not args and name in BUILTINS:
        return ast.unparse(ast.Call(ast.Name(BUILTINS[name]), [receiver], []))
    elif not args and name == "__neg__":
        text = ast.unparse(ast.UnaryOp(ast.USub(), receiver))
    else:
        return call
    return f"({text})"
