"""The mutants of a change's lines: small, plausible bugs put into the changed lines only, each
one a version of the enclosing function that a good test should notice. Pure: it parses and
compiles (never runs) the source it is given.

A small AST mutator rather than cosmic-ray's operators: cosmic-ray works on parso trees and
ships its own session database and one-subprocess-per-mutant execution, none of which fits a
runner that forks per mutant inside the sandbox; the operators themselves are a few lines each.

Operators, applied to the nodes that start on a changed line inside a function: comparison swaps
(``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``is`` ↔ ``is not``, ``in`` ↔ ``not in``), ``and`` ↔ ``or``,
``not`` removed, arithmetic and bitwise operators swapped (also in ``+=``), constants changed
(a number ±1, ``True`` ↔ ``False``, a string emptied), a condition negated or made always true,
a returned value replaced by ``None``, a simple statement replaced by ``pass``.

Each mutant carries the enclosing function's source with the change made (``source``, lines
``start``..``end`` of the file, decorators included), so the runner compiles the whole module
with those lines replaced, which keeps line numbers, name mangling and closures as they are.
A mutant whose function compiles to the same bytecode as the original is equivalent by
construction and is left out (the count is returned).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType

# How the report ranks survivors: the grosser the bug nobody notices, the more telling.
KINDS = (
    "return",
    "statement",
    "condition",
    "comparison",
    "boolean",
    "arithmetic",
    "constant",
)
_COMPARISONS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_ARITHMETIC: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitOr,
}
_SIMPLE_STATEMENTS = (
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Expr,
    ast.Raise,
    ast.Assert,
    ast.Delete,
    ast.Break,
    ast.Continue,
)
MAX_SHOWN = 60  # characters of code in a description, each side


@dataclass(frozen=True)
class Mutant:
    """One mutant of a changed line."""

    id: str  # "path:line:n", unique in a run
    path: str  # repo-relative
    line: int  # the changed line the mutated code starts on
    lines: tuple[int, int]  # the statement's first line .. the mutated code's last: a test
    # that ran any of them ran the mutant
    function: str  # qualified name of the enclosing function: "Klass.method"
    kind: str  # one of KINDS
    description: str  # "`n > 10` becomes `n >= 10`"
    start: int  # the enclosing outermost-to-innermost function's lines replaced (1-based)
    end: int
    source: str  # lines start..end with the mutation made
    # The enclosing functions, outermost first, as (name, first line) the way their code
    # objects say it (co_name, co_firstlineno: the first decorator's line).
    chain: tuple[tuple[str, int], ...]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "path": self.path,
            "lines": list(self.lines),
            "start": self.start,
            "end": self.end,
            "source": self.source,
            "chain": [list(c) for c in self.chain],
        }


@dataclass(frozen=True)
class Mutation:
    """A mutation before it becomes a Mutant: the node it replaces and how."""

    node: ast.AST
    replacement: str  # source text put in place of the node's segment
    kind: str
    description: str


def shown(node: ast.AST) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _becomes(before: ast.AST, after: ast.AST) -> str:
    return f"`{shown(before)}` becomes `{shown(after)}`"


def _replaced(node: ast.expr, new: ast.expr, kind: str) -> Mutation:
    """An expression replaced by another, parenthesized so precedence cannot change."""
    return Mutation(node, f"({ast.unparse(new)})", kind, _becomes(node, new))


def expression_mutations(node: ast.AST) -> Iterator[Mutation]:
    """The mutations of one expression node (not of its children)."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            swap = _COMPARISONS.get(type(op))
            if swap is not None:
                new = copy.deepcopy(node)
                new.ops[i] = swap()
                yield _replaced(node, new, "comparison")
    elif isinstance(node, ast.BoolOp):
        other: ast.boolop = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield _replaced(node, ast.BoolOp(other, copy.deepcopy(node.values)), "boolean")
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield _replaced(node, copy.deepcopy(node.operand), "boolean")
    elif isinstance(node, ast.BinOp):
        swap_op = _ARITHMETIC.get(type(node.op))
        if swap_op is not None:
            new_bin = ast.BinOp(copy.deepcopy(node.left), swap_op(), copy.deepcopy(node.right))
            yield _replaced(node, new_bin, "arithmetic")
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield _replaced(node, ast.Constant(not value), "constant")
        elif isinstance(value, int | float):
            for delta in (1, -1):
                yield _replaced(node, ast.Constant(value + delta), "constant")
        elif isinstance(value, str | bytes) and value:
            yield _replaced(node, ast.Constant(value[:0]), "constant")


