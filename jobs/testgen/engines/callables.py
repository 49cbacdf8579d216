"""Which callables a change touches, by qualified name, and what types their parameters take.

Pure: source text in (parsed with ``ast``, never imported or executed), descriptions out. A
callable is *touched* when a changed line is in its own code (decorators, signature, body),
not only inside a function or class nested in it; the nested one is touched then, and says
which addressable callable encloses it (a nested function cannot be called from outside).

Parameters without an annotation get a type inferred from, in order of trust: the docstring's
declaration (Sphinx ``:type x:`` / ``:param T x:``, Google ``Args:``, NumPy ``Parameters``);
else the types of the literal values seen for it: its default, the ``>>>`` calls in its
docstring, the literal calls in the repository's test files, and seed calls. A type is a
source expression over builtin names only (``int``, ``str | None``, ``list[str]``), so whoever
uses it can evaluate it anywhere.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

# "accessor": a property's setter or deleter, which nothing can call by name.
Kind = Literal[
    "function", "method", "classmethod", "staticmethod", "property", "accessor", "nested"
]
ParamKind = Literal[
    "positional_only", "positional", "var_positional", "keyword_only", "var_keyword"
]

SIMPLE_TYPES = ("bool", "int", "float", "complex", "str", "bytes", "None")
CONTAINERS = ("list", "tuple", "dict", "set", "frozenset")
MAX_UNION = 3
_DOC_WORDS = {
    "str": "str", "string": "str", "unicode": "str", "text": "str",
    "int": "int", "integer": "int", "float": "float", "number": "float", "bool": "bool",
    "boolean": "bool", "bytes": "bytes", "none": "None", "list": "list", "dict": "dict",
    "dictionary": "dict", "tuple": "tuple", "set": "set", "frozenset": "frozenset",
}  # fmt: skip
_TYPING_ALIASES = {"List": "list", "Dict": "dict", "Tuple": "tuple", "Set": "set"}


@dataclass(frozen=True)
class Param:
    name: str
    kind: ParamKind
    annotation: str | None = None  # as written in the source
    has_default: bool = False
    inferred: str | None = None  # a type expression over builtin names, when not annotated
    evidence: str = ""  # where `inferred` came from


@dataclass(frozen=True)
class ChangedCallable:
    qualname: str  # "f", "Box.grow", "outer.inner"
    kind: Kind
    lineno: int
    end_lineno: int
    params: tuple[Param, ...] = ()
    owner: str | None = None  # the class of a method
    enclosing: str | None = None  # nested: the addressable callable that contains it
    is_async: bool = False

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


@dataclass
class _Found:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    qualname: str
    kind: Kind
    owner: str | None
    enclosing: str | None
    own_lines: set[int] = field(default_factory=set)


def changed_callables(
    source: str,
    lines: Iterable[int],
    *,
    test_sources: Mapping[str, str] | None = None,
    seed_calls: Mapping[str, Sequence[str]] | None = None,
) -> list[ChangedCallable]:
    """The callables with a changed line in their own code, sorted by qualified name, with
    their parameters' types. `test_sources`: test file path -> text (literal calls found there
    are evidence); `seed_calls`: qualified name -> call expressions (``"f(1, 'a')"``)."""
    return describe_callables(
        source, test_sources=test_sources, seed_calls=seed_calls, lines=set(lines)
    )


def describe_callables(
    source: str,
    *,
    test_sources: Mapping[str, str] | None = None,
    seed_calls: Mapping[str, Sequence[str]] | None = None,
    lines: set[int] | None = None,
) -> list[ChangedCallable]:
    """Every callable in `source` (or those with one of `lines` in their own code), sorted by
    qualified name; the first definition of a name wins."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    calls = literal_calls(test_sources or {})
    described: dict[str, ChangedCallable] = {}
    for found in _walk(tree):
        if found.qualname in described or (lines is not None and not found.own_lines & lines):
            continue
        # A constructor is called by its class's name.
        constructor = found.node.name == "__init__" and found.owner
        called = found.owner.rsplit(".", 1)[-1] if constructor and found.owner else found.node.name
        seeds = [*calls.get(called, []), *_parse_calls((seed_calls or {}).get(found.qualname, []))]
        described[found.qualname] = _describe(found, seeds)
    return [described[name] for name in sorted(described)]


