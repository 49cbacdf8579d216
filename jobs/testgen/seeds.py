"""Call seeds for the changed callables: the inputs the project itself already holds.

Pure: source text in (parsed with ``ast``, never imported or executed), seeds out. A seed is
an expression over the target module's top-level names and a few pure builtins that calls one
changed callable (``isoparse('1970-01-01T00:00:00.851')``, ``Box(3).grow(2)``), found in:

- ``docstring``: the ``>>>`` lines of the callable's docstring, its class's and the module's;
  a name bound earlier in the same session (``>>> b = Box(3)``) is replaced by its value;
- ``tests``: calls in the repository's test files, matched through their imports of the module,
  with a test function's once-assigned locals and ``pytest.mark.parametrize`` rows replaced;
- ``literal``: a changed line's comparison of a parameter with a literal (``x == "abc"``,
  ``n > 10``, ``s.startswith("A")``) gives that parameter the literal (and an integer's
  neighbours), the others their defaults or the values an existing seed passes; a number in
  a changed comment (``# e.g. 999999 is 999.999 kB``) is given to each parameter an existing
  seed passes a number; a parameter the callable inspects (``getattr(p, ...)``,
  ``hasattr``, ``isinstance``) also gets each string, list or tuple an existing seed passes
  as a one-shot iterator (``iter('abc')``), the other kind of input it tells apart; and a
  callable whose parameters all have defaults is called without arguments.

A method is seeded only through an instance that a doctest or test constructs (``Box(3)``);
without one it is skipped, with a note. What a seed *returns* is not decided here: the
characterization engine runs each one in the sandbox and records the head's result.
"""

from __future__ import annotations

import ast
import copy
import io
import re
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jobs.languages.python.testfiles import is_test_file
from jobs.testgen.callables import ChangedCallable, Param, changed_callables
from jobs.testgen.seed_sources import (
    DENIED_ROOTS,
    PURE_BUILTINS,
    definitions,
    doctest_expressions,
    dotted,
    literal_value,
    name_node,
    test_expressions,
    top_level_names,
)

# "runtime": a call the tests made, written down as they ran (:mod:`.engines.call_capture`);
# "variant": a neighbour of another seed (:mod:`.engines.input_variants`).
Origin = Literal["docstring", "tests", "literal", "runtime", "variant"]
# Under the cap, what the changed code compares against or mentions first (it aims at the
# change), then a docstring's example, then the tests' calls.
ORIGIN_PRIORITY: dict[str, int] = {
    "literal": 0,
    "docstring": 1,
    "tests": 2,
    "runtime": 3,
    "variant": 4,
}
MAX_SEEDS_PER_CALLABLE = 16
MAX_COMMENT_NUMBERS = 4
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d_]*(?:\.\d+)?(?![\w.])")
INSPECTORS = ("getattr", "hasattr", "isinstance")
MAX_CALL_SOURCE = 400  # characters of one seed expression
MAX_NODES = 120  # AST nodes of one seed expression


@dataclass(frozen=True, order=True)
class Seed:
    path: str
    qualname: str
    call_source: str  # one expression; evaluate it in a namespace holding `names`
    origin: Origin

    @property
    def names(self) -> tuple[str, ...]:
        """The target module's top-level names the expression uses (sorted)."""
        return names_in(self.call_source)


def names_in(expression: str) -> tuple[str, ...]:
    """The names an expression uses that are not pure builtins, sorted."""
    tree = ast.parse(expression, mode="eval")
    return tuple(sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - PURE_BUILTINS))


