"""What the JS/TS characterization engine evaluates, as :class:`Candidate` values (pure): the
calls of the changed exported functions (:mod:`.export_calls`), and the expressions the
package's tests check of the changed class members (``test_expressions.cjs``), each also with
one literal at a time replaced by another that the group's expressions pass at that kind of
place (a unit, a date), or by a changed-line literal, since a test of a member with state can
only start from how the project's own tests build it.

A candidate is source text in the names of the file it runs in; its imports say what those names
are, with a relative module written package-relative, so that the probe and the written test
each import it from where they are.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import islice, zip_longest
from typing import Any

from jobs.languages.javascript.export_calls import (
    ExportedFunction,
    array_elements,
    calls_for,
    near,
    string_edits,
    value_kind,
)
from jobs.languages.javascript.suite_layout import TestLayout

MAX_EXPRESSION_VARIANTS = 60  # per group, after the tests' own expressions
MAX_OBSERVED = 12  # calls a group gets with an argument observed after the call
MODULE = "__tandemModule"  # the probe's namespace import of the changed source
_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


@dataclass(frozen=True)
class Import:
    name: str  # the local name
    module: str  # package-relative path for a relative specifier, else the specifier itself
    kind: str  # named, default or namespace
    imported: str = ""  # the exported name (named imports)
    relative: bool = True


@dataclass(frozen=True)
class Candidate:
    group: str  # the changed function or member: the test file's describe block
    expression: str  # what a test checks, in the test file's names
    probe: str  # the same in the probe's names
    setup: str = ""  # statements it needs first (the project's test's own helpers)
    imports: tuple[Import, ...] = ()
    label: str = ""  # what the test's name says of it


@dataclass(frozen=True)
class Span:
    part: str  # "setup" or "text"
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Expression:
    group: str
    text: str
    setup: str
    test: str  # the test file it came from, package-relative
    imports: tuple[Import, ...]
    literals: tuple[Span, ...]
    helpers: tuple[str, ...] = ()  # the setup's declarations, one a helper
    call: tuple[str, tuple[str, ...]] | None = None  # a call of the group: callee, arguments


def module_of(spec: str, test: str) -> tuple[str, bool]:
    """A specifier in test file ``test`` (package-relative): the package-relative module it
    names when relative, else the specifier itself."""
    if spec.startswith((".", "/")):
        return posixpath.normpath(posixpath.join(posixpath.dirname(test), spec)), True
    return spec, False


def parse_expressions(items: Any, package_dir: str) -> list[Expression]:
    """The scan's ``expressions`` as values; test paths made package-relative."""
    found: list[Expression] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        test = posixpath.relpath(str(item.get("test", "")), package_dir)
        imports = []
        for i in item.get("imports") or []:
            if isinstance(i, dict) and isinstance(i.get("spec"), str):
                module, relative = module_of(i["spec"], test)
                kind = str(i.get("kind"))
                imports.append(
                    Import(str(i["name"]), module, kind, str(i.get("imported")), relative)
                )
        spans = tuple(
            Span(str(s["part"]), int(s["start"]), int(s["end"]), str(s["text"]))
            for s in item.get("literals") or []
            if isinstance(s, dict) and {"part", "start", "end", "text"} <= s.keys()
        )
        call = item.get("call")
        parts = None
        if isinstance(call, dict) and isinstance(call.get("callee"), str):
            parts = (call["callee"], tuple(str(a) for a in call.get("args") or []))
        helpers = tuple(str(h) for h in item.get("helpers") or [] if isinstance(h, str))
        found.append(
            Expression(
                str(item.get("group")), item["text"], str(item.get("setup") or ""), test,
                tuple(imports), spans, helpers, parts,
            )
        )  # fmt: skip
    return found


def function_import(function: ExportedFunction, source: str) -> Import:
    """How a test imports a changed exported function of ``source`` (package-relative)."""
    kind = "default" if function.export == "default" else "named"
    return Import(function.name, source, kind, function.name)


