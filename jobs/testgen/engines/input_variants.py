"""Neighbours of the inputs the project's own tests use, aimed at what the change touched: the
differential engine's way to reach a changed line's edge cases when the tests' own inputs
behave the same on base and head. Pure: expressions in, expressions out.

A change's edge cases hide near the tests' inputs, in the tokens the change itself mentions:
``split("@")`` → ``rsplit("@")`` differs only on a string with two ``@``; ``!= "UTF-8"`` →
``.lower() != "utf-8"`` only on another case; ``> 10`` → ``>= 10`` only at 10. So each string
constant of a call gets the change's characters doubled (also with the shortest segments
around them), stripped, added at either end, its case changed, its numbers moved by one, and
the change's short strings (its string constants, and the value-like words of its comments) in
its place; each integer constant is moved by one and zeroed, each float also gets its sign
flipped and its fraction alone (``12.5`` gives ``0.5`` and ``-0.5``). The same idea as a fuzzer's
dictionary (AFL's ``-x``), taken from the diff instead of a file. A function or class passed as
an argument (``parse_float=float``) is replaced by one that returns an empty value of each data
type the changed lines name (``isinstance(v, (dict, list))`` → ``lambda *args, **kwargs: {}``):
a change that guards against what a callback returns differs only on such a callback. Where
the changed lines call ``len()``, each sequence argument (a list or tuple display, a
``range``/``list``/``tuple`` call) is also handed in as a list whose ``len()`` is one more and
one less than its items (:mod:`.input_helpers`): a change about a length that lies differs only
on such a sequence. Every variant is run on both commits, and only a call whose results differ
becomes a test.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Iterator

from jobs.testgen.engines.input_helpers import WRONG_LEN, Defined

MAX_PER_CONSTANT = 16
MAX_PER_CALL = 40
MAX_TOKEN_CHARS = 24  # a changed line's string longer than this is not swapped in whole
MAX_DICTIONARY = 24
_DIGITS = re.compile(r"\d+")
_TYPE_NAMES = ("__name__", "__qualname__", "__module__")
# The empty value of each data type a changed line may name, as a callback would return it.
_EMPTY = {
    "dict": "{}",
    "list": "[]",
    "tuple": "()",
    "set": "set()",
    "str": "''",
    "bytes": "b''",
    "int": "0",
    "float": "0.0",
    "bool": "False",
}


def changed_line_numbers(base: str, head: str) -> tuple[set[int], set[int]]:
    """The lines (1-based) of ``base`` the change removed or replaced, and of ``head`` it added
    or replaced."""
    matcher = difflib.SequenceMatcher(None, base.splitlines(), head.splitlines(), autojunk=False)
    removed: set[int] = set()
    added: set[int] = set()
    for tag, b1, b2, h1, h2 in matcher.get_opcodes():
        if tag != "equal":
            removed.update(range(b1 + 1, b2 + 1))
            added.update(range(h1 + 1, h2 + 1))
    return removed, added


def dictionary(base: str, head: str) -> tuple[str, ...]:
    """The change's tokens: the string constants on the lines it removed or added (whole when
    short) and the punctuation in them, in order of appearance, without repeats."""
    removed, added = changed_line_numbers(base, head)
    tokens: list[str] = []
    examples: list[str] = []
    for source, lines in ((base, removed), (head, added)):
        tokens += _strings_on(source, lines)
        examples += _comment_examples(source, lines)
    chars = [c for token in tokens for c in token if not c.isalnum() and not c.isspace()]
    whole = [t for t in [*tokens, *examples] if 0 < len(t) <= MAX_TOKEN_CHARS]
    return tuple(dict.fromkeys([*chars, *whole]))[:MAX_DICTIONARY]


def change_words(base: str, head: str) -> tuple[str, ...]:
    """What a call that reaches the change is likely to mention: the attribute names on the
    changed lines (``local`` of ``prospective.local``), their whole short strings and the
    value-like words of their comments, in order of appearance, without repeats."""
    removed, added = changed_line_numbers(base, head)
    words: list[str] = []
    for source, lines in ((base, removed), (head, added)):
        words += _attributes_on(source, lines)
        words += [t for t in _strings_on(source, lines) if 2 <= len(t) <= MAX_TOKEN_CHARS]
        words += _comment_examples(source, lines)
    return tuple(dict.fromkeys(w for w in words if not w.startswith("__")))[:MAX_DICTIONARY]


# What handles an attribute by its name.
_BY_NAME = {"setattr", "getattr", "hasattr", "delattr", "__dict__", "__setattr__", "__getattr__"}


def attribute_names(base: str, head: str) -> tuple[str, ...]:
    """Where the changed lines handle attributes by name (``setattr``, ``object.__setattr__``,
    ``__dict__``): the names the classes around them bind to a descriptor, a class-level name
    bound to a call (``catchall = DictProperty(...)``) or a decorated method (a property).
    Setting such a name goes through its descriptor or around it; no other name tells the two
    apart, and the tests' strings are seldom one."""
    removed, added = changed_line_numbers(base, head)
    names: list[str] = []
    for source, lines in ((base, removed), (head, added)):
        nodes = _nodes_on(source, lines)
        if not any(getattr(n, "id", getattr(n, "attr", None)) in _BY_NAME for n in nodes):
            continue
        for cls in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef)):
            if lines & set(range(cls.lineno, (cls.end_lineno or cls.lineno) + 1)):
                names += [name for item in cls.body for name in _descriptor_names(item)]
    return tuple(dict.fromkeys(n for n in names if not n.startswith("__")))[:MAX_DICTIONARY]


