"""DSpot's "add a call" amplification (:mod:`.amplify`): a project test that does not reach the
changed function gets a call of it, spelled as the tests that do reach it spell it, on the
same receiver, after each of its own calls on that receiver. Pure: nodes in, variants out.

A test often builds the one state that tells base and head apart and then never asks the
changed function: ``freeze_time(datetime(1970, 1, 1, 0, 0, 1, 123456))`` with
``time.time()``, where the change is to ``time.time_ns()`` under a frozen clock (a fraction of
a second it used to drop). Another test calls ``time.time_ns()``, under a clock with no
fraction. So the calls that reach the change are taken from the tests that ran its lines (an
attribute call whose name is part of a changed function's, ``time_ns`` of ``fake_time_ns``),
and each other test of the file that calls another attribute of the same name (``time.time()``)
gets that call after its own, where it is observed like any other call.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Collection, Mapping

from jobs.testgen.engines.amplify_variants import TestFunction, Variant, size

MAX_TESTS = 8  # tests given a call, the smallest first
MAX_ADDED = 3  # calls added to one test
MIN_NAME = 4  # a call's name shorter than this matches too much


def changed_functions(source: str, lines: Collection[int]) -> set[str]:
    """The names of the functions and methods of `source` that hold one of `lines`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(node.lineno <= line <= (node.end_lineno or node.lineno) for line in lines)
    }


def reaching_calls(
    functions: Collection[ast.FunctionDef], changed: Collection[str]
) -> list[ast.Call]:
    """The calls of `functions` (the tests that ran a changed line) on a name's attribute
    (``time.time_ns()``) whose attribute is, or is part of, a changed function's name, with
    literal arguments only; one of each spelling."""
    found: dict[str, ast.Call] = {}
    for function in functions:
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            attr = node.func.attr
            if not isinstance(node.func.value, ast.Name) or len(attr) < MIN_NAME:
                continue
            if not any(attr in name for name in changed):
                continue
            literal = all(_is_literal(a) for a in [*node.args, *(k.value for k in node.keywords)])
            if literal:
                found.setdefault(ast.unparse(node), node)
    # Of the attributes part of one changed name, the longest: ``time_ns`` reaches
    # ``fake_time_ns``, where ``time`` is only part of its name.
    best = {
        name: max((len(_attr(c)) for c in found.values() if _attr(c) in name), default=0)
        for name in changed
    }
    return [
        c
        for c in found.values()
        if any(_attr(c) in name and len(_attr(c)) == best[name] for name in changed)
    ]


def added_calls(
    tests: Mapping[TestFunction, ast.FunctionDef],
    ran: Collection[TestFunction],
    calls: list[ast.Call],
) -> dict[TestFunction, Variant]:
    """Each test of `tests` not in `ran` that calls another attribute of a receiver of
    `calls`, with those calls added after its own (MAX_ADDED at most), the smallest tests
    first (MAX_TESTS)."""
    by_receiver: dict[str, list[ast.Call]] = {}
    for call in calls:
        assert isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
        by_receiver.setdefault(call.func.value.id, []).append(call)
    found: list[tuple[int, TestFunction, Variant]] = []
    for test, function in tests.items():
        if test in ran or not by_receiver:
            continue
        varied = copy.deepcopy(function)
        added = _add(varied, by_receiver, [0])
        if added:
            names = "_".join(dict.fromkeys(_attr(a) for a in added))
            what = "added " + ", ".join(dict.fromkeys(ast.unparse(a) for a in added))
            variant = Variant(ast.fix_missing_locations(varied), what, f"with_{names}"[:30])
            found.append((size(function), test, variant))
    found.sort(key=lambda f: (f[0], f[1].label))
    return {test: variant for _, test, variant in found[:MAX_TESTS]}


def _add(
    function: ast.FunctionDef | ast.With | ast.For | ast.If | ast.While | ast.Try,
    by_receiver: Mapping[str, list[ast.Call]],
    count: list[int],
) -> list[ast.Call]:
    """Add, in place, the calls of `by_receiver` after each statement of `function`'s bodies
    that calls another attribute of their receiver; the calls added."""
    added: list[ast.Call] = []
    for field in ("body", "orelse", "finalbody"):
        body = getattr(function, field, None)
        if not isinstance(body, list):
            continue
        out: list[ast.stmt] = []
        for statement in body:
            out.append(statement)
            if isinstance(statement, ast.With | ast.For | ast.If | ast.While | ast.Try):
                added += _add(statement, by_receiver, count)
                continue
            if isinstance(statement, ast.FunctionDef | ast.ClassDef | ast.Return):
                continue
            for call in _others(statement, by_receiver):
                if count[0] >= MAX_ADDED:
                    break
                count[0] += 1
                out.append(ast.Expr(copy.deepcopy(call)))
                added.append(call)
        setattr(function, field, out)
    return added


def _others(statement: ast.stmt, by_receiver: Mapping[str, list[ast.Call]]) -> list[ast.Call]:
    """The calls of `by_receiver` whose receiver `statement` calls another attribute of."""
    found: list[ast.Call] = []
    for node in ast.walk(statement):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if isinstance(receiver, ast.Name) and receiver.id in by_receiver:
                attrs = {_attr(c) for c in by_receiver[receiver.id]}
                if node.func.attr not in attrs:
                    found += [c for c in by_receiver[receiver.id] if c not in found]
    return found


def _attr(call: ast.Call) -> str:
    """The attribute a call of ``name.attribute(...)`` calls."""
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return False
    return True
