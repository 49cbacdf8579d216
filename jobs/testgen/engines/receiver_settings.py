"""Inputs that set what a changed method reads on its receiver (pure): calls like a known call,
whose receiver is first given another value of an attribute the changed lines read.

The tests build an object, set its state through attributes and properties (``t.title = 'x'``,
``t.max_table_width = 40``), then call a public method that renders it. A captured call keeps
only the construction (``PrettyTable(['a', 'b']).get_string()``): what the test set later is not
replayed, and no argument of the call reaches the state the change reads. So:

- **what the changed lines read**: ``self.NAME`` and ``anything['NAME']`` (an options dict built
  from the object's settings), also through a local name the method assigned from one of them
  (``title = options['title'] or self._title``; ``escape(title)`` on a changed line);
- **where the receiver takes it**: a property of the class with a setter, or a public attribute
  its ``__init__`` assigns, named ``NAME`` or, for ``_NAME``, ``NAME``. A private attribute is
  never set: a reviewer would not merge a test that does;
- **which values tell base from head**: read from how the method uses it. Compared with ``==``
  or ``in`` to the module's constants: each of those constants (``FRAME``, ``ALL``). Measured
  with ``len()``, or formatted into a string, or turned into one by its setter (``str(val)``):
  a string with markup and quote characters and a long one. Looked up by a computed key
  (``attributes[name]``): a mapping of such a string to itself. In arithmetic or an order
  comparison: a few sizes, small to large;
- **the call**: the known call with its receiver wrapped as ``with_attributes(Obj(...),
  NAME=VALUE)``, a helper that sets the attribute through the class's own setter and returns the
  object (:mod:`.input_helpers`; defined in the test that uses it).

A type the uses do not show gives no value, never a guess.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from jobs.testgen.engines import call_edits
from jobs.testgen.engines.callables import ChangedCallable
from jobs.testgen.engines.input_helpers import WITH_ATTRIBUTES

# Calls per known call, at most: each is run on both commits.
MAX_PER_CALL = 8
# Strings that markup escaping, quoting and width checks treat differently from plain text.
STRINGS = ("'A & B <c> \"d\"'", "'x' * 80")
SIZES = ("10", "1", "40", "80")
MAPPINGS = (f"{{{STRINGS[0]}: {STRINGS[0]}}}",)
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


@dataclass(frozen=True)
class Setting:
    """A public attribute of the receiver, and the values to set it to."""

    name: str
    values: tuple[str, ...]


def variants(call: str, item: ChangedCallable | None, head: str, base: str = "") -> list[str]:
    """Calls like `call` whose receiver (a call of `item`'s class) first gets each value of each
    setting of `item` (:func:`settings`), the settings taken in turn; at most MAX_PER_CALL."""
    if item is None or not item.owner or item.kind not in ("method", "property"):
        return []
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    receiver = next(
        (
            n
            for n in ast.walk(node)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == item.owner
        ),
        None,
    )
    if receiver is None:
        return []
    per_setting = [
        [_wrapped(node, receiver, setting.name, value) for value in setting.values]
        for setting in settings(item, head, base)
    ]
    out: list[str] = []
    for round_ in range(max((len(p) for p in per_setting), default=0)):
        for options in per_setting:
            if round_ < len(options) and options[round_] not in out:
                out.append(options[round_])
    return out[:MAX_PER_CALL]


def settings(item: ChangedCallable, head: str, base: str = "") -> list[Setting]:
    """The receiver's public attributes the changed lines of `item` read (the lines of its
    source in `head` that its source in `base` does not have; all of them without a base), with
    values that tell versions apart, in the order the lines read them."""
    try:
        tree = ast.parse(head)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = _method(tree, item)
    if found is None:
        return []
    cls, function = found
    changed = _new_lines(head, function, _base_lines(base, item))
    settable = _settable(cls)
    constants = _constants(tree)
    this = function.args.args[0].arg if function.args.args else "self"
    out: list[Setting] = []
    for name in _read_on(function, changed, this):
        public = next((n for n in (name, name.lstrip("_")) if n in settable), None)
        if public is None or any(s.name == public for s in out):
            continue
        uses = _Uses({name, public, f"_{public}"}, this, constants)
        uses.visit(function)
        setter = settable[public]
        if setter is not None:
            uses.visit(setter)
        values = uses.values()
        if values:
            out.append(Setting(public, values))
    return out


def _method(tree: ast.Module, item: ChangedCallable) -> tuple[ast.ClassDef, ast.FunctionDef] | None:
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == item.owner), None)
    if cls is None:
        return None
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == item.name and not _is_accessor(node):
            return cls, node
    return None


def _is_accessor(node: ast.FunctionDef) -> bool:
    """A property's setter or deleter (``@name.setter``)."""
    kinds = ("setter", "deleter")
    return any(isinstance(d, ast.Attribute) and d.attr in kinds for d in node.decorator_list)


def _base_lines(base: str, item: ChangedCallable) -> set[str] | None:
    """The stripped lines of `item`'s source in `base`; None without one."""
    try:
        found = _method(ast.parse(base), item) if base else None
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if found is None:
        return None
    lines = base.splitlines()[found[1].lineno - 1 : found[1].end_lineno]
    return {line.strip() for line in lines}


def _new_lines(head: str, function: ast.FunctionDef, base: set[str] | None) -> set[int]:
    lines = head.splitlines()
    numbers = range(function.lineno, (function.end_lineno or function.lineno) + 1)
    if base is None:
        return set(numbers)
    return {n for n in numbers if n - 1 < len(lines) and lines[n - 1].strip() not in base}


