"""Runs inside the sandbox beside ``capture_calls.py`` (copied next to it as
``capture_codes.py``): the code objects the capture watches, found from the changed module,
and the arguments a watched frame's call was given. Imports nothing of Tandem's."""

from __future__ import annotations

import os
from types import CodeType, FrameType, ModuleType
from typing import Any


def code_of(module: ModuleType, qualname: str) -> CodeType | None:
    value: Any = module
    for part in qualname.split("."):
        value = vars(value).get(part) if hasattr(value, "__dict__") else None
        if value is None:
            return None
    function = getattr(value, "__func__", value)  # classmethod, staticmethod
    function = getattr(function, "fget", function)  # property
    code = getattr(function, "__code__", None)
    return code if isinstance(code, CodeType) else None


def codes_in(module: ModuleType, path: str) -> list[CodeType]:
    """Every code object of `path` the module holds: its functions, methods and properties,
    and the functions and comprehensions nested in them (constants of their code)."""
    found: dict[CodeType, None] = {}
    pending: list[object] = list(vars(module).values())
    seen_classes: set[int] = set()
    while pending:
        value = pending.pop()
        if isinstance(value, type):
            if id(value) in seen_classes or value.__module__ != module.__name__:
                continue
            seen_classes.add(id(value))
            pending += list(vars(value).values())
            continue
        value = getattr(value, "__func__", value)  # classmethod, staticmethod
        getters = [getattr(value, n, None) for n in ("fget", "fset", "fdel")]  # property
        for function in [value, *getters]:
            code = getattr(function, "__code__", None)
            if isinstance(code, CodeType) and os.path.abspath(code.co_filename) == path:
                nested = [code]
                while nested:
                    current = nested.pop()
                    if current not in found:
                        found[current] = None
                        nested += [c for c in current.co_consts if isinstance(c, CodeType)]
    return list(found)


def bound(frame: FrameType) -> tuple[list[Any], dict[str, Any]]:
    """The arguments `frame`'s call was given: positional (its receiver first, and its
    ``*args``) and by keyword (its keyword-only ones and its ``**kwargs``)."""
    code = frame.f_code
    names = code.co_varnames
    count = code.co_argcount + code.co_kwonlyargcount
    values = frame.f_locals
    positional = [values[n] for n in names[: code.co_argcount]]
    keywords = {n: values[n] for n in names[code.co_argcount : count]}
    star = list(values[names[count]]) if code.co_flags & 0x04 and names[count] in values else []
    extra = count + bool(code.co_flags & 0x04)
    starstar = dict(values[names[extra]]) if code.co_flags & 0x08 and names[extra] in values else {}
    return [*positional, *star], {**keywords, **starstar}