def function_candidates(function: ExportedFunction, source: str) -> list[Candidate]:
    """Calls of a changed exported function; ``source``: its package-relative path."""
    kind = "default" if function.export == "default" else "named"
    imports = (function_import(function, source),)
    member = MODULE + f"[{json.dumps('default' if kind == 'default' else function.name)}]"
    return [
        Candidate(
            function.name,
            f"{function.name}({', '.join(args)})",
            f"{member}({', '.join(args)})",
            imports=imports,
            label=", ".join(args),
        )
        for args in calls_for(function)
    ]


def _replaced(expression: Expression, span: Span, value: str) -> Expression:
    def put(text: str) -> str:
        return text[: span.start] + value + text[span.end :]

    if span.part == "setup":
        return replace(expression, setup=put(expression.setup), literals=())
    return replace(expression, text=put(expression.text), literals=())


def _literal_pool(
    expressions: list[Expression], literals: tuple[str, ...]
) -> dict[str | None, list[str]]:
    """The values of each kind the group's expressions and the changed lines give."""
    pool: dict[str | None, list[str]] = {}
    for text in [*literals, *(s.text for e in expressions for s in e.literals)]:
        values = pool.setdefault(value_kind(text), [])
        if text not in values:
            values.append(text)
    return pool


def _span_at_a_time(per_span: list[list[Expression]]) -> Iterator[Expression]:
    """Each literal's first replacement before any literal's second: the first literal of a
    test (commander's flags, `new Option("-a", "description")`) would otherwise take every
    slot, and the change waits behind another (the description left out)."""
    for round_ in zip_longest(*per_span):
        yield from (e for e in round_ if e is not None)


def variants(expression: Expression, pool: dict[str | None, list[str]]) -> Iterator[Expression]:
    """The expression with one literal at a time replaced by another of its kind from the pool
    (numbers also one above and below), or, for a string, edited at a short pooled string;
    a literal at a time (:func:`_span_at_a_time`)."""
    per_span: list[list[Expression]] = []
    for span in expression.literals:
        kind = value_kind(span.text)
        values = [v for p in pool.get(kind, []) for v in (near(p) if kind == "number" else [p])]
        if kind == "string":
            values += string_edits(span.text, tuple(pool.get("string", [])))
        per_span.append(
            [_replaced(expression, span, v) for v in dict.fromkeys(values) if v != span.text]
        )
    return _span_at_a_time(per_span)


# What a literal's place gets besides values of its own kind: the other kinds of value a change
# often tells apart (`typeof key === "object"`, `value === null`, an argument left out), which
# tests rarely pass
OTHER_KINDS = ("{}", "undefined", "null", "[]")


def other_kinds(expression: Expression) -> Iterator[Expression]:
    """The expression with one literal at a time replaced by a value of another kind: an
    object, undefined, null, an array. Each literal gets a different kind first (the k-th
    literal the k-th kind, then the next): the first few variants of a test then reach both
    its literals and the kinds, where ohash's Map needs its first key an object (`{}`) and
    commander's `new Option("-a", "description")` its second argument left out."""
    spans = expression.literals
    kinds = len(OTHER_KINDS)
    for round_ in range(kinds):
        for index, span in enumerate(spans):
            yield _replaced(expression, span, OTHER_KINDS[(round_ + index) % kinds])


def _declared(helper: str) -> str:
    """The name a helper declares (`const name = …`, `function name(…) {…}`), else its text."""
    found = re.match(r"\s*(?:(?:const|let|var)\s+|(?:async\s+)?function\*?\s*)([\w$]+)", helper)
    return found[1] if found else helper


