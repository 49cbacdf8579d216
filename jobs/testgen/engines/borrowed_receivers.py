"""Calls of a changed method that no test calls, on the objects the tests call its class's other
methods on (pure): the differential engine's inputs where the project holds no call of the
method itself.

A change to a method the tests never call (``__repr__``, a getter, a helper the public API
reaches only in some configurations) leaves the engine with no input for it, though the tests
build objects of its class all the time. The capture watches the class's other methods too
(:func:`siblings`), and each object it rebuilt as their receiver (``Box(1)`` of
``Box(1).grow()``) becomes a receiver of the changed method: ``Box(1).describe()`` when the
method needs no argument, ``Box(1).__eq__(Box(2))`` for a binary dunder, ``Box(1).size`` for a
property. Their neighbours (:mod:`.input_variants`) then vary the receiver's own arguments.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from jobs.testgen.engines.callables import ChangedCallable, describe_callables
from jobs.testgen.engines.differential_targets import DiffTarget
from jobs.testgen.engines.seeds import Seed

# The other methods of a changed method's class whose receivers the capture writes down, at
# most (in source order), and the receivers a changed method is called on, at most.
MAX_SIBLINGS = 6
MAX_RECEIVERS = 12
MAX_RECEIVER_CHARS = 300
_ARGUMENTS = ("positional_only", "positional", "keyword_only")
_CONSTRUCTION = {"__init__", "__new__", "__init_subclass__", "__del__"}
# Dunders that take one object of the same kind: called with another receiver as it.
_BINARY = {
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__add__", "__sub__",
    "__mul__", "__and__", "__or__", "__contains__",
}  # fmt: skip


def siblings(source: str, targets: Iterable[DiffTarget]) -> list[str]:
    """The other methods and properties of the classes of the `targets` that are methods, in
    source order, at most MAX_SIBLINGS a class: the capture writes down their receivers."""
    chosen = {t.callable.qualname for t in targets}
    owners = {t.callable.owner for t in targets if t.callable.owner}
    found: list[str] = []
    for owner in sorted(owners):
        own = [
            c.qualname
            for c in sorted(describe_callables(source), key=lambda c: c.lineno)
            if c.owner == owner
            and c.kind in ("method", "property")
            and not c.is_async
            and c.qualname not in chosen
            # An object under construction is no receiver (and capture_built watches these).
            and c.name not in _CONSTRUCTION
        ]
        found += own[:MAX_SIBLINGS]
    return found


def borrowed_calls(targets: Iterable[DiffTarget], calls: Iterable[Seed]) -> set[Seed]:
    """Calls of each method target on the receivers `calls` show for its class (their seeds'
    classes of the test modules go with them)."""
    calls = list(calls)
    found: set[Seed] = set()
    for target in targets:
        changed = target.callable
        if changed.owner is None or changed.kind not in ("method", "property"):
            continue
        if changed.name == "__init__":  # its calls are the class's: the object it builds
            continue
        receivers = _receivers(target.path, changed.owner, calls)
        for text, seed in receivers[:MAX_RECEIVERS]:
            for call in _calls_on(changed, text, [r for r, _ in receivers[:3]]):
                found.add(Seed(target.path, changed.qualname, call, "runtime", seed.defines))
    return found


def _receivers(path: str, owner: str, calls: list[Seed]) -> list[tuple[str, Seed]]:
    """The distinct receivers of `owner`'s methods among `calls`, the shortest first."""
    found: dict[str, Seed] = {}
    for seed in calls:
        if seed.path != path or seed.qualname.rpartition(".")[0] != owner:
            continue
        text = _receiver_of(seed.call_source, owner)
        if text is not None and len(text) <= MAX_RECEIVER_CHARS:
            found.setdefault(text, seed)
    return sorted(found.items(), key=lambda item: (len(item[0]), item[0]))


def _receiver_of(call: str, owner: str) -> str | None:
    """``Box(1)`` of ``Box(1).grow()`` or ``Box(1).size``; None for a call on the class itself
    (``Box.make()``) or anything else."""
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    target = node.func if isinstance(node, ast.Call) else node
    if not isinstance(target, ast.Attribute):
        return None
    value = target.value
    if isinstance(value, ast.Name) and value.id == owner.rsplit(".", 1)[-1]:
        return None
    text = ast.get_source_segment(call, value)
    if text is None or isinstance(value, ast.Call | ast.Name | ast.Attribute | ast.Subscript):
        return text
    return f"({text})"  # `(-1).real`, not `-1.real`


def _calls_on(changed: ChangedCallable, receiver: str, others: list[str]) -> list[str]:
    """The calls of `changed` on `receiver` that need no argument the project did not give."""
    if changed.kind == "property":
        return [f"{receiver}.{changed.name}"]
    required = [p for p in changed.params[1:] if p.kind in _ARGUMENTS and not p.has_default]
    if not required:
        return [f"{receiver}.{changed.name}()"]
    if len(required) == 1 and changed.name in _BINARY:
        return [f"{receiver}.{changed.name}({other})" for other in others]
    return []
