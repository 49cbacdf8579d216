"""The variants test amplification runs (:mod:`.amplify`): a project test's body with one literal
changed at a time, DSpot's input amplification. Pure: source in, function nodes out.

A literal *site* is a constant or a list, tuple, set or dict display the test passes as input,
in its body or in a module-level name the body reads (``table = "<table>…"``; the variant then
binds the name in the body first). The side an assertion compares against is no input: it is
never varied, and the assertion becomes an observation anyway (:mod:`.amplify_probe`). Each
site gets, the change's own tokens first (:func:`.input_variants.string_variants`):

- numbers: ±1, 0, the negated one, a float's fraction alone with either sign; booleans
  flipped;
- strings: the change's tokens inserted, doubled or removed, a character added at a boundary
  of markup (``…</li>x<li>…``), the first or last one removed, a number in it moved by ±1,
  negated or followed by a letter, the empty string, another spelling of Python source
  (:mod:`.source_variants`);
- displays: one element dropped, one duplicated; a mapping of names that lacks a key the
  change reads (:func:`.change_values.read_keys`) gets it, with an empty or plain value;
- where the change classifies text (:mod:`.char_classes`), first: a string gets a character
  at the class's edge (a sign before its last number, a line break at its end), a number its
  sign flipped.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jobs.testgen.engines import char_classes, input_variants, source_variants
from jobs.testgen.engines.amplify_names import edit, short, slugify
from jobs.testgen.engines.change_values import NO_AIMS, Aims, with_construct, with_digits

MAX_PER_SITE = 14
MAX_SITES = 30
MAX_DEFINED = 3  # functions a test defines, each made to raise what the change handles
MAX_DISPLAY_EDITS = 3  # elements of a display dropped, and duplicated, at most
MAX_DIGIT_EDITS = 4  # a number with one digit replaced by one the change compares with
MAX_AGAIN = 6  # a second round's neighbours of one first-round value
MAX_KEY_EDITS = 8  # a mapping with a key the change reads added
# What a key the change reads is given: an empty or plain value of each kind (a handler that
# does nothing with an empty schema is what ``{}`` reaches).
KEY_VALUES = ("{}", "False", "True", "0", "''", "[]", "None")
_ASSERT_ONE = {"assertTrue", "assertFalse", "assertIsNone", "assertIsNotNone", "assertIsInstance"}
_DIGITS = re.compile(r"\d+")
_BOUNDARY = re.compile(r">(?=<)|(?<=[,;])")  # between two tags; after a separator


@dataclass(frozen=True)
class TestFunction:
    """A test function of a module: its class (None at top level) and name."""

    __test__ = False  # not a pytest class

    cls: str | None
    name: str

    @property
    def label(self) -> str:
        return f"{self.cls}.{self.name}" if self.cls else self.name


@dataclass(frozen=True)
class Edit:
    """One literal changed: the index of its site among the test's (:func:`sites`) and the
    value put there."""

    site: int
    value: ast.AST


@dataclass(frozen=True)
class Variant:
    """One variant: the function with one literal changed (``what`` says which), or as is, or
    (a second round's) two edits at once."""

    function: ast.FunctionDef
    what: str = ""  # "'a' -> 'ab'"; "" for the body as is
    slug: str = "as_is"
    edits: tuple[Edit, ...] = ()


def test_functions(tree: ast.Module) -> dict[TestFunction, ast.FunctionDef]:
    """The module's test functions and the test methods of its classes (async ones left out:
    their observations would need an event loop of the project's choosing)."""
    found: dict[TestFunction, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            found[TestFunction(None, node.name)] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                    found[TestFunction(node.name, item.name)] = item
    return found


def size(node: ast.AST) -> int:
    return sum(1 for _ in ast.walk(node))


def _expected_sides(function: ast.FunctionDef) -> set[int]:
    """The ids of the nodes an assertion compares against: the literal side of ``a == b`` and
    of ``self.assertEqual(a, b)``, and everything below them."""
    sides: list[ast.AST] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
            if len(node.test.comparators) == 1:
                left, right = node.test.left, node.test.comparators[0]
                sides.append(right if not is_literal(left) else left)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name.startswith("assert") and name not in _ASSERT_ONE and len(node.args) >= 2:
                first, second = node.args[0], node.args[1]
                sides.append(second if not is_literal(first) else first)
    return {id(n) for side in sides for n in ast.walk(side)}


def is_literal(node: ast.AST) -> bool:
    """A constant, or a display of literals."""
    try:
        ast.literal_eval(node)  # type: ignore[arg-type]
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return False
    return True


def _sites(root: ast.AST, skip: set[int]) -> list[ast.expr]:
    """The literal nodes under `root` an input can be varied at, in source order. A keyword
    argument the test repeats with the same literal (``lang='ru'`` in each of thirty calls) is
    the test's setting, not an input of each call: only its first is a site, so the calls'
    own inputs get the budget."""
    settings: set[str] = set()
    keywords = [k for k in ast.walk(root) if isinstance(k, ast.keyword) and k.arg]
    for keyword in sorted(keywords, key=lambda k: (k.value.lineno, k.value.col_offset)):
        if isinstance(keyword.value, ast.Constant):
            if (key := f"{keyword.arg}={keyword.value.value!r}") in settings:
                skip.add(id(keyword.value))
            settings.add(key)
    found: list[ast.expr] = []
    for node in ast.walk(root):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):  # an f-string's pieces are no literals of their own
            skip |= {id(n) for n in ast.walk(node)}
        elif isinstance(node, ast.Constant) and not isinstance(node.value, bytes | type(None)):
            found.append(node)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set) and isinstance(
            getattr(node, "ctx", ast.Load()), ast.Load
        ):
            if node.elts:
                found.append(node)
        elif isinstance(node, ast.Dict) and node.keys and None not in node.keys:
            found.append(node)
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(root)
        if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Module)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return sorted(
        (n for n in found if id(n) not in docstrings), key=lambda n: (n.lineno, n.col_offset)
    )