def _walk(tree: ast.Module) -> list[_Found]:
    found: list[_Found] = []

    def visit(node: ast.AST, prefix: str, owner: str | None, enclosing: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", f"{prefix}{child.name}", enclosing)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qualname = f"{prefix}{child.name}"
                kind = "nested" if enclosing else _method_kind(child) if owner else "function"
                entry = _Found(child, qualname, kind, owner if not enclosing else None, enclosing)
                entry.own_lines = _own_lines(child)
                found.append(entry)
                visit(child, qualname + ".", None, enclosing or qualname)
            elif not isinstance(child, ast.expr | ast.Lambda):
                visit(child, prefix, owner, enclosing)

    visit(tree, "", None, None)
    return found


def _method_kind(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Kind:
    names = {_dotted(d) for d in node.decorator_list}
    if any(n.endswith((".setter", ".deleter")) for n in names):
        return "accessor"
    if "staticmethod" in names:
        return "staticmethod"
    if "classmethod" in names:
        return "classmethod"
    if names & {"property", "functools.cached_property", "cached_property"}:
        return "property"
    return "method"


def _own_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    lines = set(range(start, (node.end_lineno or node.lineno) + 1))
    for inner in ast.walk(node):
        if inner is not node and isinstance(
            inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            inner_start = min([inner.lineno, *(d.lineno for d in inner.decorator_list)])
            lines -= set(range(inner_start, (inner.end_lineno or inner.lineno) + 1))
    return lines


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


# --- parameters and their types ------------------------------------------------------------


def _describe(found: _Found, seeds: list[ast.Call]) -> ChangedCallable:
    node = found.node
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: dict[str, ast.expr] = dict(
        zip(
            [a.arg for a in positional][len(positional) - len(args.defaults) :],
            args.defaults,
            strict=True,
        )
    )
    defaults.update(
        {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None}
    )
    listed: list[tuple[ast.arg, ParamKind]] = [(a, "positional_only") for a in args.posonlyargs]
    listed += [(a, "positional") for a in args.args]
    if args.vararg:
        listed.append((args.vararg, "var_positional"))
    listed += [(a, "keyword_only") for a in args.kwonlyargs]
    if args.kwarg:
        listed.append((args.kwarg, "var_keyword"))
    docstring = ast.get_docstring(node) or ""
    declared = docstring_types(docstring)
    bound_self = found.kind in ("method", "classmethod", "property")
    observed = _observed_types(
        [a.arg for a in positional],
        found.kind,
        [*doctest_calls(docstring, node.name), *seeds],
    )
    params = []
    for index, (arg, kind) in enumerate(listed):
        name = arg.arg
        annotation = ast.unparse(arg.annotation) if arg.annotation else None
        inferred, evidence = None, ""
        skip_self = bound_self and index == 0 and kind in ("positional", "positional_only")
        if annotation is None and not skip_self and kind not in ("var_positional", "var_keyword"):
            if name in declared:
                inferred, evidence = declared[name], "docstring"
            else:
                seen = list(observed.get(name, []))
                if name in defaults and (t := literal_type(defaults[name])) is not None:
                    seen.insert(0, ("default", t))
                inferred = union([t for _, t in seen])
                evidence = ", ".join(dict.fromkeys(s for s, _ in seen)) if inferred else ""
        params.append(Param(name, kind, annotation, name in defaults, inferred, evidence))
    return ChangedCallable(
        qualname=found.qualname,
        kind=found.kind,
        lineno=node.lineno,
        end_lineno=node.end_lineno or node.lineno,
        params=tuple(params),
        owner=found.owner,
        enclosing=found.enclosing,
        is_async=isinstance(node, ast.AsyncFunctionDef),
    )


def _observed_types(
    positional: list[str], kind: Kind, calls: list[ast.Call]
) -> dict[str, list[tuple[str, str]]]:
    """Parameter name -> (evidence, type) of each literal argument passed to it. A method's
    self is passed explicitly only in the ``Class.method(obj, ...)`` form; a classmethod's
    cls never is."""
    seen: dict[str, list[tuple[str, str]]] = {}
    for call in calls:
        evidence = getattr(call, "_tandem_evidence", "tests")
        unbound = getattr(call, "_tandem_unbound", False)
        offset = 1 if kind == "classmethod" or (kind == "method" and not unbound) else 0
        for position, value in enumerate(call.args):
            if isinstance(value, ast.Starred) or position + offset >= len(positional):
                break
            if (t := literal_type(value)) is not None:
                seen.setdefault(positional[position + offset], []).append((evidence, t))
        for keyword in call.keywords:
            if keyword.arg and (t := literal_type(keyword.value)) is not None:
                seen.setdefault(keyword.arg, []).append((evidence, t))
    return seen


def literal_type(node: ast.expr) -> str | None:
    """The type of a literal expression (``[1, 2]`` -> ``list[int]``), or None."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value_type(value)


def value_type(value: object, depth: int = 0) -> str | None:
    if value is None:
        return "None"
    name = type(value).__name__
    if name in SIMPLE_TYPES:
        return name
    if name not in CONTAINERS or depth > 1:
        return None
    if isinstance(value, dict):
        keys = union([value_type(k, depth + 1) for k in value], allow_none=False)
        values = union([value_type(v, depth + 1) for v in value.values()], allow_none=False)
        return f"dict[{keys}, {values}]" if keys and values else "dict"
    assert isinstance(value, list | tuple | set | frozenset)
    items = union([value_type(v, depth + 1) for v in value], allow_none=False)
    if not items:
        return name
    return f"tuple[{items}, ...]" if name == "tuple" else f"{name}[{items}]"


def union(types: Iterable[str | None], *, allow_none: bool = True) -> str | None:
    """``int | None``-style union of the distinct types (None when any is unknown or there are
    more than MAX_UNION); ``None`` alone says nothing about a parameter's type."""
    distinct = list(dict.fromkeys(types))
    if not distinct or None in distinct:
        return None
    names = [t for t in distinct if t is not None]
    if "int" in names and "bool" in names and len(names) > 2:
        names.remove("bool")
    concrete = sorted(t for t in names if t != "None")
    if not concrete or len(concrete) > MAX_UNION:
        return None
    if "None" in names and not allow_none:
        return None
    return " | ".join([*concrete, *(["None"] if "None" in names else [])])


# --- calls: doctests, tests, seeds ----------------------------------------------------------


def doctest_calls(docstring: str, name: str) -> list[ast.Call]:
    """The calls of `name` in the docstring's ``>>>`` lines."""
    calls = []
    for line in docstring.splitlines():
        stripped = line.strip()
        if stripped.startswith(">>> "):
            for call in _calls_in(stripped[4:]):
                if _dotted(call.func).rsplit(".", 1)[-1] == name:
                    call._tandem_evidence = "doctest"  # type: ignore[attr-defined]
                    calls.append(call)
    return calls


def literal_calls(test_sources: Mapping[str, str]) -> dict[str, list[ast.Call]]:
    """Called name (last dotted part) -> the calls in the test files with a literal argument."""
    found: dict[str, list[ast.Call]] = {}
    for path in sorted(test_sources):
        try:
            tree = ast.parse(test_sources[path])
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (node.args or node.keywords):
                dotted = _dotted(node.func)
                if not dotted:
                    continue
                parts = dotted.split(".")
                # Class.method(obj, ...) passes self explicitly; obj.method(...) does not.
                node._tandem_unbound = len(parts) > 1 and parts[-2][:1].isupper()  # type: ignore[attr-defined]
                found.setdefault(parts[-1], []).append(node)
    return found


def _parse_calls(expressions: Sequence[str]) -> list[ast.Call]:
    calls = []
    for expression in expressions:
        for call in _calls_in(expression):
            call._tandem_evidence = "seeds"  # type: ignore[attr-defined]
            calls.append(call)
    return calls


def _calls_in(code: str) -> Iterator[ast.Call]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return
    yield from (n for n in ast.walk(tree) if isinstance(n, ast.Call))


# --- docstring declarations -----------------------------------------------------------------

_SPHINX_TYPE = re.compile(r"^\s*:type\s+(\w+)\s*:\s*(.+?)\s*$", re.M)
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(.+?)\s+(\w+)\s*:", re.M)
_GOOGLE_ARG = re.compile(r"^\s+\*{0,2}(\w+)\s*\(([^)]+)\)\s*:")
_NUMPY_ARG = re.compile(r"^\s*(\w+)\s*:\s*(.+?)\s*$")
_GOOGLE_HEADERS = ("args:", "arguments:", "parameters:", "params:", "keyword args:")


def docstring_types(docstring: str) -> dict[str, str]:
    """Parameter name -> declared type, from Sphinx, Google and NumPy style sections."""
    declared: dict[str, str] = {}
    raw: list[tuple[str, str]] = [(m[1], m[2]) for m in _SPHINX_TYPE.finditer(docstring)]
    raw += [(m[2], m[1]) for m in _SPHINX_PARAM.finditer(docstring)]
    lines = docstring.splitlines()
    section = ""
    for index, line in enumerate(lines):
        stripped = line.strip()
        underlined = index + 1 < len(lines) and set(lines[index + 1].strip()) == {"-"}
        if stripped.lower() in _GOOGLE_HEADERS:
            section = "google"
        elif stripped.lower() in ("parameters", "other parameters") and underlined:
            section = "numpy"
        elif not stripped or line[:1] in (" ", "\t"):
            if section == "google" and (m := _GOOGLE_ARG.match(line)):
                raw.append((m[1], m[2]))
        elif section == "numpy" and not underlined and set(stripped) != {"-"}:
            if m := _NUMPY_ARG.match(line):
                raw.append((m[1], m[2]))
        elif set(stripped) != {"-"}:
            section = ""
    for name, text in raw:
        if name not in declared and (normal := normalize_type(text)) is not None:
            declared[name] = normal
    return declared


def normalize_type(text: str) -> str | None:
    """A documented type as a builtin type expression: ``"str or None"`` -> ``str | None``,
    ``"list of int"`` -> ``list[int]``, ``"Optional[str]"`` -> ``str | None``; None when a
    part is not a builtin type."""
    text = re.sub(r",?\s*\boptional\b(?!\[)", "", text.strip(), flags=re.I).strip(" ,.`")
    text = re.sub(r"\bOptional\[(.+)\]$", r"\1 | None", text)
    for alias, builtin in _TYPING_ALIASES.items():
        text = re.sub(rf"\b{alias}\b", builtin, text)
    text = re.sub(r"\bUnion\[(.+)\]$", lambda m: m[1].replace(",", " |"), text)
    parts = [p.strip() for p in _split_top_level(text) if p.strip()]
    normal = []
    for part in parts:
        of = re.fullmatch(r"(\w+)\s+of\s+(\w+?)s?", part)
        if of and _DOC_WORDS.get(of[1].lower()) in CONTAINERS and of[2].lower() in _DOC_WORDS:
            container, item = _DOC_WORDS[of[1].lower()], _DOC_WORDS[of[2].lower()]
            normal.append(
                f"{container}[{item}, ...]" if container == "tuple" else f"{container}[{item}]"
            )
        elif re.fullmatch(r"(list|set|frozenset|dict|tuple)\[[\w\s,.|]+\]", part) and _builtin_only(
            part
        ):
            normal.append(part)
        elif part.lower() in _DOC_WORDS:
            normal.append(_DOC_WORDS[part.lower()])
        else:
            return None
    return union(normal)


def _split_top_level(text: str) -> list[str]:
    """`text` split at " or ", "|" and "," outside brackets."""
    parts, depth, current = [], 0, ""
    for token in re.split(r"(\s+or\s+|\s*\|\s*|,\s*|\[|\])", text):
        depth += token == "["
        depth -= token == "]"
        if depth == 0 and token.strip() in ("or", "|", ",") and token.strip():
            parts.append(current)
            current = ""
        else:
            current += token
    return [*parts, current]


def _builtin_only(expression: str) -> bool:
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return False
    allowed = {*SIMPLE_TYPES, *CONTAINERS}
    return all(n.id in allowed for n in ast.walk(tree) if isinstance(n, ast.Name))
