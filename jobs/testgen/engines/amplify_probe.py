"""Test amplification's observation points (:mod:`.amplify`): a variant's assertions become
observations of what they looked at, and where base and head observed differently, the head's
observations become the assertions of a new test. Pure: nodes in, nodes out.

The points, in the order the body holds them (the loops', branches' and ``with`` blocks' bodies
included): ``assert a == b`` observes ``a`` (``b`` where ``a`` is the literal), ``assert x``
observes ``x``; ``self.assertEqual(a, b)`` and its kin observe the same, ``self.assertRaises(E,
f, *args)`` the call ``f(*args)``; every other call made as a statement is observed itself (a
mock's ``assert_called_once_with`` raises where its arguments differ; a procedure returns
None), and so is the value a call assigns to a name; a ``with pytest.raises(E):`` block
observes the exception its body raises, or that it raised none. An observation is the value's
repr (and whether it rebuilds from it: only then is it asserted), or the exception's type and
message.

The probe writes its observations as JSON lines beside itself; the same points, numbered the
same way, are rewritten from the head's records into the new test's statements
(:func:`written`).
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from jobs.languages.python.tidy import raises_match
from jobs.testgen.engines.amplify_variants import is_literal

# unittest's assertions that look at one value, and those that compare two (observed: the side
# that is not a literal).
_ONE = {"assertTrue", "assertFalse", "assertIsNone", "assertIsNotNone", "assertIsInstance"}
_IN = {"assertIn", "assertNotIn"}
_RAISES = {"assertRaises", "assertRaisesRegex", "assertRaisesRegexp"}
END = -1  # the point every variant notes last: it ran to its end
MAX_STATE_NAMES = 6

RUNTIME = """
import ast as _tandem_ast
import builtins as _tandem_builtins
import json as _tandem_json
import os as _tandem_os
import re as _tandem_re
import sys as _tandem_sys
import types as _tandem_types

_TANDEM_OUT = _tandem_os.path.join(
    _tandem_os.path.dirname(_tandem_os.path.abspath(__file__)), {out!r}
)


def _tandem_note(variant, point, kind, payload):
    test = _tandem_os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    line = _tandem_json.dumps({{"v": variant, "p": point, "t": test, "k": kind, "r": payload}})
    with open(_TANDEM_OUT, "a", encoding="utf-8") as out:
        out.write(line + "\\n")


def _tandem_value(value):
    try:
        text = repr(value)
    except Exception:
        return {{"repr": "", "canon": "<no repr>", "literal": False}}
    canon = text
    if isinstance(value, (set, frozenset)):  # a set's order changes with the hash seed
        canon = "set:" + _tandem_json.dumps(sorted(repr(item) for item in value))
    canon = _tandem_re.sub("0x[0-9a-fA-F]+", "0x?", canon)  # an address differs every run
    try:
        back = _tandem_ast.literal_eval(text)
        literal = bool(type(back) is type(value) and back == value)
    except Exception:
        literal = False
    return {{"repr": text[:4000], "canon": canon[:4000], "literal": literal and len(text) <= 4000}}


def _tandem_exc(exc):
    cls, spelled, imported = type(exc), None, None
    name = cls.__name__
    if getattr(_tandem_builtins, name, None) is cls or globals().get(name) is cls:
        spelled = name
    else:
        for key, module in list(globals().items()):
            if isinstance(module, _tandem_types.ModuleType) and getattr(module, name, None) is cls:
                spelled = key + "." + name
                break
    if spelled is None and _tandem_own(cls):
        imported = cls.__module__
        spelled = imported + "." + cls.__qualname__
    try:
        message = str(exc)[:500]
    except Exception:
        message = ""
    return {{"type": cls.__module__ + "." + cls.__qualname__, "spelled": spelled,
            "message": message, "import": imported}}


def _tandem_own(cls):
    # An exception class of the project's own code that the test module does not import (one
    # the change adds) is named by its module's path; the written test imports that module.
    # A class of an installed package or the standard library, or a private one, is not.
    path = cls.__module__ or ""
    if not path or any(part.startswith("_") for part in path.split(".")):
        return False
    module = _tandem_sys.modules.get(path)
    where = _tandem_os.path.abspath(getattr(module, "__file__", None) or "/")
    if any(part in where for part in ("site-packages", "dist-packages")):
        return False
    if where.startswith(_tandem_os.path.dirname(_tandem_os.__file__)):
        return False
    found = module
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls


