"""The characters on which the way the changed lines classify text may differ between base and
head, and a string's neighbours that hold them (pure: the two versions of a file in,
characters out; a string in, strings out).

A change to how text is classified differs from its base only on a character at the edge of
the class, which a project's tests seldom hold: ``int(port)`` → ``port.isascii() and
port.isdigit()`` only on a number with a sign, a space or an underscore (``-1``, `` 1``,
``1_1``), or a digit of another script (``int`` reads ``'٣'``); a regex's ``.*`` → ``(?s:.*)``
only on a line break; ``regex.match`` → ``regex.fullmatch`` only on a string whose end the
pattern does not take (``GENODEM1GL@``). So where the changed lines call a string predicate
(``isdigit``, ``isascii``, ``isspace``, …), a conversion that parses text (``int``,
``float``, ``Decimal``), a whitespace split or strip, or hold or apply a regular expression,
each string a call or a test passes gets those characters where a classification turns on
them: beside its last number (a sign, a space, an underscore inside it, a digit of another
script after it), at its end, and in place of its last character. A fuzzer's dictionary of
boundary values (AFL's "interesting" values), chosen by what the diff does to text.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

from jobs.testgen.engines.input_variants import changed_line_numbers

MAX_CHARS = 10
MAX_OWN = 3  # characters one version's changed strings hold and the other's do not
MAX_PER_STRING = 16

# A number's edges: what ``int()`` and ``float()`` read that ``isdigit()`` does not, and back:
# a sign, a space, an underscore, an Arabic-Indic digit three, a superscript two.
NUMBER = ("-", " ", "_", "+", "\u0663", "\u00b2")
NON_ASCII = ("\u00e9", "\u0663")  # a Latin letter, a digit of another script
WORD = ("_", "\u00e9", "-")
SPACE = ("\u00a0", "\t", "\n", "\u3000")  # no-break, tab, line feed, ideographic space
PRINTABLE = ("\n", "\t")
# A regex's edges: a line break (``.`` and ``$``), characters outside the usual classes, a
# no-break space (``\s`` in Unicode mode), a digit of another script (``\d``).
REGEX = ("\n", "@", " ", "\u00a0", "\u0663")

_BY_CALL = {
    "isdigit": NUMBER,
    "isdecimal": NUMBER,
    "isnumeric": NUMBER,
    "int": NUMBER,
    "float": NUMBER,
    "Decimal": NUMBER,
    "isascii": NON_ASCII,
    "isalpha": WORD,
    "isalnum": WORD,
    "isidentifier": WORD,
    "isspace": SPACE,
    "isprintable": PRINTABLE,
    "match": REGEX,
    "fullmatch": REGEX,
    "search": REGEX,
    "findall": REGEX,
    "finditer": REGEX,
    "compile": REGEX,
}
_KNOWN = set(NUMBER + NON_ASCII + WORD + SPACE + PRINTABLE + REGEX)
_PRECEDENCE = (NUMBER, REGEX, SPACE, WORD, NON_ASCII, PRINTABLE)
_SPLITS = {"split", "rsplit", "strip", "lstrip", "rstrip"}  # on whitespace when given no argument
# What marks a string constant as a regular expression, beyond compiling as one.
_REGEX_MARKS = ("\\d", "\\s", "\\w", "\\b", ".*", ".+", ".?", "(?", "[", "]*", "]+", "{")
_DIGITS = re.compile(r"\d+")


def classifying_chars(base: str, head: str) -> tuple[str, ...]:
    """The characters worth trying for the text classifications on the lines the change
    removed or added (both versions), a number's edges first (the commonest, and each of them
    tells ``int()`` from ``isdigit()``), at most MAX_CHARS."""
    removed, added = changed_line_numbers(base, head)
    found: set[tuple[str, ...]] = set()
    counts: list[Counter[str]] = []
    for source, lines in ((base, removed), (head, added)):
        nodes = _nodes_on(source, lines)
        found |= {_chars_of(node) for node in nodes}
        counts.append(Counter(c for n in nodes if _is_str(n) for c in n.value))  # type: ignore[attr-defined]
    # The marks one version's strings hold more of: a separator a regex's class gains.
    gained = (counts[1] - counts[0]) + (counts[0] - counts[1])
    own = [c for c, _ in gained.most_common() if not c.isalnum() and not c.isspace()]
    chars = [c for kind in _PRECEDENCE if kind in found for c in kind]
    return tuple(dict.fromkeys([*own[:MAX_OWN], *chars]))[:MAX_CHARS]


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _chars_of(node: ast.AST) -> tuple[str, ...]:
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in _SPLITS and not node.args:
            return SPACE
        return _BY_CALL.get(name, ())
    if _is_str(node) and _is_regex(node.value):  # type: ignore[attr-defined]
        return REGEX
    return ()


def _is_regex(text: str) -> bool:
    if not any(mark in text for mark in _REGEX_MARKS):
        return False
    try:
        re.compile(text)
    except (re.error, RecursionError, OverflowError, ValueError):
        return False
    return True


def char_variants(value: str, chars: tuple[str, ...]) -> list[str]:
    """`value` with one of `chars` placed where a classification turns on it, each character's
    places in turn: a number's (a sign, a space or a digit) before and after the string's last
    number, an underscore inside it; the change's own (a separator its strings gain or lose)
    inside it and before it; every other character at the end and in place of the last
    character. At most MAX_PER_STRING, none equal to `value`."""
    if not value or not chars:
        return []
    numbers = list(_DIGITS.finditer(value))
    last = numbers[-1] if numbers else None
    per_char: list[list[str]] = []
    for char in chars:
        places: list[str] = []
        if last is not None and (char in NUMBER or char not in _KNOWN):
            start, end = last.span()
            digits = last[0] if len(last[0]) > 1 else last[0] * 2
            inside = value[:start] + digits[0] + char + digits[1:] + value[end:]
            before = value[:start] + char + value[start:]
            if char == "_":
                places.append(inside)
            elif char in NUMBER:
                places += [before, value[:end] + char + value[end:]]
            else:  # the change's own character: a separator or a mark inside a number
                places += [inside, before]
        else:
            places += [value + char, value[:-1] + char]
        per_char.append(places)
    out = [p[i] for i in range(max(map(len, per_char))) for p in per_char if i < len(p)]
    return [v for v in dict.fromkeys(out) if v != value][:MAX_PER_STRING]


def int_neighbours(value: int, chars: tuple[str, ...]) -> list[int]:
    """A number's own edge where the change reads numbers out of text: its sign flipped (what
    ``int()`` reads and ``isdigit()`` refuses, once the number is formatted into a string)."""
    return [-value] if value and any(c in NUMBER for c in chars) else []


def _nodes_on(source: str, lines: set[int]) -> list[ast.AST]:
    """The nodes that span one of `lines` (a verbose regex over many lines, of which the change
    edited one), in source order."""
    if not lines:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    # A docstring (an expression statement's string) is no part of what the code does.
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    found = [
        (node.lineno, node.col_offset, index, node)
        for index, node in enumerate(ast.walk(tree))
        if isinstance(node, ast.expr)
        and id(node) not in docs
        and lines & set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    ]
    return [node for *_, node in sorted(found, key=lambda f: f[:3])]


def call_variants(call: str, chars: tuple[str, ...]) -> list[str]:
    """`call` with one string constant given one of `chars` (:func:`char_variants`) or one
    integer its sign flipped (:func:`int_neighbours`), each constant's first neighbour, then
    each one's second, so every argument gets some."""
    if not chars:
        return []
    try:
        tree = ast.parse(call, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    per_constant: list[list[str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant):
            continue
        original = node.value
        values: list[str] | list[int] = []
        if isinstance(original, str):
            values = char_variants(original, chars)
        elif type(original) is int:
            values = int_neighbours(original, chars)
        found = []
        for value in values:
            node.value = value
            found.append(ast.unparse(tree))
        node.value = original
        per_constant.append(found)
    out = [
        p[i]
        for i in range(max(map(len, per_constant), default=0))
        for p in per_constant
        if i < len(p)
    ]
    return [c for c in dict.fromkeys(out) if c != call]
