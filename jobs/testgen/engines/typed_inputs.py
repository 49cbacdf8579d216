"""Inputs that fit the parameter (pure): calls like a known call of a changed callable with one
argument replaced, or one optional parameter added, by a value of the type its annotation (or
its inferred type, read from its default) names.

- ``Optional[X]``, ``X | None``, ``Union[..., None]``: ``None``;
- ``bool``: ``True`` and ``False``;
- ``Literal['a', 'b']``: each of its values;
- an ``Enum`` (``Flag``, ``IntEnum``, ``StrEnum``) class of the module: each of its members;
- ``Callable[...]`` or ``callable``: builtins that take one argument (``str``, ``len``), where
  the call passed no function there.

The annotations are read from the source's text (``ast``), not as objects in the sandbox nor
through hypothesis's ``st.from_type``: a value is only useful here as source a test can write,
the few forms above cover what a neighbour of a call needs, and reading the text costs no
process. A type a table does not know gives no value, never a guess.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator

from jobs.testgen.engines import call_edits, receiver_settings, typing_values
from jobs.testgen.engines.callables import ChangedCallable, Param

# Values tried per call, at most: each becomes a call run on both commits.
MAX_PER_CALL = 12
_ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})
_CALLABLES = ("str", "len", "bool")  # each takes one argument and is written by its name


def variants(call: str, item: ChangedCallable | None, source: str, base: str = "") -> list[str]:
    """Calls like `call` (a call of `item`, as ``f(...)``, ``Obj(...).m(...)`` or
    ``Cls.m(obj, ...)``) where one argument takes a value of its parameter's type, or one
    optional parameter the call left out is given one; `source` is the module's, for its
    Enum classes. The parameters taken in turn, and taken in turn with them (MAX_PER_CALL in
    all): the call on a receiver given another value of what the changed lines read
    (:mod:`.receiver_settings`; `base` is the base's module source, for what changed), and
    the call with a type hint it passes changed by one step (:mod:`.typing_values`)."""
    if item is None:
        return []
    typed = _typed(call, item, source)
    settings = receiver_settings.variants(call, item, source, base)
    hints = typing_values.variants(call, source)
    mixed = itertools.zip_longest(settings, hints, typed)
    # One share for the three together, as many as the typed values alone had: they all come
    # before the neighbours aimed at the change's tokens, in a queue each callable caps.
    return list(dict.fromkeys(c for group in mixed for c in group if c is not None))[:MAX_PER_CALL]


def _typed(call: str, item: ChangedCallable, source: str) -> list[str]:
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    if not isinstance(node, ast.Call):
        return []
    enums = enum_members(source)
    per_param: list[list[str]] = []
    for param, given in _bound(node, item):
        values = [v for v in typed_values(param, enums) if given is None or _differs(v, given)]
        if given is None and not param.has_default:
            continue
        per_param.append([_with(node, param, given, value) for value in values])
    out: list[str] = []
    for round_ in range(max((len(p) for p in per_param), default=0)):
        for options in per_param:
            if round_ < len(options) and options[round_] not in out and options[round_] != call:
                out.append(options[round_])
    return out[:MAX_PER_CALL]


def typed_values(param: Param, enums: dict[str, list[str]]) -> list[str]:
    """Source of the values of the type `param` is annotated with (or inferred to have)."""
    text = param.annotation or param.inferred
    if not text:
        return []
    try:
        annotation = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return list(dict.fromkeys(_values(annotation, enums)))


def _values(node: ast.expr, enums: dict[str, list[str]]) -> Iterator[str]:
    name = _name(node)
    if isinstance(node, ast.Constant) and node.value is None:
        yield "None"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        yield from _values(node.left, enums)
        yield from _values(node.right, enums)
    elif isinstance(node, ast.Subscript):
        outer = _name(node.value)
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Optional":
            yield "None"
            yield from _values(inner[0], enums)
        elif outer == "Union":
            for member in inner:
                yield from _values(member, enums)
        elif outer == "Literal":
            yield from (ast.unparse(v) for v in inner if isinstance(v, ast.Constant))
        elif outer == "Callable":
            yield from _CALLABLES
    elif name == "bool":
        yield from ("True", "False")
    elif name in ("Callable", "callable"):
        yield from _CALLABLES
    elif name in enums:
        yield from enums[name]


def _name(node: ast.expr) -> str:
    """``Optional`` of ``Optional``, ``typing.Optional`` or ``t.Optional``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation
        try:
            return _name(ast.parse(node.value, mode="eval").body)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return ""
    return ""


def enum_members(source: str) -> dict[str, list[str]]:
    """The module's top-level Enum classes and their members, as source (``Color.RED``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if not any(_name(base) in _ENUM_BASES for base in node.bases):
            continue
        members = [
            f"{node.name}.{target.id}"
            for statement in node.body
            if isinstance(statement, ast.Assign)
            for target in statement.targets
            if isinstance(target, ast.Name) and not target.id.startswith("_")
        ]
        if members:
            found[node.name] = members
    return found


def _bound(node: ast.Call, item: ChangedCallable) -> Iterator[tuple[Param, ast.expr | None]]:
    """Each parameter of `item` that a call can name, with the argument `node` gives it (None
    when it gives none)."""
    params = list(item.params)
    if item.kind in ("method", "classmethod") and params:
        params = params[1:]  # self or cls, given by the receiver
        on_class = (
            isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == item.owner
        )
        if on_class and item.kind == "method":  # Cls.m(obj, ...): obj is self
            node = ast.Call(func=node.func, args=node.args[1:], keywords=node.keywords)
    if any(isinstance(a, ast.Starred) for a in node.args) or any(
        k.arg is None for k in node.keywords
    ):
        return
    positional = [p for p in params if p.kind in ("positional", "positional_only")]
    by_keyword = {k.arg: k.value for k in node.keywords}
    for index, param in enumerate(params):
        if param.kind in ("var_positional", "var_keyword"):
            continue
        if param.kind != "keyword_only" and index < len(node.args) and param in positional:
            yield param, node.args[index]
        else:
            yield param, by_keyword.get(param.name)


def _differs(value: str, given: ast.expr) -> bool:
    return ast.unparse(given) != value


def _with(node: ast.Call, param: Param, given: ast.expr | None, value: str) -> str:
    """The call with `param`'s argument replaced by `value`, or given by keyword."""
    replacement = ast.parse(value, mode="eval").body
    if given is None:
        keywords = [*node.keywords, ast.keyword(arg=param.name, value=replacement)]
        return ast.unparse(ast.Call(func=node.func, args=node.args, keywords=keywords))

    return call_edits.replaced(node, given, lambda _: replacement)