def _settable(cls: ast.ClassDef) -> dict[str, ast.FunctionDef | None]:
    """The public names an instance of `cls` takes by assignment: each property with a setter
    (-> the setter) and each public attribute ``__init__`` assigns (-> None)."""
    found: dict[str, ast.FunctionDef | None] = {}
    for node in cls.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Attribute) and decorator.attr == "setter":
                found[node.name] = node
        if node.name == "__init__" and node.args.args:
            this = node.args.args[0].arg
            assigned = (t for n in ast.walk(node) if isinstance(n, ast.Assign) for t in n.targets)
            for target in assigned:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == this
                    and not target.attr.startswith("_")
                ):
                    found.setdefault(target.attr, None)
    return {name: node for name, node in found.items() if not name.startswith("_")}


def _constants(tree: ast.Module) -> set[str]:
    """The module's upper-case top-level names, assigned or imported (``FRAME``, ``ALL``)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return {n for n in names if n.isupper() and len(n) > 1}


def _read(node: ast.AST, this: str) -> str | None:
    """``NAME`` of ``self.NAME`` or of ``x['NAME']`` (read, not assigned)."""
    if not isinstance(node, (ast.Attribute, ast.Subscript)) or not isinstance(node.ctx, ast.Load):
        return None
    if isinstance(node, ast.Attribute):
        owner = node.value
        return node.attr if isinstance(owner, ast.Name) and owner.id == this else None
    key = node.slice
    if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.isidentifier():
        return key.value
    return None


def _read_on(function: ast.FunctionDef, lines: set[int], this: str) -> list[str]:
    """What the changed `lines` read, directly or through a local name assigned from it."""
    sources: dict[str, list[str]] = {}  # local name -> what its assignments read
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                reads = [r for n in _alternatives(node.value) if (r := _read(n, this))]
                sources.setdefault(target.id, []).extend(reads)
    out: list[str] = []
    for node in sorted(_on_lines(function, lines), key=lambda n: (n.lineno, n.col_offset)):
        if (read := _read(node, this)) is not None:
            out.append(read)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            out.extend(sources.get(node.id, ()))
    return list(dict.fromkeys(out))


def _alternatives(value: ast.expr) -> list[ast.expr]:
    """The values a local name takes from `value`: itself, or each side of ``a or b``. A name
    computed from one (``scale = (self.width - 2) / n``) is another quantity, not an alias."""
    if isinstance(value, ast.BoolOp):
        return [v for part in value.values for v in _alternatives(part)]
    return [value]


def _on_lines(function: ast.FunctionDef, lines: set[int]) -> Iterator[ast.expr]:
    for node in ast.walk(function):
        if isinstance(node, ast.expr) and node.lineno in lines:
            yield node


class _Uses(ast.NodeVisitor):
    """How a function uses one attribute (any of `names`, read as ``self.NAME`` or
    ``x['NAME']``, or the setter's parameter): the kinds of values that tell versions apart."""

    def __init__(self, names: set[str], this: str, constants: set[str]) -> None:
        self.names, self.this, self.constants = names, this, constants
        self.aliases: set[str] = set()
        self.compared: list[str] = []
        self.text = self.size = self.mapping = False

    def _is(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.aliases
        return _read(node, self.this) in self.names

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in node.decorator_list):
            self.aliases |= {a.arg for a in node.args.args[1:2]}  # the setter's value
            if node.args.args[1:2] and node.args.args[1].annotation is not None:
                annotation = ast.unparse(node.args.args[1].annotation)
                self.text |= annotation == "str"
                self.size |= annotation in ("int", "float")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        target = node.targets[0] if len(node.targets) == 1 else None
        if isinstance(target, ast.Name) and any(self._is(n) for n in _alternatives(node.value)):
            self.aliases.add(target.id)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        if any(self._is(o) for o in operands):
            for other in operands:
                elements = other.elts if isinstance(other, (ast.Tuple, ast.List)) else [other]
                self.compared += [
                    e.id for e in elements if isinstance(e, ast.Name) and e.id in self.constants
                ]
            self.size |= any(isinstance(op, _ORDER) for op in node.ops)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        # Looked up by a computed key (``attributes[name]``): a mapping of strings.
        if self._is(node.value) and not isinstance(node.slice, ast.Constant):
            self.mapping = True
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, _ARITHMETIC) and (self._is(node.left) or self._is(node.right)):
            self.size = True
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if name in ("len", "str") and any(self._is(a) for a in node.args):
            self.text = True
        self.generic_visit(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        inner = node.value.args if isinstance(node.value, ast.Call) else [node.value]
        self.text |= any(self._is(n) for n in inner)
        self.generic_visit(node)

    def values(self) -> tuple[str, ...]:
        if self.compared:
            return tuple(dict.fromkeys(self.compared))
        if self.mapping:
            return MAPPINGS
        if self.text:
            return STRINGS
        return SIZES if self.size else ()


def _wrapped(node: ast.expr, receiver: ast.Call, name: str, value: str) -> str:
    """`node`'s source with `receiver` replaced by ``with_attributes(receiver, name=value)``."""
    keyword = ast.keyword(arg=name, value=ast.parse(value, mode="eval").body)
    return call_edits.replaced(
        node,
        receiver,
        lambda copied: ast.Call(ast.Name(WITH_ATTRIBUTES, ast.Load()), [copied], [keyword]),
    )
