"""The state a call leaves behind, as the probe records it (a record's ``state``: the receiver,
the changeable objects the call was given, the attributes of a result whose repr does not rebuild
it; see the probe's ``state_of``): read back as the hostile data it is, the first difference
between head and base there, and the test that makes the call and asserts the head's state.

A method that returns None on both commits, or an ``__init__`` whose object prints the same,
differs only there: ``xs = [3, 1]; f(xs); assert xs == [1, 3]``, or ``store = Store(3);
store.clear(); assert store.items == []``. Such a test asserts the state, never ``== None``.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass

from jobs.testgen.engines import characterize
from jobs.testgen.engines.differential_walk import type_change, type_name_ok
from jobs.testgen.engines.probe_records import expected_ok
from jobs.testgen.engines.seeds import Seed, names_in

MAX_STATES = 4  # the probe's MAX_STATES
MAX_ATTRIBUTES = 12  # the probe's MAX_ATTRIBUTES
_NAME = r"[A-Za-z_]\w{0,39}"
_WHERE = re.compile(rf"^(self|result|kw:{_NAME}|arg:\d{{1,2}}(:{_NAME})?)$")
# What a call that returned gives (the kinds a state is recorded with).
_RETURNED = ("value", "type", "unrepresentable")
_TAKEN = set(dir(builtins)) | set(keyword.kwlist) | {"pytest"}


@dataclass(frozen=True)
class StateChange:
    """The first place, in the state a call left behind, where head and base differ."""

    where: str  # "self", "result", "arg:N" or "arg:N:PARAMETER", "kw:NAME"
    attribute: str | None  # an attribute of that object, or the object itself
    path: tuple[str | int, ...]  # subscripts below it (a walk's path)
    expected: str | None  # the head's repr there (asserted with ==), or None: only its type
    imports: tuple[tuple[str, str], ...]  # (name, "module" | "stdlib") `expected` needs
    head_type: tuple[str, str] | None  # (name, source) asserted with `type(...) is`
    base: str | None  # what the base had there, for the note

    def describe(self) -> str:
        owner = {"self": "the receiver", "result": "the object built"}.get(self.where)
        if owner is None:
            owner = f"argument `{variable_hint(self.where) or self.where.split(':')[1]}`"
        where = "".join(f"[{key!r}]" for key in self.path)
        if self.attribute:
            where = f".{self.attribute}{where}"
        subject = f"{owner}'s `{where}`" if where else owner
        now = f"`{self.expected}`" if self.expected is not None else ""
        if self.expected is None and self.head_type is not None:
            now = f"a `{self.head_type[0]}`"
        was = f" (was `{shortened(self.base)}`)" if self.base else ""
        return f"{subject} is {shortened(now)} after the call now{was}"


def shortened(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for a note, an ellipsis saying it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def states(record: Mapping[str, object]) -> dict[str, Mapping[str, object]]:
    """A record's state entries by where, each checked; a malformed entry is left out."""
    raw = record.get("state")
    if not isinstance(raw, list) or len(raw) > MAX_STATES:
        return {}
    found: dict[str, Mapping[str, object]] = {}
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("where"), str):
            continue
        if _WHERE.match(entry["where"]) and _entry_ok(entry):
            found.setdefault(entry["where"], entry)
    return found


def _entry_ok(entry: Mapping[str, object]) -> bool:
    kind = entry.get("kind")
    if kind == "value":
        if not expected_ok(entry.get("expected"), entry.get("imports")):
            return False
    elif kind not in ("type", "unrepresentable"):
        return False
    attributes = entry.get("attrs", {})
    return (
        isinstance(attributes, dict)
        and len(attributes) <= MAX_ATTRIBUTES
        and all(_attribute_ok(name, described) for name, described in attributes.items())
    )


def _attribute_ok(name: object, described: object) -> bool:
    if not (isinstance(name, str) and name.isidentifier() and not name.startswith("__")):
        return False
    if keyword.iskeyword(name) or not isinstance(described, dict):
        return False
    if described.get("kind") == "value":
        return expected_ok(described.get("expected"), described.get("imports"))
    ref = described.get("type")
    named = ref is None or (isinstance(ref, list) and len(ref) == 2 and type_name_ok(*ref))
    return described.get("kind") == "type" and named


def state_change(head: Mapping[str, object], base: Mapping[str, object]) -> StateChange | None:
    """The first difference in the state the call left behind on each side, when it returned on
    both (a call that raised, timed out or was not the same twice leaves nothing to compare)."""
    if head.get("kind") not in _RETURNED or base.get("kind") not in _RETURNED:
        return None
    theirs = states(base)
    for where, ours in states(head).items():
        if where in theirs and (change := _entry_change(where, ours, theirs[where])) is not None:
            return change
    return None


def _entry_change(
    where: str, head: Mapping[str, object], base: Mapping[str, object]
) -> StateChange | None:
    same = base.get("kind") == "value" and base.get("expected") == head.get("expected")
    if head.get("kind") == "value" and not same:
        return _value_change(where, None, head, base)
    walked = type_change(head, base)
    if walked is not None:
        return StateChange(
            where, None, walked.path, None, (), (walked.head, walked.source), walked.base
        )
    ours, theirs = head.get("attrs", {}), base.get("attrs", {})
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return None
    for name, described in ours.items():
        other = theirs.get(name) or {}
        if described.get("kind") == "value" and other != described:
            return _value_change(where, name, described, other)
        ref = described.get("type")
        if described.get("kind") == "type" and ref is not None and other.get("type") != ref:
            was = other.get("type")
            return StateChange(where, name, (), None, (), (ref[0], ref[1]), was[0] if was else None)
    return None