def statement_mutations(node: ast.stmt) -> Iterator[Mutation]:
    """The mutations of one statement as a whole (its condition, its returned value, itself)."""
    if isinstance(node, ast.If | ast.While):
        negated = ast.UnaryOp(ast.Not(), copy.deepcopy(node.test))
        yield _replaced(node.test, negated, "condition")
        if isinstance(node, ast.If):
            yield Mutation(
                node.test, "(True)", "condition", f"the condition `{shown(node.test)}` is removed"
            )
    elif isinstance(node, ast.Return):
        if node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            new = ast.Return(ast.Constant(None))
            yield Mutation(node, "return None", "return", _becomes(node, new))
    elif isinstance(node, ast.AugAssign) and (swap := _ARITHMETIC.get(type(node.op))):
        new_aug = ast.AugAssign(copy.deepcopy(node.target), swap(), copy.deepcopy(node.value))
        yield Mutation(node, ast.unparse(new_aug), "arithmetic", _becomes(node, new_aug))
    if isinstance(node, _SIMPLE_STATEMENTS):
        yield Mutation(node, "pass", "statement", f"`{shown(node)}` is removed")


_Def = ast.FunctionDef | ast.AsyncFunctionDef


class _Finder(ast.NodeVisitor):
    """Collects (mutation, enclosing statement, function chain) for the changed lines."""

    def __init__(self, changed: set[int]) -> None:
        self.changed = changed
        self.chain: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.names: list[str] = []
        self.statement: ast.stmt | None = None
        self.found: list[tuple[Mutation, ast.stmt, tuple[_Def, ...], str]] = []
        self.skip: set[int] = set()  # ids of nodes never mutated: docstrings, annotations

    def _add(self, mutation: Mutation) -> None:
        if self.chain and self.statement is not None:
            qualname = ".".join(self.names)
            self.found.append((mutation, self.statement, tuple(self.chain), qualname))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # Decorators, defaults and annotations run in the enclosing scope, at definition
        # time: mutating them does not change this function's code.
        for outer in (*node.decorator_list, node.args, *([node.returns] if node.returns else [])):
            self._mark_annotations(outer)
            self.visit(outer)
        self.chain.append(node)
        self.names.append(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self.skip.add(id(body[0]))
        for statement in body:
            self.visit(statement)
        self.chain.pop()
        self.names.pop()
        if self.names and self.names[-1] == "<locals>":
            self.names.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._enter_scope()
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._enter_scope()
        self._function(node)

    def _enter_scope(self) -> None:
        if self.chain:
            self.names.append("<locals>")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for outer in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(outer)
        self._enter_scope()
        self.names.append(node.name)
        saved, self.chain = self.chain, []  # a class body is not its methods' function
        for statement in node.body:
            self.visit(statement)
        self.chain = saved
        self.names.pop()
        if self.names and self.names[-1] == "<locals>":
            self.names.pop()

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)  # defaults belong to the enclosing scope; not mutated

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return  # f-string parts have positions that do not take a parenthesized replacement

    def visit_arg(self, node: ast.arg) -> None:
        return

    def _mark_annotations(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.arg) and child.annotation is not None:
                self.skip.add(id(child.annotation))

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.skip.add(id(node.annotation))
        self.generic_visit_statement(node)

    def generic_visit_statement(self, node: ast.stmt) -> None:
        saved, self.statement = self.statement, node
        if node.lineno in self.changed and id(node) not in self.skip:
            for mutation in statement_mutations(node):
                self._add(mutation)
        for name, value in ast.iter_fields(node):
            if name in ("annotation",) and isinstance(node, ast.AnnAssign):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.stmt):
                    self.visit(child)
                elif isinstance(child, ast.AST):
                    self.statement = node
                    self.visit(child)
        self.statement = saved

    def visit(self, node: ast.AST) -> None:
        if id(node) in self.skip:
            return
        if isinstance(node, ast.stmt) and not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.AnnAssign
        ):
            self.generic_visit_statement(node)
            return
        if isinstance(node, ast.expr) and getattr(node, "lineno", None) in self.changed:
            for mutation in expression_mutations(node):
                self._add(mutation)
        super().visit(node)