def module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound once to a literal (``table = "<table>…"``)."""
    bound: dict[str, list[ast.expr]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                bound.setdefault(target.id, []).append(node.value)
    return {k: v[0] for k, v in bound.items() if len(v) == 1 and is_literal(v[0])}


def values_for(node: ast.AST, tokens: tuple[str, ...], aims: Aims = NO_AIMS) -> list[ast.AST]:
    """The literal's neighbours, as nodes: the change's tokens first; a function the test
    defines raises each exception the change catches or raises."""
    if isinstance(node, ast.FunctionDef):
        return [_raising(node, name) for name in aims.raises]
    if isinstance(node, ast.Constant):
        return [ast.Constant(v) for v in constant_values(node.value, tokens, aims)]
    if isinstance(node, ast.Dict):
        return [
            *with_keys(node, aims.keys),
            *(
                ast.Dict(node.keys[:i] + node.keys[i + 1 :], node.values[:i] + node.values[i + 1 :])
                for i in range(min(len(node.keys), MAX_DISPLAY_EDITS))
            ),
        ]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        elts = node.elts
        out: list[ast.AST] = []
        for i in range(min(len(elts), MAX_DISPLAY_EDITS)):
            dropped = elts[:i] + elts[i + 1 :]
            doubled = [*elts[: i + 1], elts[i], *elts[i + 1 :]]
            if isinstance(node, ast.Set):  # a set of one element less; ``{}`` would be a dict
                out += [ast.Set(elts=dropped)] if dropped else []
            else:
                out += [type(node)(elts=dropped, ctx=ast.Load())]
                out += [type(node)(elts=doubled, ctx=ast.Load())]
        return out
    return []


def with_keys(node: ast.Dict, keys: tuple[str, ...]) -> list[ast.Dict]:
    """A mapping of names (every key a string) with each key the change reads that it lacks
    added, each with the values of KEY_VALUES in turn, at most MAX_KEY_EDITS."""
    held = [k.value for k in node.keys if isinstance(k, ast.Constant)]
    if not held or len(held) != len(node.keys) or not all(isinstance(k, str) for k in held):
        return []
    return [
        ast.Dict(
            [*node.keys, ast.Constant(key)], [*node.values, ast.parse(value, mode="eval").body]
        )
        for value in KEY_VALUES
        for key in keys
        if key not in held
    ][:MAX_KEY_EDITS]


def _raising(function: ast.FunctionDef, name: str) -> ast.FunctionDef:
    """`function` raising `name` (a built-in exception) as it starts."""
    raised = ast.Raise(ast.Call(ast.Name(name, ast.Load()), [ast.Constant("tandem")], []))
    fresh = copy.deepcopy(function)
    at = 1 if ast.get_docstring(fresh) is not None else 0
    fresh.body.insert(at, raised)
    return ast.fix_missing_locations(fresh)


def constant_values(
    value: object, tokens: tuple[str, ...], aims: Aims = NO_AIMS
) -> list[str | bool | int | float]:
    """Neighbours of one constant, at most MAX_PER_SITE: a number's digits replaced by those
    the change compares with first."""
    out: list[str | bool | int | float] = []
    if isinstance(value, bool):
        out = [not value]
    elif isinstance(value, int):
        out += [
            *char_classes.int_neighbours(value, aims.chars),
            *with_digits(value, aims.digits)[:MAX_DIGIT_EDITS],
            *input_variants.int_variants(value),
            -1,
        ]
    elif isinstance(value, float):
        out = [*input_variants.float_variants(value), value + 0.5]
    elif isinstance(value, str):
        out += string_values(value, tokens, aims)
    kept = [v for v in dict.fromkeys(out) if v != value or type(v) is not type(value)]
    return kept[:MAX_PER_SITE]


def string_values(value: str, tokens: tuple[str, ...], aims: Aims = NO_AIMS) -> list[str]:
    """A string's neighbours, one of each kind in turn so a short cap still has every kind:
    the change's tokens, a character at a seam of its structure (a text node between two tags,
    an item after a separator), a number in it moved, another spelling of Python source, the
    others (its case changed, the first or last character removed)."""
    plain = input_variants.string_variants(value, ())
    aimed = [t for t in input_variants.string_variants(value, tokens) if t not in plain]
    seams = [value[: m.end()] + "x" + value[m.end() :] for m in _BOUNDARY.finditer(value)][:3]
    numbers: list[str] = []
    for match in list(_DIGITS.finditer(value))[:2]:
        start, end = match.span()
        numbers += [value[:start] + "-" + value[start:], value[:end] + "x" + value[end:]]
    numbers += [t for t in plain if t and t.lower() != value.lower()]
    others = [t for t in plain if t and t != value.swapcase() and t not in numbers]
    others += [value[1:], value[:-1]] if len(value) > 1 else []
    kinds = [char_classes.char_variants(value, aims.chars), aimed, seams, numbers, others]
    if source_variants.is_source(value):
        # Python source: its statements duplicated or removed, another spelling of it; what
        # would not parse (its case changed, a character cut) says nothing about the change.
        # The constructs the change reads (``ast.Del``: a ``del`` of a name it binds) first.
        spelled = source_variants.rewrites(value)[:4]
        kinds = [
            with_construct(value, aims.constructs),
            aimed,
            statements(value),
            spelled,
            [t for t in numbers if source_variants.parses(t)],
        ]
    out = [k[i] for i in range(max(map(len, kinds))) for k in kinds if i < len(k)]
    return [*dict.fromkeys(out), ""]


def statements(source: str) -> list[str]:
    """The source with one of its top-level statements duplicated (a second loop after a
    first that never ends), then with one removed, MAX_DISPLAY_EDITS of each."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    lines = [line if line.endswith("\n") else line + "\n" for line in source.splitlines(True)]
    spans = [(n.lineno - 1, n.end_lineno or n.lineno) for n in body]
    doubled = [
        "".join([*lines[:end], *lines[start:end], *lines[end:]])
        for start, end in spans[:MAX_DISPLAY_EDITS]
    ]
    removed = [
        "".join([*lines[:start], *lines[end:]])
        for start, end in spans[:MAX_DISPLAY_EDITS]
        if len(spans) > 1
    ]
    return [t for t in [*doubled, *removed] if t != source and source_variants.parses(t)]