def _descriptor_names(item: ast.stmt) -> list[str]:
    if isinstance(item, ast.Assign) and isinstance(item.value, ast.Call):
        return [t.id for t in item.targets if isinstance(t, ast.Name)]
    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.decorator_list:
        return [item.name]
    return []


def returned_values(base: str, head: str) -> tuple[str, ...]:
    """The empty values of the data types the changed lines name (``{}`` for ``dict``), and
    ``None`` where they compare with it: what a callback passed in might return. The types an
    ``isinstance``/``issubclass`` of the changed lines tests for come first: that is the guard
    a callback's result meets (``isinstance(v, (dict, list))``), where a ``float`` or ``str``
    elsewhere on the lines is more often an annotation or a default."""
    removed, added = changed_line_numbers(base, head)
    tested: list[str] = []
    values: list[str] = []
    for source, lines in ((base, removed), (head, added)):
        for node in _nodes_on(source, lines):
            if _is_type_test(node):
                assert isinstance(node, ast.Call)
                tested += [
                    _EMPTY[n.id]
                    for n in ast.walk(node.args[1])
                    if isinstance(n, ast.Name) and n.id in _EMPTY
                ]
            if isinstance(node, ast.Name) and node.id in _EMPTY:
                values.append(_EMPTY[node.id])
            elif isinstance(node, ast.Constant) and node.value is None:
                values.append("None")
    return tuple(dict.fromkeys([*tested, *values]))


def trusts_len(base: str, head: str) -> bool:
    """Whether a line the change removed or added calls ``len()``: then a sequence whose
    ``len()`` disagrees with its items is an input worth trying."""
    removed, added = changed_line_numbers(base, head)
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"
        for source, lines in ((base, removed), (head, added))
        for node in _nodes_on(source, lines)
    )


def exact_type_classes(base: str, head: str) -> tuple[str, ...]:
    """The head's top-level classes, where a line the change removed or added reads an
    object's exact type (``type(self)``, ``other.__class__``): a change from ``Version`` to
    ``type(self)`` differs only on an instance of a subclass, which the tests seldom build."""
    removed, added = changed_line_numbers(base, head)
    nodes = [
        n for source, lines in ((base, removed), (head, added)) for n in _nodes_on(source, lines)
    ]
    # Only the type's name read (a message's ``type(s).__qualname__``): a subclass changes that
    # alike on both sides.
    named = {id(n.value) for n in nodes if isinstance(n, ast.Attribute) and n.attr in _TYPE_NAMES}
    if not any(id(node) not in named and _reads_type(node) for node in nodes):
        return ()
    try:
        tree = ast.parse(head)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    return tuple(n.name for n in tree.body if isinstance(n, ast.ClassDef))