def _tandem_observe(variant, point, thunk):
    try:
        value = thunk()
    except Exception as exc:
        _tandem_note(variant, point, "raised", _tandem_exc(exc))
        return None
    _tandem_note(variant, point, "value", _tandem_value(value))
    return value


def _tandem_state(variant, point, thunk):
    try:
        obj = thunk()
    except Exception:
        return
    skipped = (_tandem_types.ModuleType, type, _tandem_types.FunctionType, _tandem_types.MethodType)
    if isinstance(obj, skipped):
        return
    value, attrs = _tandem_value(obj), {{}}
    if value["literal"]:
        attrs[""] = value
    else:
        try:
            items = sorted(vars(obj).items())
        except Exception:
            items = []
        for name, item in items:
            if name.startswith("_") or callable(item) or isinstance(item, skipped):
                continue
            attrs[name] = _tandem_value(item)
            if len(attrs) >= 40:
                break
    _tandem_note(variant, point, "state", attrs)
"""


@dataclass(frozen=True)
class Observed:
    """One observation: ``kind`` is value, raised, done (a raises block raised nothing) or end."""

    kind: str
    payload: Mapping[str, object]

    @property
    def key(self) -> str:
        """What is compared between base and head."""
        if self.kind == "value":
            return f"value:{self.payload.get('canon')}"
        if self.kind == "raised":
            return f"raised:{self.payload.get('type')}:{self.payload.get('message')}"
        if self.kind == "state":
            return "state:" + json.dumps(self.attributes(), sort_keys=True)
        return self.kind

    def attributes(self) -> dict[str, str]:
        """A state's attributes ("" for the object itself) and what is compared of each."""
        return {
            str(name): str(seen.get("canon"))
            for name, seen in self.payload.items()
            if isinstance(seen, dict)
        }


class Unwritable(Exception):
    """The head's observations cannot be asserted (no repr that rebuilds it, an unnamed type)."""


# make(point, kind, statement, observed expression) -> the statements that replace it
Make = Callable[[int, str, ast.stmt, ast.expr], list[ast.stmt]]


def _observed(statement: ast.stmt) -> tuple[str, ast.expr] | None:
    """The point a statement is, and the expression it observes; None when it is none."""
    if isinstance(statement, ast.Assert):
        return "assert", _looked_at(statement.test)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else ""
        if name in _RAISES and len(call.args) >= 2 + (name != "assertRaises"):
            func, *rest = call.args[1 + (name != "assertRaises") :]
            return "assert", ast.Call(func, rest, call.keywords)
        on_self = isinstance(func, ast.Attribute) and ast.unparse(func.value) == "self"
        if name.startswith("assert") and on_self and call.args:
            return "assert", _looked_at_args(name, call.args)
        return "call", call
    assigned = isinstance(statement, ast.Assign) and len(statement.targets) == 1
    if assigned and isinstance(statement.targets[0], ast.Name) and _calls(statement.value):  # type: ignore[attr-defined]
        return "assign", statement.value  # type: ignore[attr-defined]
    if isinstance(statement, ast.With) and len(statement.items) == 1:
        item = statement.items[0]
        if item.optional_vars is None and _raises_block(item.context_expr):
            return "raises", item.context_expr
    return None


def _looked_at(test: ast.expr) -> ast.expr:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    if isinstance(test, ast.Compare) and len(test.comparators) == 1:
        left, right = test.left, test.comparators[0]
        if isinstance(test.ops[0], ast.In | ast.NotIn):
            return right
        return right if is_literal(left) and not is_literal(right) else left
    return test


def _looked_at_args(name: str, args: list[ast.expr]) -> ast.expr:
    if name in _ONE or len(args) == 1:
        return args[0]
    if name in _IN:
        return args[1]
    return args[1] if is_literal(args[0]) and not is_literal(args[1]) else args[0]


