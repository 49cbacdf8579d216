"""Test amplification's files (:mod:`.amplify`): the probe module and the written test module,
each a copy of the project's test module without its tests (its imports, helpers, fixtures,
constants and ``setup_function`` apply as they do to its own tests; the copy sits in the same
folder, so its conftest does too) with the new functions added; and the probe's observations,
read back. Pure but for :func:`read_observations`, which reads what the sandbox wrote (bounded,
every field checked).
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jobs.testgen.engines.amplify_probe import RUNTIME, Observed
from jobs.testgen.engines.amplify_variants import is_literal
from jobs.testgen.engines.probe_records import json_objects

MAX_OBSERVED_BYTES = 20_000_000
_KINDS = ("value", "raised", "done", "end", "state")
_DOTTED = re.compile(r"[A-Za-z]\w*(?:\.[A-Za-z]\w*)*", re.ASCII)
# Observations of one variant: test id (a parametrized test has several) -> point -> in order
Observations = dict[str, dict[int, list[Observed]]]


def probe_path(test_path: str) -> str:
    """Where the probe of ``tests/test_x.py`` goes: beside it, under a name pytest collects."""
    pure = PurePosixPath(test_path)
    return (pure.parent / f"test_{pure.stem}_tandem_probe.py").as_posix()


def written_path(test_path: str) -> str:
    """Where the amplified tests of ``tests/test_x.py`` go: ``tests/test_x_amplified.py``."""
    pure = PurePosixPath(test_path)
    stem = pure.stem if pure.stem.startswith("test") else f"test_{pure.stem}"
    return (pure.parent / f"{stem}_amplified.py").as_posix()


def observations_name(probe: str) -> str:
    return f"{PurePosixPath(probe).stem}.observed.jsonl"


def stripped(tree: ast.Module, keep: Collection[str] = ()) -> ast.Module:
    """A copy of the module without its test functions and its classes' test methods; a class
    that held tests goes too, unless it is in `keep` or the module names it elsewhere (a
    subclass)."""
    fresh = copy.deepcopy(tree)
    body: list[ast.stmt] = []
    emptied: set[str] = set()
    for node in fresh.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_test(node.name):
            continue
        if isinstance(node, ast.ClassDef):
            kept = [item for item in node.body if not _is_test_function(item)]
            if len(kept) < len(node.body) and node.name not in keep:
                emptied.add(node.name)
            node.body = kept or [ast.Pass()]
        body.append(node)
    fresh.body = body
    named = {
        n.id
        for node in body
        if not (isinstance(node, ast.ClassDef) and node.name in emptied)
        for n in ast.walk(node)
        if isinstance(n, ast.Name)
    }
    fresh.body = [
        n for n in body if not (isinstance(n, ast.ClassDef) and n.name in emptied - named)
    ]
    return fresh


def _is_test_function(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_test(node.name)


def _is_test(name: str) -> bool:
    return name.startswith("test")


def module_text(
    tree: ast.Module,
    functions: list[tuple[str | None, ast.FunctionDef]],
    *,
    header: str,
    prelude: str = "",
) -> str:
    """The test module without its tests, `prelude` after its first imports, and `functions`
    added: each into its class (a copy of the original's, without its tests) or at the end."""
    module = stripped(tree, keep={cls for cls, _ in functions if cls is not None})
    classes = {n.name: n for n in module.body if isinstance(n, ast.ClassDef)}
    for cls, function in functions:
        if cls is None:
            module.body.append(function)
        elif cls in classes:
            body = classes[cls].body
            classes[cls].body = [*(s for s in body if not isinstance(s, ast.Pass)), function]
    _prune(module)
    extra = ast.parse(f"import pytest\n{prelude}").body
    at = _after_future(module)
    module.body[at:at] = extra
    return f'"""{header}"""\n\n' + ast.unparse(ast.fix_missing_locations(module)) + "\n"


def _prune(module: ast.Module) -> None:
    """Drop the module-level names bound to a literal that nothing else in it reads (the
    original's expected outputs and inputs of tests not copied)."""
    while True:
        read = {
            n.id
            for n in ast.walk(module)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        unused = [
            node
            for node in module.body
            if isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id not in read
            and not node.targets[0].id.startswith("__")
            and is_literal(node.value)
        ]
        if not unused:
            return
        module.body = [n for n in module.body if n not in unused]


def _after_future(module: ast.Module) -> int:
    """The index after the module's docstring and ``from __future__`` imports."""
    at = 0
    for index, node in enumerate(module.body):
        is_doc = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if is_doc or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            at = index + 1
    if at and isinstance(module.body[0], ast.Expr):  # the header replaces the docstring
        module.body.pop(0)
        at -= 1
    return at


def probe_prelude(probe: str) -> str:
    return RUNTIME.format(out=observations_name(probe))


def read_observations(path: Path) -> dict[str, Observations]:
    """variant -> test id -> point -> observations, from the probe's JSON lines."""
    found: dict[str, Observations] = {}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_OBSERVED_BYTES)
    except OSError:
        return found
    for record in json_objects(data.decode("utf-8", errors="replace").splitlines()):
        variant, test, point = record.get("v"), record.get("t"), record.get("p")
        kind, payload = record.get("k"), record.get("r")
        if not (isinstance(variant, str) and isinstance(test, str) and type(point) is int):
            continue
        if kind not in _KINDS or not isinstance(payload, dict):
            continue
        found.setdefault(variant, {}).setdefault(test, {}).setdefault(point, []).append(
            Observed(str(kind), payload)
        )
    return found


@dataclass(frozen=True)
class Difference:
    """A variant base and head observed differently: at which points, and both sides'
    observations (one test id's: all the head's agree)."""

    variant: str
    points: frozenset[int]
    head: Mapping[int, list[Observed]]
    base: Mapping[int, list[Observed]]


def difference(
    variant: str, head: Observations, base: Observations, again: Observations | None = None
) -> Difference | None:
    """Where base and head observed `variant` differently; None where they agree, or the head's
    own observations differ between its test ids (a parametrized test: no one assertion fits).
    With `again` (a second run of the head), what the head observed differently on its two
    runs (a clock, a counter) is no difference: such a point, or a state's attribute, goes."""
    if again is not None:
        head, base = _stable(head, again, base)
    keys = {test: _keys(points) for test, points in head.items()}
    if not keys or len({json.dumps(k, sort_keys=True) for k in keys.values()}) != 1:
        return None
    differing: set[int] = set()
    for test, points in head.items():
        theirs = base.get(test)
        if theirs is None:
            continue
        mine, other = _keys(points), _keys(theirs)
        differing |= {p for p in mine.keys() | other.keys() if mine.get(p) != other.get(p)}
    # The end (-1) differs where one side stopped at a statement no point observes: the variant
    # written as it is fails there too.
    if not differing:
        return None
    test = next(iter(head))
    return Difference(variant, frozenset(differing), head[test], base.get(test, {}))


def _stable(
    head: Observations, again: Observations, base: Observations
) -> tuple[Observations, Observations]:
    """`head` and `base` without what the head's two runs observed differently."""
    steady: Observations = {}
    other: Observations = {}
    for test, points in head.items():
        second = again.get(test, {})
        theirs = base.get(test, {})
        for point, seen in points.items():
            twice = second.get(point, [])
            if [o.key for o in seen] == [o.key for o in twice]:
                steady.setdefault(test, {})[point] = seen
                if point in theirs:
                    other.setdefault(test, {})[point] = theirs[point]
            elif len(seen) == len(twice) == 1 and seen[0].kind == twice[0].kind == "state":
                moved = {
                    k for k, v in seen[0].attributes().items() if twice[0].attributes().get(k) != v
                }
                steady.setdefault(test, {})[point] = [_without(seen[0], moved)]
                if point in theirs:
                    other.setdefault(test, {})[point] = [_without(o, moved) for o in theirs[point]]
        for point, seen in theirs.items():  # what only the base observed still differs
            if point not in points:
                other.setdefault(test, {})[point] = seen
    return steady, other


def _without(seen: Observed, attributes: set[str]) -> Observed:
    if seen.kind != "state":
        return seen
    return Observed(seen.kind, {k: v for k, v in seen.payload.items() if k not in attributes})


def signature(observations: Observations) -> str:
    """What a variant's run observed, whatever its test ids are called ("" for nothing): two
    variants of one test compare by it."""
    keys = sorted(json.dumps(_keys(points), sort_keys=True) for points in observations.values())
    return json.dumps(keys) if keys else ""


def _keys(points: Mapping[int, list[Observed]]) -> dict[int, list[str]]:
    return {p: [o.key for o in seen] for p, seen in points.items()}


def imported_modules(function: ast.FunctionDef, head: Mapping[int, list[Observed]]) -> set[str]:
    """The modules a written test names its exceptions by (a class the test module does not
    import, spelled by its module's path) and so must import."""
    text = ast.unparse(function)
    found = {
        str(seen.payload["import"])
        for observed in head.values()
        for seen in observed
        if seen.kind == "raised" and isinstance(seen.payload.get("import"), str)
    }
    return {name for name in found if _DOTTED.fullmatch(name) and f"{name}." in text}