@dataclass
class SeedPlan:
    seeds: list[Seed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def find_seeds(
    path: str,
    source: str,
    lines: set[int],
    module: str,
    test_sources: Mapping[str, str] | None = None,
    comment_lines: set[int] | None = None,
) -> SeedPlan:
    """The seeds of every callable in `source` with one of `lines` in its own code. Numbers
    are read from the comments on `comment_lines` (default: `lines`; the diff's changed lines,
    when `lines` are only the statements nothing covers)."""
    plan = SeedPlan()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        plan.notes.append(f"`{path}`: not parseable; no seeds")
        return plan
    top = top_level_names(tree)
    defs = definitions(tree)
    expressions: list[tuple[Origin, ast.expr]] = [
        ("docstring", e) for e in doctest_expressions(tree, top, module, defs)
    ]
    for test_path in sorted(test_sources or {}):
        expressions += [
            ("tests", e) for e in test_expressions((test_sources or {})[test_path], module)
        ]
    every = {c.qualname: c for c in changed_callables(source, range(1, source.count("\n") + 2))}
    for item in changed_callables(source, lines):
        target = item
        if item.kind == "nested":
            target = every.get(item.enclosing or "", item)
        if target.kind in ("accessor", "nested") or target.is_async:
            plan.notes.append(f"`{path}`: `{target.qualname}` cannot be called directly; no seeds")
            continue
        node = defs.get(target.qualname)
        function = node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
        span = set(range(target.lineno, target.end_lineno + 1))
        numbers = comment_numbers(source, (lines | (comment_lines or set())) & span)
        found = _seeds_for(path, target, expressions, function, plan.notes, numbers)
        plan.seeds.extend(found)
    plan.seeds = sorted(set(plan.seeds))
    return plan


def _seeds_for(
    path: str,
    item: ChangedCallable,
    expressions: list[tuple[Origin, ast.expr]],
    node: ast.FunctionDef | ast.AsyncFunctionDef | None,
    notes: list[str],
    numbers: list[int | float] | None = None,
) -> list[Seed]:
    calls: dict[str, tuple[Origin, ast.expr]] = {}
    constructions: list[ast.Call] = []
    for origin, expression in expressions:
        for use in _uses(expression, item):
            calls.setdefault(ast.unparse(use), (origin, use))
        if item.owner:
            constructions += [
                c
                for c in ast.walk(expression)
                if isinstance(c, ast.Call) and dotted(c.func) == item.owner
            ]
    bound = item.kind in ("method", "property") and item.name != "__init__"
    if bound and not constructions:
        notes.append(
            f"`{path}`: `{item.qualname}`: no test or doctest constructs a `{item.owner}`; no seeds"
        )
        return []
    receiver = min(constructions, key=ast.unparse) if constructions else None
    if node is not None:
        bases = [use for _, use in calls.values() if isinstance(use, ast.Call)]
        for literal_call in _literal_calls(item, node, bases, receiver, numbers or []):
            calls.setdefault(ast.unparse(literal_call), ("literal", literal_call))
        inspected = _inspected(item, node)
        for _, use in list(calls.values()):
            if isinstance(use, ast.Call):
                for variant in _iterator_variants(item, use, inspected):
                    calls.setdefault(ast.unparse(variant), ("literal", variant))
    chosen = sorted(calls.items(), key=lambda kv: (ORIGIN_PRIORITY[kv[1][0]], kv[0]))
    seeds = [
        Seed(path, item.qualname, text, origin)
        for text, (origin, use) in chosen
        if len(text) <= MAX_CALL_SOURCE and _acceptable(use)
    ]
    return seeds[:MAX_SEEDS_PER_CALLABLE]


def _acceptable(expression: ast.expr) -> bool:
    nodes = list(ast.walk(expression))
    if len(nodes) > MAX_NODES:
        return False
    roots = {n.id for n in nodes if isinstance(n, ast.Name)}
    return not roots & DENIED_ROOTS


# --- where a callable is used --------------------------------------------------------------


def _uses(expression: ast.expr, item: ChangedCallable) -> Iterator[ast.expr]:
    """The sub-expressions of `expression` that call (or, for a property, read) `item`."""
    owner = item.owner or ""
    for node in ast.walk(expression):
        if item.name == "__init__" and owner:
            if isinstance(node, ast.Call) and dotted(node.func) == owner:
                yield node
        elif item.kind == "function":
            if isinstance(node, ast.Call) and dotted(node.func) == item.qualname:
                yield node
        elif item.kind == "property":
            if (
                isinstance(node, ast.Attribute)
                and node.attr == item.name
                and _constructs(node.value, owner)
            ):
                yield node
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr != item.name:
                continue
            receiver = node.func.value
            if _constructs(receiver, owner):
                yield node
            elif dotted(receiver) == owner and (item.kind != "method" or node.args):
                yield node  # Class.static(...), Class.cls(...), Class.method(obj, ...)


def _constructs(node: ast.expr, owner: str) -> bool:
    return bool(owner) and isinstance(node, ast.Call) and dotted(node.func) == owner


# --- literals near the change --------------------------------------------------------------


def _literal_calls(
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


def _inspected(item: ChangedCallable, node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
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


def _iterator_variants(
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


def seeds_for_change(
    checkout: Path,
    changed: Mapping[str, set[int]],
    tests: Mapping[str, str],
    comment_lines: Mapping[str, set[int]] | None = None,
) -> SeedPlan:
    """The seeds of every changed, importable source file of a checkout (read, not run).
    `tests`: test file path -> text (see :func:`jobs.testgen.targets.test_sources`);
    `comment_lines`: per path, the lines whose comments may hold numbers (see find_seeds)."""
    from jobs.testgen.targets import module_for

    plan = SeedPlan()
    for path in sorted(changed):
        if not path.endswith(".py") or is_test_file(path) or not changed[path]:
            continue
        found = module_for(checkout, path)
        if found is None or not (checkout / path).is_file():
            plan.notes.append(f"`{path}`: not an importable module; no seeds")
            continue
        source = (checkout / path).read_text(encoding="utf-8", errors="replace")
        comments = (comment_lines or {}).get(path)
        part = find_seeds(path, source, changed[path], found[1], tests, comments)
        plan.seeds += part.seeds
        plan.notes += part.notes
    return plan