def _reads_type(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "__class__"
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type"


def subclass_name(cls: str) -> str:
    return f"{cls.lstrip('_')}Subclass"


def subclass_of(cls: str) -> Defined:
    """A subclass of the module's class `cls` that changes nothing: defined in the probe and in
    the test that uses it, as the test modules' own classes are."""
    name = subclass_name(cls)
    source = f'class {name}({cls}):\n    """{cls}, as a subclass of it."""\n'
    return Defined(name, source, ((cls, "module"),))


def _subclassed(tree: ast.Expression, classes: tuple[str, ...]) -> Iterator[str]:
    """The call with one construction or class-level call of a class in `classes`
    (``Version(...)``, ``Version.parse(...)``) made through its subclass instead."""
    used = [
        node.func if isinstance(node, ast.Call) else node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call | ast.Attribute)
    ]
    names = [n for n in used if isinstance(n, ast.Name) and n.id in classes]
    for name in sorted(names, key=lambda n: (n.lineno, n.col_offset)):  # in source order
        original = name.id
        name.id = subclass_name(original)
        try:
            yield ast.unparse(tree)
        finally:
            name.id = original


def _is_type_test(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("isinstance", "issubclass")
        and len(node.args) == 2
    )


def _attributes_on(source: str, lines: set[int]) -> list[str]:
    return [
        node.attr
        for node in _nodes_on(source, lines)
        if isinstance(node, ast.Attribute) and len(node.attr) >= 3
    ]


def _nodes_on(source: str, lines: set[int]) -> list[ast.AST]:
    """The nodes that start on one of `lines`, in source order."""
    if not lines:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = [
        (node.lineno, node.col_offset, index, node)
        for index, node in enumerate(ast.walk(tree))
        if isinstance(node, ast.expr) and node.lineno in lines
    ]
    return [node for *_, node in sorted(found, key=lambda f: f[:3])]


def _comment_examples(source: str, lines: set[int]) -> list[str]:
    """Words of the changed lines' comments that look like values, not prose (``1.0a1+local``,
    ``>=3``): a comment beside a change often names the case it is about."""
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        if number in lines and "#" in line:
            for word in line.split("#", 1)[1].split():
                word = word.strip("\"'`,.;:()[]{}")
                if len(word) >= 2 and any(c.isdigit() for c in word):
                    found.append(word)
    return found


def _strings_on(source: str, lines: set[int]) -> list[str]:
    if not lines:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            end = node.end_lineno or node.lineno
            if lines & set(range(node.lineno, end + 1)):
                found.append((node.lineno, node.col_offset, node.value))
    return [value for _, _, value in sorted(found)]


def string_variants(value: str, tokens: Iterable[str]) -> list[str]:
    """Neighbours of one string, the change's characters first."""
    out: list[str] = []
    for token in tokens:
        if len(token) == 1:
            if token in value:
                at = value.index(token)
                out.append(value[:at] + token + value[at:])  # doubled
                # doubled, with one character of its neighbours left: the shortest segments
                out.append(value[max(0, at - 1) : at] + token * 2 + value[at + 1 : at + 2])
                out.append(value.replace(token, "", 1))  # gone
            out += [value + token, token + value]
        elif token != value:
            out.append(token)
    out += [value.lower(), value.upper(), value.swapcase()]
    for match in list(_DIGITS.finditer(value))[:2]:
        number = int(match[0])
        for moved in (number + 1, number - 1):
            if moved >= 0:
                out.append(value[: match.start()] + str(moved) + value[match.end() :])
    out.append("")
    return [v for v in dict.fromkeys(out) if v != value][:MAX_PER_CONSTANT]


def int_variants(value: int) -> list[int]:
    return [v for v in dict.fromkeys([value + 1, value - 1, 0, -value]) if v != value]


def float_variants(value: float) -> list[float]:
    """A float moved by one and zeroed, its sign flipped, and its fraction alone with either
    sign (``12.5`` gives ``0.5`` and ``-0.5``): code that splits a number into its whole and
    its fraction (``int(value)`` truncates ``-0.5`` to ``0``, which has no sign) differs from
    its base only between -1 and 1."""
    if value != value or value in (float("inf"), float("-inf")):
        return []
    fraction = _fraction(value)
    out = [value + 1, value - 1, 0.0, -value, fraction, -fraction]
    return [v for v in dict.fromkeys(out) if v != value]


def _fraction(value: float) -> float:
    """The fraction of `value` as its repr spells it (``12.51`` gives ``0.51``, not
    ``0.5099999999999998``), with its sign."""
    text = repr(abs(value))
    if "." not in text or "e" in text:
        return value - int(value)
    fraction = float("0." + text.split(".", 1)[1])
    return -fraction if value < 0 else fraction


