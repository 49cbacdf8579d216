"""Neighbours of a call whose string argument is Python source: the same code spelled another
way Python allows. Pure: expressions in, expressions out.

A library that rewrites source (pyupgrade, add-trailing-comma, a formatter) is tested by calling
one entry point with source text and comparing the text it returns. Its changes are about the
spellings its tests did not have: a comment inside a bracket, a string made of two adjacent
literals, a sequence without its brackets, an imported name with an ``as``. So each source
argument of a call gets, one at a time:

- ``comment``: a comment at the end of a line of code;
- ``break``: a line break inside brackets, after an opening bracket or a comma or before a
  closing one, with and without a comment before it;
- ``concat``: a string literal split in two adjacent ones, on one line and on two lines in
  parentheses;
- ``unbracket``: a pair of brackets dropped; ``trailing``: a trailing comma added or dropped;
- ``alias``: an imported name given ``as`` itself.

Only sources that still parse are kept: any code is a valid input to such a function, and its
output on head and base is what is compared. The kinds the change names come first (a changed
line that compares a token with ``'COMMENT'`` gets the comments first; ``'STRING'`` the split
strings), then every kind in turn, so each kind is tried within the cap.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Callable, Iterable, Iterator

MAX_PER_CALL = 400  # the callable's cap (differential) chooses among them; this bounds the work
MAX_SOURCE_CHARS = 2000
COMMENT = "# comment"
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}
# The kinds a word of the change aims at: a token type's name, or the punctuation it is about.
_AIMED = {
    "COMMENT": ("comment", "break"),
    "NL": ("break",),
    "NEWLINE": ("break", "comment"),
    "STRING": ("concat",),
    "as": ("alias",),
    ",": ("trailing", "break"),
    "#": ("comment",),
    "(": ("unbracket",),
    "[": ("unbracket",),
}
KINDS = ("comment", "break", "concat", "unbracket", "trailing", "alias")
_Insert = tuple[int, int, str]  # (start, end, text): the characters start:end become text


def is_source(text: str) -> bool:
    """Whether `text` is Python source a rewriter takes: it parses, and it holds more than one
    token of code (a bare word or number is a name, not a program)."""
    if not 0 < len(text) <= MAX_SOURCE_CHARS or not any(c in text for c in "\n:=(),[]"):
        return False
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def aimed_kinds(words: Iterable[str]) -> tuple[str, ...]:
    """The kinds in order: those the change's words aim at first, then the rest."""
    first: list[str] = []
    for word in words:
        for token, kinds in _AIMED.items():
            if word == token or (token.isalpha() and len(token) > 2 and token in word):
                first += kinds
    return tuple(dict.fromkeys([*first, *KINDS]))


