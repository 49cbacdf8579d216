"""Call seeds for the changed callables: the inputs the project itself already holds.

Pure: source text in (parsed with ``ast``, never imported or executed), seeds out. A seed is
an expression over the target module's top-level names and a few pure builtins that calls one
changed callable (``isoparse('1970-01-01T00:00:00.851')``, ``Box(3).grow(2)``), found in:

- ``docstring``: the ``>>>`` lines of the callable's docstring, its class's and the module's;
  a name bound earlier in the same session (``>>> b = Box(3)``) is replaced by its value;
- ``tests``: calls in the repository's test files, matched through their imports of the module,
  with a test function's once-assigned locals and ``pytest.mark.parametrize`` rows replaced;
- ``literal`` (:mod:`.literal_seeds`): a changed line's comparison of a parameter with a
  literal (``x == "abc"``, ``n > 10``, ``s.startswith("A")``) gives that parameter the literal
  (and an integer's neighbours), the others their defaults or the values an existing seed
  passes; a number in a changed comment (``# e.g. 999999 is 999.999 kB``) is given to each
  parameter an existing seed passes a number; a parameter the callable inspects
  (``getattr(p, ...)``, ``hasattr``, ``isinstance``) also gets each string, list or tuple an
  existing seed passes as a one-shot iterator (``iter('abc')``), the other kind of input it
  tells apart; and a callable whose parameters all have defaults is called without arguments.

A method is seeded only through an instance that a doctest or test constructs (``Box(3)``);
without one it is skipped, with a note. What a seed *returns* is not decided here: the
characterization engine runs each one in the sandbox and records the head's result.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jobs.languages.python.testfiles import is_test_file
from jobs.testgen.engines import typing_values
from jobs.testgen.engines.callables import ChangedCallable, changed_callables
from jobs.testgen.engines.input_helpers import Defined
from jobs.testgen.engines.literal_seeds import (
    comment_numbers,
    inspected_params,
    iterator_variants,
    literal_calls,
)
from jobs.testgen.engines.seed_sources import (
    DENIED_ROOTS,
    PURE_BUILTINS,
    definitions,
    doctest_expressions,
    dotted,
    imported_names,
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
MAX_CALL_SOURCE = 400  # characters of one seed expression
MAX_NODES = 120  # AST nodes of one seed expression


@dataclass(frozen=True, order=True)
class Seed:
    path: str
    qualname: str
    call_source: str  # one expression; evaluate it in a namespace holding `names`
    origin: Origin
    # Classes of the project's test modules the call uses as inputs (:class:`.Defined`).
    defines: tuple[Defined, ...] = ()
    # The module whose names the call uses, when not the target's: the project's entry point
    # that led to the target (``pkg._main``'s ``_fix_src('x = (1,)')``, :mod:`.call_capture`).
    via: str = ""

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
    shared = imported_names(tree)
    hinting = typing_values.typing_names(source)
    defs = definitions(tree)
    expressions: list[tuple[Origin, ast.expr]] = [
        ("docstring", e) for e in doctest_expressions(tree, top, module, defs)
    ]
    for test_path in sorted(test_sources or {}):
        expressions += [
            ("tests", e) for e in test_expressions((test_sources or {})[test_path], module, shared)
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
        # A function that takes a type, called with a hint of each shape (:mod:`.typing_values`).
        found += [
            Seed(path, target.qualname, call, "literal")
            for call in typing_values.annotated_calls(target, hinting)
            if not any(s.call_source == call for s in found)
        ]
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
        for literal_call in literal_calls(item, node, bases, receiver, numbers or []):
            calls.setdefault(ast.unparse(literal_call), ("literal", literal_call))
        inspected = inspected_params(item, node)
        for _, use in list(calls.values()):
            if isinstance(use, ast.Call):
                for variant in iterator_variants(item, use, inspected):
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


def seeds_for_change(
    checkout: Path,
    changed: Mapping[str, set[int]],
    tests: Mapping[str, str],
    comment_lines: Mapping[str, set[int]] | None = None,
) -> SeedPlan:
    """The seeds of every changed, importable source file of a checkout (read, not run).
    `tests`: test file path -> text (see :func:`jobs.testgen.engines.python_modules.test_sources`);
    `comment_lines`: per path, the lines whose comments may hold numbers (see find_seeds)."""
    from jobs.testgen.engines.python_modules import module_for

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