def _segment_lines(lines: list[bytes], node: ast.AST, replacement: str) -> list[bytes]:
    """``lines`` (the file's, as bytes: AST offsets count UTF-8 bytes) with ``node``'s
    segment replaced."""
    first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined]
    start_col, end_col = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
    head = lines[first][:start_col]
    tail = lines[last][end_col:]
    return [*lines[:first], head + replacement.encode("utf-8") + tail, *lines[last + 1 :]]


def first_line(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The function's first line as its code object has it (its first decorator's)."""
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def code_of(module: CodeType, chain: tuple[tuple[str, int], ...]) -> CodeType | None:
    """The code object of the innermost function of ``chain`` in a compiled module."""
    code: CodeType | None = module
    for name, line in chain:
        if code is None:
            return None
        code = next(
            (
                c
                for c in code.co_consts
                if isinstance(c, CodeType) and c.co_name == name and c.co_firstlineno == line
            ),
            None,
        ) or _in_classes(code, name, line)
    return code


def _in_classes(code: CodeType, name: str, line: int) -> CodeType | None:
    """A method's code sits in its class body's code, a const of the enclosing code."""
    for const in code.co_consts:
        if isinstance(const, CodeType):
            if const.co_name == name and const.co_firstlineno == line:
                return const
            if const.co_name[:1] != "<" or const.co_name == "<module>":
                found = _in_classes(const, name, line)
                if found is not None:
                    return found
    return None


def same_code(a: CodeType, b: CodeType) -> bool:
    """Same bytecode, constants, names and variables: the functions behave the same."""
    if (a.co_code, a.co_names, a.co_varnames, a.co_freevars, a.co_cellvars) != (
        b.co_code,
        b.co_names,
        b.co_varnames,
        b.co_freevars,
        b.co_cellvars,
    ):
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts, strict=True):
        if isinstance(x, CodeType) and isinstance(y, CodeType):
            if not same_code(x, y):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


@dataclass(frozen=True)
class Mutants:
    """The mutants of one file's changed lines and how many were left out as equivalent."""

    mutants: list[Mutant]
    equivalent: int
    problem: str | None = None  # why the file gave no mutants (it does not parse)


def mutants_of(path: str, text: str, changed: set[int]) -> Mutants:
    """The mutants of ``changed`` lines of one file (``text`` its source): only of lines inside
    a function (module and class bodies run once, at import)."""
    try:
        tree = ast.parse(text, filename=path)
        original = compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return Mutants([], 0, f"`{path}` does not parse: {exc}")
    finder = _Finder(changed)
    finder.visit(tree)
    lines = text.encode("utf-8").splitlines(keepends=True)
    mutants: list[Mutant] = []
    equivalent = 0
    per_line: dict[int, int] = {}
    for mutation, statement, functions, qualname in finder.found:
        node = mutation.node
        chain = tuple((f.name, first_line(f)) for f in functions)
        innermost = functions[-1]
        start = first_line(innermost)
        end = innermost.end_lineno or start
        mutated = _segment_lines(lines, node, mutation.replacement)
        grown = len(mutated) - len(lines)
        try:
            module = compile(b"".join(mutated), path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue  # a replacement that does not fit its place: no mutant
        before, after = code_of(original, chain), code_of(module, chain)
        if before is None or after is None:
            continue
        if same_code(before, after):
            equivalent += 1
            continue
        line = node.lineno  # type: ignore[attr-defined]
        per_line[line] = per_line.get(line, 0) + 1
        source = b"".join(mutated[start - 1 : end + grown]).decode("utf-8")
        mutants.append(
            Mutant(
                id=f"{path}:{line}:{per_line[line]}",
                path=path,
                line=line,
                lines=(statement.lineno, node.end_lineno or line),  # type: ignore[attr-defined]
                function=qualname,
                kind=mutation.kind,
                description=mutation.description,
                start=start,
                end=end,
                source=source,
                chain=chain,
            )
        )
    return Mutants(mutants, equivalent)
