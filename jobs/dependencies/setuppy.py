"""What a ``setup.py`` declares, read with :mod:`ast` (pure: text in, data out).

``setup.py`` is the PR author's code: it is never executed here. Only literal values are read,
from the ``setup(...)`` call (``setup(...)``, ``setuptools.setup(...)``) and from module-level
assignments it names (``extras_require=EXTRAS`` with ``EXTRAS = {...}``); anything computed is
not seen. A file that does not parse, or nests too deeply for the parser, gives
:attr:`SetupPy.problem` instead of an exception.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SetupPy:
    name: str | None = None
    uses_scm: bool = False  # use_scm_version=..., or setuptools_scm in setup_requires
    extras: dict[str, list[str]] = field(default_factory=dict)  # literal extras_require
    problem: str | None = None  # why the file could not be read


def read_setup_py(text: str) -> SetupPy:
    try:
        tree = ast.parse(text, filename="setup.py")
    except (SyntaxError, ValueError) as e:  # ValueError: null bytes
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        return SetupPy(problem=f"does not parse{where}")
    except (RecursionError, MemoryError):
        return SetupPy(problem="nests too deeply to read")
    assigned: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value
    keywords: dict[str, ast.expr] = {}
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and _is_setup(call.func):
            keywords.update({k.arg: k.value for k in call.keywords if k.arg is not None})

    def literal(name: str) -> object:
        value = keywords.get(name)
        if isinstance(value, ast.Name):
            value = assigned.get(value.id)
        if value is None:
            return None
        try:
            return ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            return None

    name = literal("name")
    setup_requires = literal("setup_requires")
    requires = setup_requires if isinstance(setup_requires, list | tuple) else []
    uses_scm = ("use_scm_version" in keywords and literal("use_scm_version") is not False) or any(
        isinstance(r, str) and "setuptools_scm" in r.replace("-", "_") for r in requires
    )
    return SetupPy(
        name=name if isinstance(name, str) else None,
        uses_scm=uses_scm,
        extras=_extras(literal("extras_require")),
    )


def _is_setup(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "setup") or (
        isinstance(func, ast.Attribute) and func.attr == "setup"
    )


def _extras(value: object) -> dict[str, list[str]]:
    """extras_require as setuptools reads it: a name maps to a list of requirements or to one
    string of them, a line each."""
    if not isinstance(value, dict):
        return {}
    extras: dict[str, list[str]] = {}
    for name, requirements in value.items():
        if not isinstance(name, str):
            continue
        if isinstance(requirements, str):
            requirements = requirements.splitlines()
        if isinstance(requirements, list | tuple):
            extras[name] = [r.strip() for r in requirements if isinstance(r, str) and r.strip()]
    return extras