def _calls(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def _raises_block(expr: ast.expr) -> bool:
    return (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and (expr.func.attr == "raises" or expr.func.attr in _RAISES)
    )


def rewrite(function: ast.FunctionDef, make: Make) -> ast.FunctionDef:
    """A copy of `function` with each point replaced by what `make` gives, numbered in order;
    then one state point for each name the test holds (:func:`state_names`) at its end."""
    fresh = copy.deepcopy(function)
    counter = [0]
    fresh.body = _statements(fresh.body, make, counter)
    for name in state_names(function):
        counter[0] += 1
        fresh.body += make(counter[0], "state", ast.Pass(), ast.Name(name, ast.Load()))
    fresh.body = fresh.body or [ast.Pass()]
    return fresh


def state_names(function: ast.FunctionDef) -> list[str]:
    """The objects a test holds at its end, whose attributes are observed (DSpot's observation
    of the objects in scope): its fixtures and the names its body binds at its top level."""
    args = function.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    for statement in function.body:
        if isinstance(statement, ast.Assign):
            names += [t.id for t in statement.targets if isinstance(t, ast.Name)]
        elif isinstance(statement, ast.With):
            names += [
                item.optional_vars.id
                for item in statement.items
                if isinstance(item.optional_vars, ast.Name)
            ]
    return [n for n in dict.fromkeys(names) if n not in ("self", "cls")][:MAX_STATE_NAMES]


def _statements(body: list[ast.stmt], make: Make, counter: list[int]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for statement in body:
        point = _observed(statement)
        if point is not None:
            counter[0] += 1
            out += make(counter[0], point[0], statement, point[1])
            continue
        if isinstance(statement, ast.For | ast.While | ast.If | ast.With | ast.Try):
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(statement, field, None)
                if inner:
                    setattr(statement, field, _statements(inner, make, counter) or [ast.Pass()])
        out.append(statement)
    return out


def probe(function: ast.FunctionDef, variant: str) -> ast.FunctionDef:
    """The variant as a probe: every point an observation, and a note at its end."""

    def make(point: int, kind: str, statement: ast.stmt, expr: ast.expr) -> list[ast.stmt]:
        if kind == "raises":
            assert isinstance(statement, ast.With)
            block = ast.parse(
                "try:\n    pass\nexcept Exception as _tandem_e:\n"
                f"    _tandem_note({variant!r}, {point}, 'raised', _tandem_exc(_tandem_e))\n"
                f"else:\n    _tandem_note({variant!r}, {point}, 'done', {{}})\n"
            ).body[0]
            assert isinstance(block, ast.Try)
            block.body = statement.body
            return [block]
        helper = "_tandem_state" if kind == "state" else "_tandem_observe"
        observed = ast.parse(f"{helper}({variant!r}, {point}, lambda: None)", mode="eval")
        call = observed.body
        assert isinstance(call, ast.Call) and isinstance(call.args[2], ast.Lambda)
        call.args[2].body = expr
        if kind == "assign":
            assert isinstance(statement, ast.Assign)
            return [ast.Assign(statement.targets, call, lineno=0)]
        return [ast.Expr(call)]

    probed = rewrite(function, make)
    probed.name = variant
    probed.body.append(ast.parse(f"_tandem_note({variant!r}, {END}, 'end', {{}})").body[0])
    return ast.fix_missing_locations(probed)


def written(
    function: ast.FunctionDef,
    name: str,
    head: Mapping[int, list[Observed]],
    differing: set[int],
    base: Mapping[int, list[Observed]] | None = None,
) -> ast.FunctionDef:
    """The variant as a test of the head's observations: each differing point asserted (of a
    state, the attributes that differ from the `base`'s), the others run as plain statements; a
    top-level assignment that raises on the head only is asserted to raise, and the test ends
    there (what followed used its value). Raises Unwritable where nothing could be asserted."""
    asserted = [END in differing]  # a variant the base did not finish fails there as it is
    cut: list[ast.stmt] = []  # the raising assignment's block, where the test ends

    def make(point: int, kind: str, statement: ast.stmt, expr: ast.expr) -> list[ast.stmt]:
        seen = head.get(point, [])
        differs = point in differing
        if cut:
            return []
        if kind == "assign" and differs and seen and seen[0].kind == "raised":
            cut.append(_raises(seen[0], [statement], exact=True))
            return cut[:]
        if differs and len({o.key for o in seen}) != 1:
            raise Unwritable("a differing point observed more than one way")
        first = seen[0] if seen else None
        if kind == "state":
            if not differs or first is None:
                return []
            theirs = (base or {}).get(point, [])
            found = _state_asserts(expr, first, theirs[0] if theirs else None)
            asserted[0] |= bool(found)
            return found
        if first is not None and first.payload.get("type") == "builtins.AssertionError":
            # An assertion (a helper's, a mock's) that fails on the head checks nothing of the
            # change: it goes, and a test that would assert that failure is not written.
            if differs:
                raise Unwritable("the head fails an assertion there")
            return []
        asserted[0] |= differs and first is not None
        return _point(kind, statement, expr, first, differs)

    test = rewrite(function, make)
    at = next((i for i, statement in enumerate(test.body) if cut and statement is cut[0]), None)
    if cut and at is None:
        raise Unwritable("an assignment raised on the head inside a block")
    if not cut and not head.get(END):
        raise Unwritable("the variant did not run to its end on the head")
    test.body = test.body if at is None else test.body[: at + 1]
    if not (asserted[0] or cut):
        raise Unwritable("nothing that differs could be asserted")
    test.name = name
    test.body = _without_repeats(test.body)
    return ast.fix_missing_locations(test)


def _without_repeats(body: list[ast.stmt]) -> list[ast.stmt]:
    """`body` without an assertion that repeats the one just before it (a value asserted where
    it is assigned, where the test asserted it and as the state it holds at the end)."""
    out: list[ast.stmt] = []
    for statement in body:
        if out and isinstance(statement, ast.Assert) and ast.dump(statement) == ast.dump(out[-1]):
            continue
        out.append(statement)
    return out


def _point(
    kind: str, statement: ast.stmt, expr: ast.expr, first: Observed | None, differs: bool
) -> list[ast.stmt]:
    """The statements a point becomes in a written test, from the head's observation."""
    if kind == "raises":
        assert isinstance(statement, ast.With)
        if first is None or first.kind == "done":
            return statement.body
        return [_raises(first, statement.body, exact=True)]
    plain: ast.stmt = statement if kind in ("assign", "call") else ast.Expr(expr)
    if first is None:
        return [plain]
    if first.kind == "raised":
        if kind == "assign":
            raise Unwritable("an assignment raised on the head")
        return [_raises(first, [ast.Expr(expr)], exact=differs)]
    if not differs:
        # What an assertion looked at and base and head agree on says nothing here.
        return [] if kind == "assert" else [plain]
    if first.payload.get("repr") == "None" and kind == "call":
        return [plain]
    if kind == "assign":
        assert isinstance(statement, ast.Assign)
        return [statement, _assert_value(statement.targets[0], first.payload)]
    return [_assert_value(expr, first.payload)]


def _state_asserts(name: ast.expr, head: Observed, base: Observed | None) -> list[ast.stmt]:
    """An assertion of each attribute of the object whose head value differs from the base's
    and can be asserted."""
    theirs = base.attributes() if base is not None else {}
    found: list[ast.stmt] = []
    for attribute, seen in head.payload.items():
        if not isinstance(seen, dict) or theirs.get(attribute) == seen.get("canon"):
            continue
        target = ast.Attribute(name, attribute, ast.Load()) if attribute else name
        try:
            found.append(_assert_value(target, seen))
        except Unwritable:
            continue
    return found


def _assert_value(expr: ast.expr, seen: Mapping[str, object]) -> ast.stmt:
    """``assert expr == <repr>``; where the repr does not rebuild the value but says what it
    is (no address, no ``<…>``), ``assert repr(expr) == '<repr>'``."""
    text = str(seen.get("repr", ""))
    if seen.get("literal"):
        operator = "is" if text in ("None", "True", "False") else "=="
        return ast.parse(f"assert ({ast.unparse(expr)}) {operator} {text}").body[0]
    if not text or "0x" in text or text.startswith("<") or len(text) > 400:
        raise Unwritable(f"no repr that says what the value is: {text[:60]}")
    return ast.parse(f"assert repr({ast.unparse(expr)}) == {text!r}").body[0]


def _raises(seen: Observed, body: list[ast.stmt], *, exact: bool) -> ast.stmt:
    spelled = seen.payload.get("spelled")
    if not isinstance(spelled, str) or not spelled:
        raise Unwritable(f"an exception the test module cannot name: {seen.payload.get('type')}")
    match = raises_match(str(seen.payload.get("message", ""))) if exact else ""
    block = ast.parse(f"with pytest.raises({spelled}{match}):\n    pass").body[0]
    assert isinstance(block, ast.With)
    block.body = body
    return block