Site = tuple[str | None, ast.AST]  # a module name it belongs to (None: the body's own), node


def sites(function: ast.FunctionDef, constants: dict[str, ast.expr]) -> list[Site]:
    """The literal sites a variant can change: the body's own, then those of the module names
    the body reads and does not assign, at most MAX_SITES; then the functions the body defines
    (callbacks it hands in), at most MAX_DEFINED. Always in the same order."""
    skip = _expected_sides(function)
    own: list[Site] = [(None, site) for site in _sites(function, set(skip))]
    read = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    assigned = {
        n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    names = [n for n in constants if n in read and n not in assigned]
    borrowed: list[Site] = [(n, site) for n in names for site in _sites(constants[n], set())]
    defined: list[Site] = [
        (None, node)
        for node in ast.walk(function)
        if isinstance(node, ast.FunctionDef) and node is not function
    ]
    return [*own, *borrowed][:MAX_SITES] + defined[:MAX_DEFINED]


def variants(
    function: ast.FunctionDef,
    constants: dict[str, ast.expr],
    tokens: tuple[str, ...],
    cap: int,
    aims: Aims = NO_AIMS,
) -> list[Variant]:
    """The body as is, then one literal changed at a time: each site's first neighbour, then
    each one's second, and so on, up to `cap` variants in all."""
    found = sites(function, constants)
    queues = [
        [
            _variant(function, constants, found, (Edit(index, value),))
            for value in values_for(site, tokens, aims)
        ]
        for index, (_, site) in enumerate(found)
    ]
    return _interleaved([Variant(copy.deepcopy(function))], queues, cap)


def second_round(
    function: ast.FunctionDef,
    constants: dict[str, ast.expr],
    tokens: tuple[str, ...],
    changers: list[Variant],
    cap: int,
    ran: Sequence[Variant] = (),
    aims: Aims = NO_AIMS,
) -> list[Variant]:
    """Variants of the variants that changed what the head observed, where none told base and
    head apart: each one's literal moved once more (``12.5`` → ``0.5`` → ``-0.5``), and each
    two of them at different sites together (an index one further and a list one shorter:
    the index then equals the length), round-robin, up to `cap`, none that `ran` (the first
    round) holds. A change that shows only where two inputs move together is found here."""
    found = sites(function, constants)
    single = [v for v in changers if len(v.edits) == 1 and v.edits[0].site < len(found)]
    again = [
        [
            _variant(function, constants, found, (Edit(v.edits[0].site, value),))
            for value in values_for(v.edits[0].value, tokens, aims)[:MAX_AGAIN]
        ]
        for v in single
    ]
    pairs = [
        _variant(function, constants, found, (a.edits[0], b.edits[0]))
        for i, a in enumerate(single)
        for b in single[i + 1 :]
        if a.edits[0].site != b.edits[0].site
    ]
    first = {ast.dump(function), *(ast.dump(v.function) for v in [*changers, *ran])}
    out = _interleaved([], [*again, pairs], cap + len(first), seen=first)
    return out[:cap]


def _interleaved(
    found: list[Variant], queues: list[list[Variant]], cap: int, seen: set[str] | None = None
) -> list[Variant]:
    """`found`, then each queue's first variant, then each one's second, and so on, each
    distinct one once, up to `cap` in all."""
    seen = set(seen or ()) | {ast.dump(v.function) for v in found}
    found = list(found)
    for round_ in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if round_ < len(queue) and len(found) < cap:
                variant = queue[round_]
                if (dumped := ast.dump(variant.function)) not in seen:
                    seen.add(dumped)
                    found.append(variant)
    return found


def _variant(
    function: ast.FunctionDef,
    constants: dict[str, ast.expr],
    found: list[Site],
    edits: tuple[Edit, ...],
) -> Variant:
    """The function with `edits` made: a site of the body in place, a site of module constant
    `name` in a copy of its value, bound to the name at the start of the body."""
    own = {id(found[e.site][1]): e.value for e in edits if found[e.site][0] is None}
    varied = _replaced(function, own)
    bound: dict[str, dict[int, ast.AST]] = {}
    for e in edits:
        name, site = found[e.site]
        if name is not None:
            bound.setdefault(name, {})[id(site)] = e.value
    at = 1 if ast.get_docstring(varied) is not None else 0
    for name, swaps in bound.items():
        value = _replaced(constants[name], swaps)
        varied.body.insert(at, ast.Assign([ast.Name(name, ast.Store())], value, lineno=0))
    whats, slugs = [], []
    for e in edits:
        name, site = found[e.site]
        if isinstance(site, ast.FunctionDef):
            whats.append(f"{site.name} {edit(site, e.value)}")
            slugs.append(whats[-1])
            continue
        whats.append(f"{name + ': ' if name else ''}{short(site)} -> {short(e.value)}")
        slugs.append(f"{name or ''} {edit(site, e.value)}")
    return Variant(
        ast.fix_missing_locations(varied), "; ".join(whats), slugify(" ".join(slugs)), edits
    )


def _replaced[N: ast.AST](root: N, swaps: Mapping[int, ast.AST]) -> N:
    """A copy of `root` with each node in it whose id `swaps` holds replaced by its value."""
    kept = {key: node for node in ast.walk(root) if (key := id(node)) in swaps}

    class Swap(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            if id(node) in swaps and kept.get(id(node)) is node:
                return ast.copy_location(copy.deepcopy(swaps[id(node)]), node)
            return super().visit(node)

    # The sites stay themselves in the copy (the memo), so the swap finds them by identity.
    fresh = Swap().visit(copy.deepcopy(root, dict(kept)))
    assert isinstance(fresh, type(root))
    return ast.fix_missing_locations(fresh)