def variants(call: str, words: Iterable[str] = ()) -> list[str]:
    """Calls like `call` with one Python-source string argument spelled another way
    (:func:`rewrites`), at most MAX_PER_CALL, the arguments taken in turn."""
    try:
        tree = ast.parse(call, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    if not isinstance(tree.body, ast.Call):
        return []
    kinds = aimed_kinds(words)
    slots = [
        node
        for node in [*tree.body.args, *(k.value for k in tree.body.keywords)]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and is_source(node.value)
    ]
    per_slot: list[list[str]] = []
    for node in slots:
        original = str(node.value)
        calls = []
        for rewritten in rewrites(original, kinds):
            node.value = rewritten
            calls.append(ast.unparse(tree))
        node.value = original
        per_slot.append(calls)
    out: list[str] = []
    for round_ in range(max((len(p) for p in per_slot), default=0)):
        out += [calls[round_] for calls in per_slot if round_ < len(calls)]
    return [c for c in dict.fromkeys(out) if c != call][:MAX_PER_CALL]


def rewrites(source: str, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """`source` spelled each other way (see the module's doc) that still parses, the kinds in
    the order given, taken in turn."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    starts = _line_starts(source)
    by_kind = _edits(source, tokens, starts)
    per_kind = [by_kind.get(kind, []) for kind in kinds]
    out: list[str] = []
    for round_ in range(max((len(p) for p in per_kind), default=0)):
        for edits in per_kind:
            if round_ < len(edits):
                text = _apply(source, edits[round_])
                if text != source and text not in out and parses(text):
                    out.append(text)
    return out


def _edits(
    source: str, tokens: list[tokenize.TokenInfo], starts: list[int]
) -> dict[str, list[list[_Insert]]]:
    """Every rewrite of each kind, as the edits that make it."""

    def at(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    found: dict[str, list[list[_Insert]]] = {kind: [] for kind in KINDS}
    opened: list[int] = []  # token indexes of the open brackets
    in_import = False
    for index, token in enumerate(tokens):
        before = tokens[index - 1] if index else None
        if token.type in (tokenize.NEWLINE, tokenize.NL) and before and _ends_code(before):
            spot = at(before.end)
            found["comment"].append([(spot, spot, f"  {COMMENT}")])
        if token.type == tokenize.NEWLINE:
            in_import = False
        if token.type == tokenize.NAME and token.string in ("import", "from") and not opened:
            in_import = in_import or before is None or before.type in _LINE_STARTS
        if token.type == tokenize.STRING:
            found["concat"] += _split_string(token, at(token.start), bool(opened))
        if token.type == tokenize.NAME and in_import and _aliasable(tokens, index):
            spot = at(token.end)
            found["alias"].append([(spot, spot, f" as {token.string}")])
        if token.type == tokenize.OP and token.string in _CLOSE and opened:
            _closing(source, tokens, index, opened.pop(), at, found)
        elif token.type == tokenize.OP and token.string in _OPEN:
            opened.append(index)
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        breaks = token.type == tokenize.OP and (token.string in _OPEN or token.string == ",")
        if opened and breaks and after is not None and after.type not in _NOT_BROKEN:
            spot, indent = at(token.end), " " * (_indent_of(token.line) + 4)
            found["break"].append([(spot, spot, f"\n{indent}")])
            found["break"].append([(spot, spot, f"  {COMMENT}\n{indent}")])
    return found


_NOT_BROKEN = (tokenize.NL, tokenize.COMMENT)


def _ends_code(token: tokenize.TokenInfo) -> bool:
    """Whether a line that ends after `token` ends in code a comment may follow."""
    return token.type not in (
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
    )


def _closing(
    source: str,
    tokens: list[tokenize.TokenInfo],
    index: int,
    start: int,
    at: Callable[[tuple[int, int]], int],
    found: dict[str, list[list[_Insert]]],
) -> None:
    """The rewrites at a closing bracket (`index`) whose opening one is at `start`: a line
    break before it, the pair dropped, a trailing comma added or dropped."""
    close = tokens[index]
    last = max(i for i in range(start, index) if tokens[i].type not in _NOT_BROKEN)
    outer = " " * _indent_of(tokens[start].line)
    spot = at(close.start)
    if tokens[index - 1].type != tokenize.NL:
        found["break"].append([(spot, spot, f"\n{outer}")])
        found["break"].append([(spot, spot, f"  {COMMENT}\n{outer}")])
    first = at(tokens[start].start)
    if first == 0 or not (source[first - 1].isalnum() or source[first - 1] == "_"):
        found["unbracket"].append([(first, first + 1, ""), (spot, spot + 1, "")])
    if tokens[last].string == ",":
        found["trailing"].append([(at(tokens[last].start), at(tokens[last].end), "")])
    elif last > start:
        end = at(tokens[last].end)
        found["trailing"].append([(end, end, ",")])


_LINE_STARTS = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.OP)


def _aliasable(tokens: list[tokenize.TokenInfo], index: int) -> bool:
    """A name of an import's list that has no ``as`` yet: after ``import`` or a comma, before a
    comma, a closing bracket or the line's end."""
    before, after = tokens[index - 1], tokens[index + 1] if index + 1 < len(tokens) else None
    if tokens[index].string in ("import", "from", "as"):
        return False
    if before.string not in ("import", ",", "("):
        return False
    return after is None or after.string in (",", ")") or after.type in _ENDS


_ENDS = (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER)


def _split_string(
    token: tokenize.TokenInfo, start: int, bracketed: bool
) -> Iterator[list[_Insert]]:
    """The literal as two adjacent ones, split near its middle: on one line, and on two lines
    (inside parentheses where it is not in brackets already)."""
    text = token.string
    prefix = text[: len(text) - len(text.lstrip("bBrRuUfF"))]
    quote = text[len(prefix)]
    body = text[len(prefix) + 1 : -1]
    if text[len(prefix) : len(prefix) + 3] in ('"""', "'''") or len(body) < 2 or "\n" in text:
        return
    cut = _cut(body)
    if cut is None:
        return
    left, right = f"{prefix}{quote}{body[:cut]}{quote}", f"{prefix}{quote}{body[cut:]}{quote}"
    end = start + len(text)
    yield [(start, end, f"{left} {right}")]
    indent = " " * (_indent_of(token.line) + 4)
    if bracketed:
        yield [(start, end, f"{left}\n{indent}{right}")]
    else:
        outer = " " * _indent_of(token.line)
        yield [(start, end, f"(\n{indent}{left}\n{indent}{right}\n{outer})")]


def _cut(body: str) -> int | None:
    """Where the body splits into two literals that mean the same: not inside an escape, the
    point nearest the middle (after a space when there is one)."""
    safe = []
    index = 0
    while index < len(body):
        if body[index] == "\\":
            index += 2
            continue
        index += 1
        if 0 < index < len(body) and body[index - 1] not in "{}" and body[index] not in "{}":
            safe.append(index)
    if not safe:
        return None
    spaced = [i for i in safe if body[i - 1] == " "]
    return min(spaced or safe, key=lambda i: abs(i - len(body) / 2))


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _line_starts(source: str) -> list[int]:
    """The offset of each line as tokenize counts them (only ``\n`` ends one)."""
    starts = [0]
    while (found := source.find("\n", starts[-1])) != -1:
        starts.append(found + 1)
    return starts


def _apply(source: str, edits: list[_Insert]) -> str:
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def parses(source: str) -> bool:
    """Whether ``source`` is Python that parses."""
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
