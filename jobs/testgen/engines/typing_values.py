"""Neighbours of a typing object passed as a value (pure): where a known call gives an argument
that is a type hint (``Optional[int]``, ``List[str]``), calls with that hint changed by one step
a typing library treats differently.

Code that takes type hints apart (dacite, pydantic, cattrs, typeguard) differs between versions
on the hints' shape, not on any ordinary value, and the tests pass few shapes:

- ``Optional[X]`` → ``Optional[Union[X, Y]]``: an optional of more than one type;
- ``Union[A, B]`` → ``Union[A, B, None]``: a union that is also optional;
- ``List[X]`` ↔ ``list[X]`` (``Dict``, ``Tuple``, ``Set``, ``FrozenSet``, ``Type`` likewise):
  the builtin generic (PEP 585) and the typing alias are different objects; the builtin's
  ``__args__`` cannot be assigned;
- a plain class ``X`` given where a hint is read → ``Optional[X]``, ``List[X]``.

And where no call of a function that takes a type exists at all (dacite's private
``__concretize(hint: Type, generics: Dict[TypeVar, Type], data_class: Type)``, reached only
through dataclasses a test function defines), :func:`annotated_calls` writes calls from its
annotations: each parameter annotated as a type gets a hint of each shape above, each other one
the empty value of its annotation (``{}``, ``[]``, ``None``), or no call is written.

Only names the call already uses, builtins, and the typing names the module imports are
written, so the probe and the generated test resolve every name the way the module does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from jobs.testgen.engines import call_edits
from jobs.testgen.engines.callables import ChangedCallable

MAX_PER_CALL = 8
_ALIASES = {
    "List": "list",
    "Dict": "dict",
    "Tuple": "tuple",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Type": "type",
}
_TYPING = frozenset({*_ALIASES, "Optional", "Union"})
_PLAIN = frozenset({"int", "str", "float", "bool", "bytes"})


def typing_names(source: str) -> dict[str, str]:
    """The typing names the module binds, as its code spells them: ``{'Optional': 'Optional'}``
    for ``from typing import Optional``, ``{'Optional': 'typing.Optional'}`` for ``import
    typing`` (or ``t.Optional`` for ``import typing as t``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "typing":
            for alias in node.names:
                if alias.name in _TYPING:
                    found[alias.name] = alias.asname or alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "typing":
                    prefix = alias.asname or "typing"
                    for name in _TYPING:
                        found.setdefault(name, f"{prefix}.{name}")
    return found


def variants(call: str, source: str) -> list[str]:
    """Calls like `call` with one of its hint arguments (the outermost call's, or a call's it
    makes on a receiver) replaced by a neighbour; at most MAX_PER_CALL."""
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names = typing_names(source)
    if not isinstance(node, ast.Call) or not names:
        return []
    arguments = [*node.args, *(k.value for k in node.keywords)]
    out: list[str] = []
    for argument in arguments:
        if isinstance(argument, ast.Name) and argument.id in _PLAIN:
            found = [f"{names[n]}[{argument.id}]" for n in ("Optional", "List") if n in names]
        elif isinstance(argument, ast.Subscript) and _is_hint(argument):
            found = list(_neighbours(argument, names))
        else:
            continue
        for neighbour in found:
            text = _replaced(node, argument, neighbour)
            if text != call and text not in out:
                out.append(text)
    return out[:MAX_PER_CALL]


def _spelled(node: ast.expr) -> str:
    return ast.unparse(node)


def _head(node: ast.expr) -> str:
    """``Optional`` of ``Optional[int]`` or ``typing.Optional[int]``; ``list`` of ``list[int]``."""
    value = node.value if isinstance(node, ast.Subscript) else node
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Attribute):
        return value.attr
    return ""


def _is_hint(node: ast.Subscript) -> bool:
    head = _head(node)
    return head in _TYPING or head in _ALIASES.values()


def _members(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def _neighbours(node: ast.Subscript, names: dict[str, str]) -> Iterator[str]:
    head = _head(node)
    members = [_spelled(m) for m in _members(node)]
    union = names.get("Union")
    if head == "Optional" and union and members:
        other = "int" if members[0] == "str" else "str"
        yield f"{_spelled(node.value)}[{union}[{members[0]}, {other}]]"
    if head == "Union" and "None" not in members:
        yield f"{_spelled(node.value)}[{', '.join([*members, 'None'])}]"
    if head in _ALIASES:  # typing's alias -> the builtin generic
        yield f"{_ALIASES[head]}[{', '.join(members)}]"
    back = {v: k for k, v in _ALIASES.items()}
    if head in back and back[head] in names:  # the builtin generic -> typing's alias
        yield f"{names[back[head]]}[{', '.join(members)}]"
    # The members themselves, one at a time: List[str] -> List[Optional[str]]
    for index, member in enumerate(_members(node) if head not in ("Optional", "Union") else []):
        if isinstance(member, ast.Name) and member.id in _PLAIN and "Optional" in names:
            changed = [*members]
            changed[index] = f"{names['Optional']}[{member.id}]"
            yield f"{_spelled(node.value)}[{', '.join(changed)}]"


def _replaced(call: ast.Call, argument: ast.expr, text: str) -> str:
    replacement = ast.parse(text, mode="eval").body
    return call_edits.replaced(call, argument, lambda _: replacement)


# The empty value of an annotation's type, for the parameters besides the hints.
_EMPTY = {
    "Dict": "{}", "dict": "{}", "Mapping": "{}", "MutableMapping": "{}",
    "List": "[]", "list": "[]", "Sequence": "[]", "Iterable": "[]", "Collection": "[]",
    "Tuple": "()", "tuple": "()", "Set": "set()", "set": "set()",
    "str": "''", "int": "0", "float": "0.0", "bool": "False", "Any": "None", "Optional": "None",
}  # fmt: skip


def hints(names: dict[str, str]) -> list[str]:
    """One hint of each shape, written with the typing names the module binds."""
    out = ["int", "list[int]", "dict[str, int]", "tuple[int, str]"]
    if "List" in names:
        out.insert(2, f"{names['List']}[int]")
    if "Optional" in names:
        out.append(f"{names['Optional']}[int]")
    if "Union" in names:
        out.append(f"{names['Union']}[int, str]")
        if "Optional" in names:
            out.append(f"{names['Optional']}[{names['Union']}[int, str]]")
    return out


def annotated_calls(item: ChangedCallable, names: dict[str, str]) -> list[str]:
    """Calls of the top-level function `item` from its annotations, for one that takes a type.
    A parameter with a default is left out; an annotation that shows no value gives no call."""
    if item.kind != "function" or item.owner or "." in item.qualname:
        return []
    values: list[str | None] = []  # None: a hint goes there
    for param in item.params:
        if param.kind in ("var_positional", "var_keyword") or param.has_default:
            continue
        if param.kind == "keyword_only" or not param.annotation:
            return []
        try:
            node = ast.parse(param.annotation, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
        if _takes_a_type(node):
            values.append(None)
        elif (empty := _EMPTY.get(_head(node))) is not None:
            values.append(empty)
        else:
            return []
    if None not in values:
        return []
    return [
        f"{item.qualname}({', '.join(hint if v is None else v for v in values)})"
        for hint in hints(names)
    ][:MAX_PER_CALL]


def _takes_a_type(node: ast.expr) -> bool:
    """``Type``, ``Type[X]``, ``type``, or a ``Union`` with one of them."""
    head = _head(node)
    if head in ("Type", "type"):
        return True
    if head == "Union" and isinstance(node, ast.Subscript):
        return any(_takes_a_type(m) for m in _members(node))
    return False
