"""The ``literal`` seeds (see :mod:`.seeds`): calls of a changed callable built from what its
changed lines compare a parameter with (``x == "abc"``, ``n > 10``, ``s.startswith("A")``:
that literal, and an integer's neighbours), from the numbers in a changed comment, and, for a
parameter the callable inspects (``getattr``, ``hasattr``, ``isinstance``), a one-shot iterator
of each string, list or tuple an existing seed passes. Pure: ``ast`` in, ``ast`` out.
"""

from __future__ import annotations

import ast
import copy
import io
import re
import tokenize
from collections.abc import Iterator

from jobs.testgen.engines.callables import ChangedCallable, Param
from jobs.testgen.engines.seed_sources import literal_value, name_node

MAX_COMMENT_NUMBERS = 4
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d_]*(?:\.\d+)?(?![\w.])")
INSPECTORS = ("getattr", "hasattr", "isinstance")


def literal_calls(
    item: ChangedCallable,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    bases: list[ast.Call],
    receiver: ast.Call | None,
    numbers: list[int | float],
) -> Iterator[ast.expr]:
    """Calls that give one parameter a literal the changed code compares it against, or a
    number a changed comment mentions."""
    if item.kind == "property":
        return
    params = _passable(item)
    names = {p.name for p in params}
    values: dict[str, list[ast.expr]] = {}
    for sub in ast.walk(node):
        if not item.lineno <= getattr(sub, "lineno", 0) <= item.end_lineno:
            continue
        for name, value in _compared(sub):
            if name in names:
                values.setdefault(name, [])
                if all(ast.dump(value) != ast.dump(v) for v in values[name]):
                    values[name].append(value)
    required = [p.name for p in params if not p.has_default]
    base_calls = [b for b in sorted(bases, key=ast.unparse) if _plain_call(b)]
    for name in _numeric_params(params, base_calls, item):
        for number in numbers:
            if (literal := _as_node(number)) is not None:
                values.setdefault(name, [])
                if all(ast.dump(literal) != ast.dump(v) for v in values[name]):
                    values[name].append(literal)
    if not required and not values and (call := _call(item, receiver, [], [])) is not None:
        yield call
    for name in sorted(values):
        for value in values[name][:4]:
            param = next(p for p in params if p.name == name)
            others = [r for r in required if r != name]
            call = None
            if not others and param.kind != "positional_only":
                call = _call(item, receiver, [], [ast.keyword(name, value)])
            for base in base_calls[:1] if call is None else []:
                args, keywords = list(base.args), list(base.keywords)
                unbound = isinstance(base.func, ast.Attribute) and not isinstance(
                    base.func.value, ast.Call
                )
                own_receiver: ast.expr | None = receiver
                if item.kind == "method" and isinstance(base.func, ast.Attribute) and args:
                    own_receiver = args[0] if unbound else base.func.value
                    args = args[1:] if unbound else args  # Class.method(obj, ...)
                index = [p.name for p in params].index(name)
                if index < len(args):
                    args[index] = value
                elif param.kind == "positional_only":
                    continue
                else:
                    keywords = [k for k in keywords if k.arg != name] + [ast.keyword(name, value)]
                call = _call(item, own_receiver, args, keywords)
            if call is not None:
                yield call


def _passable(item: ChangedCallable) -> list[Param]:
    """The parameters a call passes by position or name (not `self`/`cls`, not `*args`)."""
    params = [p for p in item.params if p.kind not in ("var_positional", "var_keyword")]
    if item.kind in ("method", "classmethod") or item.name == "__init__":
        params = params[1:]
    return params


def comment_numbers(source: str, lines: set[int]) -> list[int | float]:
    """The numbers in the comments on `lines`, in order, each once (at most
    :data:`MAX_COMMENT_NUMBERS`)."""
    found: list[int | float] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError, MemoryError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT or token.start[0] not in lines:
            continue
        for text in _NUMBER.findall(token.string):
            try:
                number: int | float = float(text) if "." in text else int(text)
            except ValueError:
                continue
            if number not in found and len(found) < MAX_COMMENT_NUMBERS:
                found.append(number)
    return found