def variants(
    call: str,
    tokens: tuple[str, ...],
    returns: tuple[str, ...] = (),
    *,
    wrong_len: bool = False,
    subclassed: tuple[str, ...] = (),
) -> list[str]:
    """Calls like ``call`` with one constant replaced by a neighbour, or one function passed
    in by one that returns each of `returns`, or (with `wrong_len`) one sequence argument by a
    list whose ``len()`` lies, or one object of a class in `subclassed` by one of its subclass
    (:func:`subclass_of`) (at most MAX_PER_CALL), the arguments taken in order, round-robin,
    so every argument gets some; the lying sequences and the subclasses first, being few and
    aimed at what the change checks."""
    try:
        tree = ast.parse(call, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    constants = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and (isinstance(node.value, str) or type(node.value) in (int, float))
    ]
    per_constant = [list(_wrong_len(tree, slot)) for slot in _sequences(tree)] if wrong_len else []
    per_constant += [list(_subclassed(tree, subclassed))] if subclassed else []
    per_constant += [list(_replaced(tree, node, tokens)) for node in constants]
    per_constant += [list(_callbacks(tree, slot, returns)) for slot in _passed_names(tree)]
    out: list[str] = []
    for round_ in range(max((len(p) for p in per_constant), default=0)):
        for options in per_constant:
            if round_ < len(options):
                out.append(options[round_])
    unique = [c for c in dict.fromkeys(out) if c != call]
    return unique[:MAX_PER_CALL]


def _sequences(tree: ast.Expression) -> list[tuple[ast.Call, int]]:
    """Where a sequence is passed by position: a list or tuple display, or a ``range``,
    ``list`` or ``tuple`` call."""
    return [
        (node, index)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for index, argument in enumerate(node.args)
        if isinstance(argument, ast.List | ast.Tuple)
        or (
            isinstance(argument, ast.Call)
            and isinstance(argument.func, ast.Name)
            and argument.func.id in ("range", "list", "tuple")
        )
    ]


def _wrong_len(tree: ast.Expression, slot: tuple[ast.Call, int]) -> Iterator[str]:
    call, index = slot
    original = call.args[index]
    for off in (1, -1):
        call.args[index] = ast.Call(
            func=ast.Name(id=WRONG_LEN), args=[original, ast.Constant(off)], keywords=[]
        )
        try:
            yield ast.unparse(tree)
        finally:
            call.args[index] = original


def _passed_names(tree: ast.Expression) -> list[tuple[ast.Call, str | int]]:
    """Where a bare name is passed as an argument (a function or class handed in): the call
    and the keyword or position."""
    slots: list[tuple[ast.Call, str | int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            slots += [(node, i) for i, a in enumerate(node.args) if _handed_in(a)]
            slots += [(node, k.arg) for k in node.keywords if k.arg and _handed_in(k.value)]
    return slots


def _handed_in(node: ast.expr) -> bool:
    # A constant's name (``MAX``) is data, not a function handed in.
    return isinstance(node, ast.Name) and not node.id.isupper()


def _callbacks(
    tree: ast.Expression, slot: tuple[ast.Call, str | int], returns: tuple[str, ...]
) -> Iterator[str]:
    call, where = slot
    keyword = next((k for k in call.keywords if k.arg == where), None)
    for value in returns:
        replacement = ast.parse(f"lambda *args, **kwargs: {value}", mode="eval").body
        if keyword is not None:
            original, keyword.value = keyword.value, replacement
        else:
            assert isinstance(where, int)
            original, call.args[where] = call.args[where], replacement
        try:
            yield ast.unparse(tree)
        finally:
            if keyword is not None:
                keyword.value = original
            else:
                assert isinstance(where, int)
                call.args[where] = original


def _replaced(tree: ast.Expression, node: ast.Constant, tokens: tuple[str, ...]) -> Iterator[str]:
    original = node.value
    values: list[str] | list[int] | list[float] = (
        string_variants(original, tokens)
        if isinstance(original, str)
        else int_variants(original)
        if isinstance(original, int)
        else float_variants(original)
        if isinstance(original, float)
        else []
    )
    for value in values:
        node.value = value
        try:
            yield ast.unparse(tree)
        finally:
            node.value = original
