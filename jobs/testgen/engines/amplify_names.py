"""The names of test amplification's variants (:mod:`.amplify_variants`): what an edit did, in
words a test's name can hold (``test_ol_with_x``, ``test_replace_one_item_fewer``,
``test_func_resolver_raises_keyerror``). Pure."""

from __future__ import annotations

import ast
import re
import unicodedata


def short(node: ast.AST, limit: int = 40) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def edit(before: ast.AST, after: ast.AST) -> str:
    """What a variant changed, in words a test name can hold: ``with x``, ``without li``,
    ``one item fewer``, the new number or flag, ``raises KeyError``."""
    if isinstance(after, ast.FunctionDef):
        raised = next((n for n in ast.walk(after) if isinstance(n, ast.Raise)), None)
        name = raised and raised.exc and ast.unparse(raised.exc).split("(", 1)[0]
        return f"raises {name}"
    if isinstance(before, ast.Constant) and isinstance(after, ast.Constant):
        old, new = before.value, after.value
        if not (isinstance(old, str) and isinstance(new, str)):
            return str(new).replace("-", "minus ")
        if not new:
            return "empty"
        start = _common(old, new)
        end = _common(old[start:][::-1], new[start:][::-1])
        removed, added = old[start : len(old) - end], new[start : len(new) - end]
        if added and not removed:
            return f"with {_words(added)}"
        if removed and not added:
            return f"without {_words(removed)}"
        return _words(new)
    if isinstance(before, ast.Dict) and isinstance(after, ast.Dict):
        held = {ast.dump(k) for k in before.keys if k is not None}
        keys = [k for k in after.keys if k is not None and ast.dump(k) not in held]
        if keys and isinstance(keys[0], ast.Constant) and isinstance(keys[0].value, str):
            return f"with {keys[0].value}"  # a key the change reads, added
    if isinstance(before, ast.List | ast.Tuple | ast.Set | ast.Dict):
        count = len(before.keys if isinstance(before, ast.Dict) else before.elts)
        changed = len(after.keys if isinstance(after, ast.Dict) else after.elts)  # type: ignore[attr-defined]
        return "one item fewer" if changed < count else "one item more"
    return ast.unparse(after)


def _common(one: str, other: str) -> int:
    """The length of the two strings' common prefix."""
    return next(
        (i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b),
        min(len(one), len(other)),
    )


def _words(text: str) -> str:
    """The text's words, or the name of its one character (``%``: percent sign)."""
    if re.search("[A-Za-z0-9]", text) or not text:
        return text
    return " ".join(unicodedata.name(c, "char") for c in text[:2]).lower()


def slugify(text: str, limit: int = 30) -> str:
    words = re.findall(r"[A-Za-z0-9]+", text.lower())
    return "_".join(words)[:limit].strip("_") or "empty"