def _numeric_params(
    params: list[Param], base_calls: list[ast.Call], item: ChangedCallable
) -> list[str]:
    """The parameters an existing seed passes a number (not a bool)."""
    names = [p.name for p in params]
    numeric: list[str] = []
    for call in base_calls:
        args = list(call.args)
        unbound = isinstance(call.func, ast.Attribute) and not isinstance(call.func.value, ast.Call)
        if item.kind == "method" and unbound and args:
            args = args[1:]  # Class.method(obj, ...)
        for index, arg in enumerate(args[: len(names)]):
            if _number(literal_value(arg)):
                numeric.append(names[index])
        numeric += [
            k.arg for k in call.keywords if k.arg in names and _number(literal_value(k.value))
        ]
    return sorted(set(numeric))


def inspected_params(
    item: ChangedCallable, node: ast.FunctionDef | ast.AsyncFunctionDef
) -> set[str]:
    """The parameters the callable asks about their kind: ``getattr(p, ...)``, ``hasattr``,
    ``isinstance``."""
    names = {p.name for p in item.params}
    return {
        call.args[0].id
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id in INSPECTORS
        and call.args
        and isinstance(call.args[0], ast.Name)
        and call.args[0].id in names
    }


def iterator_variants(
    item: ChangedCallable, call: ast.Call, inspected: set[str]
) -> Iterator[ast.expr]:
    """`call` with one inspected parameter's string, list or tuple literal as ``iter(...)``."""
    if not inspected or not _plain_call(call):
        return
    params = _passable(item)
    names = [p.name for p in params]
    for index, arg in enumerate(call.args[: len(names)]):
        if names[index] in inspected and isinstance(literal_value(arg), str | list | tuple):
            args = list(call.args)
            args[index] = ast.Call(ast.Name("iter"), [copy.deepcopy(arg)], [])
            yield ast.fix_missing_locations(ast.Call(call.func, args, list(call.keywords)))
    for position, keyword in enumerate(call.keywords):
        value = literal_value(keyword.value)
        if keyword.arg in inspected and isinstance(value, str | list | tuple):
            keywords = list(call.keywords)
            keywords[position] = ast.keyword(
                keyword.arg, ast.Call(ast.Name("iter"), [copy.deepcopy(keyword.value)], [])
            )
            yield ast.fix_missing_locations(ast.Call(call.func, list(call.args), keywords))


def _compared(node: ast.AST) -> Iterator[tuple[str, ast.expr]]:
    """(parameter name, literal) pairs a comparison or ``startswith`` check tests."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(right, ast.Name) and not isinstance(left, ast.Name):
            left, right = right, left
        value = literal_value(right)
        if not isinstance(left, ast.Name) or (value is None and not _is_none(right)):
            return
        if isinstance(op, ast.In | ast.NotIn) and isinstance(value, tuple | list | set | frozenset):
            candidates = sorted(value, key=repr)[:4]
        elif isinstance(op, ast.Eq | ast.NotEq | ast.Is | ast.IsNot):
            candidates = [value]
        elif isinstance(op, ast.Lt | ast.Gt | ast.LtE | ast.GtE) and _number(value):
            assert isinstance(value, int | float)
            candidates = [value - 1, value, value + 1] if isinstance(value, int) else [value]
        else:
            candidates = []
        for candidate in candidates:
            if (literal := _as_node(candidate)) is not None:
                yield left.id, literal
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("startswith", "endswith")
        and isinstance(node.func.value, ast.Name)
        and len(node.args) == 1
        and isinstance(prefix := literal_value(node.args[0]), str | bytes)
    ):
        yield node.func.value.id, ast.Constant(prefix)


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_node(value: object) -> ast.expr | None:
    """A literal's node, when its repr is a literal again (not ``inf``, ``nan``)."""
    try:
        node = ast.parse(repr(value), mode="eval").body
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return node


def _plain_call(call: ast.Call) -> bool:
    return not any(isinstance(a, ast.Starred) for a in call.args) and all(
        k.arg for k in call.keywords
    )


def _call(
    item: ChangedCallable, receiver: ast.expr | None, args: list[ast.expr], kw: list[ast.keyword]
) -> ast.expr | None:
    if item.name == "__init__" and item.owner:
        func: ast.expr = name_node(item.owner)
    elif item.kind == "method":
        if receiver is None:
            return None
        func = ast.Attribute(copy.deepcopy(receiver), item.name)
    else:
        func = name_node(item.qualname)
    return ast.fix_missing_locations(ast.Call(func, args, kw))
