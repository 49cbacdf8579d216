"""The walk of a result's items the probe records (its ``types``): read back as the hostile
data it is, and the first item whose type differs between head and base, which a test can
assert where both results print the same."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TypeChange:
    """The first item of a result, on the walk the probe made, whose type differs between head
    and base while the results print the same: a `Dict` where the base had a `dict`."""

    path: tuple[str | int, ...]
    head: str  # how a test names the head's type there
    source: str  # "builtin" | "module" | "stdlib"
    base: str | None  # the base's type there; None when no test can name it

    def subscripts(self) -> str:
        return "".join(f"[{key!r}]" for key in self.path)

    def describe(self) -> str:
        where = f"`{self.subscripts()}`" if self.path else "the result"
        was = f" (was `{self.base}`)" if self.base else ""
        return f"{where} is a `{self.head}` now{was}"


MAX_WALK = 50  # entries of a record's ``types`` (the probe's WALK_NODES)
_PATH_DEPTH = 3


def nested_types(
    record: Mapping[str, object],
) -> dict[tuple[str | int, ...], tuple[str, str] | None]:
    """A record's ``types`` (see the probe's ``nested_types``), checked as the hostile data it
    is: path -> (name, source), or None for a type no test can name. {} when malformed."""
    raw = record.get("types")
    if not isinstance(raw, list) or len(raw) > MAX_WALK:
        return {}
    walked: dict[tuple[str | int, ...], tuple[str, str] | None] = {}
    for entry in raw:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], list)):
            return {}
        path, name, source = entry
        if len(path) > _PATH_DEPTH or not all(_key_ok(key) for key in path):
            return {}
        if name is None and source is None:
            walked[tuple(path)] = None
        elif type_name_ok(name, source):
            walked[tuple(path)] = (str(name), str(source))
        else:
            return {}
    return walked


def _key_ok(key: object) -> bool:
    if isinstance(key, bool):
        return False
    return isinstance(key, int) or (isinstance(key, str) and len(key) <= 100)


def type_name_ok(name: object, source: object) -> bool:
    if not isinstance(name, str):
        return False
    if source in ("builtin", "module"):
        return name.isidentifier()
    if source == "stdlib":
        home, _, attribute = name.partition(".")
        return home in sys.stdlib_module_names and attribute.isidentifier()
    return False


def type_change(head: Mapping[str, object], base: Mapping[str, object]) -> TypeChange | None:
    """The first path of the head's walk where the base's walk found another type, when the head
    names its type there, both results are values or types read the same way (an iterator's
    items on both sides or on neither); else None."""
    kinds = ("value", "type")
    if head.get("kind") not in kinds or base.get("kind") not in kinds:
        return None
    if head.get("wrap") != base.get("wrap"):
        return None
    theirs = nested_types(base)
    for path, ours in nested_types(head).items():
        if path not in theirs or theirs[path] == ours:
            continue
        if ours is None:
            return None  # the first difference is one no test can assert
        other = theirs[path]
        return TypeChange(path, ours[0], ours[1], other[0] if other else None)
    return None