def _merged(
    first: Expression, second: Expression
) -> tuple[tuple[str, ...], tuple[Import, ...]] | None:
    """The helpers and imports of two expressions together, or None where one name would mean
    two things (two tests' helpers of one name, or imports of one name from two places)."""
    helpers = tuple(dict.fromkeys([*first.helpers, *second.helpers]))
    names = [_declared(h) for h in helpers]
    imports = tuple(dict.fromkeys([*first.imports, *second.imports]))
    if len(set(names)) < len(names) or len({i.name for i in imports}) < len(imports):
        return None
    return helpers, imports


def _crossed(args: tuple[str, ...], other: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``args`` with one argument at a time taken from ``other`` at its place, and with the
    arguments ``other`` has beyond them added (an option bag one call passes, the other not)."""
    out = [(*args[:k], other[k], *args[k + 1 :]) for k in range(min(len(args), len(other)))]
    if len(other) > len(args):
        out.append((*args, *other[len(args) :]))
    return [a for a in out if a != args]


def recombined(mine: list[Expression]) -> Iterator[Expression]:
    """The group's calls with their arguments recombined across the tests' calls: a receiver or
    call of one test with an argument of another, each call's first such before any call's
    second. The project's tests rarely try each input of theirs with each option of theirs,
    and a changed branch is often reached only by such a pairing."""
    calls = [e for e in mine if e.call is not None]
    per_call: list[list[Expression]] = []
    for e in calls:
        assert e.call is not None
        callee, args = e.call
        mixes: list[Expression] = []
        for other in calls:
            assert other.call is not None
            merged = _merged(e, other) if other is not e else None
            for crossed in _crossed(args, other.call[1]) if merged else []:
                assert merged is not None
                text = f"{callee}({', '.join(crossed)})"
                setup = "\n".join(merged[0])
                mixes.append(
                    replace(
                        e, text=text, setup=setup, helpers=merged[0], imports=merged[1],
                        literals=(), call=None,
                    )
                )  # fmt: skip
        per_call.append(mixes)
    for round_ in zip_longest(*per_call):
        yield from (e for e in round_ if e is not None)


GIVEN = "given"  # the name an observed argument is bound to


def _reversed(arg: str) -> str | None:
    """An array literal's text with its elements in reverse order, where that changes it."""
    elements = array_elements(arg)
    if not elements or len(set(elements)) < 2 or "" in elements:
        return None
    return f"[{', '.join(reversed(elements))}]"


def observed_arguments(expression: Expression) -> Iterator[Expression]:
    """A call of the group whose argument is an array or object literal, with that argument
    bound to a name first and observed after the call instead of the call's value: a change
    that stops sorting or changing the caller's array (cron-parser's `values.sort(…)` became
    `[...values].sort(…)`) shows only there. An array in reverse order too (the tests' arrays
    are mostly sorted already, and a sort leaves those as they were)."""
    if expression.call is None:
        return
    callee, args = expression.call
    names = {_declared(h) for h in expression.helpers}
    if GIVEN in names or re.search(rf"\b{GIVEN}\b", expression.text):
        return
    for index, arg in enumerate(args):
        if not arg.startswith(("[", "{")):
            continue
        for value in dict.fromkeys(v for v in (arg, _reversed(arg)) if v is not None):
            call = f"{callee}({', '.join([*args[:index], GIVEN, *args[index + 1 :]])});"
            setup = "\n".join([*expression.helpers, f"const {GIVEN} = {value};", call])
            yield replace(expression, text=GIVEN, setup=setup, literals=(), call=None)


def _own_import(expression: Expression, own: dict[str, Import]) -> Expression:
    """An expression of a changed exported function imports the function as its candidates do
    (from its own module): a test's import of it from an index module would name it twice."""
    mine = own.get(expression.group)
    if mine is None:
        return expression
    imports = tuple(
        mine if i.name == mine.name and i.imported in (mine.name, "default") else i
        for i in expression.imports
    )
    return replace(expression, imports=imports)


def expression_candidates(
    expressions: list[Expression],
    literals: dict[str, tuple[str, ...]],
    own: dict[str, Import] | None = None,
) -> list[Candidate]:
    """The tests' own expressions of each group first, then their variants and their calls
    recombined, taking turns, within :data:`MAX_EXPRESSION_VARIANTS` a group; ``literals``:
    each group's changed-line literals; ``own``: the import of each changed exported function
    by its name."""
    found: list[Candidate] = []
    expressions = [_own_import(e, own or {}) for e in expressions]
    for group in dict.fromkeys(e.group for e in expressions):
        mine = [e for e in expressions if e.group == group]
        pool = _literal_pool(mine, literals.get(group, ()))
        # an expression at a time, as the kinds below: one test's long list of variants
        # would leave the others none
        each_varied = zip_longest(*(variants(e, pool) for e in mine))
        varied = [v for r in each_varied for v in r if v is not None]
        mixed = list(islice(recombined(mine), MAX_EXPRESSION_VARIANTS))
        each = zip_longest(*(other_kinds(e) for e in mine))  # an expression at a time
        kinds = list(islice((k for r in each for k in r if k is not None), MAX_EXPRESSION_VARIANTS))
        rounds = zip_longest(varied, mixed, kinds)
        taking_turns = [e for round_ in rounds for e in round_ if e is not None]
        extra = taking_turns[:MAX_EXPRESSION_VARIANTS]
        observed = [o for e in mine for o in observed_arguments(e)][:MAX_OBSERVED]
        seen: set[tuple[str, str]] = set()
        for e in [*mine, *observed, *extra]:
            if (e.setup, e.text) in seen:
                continue
            seen.add((e.setup, e.text))
            label = e.setup.splitlines()[-1] if e.text == GIVEN and e.setup else e.text
            found.append(Candidate(group, e.text, e.text, e.setup, e.imports, label=label))
    return found


def specifier(layout: TestLayout, at: str, source: str, item: Import) -> str:
    """How a file at ``at`` (package-relative) imports ``item``: the changed ``source`` in the
    package's style, another relative module relative to ``at``, a package by its name."""
    if not item.relative:
        return item.module
    if _stem(item.module) == _stem(source):
        return layout.import_of(at, source)
    relative = posixpath.relpath(item.module, posixpath.dirname(at) or ".")
    return relative if relative.startswith(".") else "./" + relative


def _stem(path: str) -> str:
    stem, ext = posixpath.splitext(path)
    return stem if ext in _EXTENSIONS else path


def import_lines(layout: TestLayout, at: str, source: str, imports: list[Import]) -> str | None:
    """The import statements a file at ``at`` needs for ``imports``; None where a name would
    mean two things, or where CommonJS cannot say it (a default export)."""
    esm = layout.runner == "vitest" or layout.esm
    by_name: dict[str, tuple[str, Import]] = {}
    for item in imports:
        spec = specifier(layout, at, source, item)
        known = by_name.setdefault(item.name, (spec, item))
        if (known[0], known[1].kind, known[1].imported) != (spec, item.kind, item.imported):
            return None
    lines: list[str] = []
    modules: dict[str, list[Import]] = {}
    for spec, item in by_name.values():
        modules.setdefault(spec, []).append(item)
    for spec, items in modules.items():
        quoted = json.dumps(spec)
        named = [i for i in items if i.kind == "named"]
        names = ", ".join(
            i.name if i.imported == i.name else f"{i.imported} as {i.name}" for i in named
        )
        for i in items:
            if i.kind == "namespace":
                lines.append(
                    f"import * as {i.name} from {quoted};"
                    if esm
                    else f"const {i.name} = require({quoted});"
                )
            elif i.kind == "default":
                if not esm:
                    return None
                lines.append(f"import {i.name} from {quoted};")
        if named:
            if esm:
                lines.append(f"import {{ {names} }} from {quoted};")
            else:
                pairs = ", ".join(
                    i.name if i.imported == i.name else f"{i.imported}: {i.name}" for i in named
                )
                lines.append(f"const {{ {pairs} }} = require({quoted});")
    return "\n".join(lines) + "\n" if lines else ""
