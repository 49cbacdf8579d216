"""The calls the JS/TS characterization engine tries, per exported function (pure: the scan's
JSON in, argument texts out).

The inputs come, in this order, from the function's JSDoc ``@example`` calls, the literal calls
of it in the package's tests (at most half of the calls), and then variants of those with the
changed lines' own literals put in one argument at a time (a number also one above and one
below, since a changed comparison is decided at its edge), taking turns with the project's calls
recombined (one argument at a time from another call). A function nothing calls yet gets
inputs from its parameters' annotations and the changed lines' literals. Every input is
written-out literal source text: the probe (:mod:`.export_probe`) and the kept tests run
exactly that text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

# Calls per function. The probe's time (export_probe.PROBE_BUDGET_MS) bounds the work, so this
# only keeps the request small: at 90, destr's pinning call (the change's `\\` put inside a
# test's `'"Hello"'`) came past it: the calls at the changed check take turns, a variant at a time.
# At 240, a table of 48 rows left each row two variants (change-case's acronym row in lower case
# was its fourth).
MAX_CALLS = 480
MAX_FUNCTIONS = 8  # per source file
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_STRING = re.compile(r"""^(".*"|'.*'|`[^`$]*`)$""", re.S)
# What a parameter of a plain type gets when nothing else gives it a value
_BY_TYPE = {
    "number": ("0", "1", "-1", "2.5"),
    "string": ('""', '"a"', '"Hello World"'),
    "boolean": ("true", "false"),
}


@dataclass(frozen=True)
class Param:
    name: str
    optional: bool = False
    rest: bool = False
    type: str | None = None
    literal: str | None = None  # its default value's text, when a literal
    # the properties the function reads of it, each with a value that sets it (an options
    # object's `singleQuotes`: "true"; `mode === "x"`: '"x"')
    props: tuple[tuple[str, str], ...] = ()
    # object literals of the package's tests that fit it (the keys it reads), some with a
    # property the changed lines read set to a changed-line number (object_inputs.cjs)
    objects: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportedFunction:
    name: str  # as the module exports it ("default" export: its own name)
    export: str  # "name" or "default"
    line: int
    end: int
    is_async: bool = False
    params: tuple[Param, ...] = ()
    examples: tuple[tuple[str, ...], ...] = ()
    calls: tuple[tuple[str, ...], ...] = ()  # literal calls in the package's tests
    literals: tuple[str, ...] = ()  # the changed lines' literals first
    # an export that holds no changed line but reaches these changed declarations, which the
    # module does not export (empty: it holds a changed line itself)
    via: tuple[str, ...] = ()


@dataclass
class Scan:
    functions: list[ExportedFunction] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> its literals
    expressions: list[Any] = field(default_factory=list)  # as the scan wrote them


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _props(value: Any) -> tuple[tuple[str, str], ...]:
    pairs = value if isinstance(value, list) else []
    return tuple(
        (p[0], p[1])
        for p in pairs
        if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
        and re.fullmatch(r"[A-Za-z_$][\w$]*", p[0])
    )  # fmt: skip


def parse_scan(data: Any) -> Scan:
    """The scanner's JSON object as values; anything malformed is left out."""
    scan = Scan()
    if not isinstance(data, dict):
        return Scan(problems=["the export scan printed no object"])
    scan.problems = [str(p) for p in data.get("problems") or [] if isinstance(p, str)]
    scan.members = {
        str(m["name"]): _texts(m.get("literals"))
        for m in data.get("members") or []
        if isinstance(m, dict) and isinstance(m.get("name"), str)
    }
    expressions = data.get("expressions")
    scan.expressions = expressions if isinstance(expressions, list) else []
    for item in data.get("functions") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        params = tuple(
            Param(
                str(p.get("name")),
                bool(p.get("optional")),
                bool(p.get("rest")),
                p.get("type") if isinstance(p.get("type"), str) else None,
                p.get("literal") if isinstance(p.get("literal"), str) else None,
                _props(p.get("props")),
                _texts(p.get("objects")),
            )
            for p in item.get("params") or []
            if isinstance(p, dict)
        )
        scan.functions.append(
            ExportedFunction(
                name=item["name"],
                export="default" if item.get("export") == "default" else "name",
                line=int(item.get("line") or 0),
                end=int(item.get("end") or 0),
                is_async=bool(item.get("async")),
                params=params,
                examples=tuple(_texts(c) for c in item.get("examples") or []),
                calls=tuple(_texts(c) for c in item.get("calls") or []),
                literals=_texts(item.get("literals")),
                via=_texts(item.get("via")),
            )
        )
    return scan


def value_kind(text: str) -> str | None:
    if _NUMBER.match(text):
        return "number"
    if _STRING.match(text):
        return "string"
    if text in ("true", "false"):
        return "boolean"
    return None


def near(text: str) -> list[str]:
    """A number literal and its neighbours: the edge of a changed comparison (any other literal
    as it is)."""
    if not re.fullmatch(r"-?\d+", text):
        return [text]
    n = int(text)
    return [str(n), str(n - 1), str(n + 1)]


def _values_for(param: Param, literals: tuple[str, ...]) -> list[str]:
    """Values for a parameter that no call gives one: the tests' objects that fit it, where it
    is read as an object (a number would only be refused by a type checker: ts-jest's), else
    the changed lines' literals of its annotated type (numbers with their neighbours), then
    plain values of that type."""
    if param.objects:
        return list(param.objects)
    wanted = (param.type or "").strip()
    kinds = {k for k in _BY_TYPE if re.search(rf"\b{k}\b", wanted)} or set(_BY_TYPE)
    found: list[str] = []
    for literal in literals:
        if value_kind(literal) in kinds:
            found += near(literal) if value_kind(literal) == "number" else [literal]
    for kind in sorted(kinds):
        if wanted or kind != "boolean":
            found += _BY_TYPE[kind]
    return list(dict.fromkeys(found))


def string_value(text: str) -> str | None:
    """A JS string literal's value (quotes of any kind, no template expressions), or None."""
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "\"'`":
        return None
    inner = text[1:-1]
    if text[0] == "'":
        inner = re.sub(r'(?<!\\)"', '\\"', inner.replace("\\'", "'"))
    elif text[0] == "`":
        if "${" in inner:
            return None
        inner = inner.replace('"', '\\"').replace("\n", "\\n")
    try:
        value = json.loads(f'"{inner}"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def string_edits(arg: str, literals: tuple[str, ...]) -> list[str]:
    """A string argument at the edge of a changed check of a short string: each occurrence of
    the changed literal removed, its first doubled, the literal added at either end, and put
    just inside either end (a check of a string's first and last characters, `s[0] === '"' &&
    s.at(-1) === '"'`, is passed with the literal inside: `"a\\b"`)."""
    value = string_value(arg)
    if value is None:
        return []
    found: list[str] = []
    for literal in literals:
        mark = string_value(literal)
        if not mark or len(mark) > 3:
            continue
        start = value.find(mark)
        first = start
        while start != -1 and len(found) < 8:
            found.append(value[:start] + value[start + len(mark) :])
            start = value.find(mark, start + 1)
        if first != -1:  # doubled where it stands: a check of the next character tells `|`
            found.append(value[:first] + mark + value[first:])  # from `||` (css-what's `a||b`)
        found += [value + mark, mark + value]
        if len(value) >= 2:
            found += [value[:1] + mark + value[1:], value[:-1] + mark + value[-1:]]
    return [json.dumps(v) for v in dict.fromkeys(found) if v != value]


def case_edits(arg: str) -> list[str]:
    """A string argument in lower case and in upper case, where that changes it: text code
    that capitalises, or compares without case, decides on the letters' case (an acronym
    `U.N.` written `u.n.` is where title-casing and sentence-casing part), and a test's strings
    are mostly written one way."""
    value = string_value(arg)
    if value is None:
        return []
    return [json.dumps(v) for v in dict.fromkeys([value.lower(), value.upper()]) if v != value]


def _option_variants(call: tuple[str, ...], params: tuple[Param, ...]) -> list[tuple[str, ...]]:
    """``call`` with an object parameter given one property at a time that the function reads
    of it (`genString(s)` gives `genString(s, { singleQuotes: true })`; a parameter before it
    that the call leaves out is `undefined`; an object the call gives there keeps its own
    properties and gets the one it lacks: `{ ...{ string: ["name"] }, boolean: [] }`)."""
    out: list[tuple[str, ...]] = []
    for index, param in enumerate(params):
        if param.rest:
            break
        head = (*call[:index], *(["undefined"] * (index - len(call))))
        given = call[index] if index < len(call) else ""
        for name, value in param.props:
            if not given.startswith("{"):
                out.append((*head, f"{{ {name}: {value} }}", *call[index + 1 :]))
            elif not re.search(rf"(?<![\w$]){re.escape(name)}\s*:", given):
                out.append((*head, f"{{ ...{given}, {name}: {value} }}", *call[index + 1 :]))
    return out


MAX_OBJECT_KEYS = 3  # the function's own string literals an object argument gets as keys


def object_edits(arg: str, literals: tuple[str, ...]) -> list[str]:
    """An object literal argument with its properties inherited rather than its own
    (`Object.create({ a: 1 })`: a change between `for … in` and `Object.keys` tells them
    apart), and with a key the function names among its literals set on it as its own
    (`{ ...a, ["__proto__"]: a }`: a check of `key === "__proto__"`, an `Object.assign` that
    takes it as the prototype)."""
    if not arg.startswith("{"):
        return []
    keys = [
        k for lit in literals if (k := string_value(lit)) and re.fullmatch(r"[A-Za-z_$][\w$]*", k)
    ]
    own = [f"{{ ...{arg}, [{json.dumps(k)}]: {arg} }}" for k in keys[:MAX_OBJECT_KEYS]]
    return [f"Object.create({arg})", *own]


def array_elements(text: str) -> list[str] | None:
    """The element texts of an array literal's text (``["--name", "John"]``), or None where
    the text is no array literal: its top-level commas, outside strings and brackets."""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    found: list[str] = []
    depth, quote, start, index = 0, "", 1, 1
    inner_end = len(text) - 1
    while index < inner_end:
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:  # `[0, 100] as Range[]`: the literal ended before the text did
                return None
        elif char == "," and depth == 0:
            found.append(text[start:index].strip())
            start = index + 1
        index += 1
    if quote or depth:
        return None
    last = text[start:inner_end].strip()
    return [*found, last] if last else found


MAX_ARRAY_EDITS = 6  # an array argument's elements left out, one at a time


def array_edits(arg: str) -> list[str]:
    """An array literal argument with one element at a time left out (an argv
    `["--name", "John"]` gives `["--name"]`: an option whose value is missing, the edge a
    changed check of what a parsed value is often decides)."""
    elements = array_elements(arg)
    if not elements or len(elements) < 2 or "" in elements:
        return []
    # the last first: an argv's last option left without its value
    last = range(len(elements) - 1, max(-1, len(elements) - 1 - MAX_ARRAY_EDITS), -1)
    out = [f"[{', '.join(elements[:i] + elements[i + 1 :])}]" for i in last]
    return list(dict.fromkeys(out))


# A value of each kind `typeof` names: a changed line's `typeof path === "object"` (path-to-
# regexp's, where an object now passes for its class) is reached by an argument of that kind
KIND_VALUES = {
    "object": ("{}", "[]", "null"),
    "undefined": ("undefined",),
    "function": ("() => undefined",),
    "number": ("0",),
    "string": ('""',),
    "boolean": ("false",),
    "bigint": ("0n",),
}


def kind_values(literals: tuple[str, ...]) -> list[str]:
    """Values of the kinds the changed lines' string literals name as ``typeof`` does (pure)."""
    return [v for lit in literals for v in KIND_VALUES.get(string_value(lit) or "", ())]


def _variants(
    call: tuple[str, ...], literals: tuple[str, ...], params: tuple[Param, ...] = ()
) -> list[tuple[str, ...]]:
    """``call`` with one argument at a time replaced by a changed-line literal of its kind, or,
    for a string, edited at that literal's edges, or by a value of a kind a changed ``typeof``
    check names (:func:`kind_values`); then with an object parameter's properties set
    (:func:`_option_variants`)."""
    out: list[tuple[str, ...]] = []
    # an object or array argument's edits a kind at a time over the arguments (`defu(a, b)`:
    # each one inherited before either gets an own key), then the literal arguments' variants
    edits = [array_edits(arg) + object_edits(arg, literals) for arg in call]
    for round_ in zip_longest(*edits):
        out += [(*call[:i], v, *call[i + 1 :]) for i, v in enumerate(round_) if v is not None]
    for index, arg in enumerate(call):
        kind = value_kind(arg)
        if kind is None:
            continue
        values = [v for lit in literals if value_kind(lit) == kind for v in near(lit)]
        if kind == "string":
            values += string_edits(arg, literals) + case_edits(arg)
        for value in values:
            if value != arg:
                out.append((*call[:index], value, *call[index + 1 :]))
    for value in kind_values(literals):  # each argument given the kind a changed check names
        out += [(*call[:i], value, *call[i + 1 :]) for i in range(len(call)) if call[i] != value]
    options = _option_variants(call, params)
    # one option before the literal variants: calls are varied a variant at a time, and a
    # long list of literal variants would leave no room for the options
    return [*options[:1], *out, *options[1:]]


def _crossings(call: tuple[str, ...], known: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """``call`` with one argument at a time taken from another of the project's calls at its
    place, or with the arguments another passes beyond its own added: the tests rarely pair
    each of their inputs with each of their options (``defu(a, b)`` of one test with the
    defaults of another), and a changed branch is often reached only by such a pairing."""
    out: list[tuple[str, ...]] = []
    for other in known:
        if other == call:
            continue
        out += [(*call[:k], other[k], *call[k + 1 :]) for k in range(min(len(call), len(other)))]
        if len(other) > len(call):
            out.append((*call, *other[len(call) :]))
    return [c for c in dict.fromkeys(out) if c not in known]


def _holds_mark(call: tuple[str, ...], literals: tuple[str, ...]) -> bool:
    """Whether an argument of ``call`` holds a changed short string literal (as
    :func:`string_edits` takes them)."""
    marks = [m for lit in literals if (m := string_value(lit)) and len(m) <= 3]
    return any((v := string_value(a)) and any(m in v for m in marks) for a in call)


MAX_OBJECTS = 60  # the object inputs one parameter gets
MAX_PAIRS = 160  # calls pairing two parameters' objects


def _object_pairs(required: list[Param], pools: list[list[str]]) -> list[tuple[str, ...]]:
    """Every pairing of the tests' objects where two or more parameters take them: one at a
    time from a first call says little of a function of two objects (a color difference
    decides on the pair: a hue between theirs), the rest of the arguments the first of their
    pools."""
    objects = [i for i, p in enumerate(required) if p.objects]
    if len(objects) < 2:
        return []
    first, second = objects[:2]
    base = [pool[0] for pool in pools]
    out: list[tuple[str, ...]] = []
    for a in pools[first]:
        for b in pools[second]:
            call = list(base)
            call[first], call[second] = a, b
            out.append(tuple(call))
    return out[:MAX_PAIRS]


def calls_for(function: ExportedFunction, limit: int = MAX_CALLS) -> list[tuple[str, ...]]:
    """The argument lists to try for one function, at most ``limit``: the project's own first
    (at most half of them, examples first), then their variants, a call at a time (each call's
    first variant before any call's second), then the rest of the project's own. Its tests
    already check their own calls; a difference on the base or a surviving mutant shows on the
    variants, which a long table of calls in the tests left no room for before."""
    known = list(dict.fromkeys([*function.examples, *function.calls]))
    own = function.params
    # the calls that already hold a changed short string are varied first: they are at the
    # changed check's edge (destr's `'"Hello"'`, for `s[0] === '"' && !s.includes("\\")`)
    near = [call for call in known if _holds_mark(call, function.literals)]
    varied: list[tuple[str, ...]] = []
    for calls in (near, [call for call in known if call not in near]):
        rounds = zip_longest(*(_variants(call, function.literals, own) for call in calls))
        varied += [call for round_ in rounds for call in round_ if call is not None]
    rounds = zip_longest(*(_crossings(call, known) for call in known))
    crossed = [call for round_ in rounds for call in round_ if call is not None]
    taking_turns = [c for pair in zip_longest(varied, crossed) for c in pair if c is not None]
    found = [*known[: limit // 2], *taking_turns, *known]
    if not known:
        required = [p for p in function.params if not (p.optional or p.rest)]
        pools = [
            _values_for(p, function.literals)[: MAX_OBJECTS if p.objects else 8] for p in required
        ]
        base = tuple(pool[0] for pool in pools)
        found.append(base)  # then one argument at a time through its values
        found += [(*base[:i], v, *base[i + 1 :]) for i, pool in enumerate(pools) for v in pool]
        found += _object_pairs(required, pools)
        found += _option_variants(base, function.params)
        if not required and function.params:  # only optional ones: their defaults, then each
            found.append(())
            found += [(v,) for v in _values_for(function.params[0], function.literals)]
    return list(dict.fromkeys(found))[:limit]