def _value_change(
    where: str, attribute: str | None, head: Mapping[str, object], base: Mapping[str, object]
) -> StateChange:
    imports = head.get("imports")
    needed = tuple((str(n), str(s)) for n, s in imports) if isinstance(imports, list) else ()
    was = str(base.get("expected")) if base.get("kind") == "value" else None
    expected = str(head.get("expected"))
    narrowed = None if needed or was is None else _one_key(expected, was)
    if narrowed is not None:
        key, now, then = narrowed
        return StateChange(where, attribute, (key,), now, (), None, then)
    return StateChange(where, attribute, (), expected, needed, None, was)


def _one_key(expected: str, was: str) -> tuple[str | int, str, str | None] | None:
    """Where two dicts written as literals differ at one key only: the key, the head's value
    there and the base's (None: it had no such key). A test of that key says what changed; a
    test of the whole dict hides it among the rest."""
    try:
        ours, theirs = ast.literal_eval(expected), ast.literal_eval(was)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if type(ours) is not dict or type(theirs) is not dict or set(theirs) - set(ours):
        return None
    keys = [k for k in ours if k not in theirs or theirs[k] != ours[k]]
    if len(keys) != 1 or type(keys[0]) not in (str, int):
        return None
    key = keys[0]
    return key, repr(ours[key]), repr(theirs[key]) if key in theirs else None


def variable_hint(where: str) -> str | None:
    """The parameter's or keyword's name a "arg:N:NAME" or "kw:NAME" carries."""
    parts = where.split(":")
    if parts[0] == "kw" or (parts[0] == "arg" and len(parts) == 3):
        return parts[-1]
    return None


def _variable(change: StateChange, head: Mapping[str, object], taken: set[str]) -> str:
    """The test's name for the object: its parameter's, or its class's in snake case."""
    name = variable_hint(change.where)
    if name is None:
        walk = states(head).get(change.where, {}).get("types")
        root = walk[0] if isinstance(walk, list) and walk and isinstance(walk[0], list) else []
        kind = str(root[1]) if len(root) == 3 and root[1] else "obj"
        name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", kind.split(".")[-1]).lower()
    name = re.sub(r"\W", "_", name).strip("_") or "obj"
    return name if name not in taken else f"a_{name}"


def state_case(
    seed: Seed, head: Mapping[str, object], change: StateChange, prefix: str
) -> characterize.Case | None:
    """The test: the object the state is read from bound to a name, the call made, and the
    head's state asserted there."""
    # The call's own names, helpers and test classes, as a type-only test of the call has them.
    plain = characterize.case_for(seed, {"kind": "type", "expected": "object"})
    if plain is None:
        return None
    variable = _variable(change, head, set(names_in(seed.call_source)) | _TAKEN)
    call = seed.call_source
    wrap = "list({})" if head.get("wrap") == "list" else "{}"
    if change.where == "result":
        lines = [f"{variable} = {wrap.format(call)}"]
    else:
        hoisted = _hoisted(call, change.where, variable)
        if hoisted is None:
            return None
        lines = [f"{variable} = {hoisted[0]}", wrap.format(hoisted[1])]
    subject = variable + (f".{change.attribute}" if change.attribute else "")
    subject += "".join(f"[{key!r}]" for key in change.path)
    needs = set(plain.needs)
    if change.expected is not None:
        operator = "is" if change.expected in ("None", "True", "False") else "=="
        lines.append(f"assert {subject} {operator} {change.expected}")
        needs |= set(change.imports)
        now = change.expected
    elif change.head_type is not None:
        name, source = change.head_type
        needs.add((name.split(".")[0], source) if source == "stdlib" else (name, source))
        lines.append(f"assert type({subject}) is {name}")
        now = name
    else:
        return None
    needs.discard(("object", "builtin"))
    body = "\n".join(lines)
    try:
        ast.parse(body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    words = [variable, change.attribute or "", *map(str, change.path)]
    where = re.sub(r"[^a-z0-9]+", "_", " ".join(words).lower()).strip("_")[:32].strip("_")
    outcome = _outcome_slug(now)
    return characterize.Case(
        f"{prefix}_{where}_is_{outcome}_now", body, tuple(sorted(needs)), plain.defines
    )


def _outcome_slug(expected: str) -> str:
    if expected in ("''", '""', "[]", "{}", "()", "set()"):
        return "empty"
    return re.sub(r"[^a-z0-9]+", "_", expected.lower()).strip("_")[:24].strip("_") or "other"


def _hoisted(call: str, where: str, variable: str) -> tuple[str, str] | None:
    """(the expression of the object at `where` in `call`, the call with `variable` in its
    place), or None where the call has no such part."""
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(node, ast.Call):
        return None
    name = ast.Name(id=variable, ctx=ast.Load())
    parts = where.split(":")
    if parts[0] == "self" and isinstance(node.func, ast.Attribute):
        part, node.func.value = node.func.value, name
    elif parts[0] == "arg" and int(parts[1]) < len(node.args):
        part = node.args[int(parts[1])]
        if isinstance(part, ast.Starred):
            return None
        node.args[int(parts[1])] = name
    elif parts[0] == "kw" and (found := [k for k in node.keywords if k.arg == parts[1]]):
        part, found[0].value = found[0].value, name
    else:
        return None
    return ast.unparse(part), _as_assignment(node) or ast.unparse(node)


def _as_assignment(node: ast.Call) -> str | None:
    """``x.name = value`` for ``x.__setattr__('name', value)``: the statement a reader writes."""
    function, args = node.func, node.args
    if not (isinstance(function, ast.Attribute) and function.attr == "__setattr__"):
        return None
    if len(args) != 2 or node.keywords or not isinstance(args[0], ast.Constant):
        return None
    name = args[0].value
    if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
        return None
    return f"{ast.unparse(function.value)}.{name} = {ast.unparse(args[1])}"
