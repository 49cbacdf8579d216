"""Runs inside the sandbox beside ``capture_calls.py`` (copied next to it as
``capture_defined.py``): the classes the project's test modules define themselves, so that a
call taking one of their instances can still be written down.

A test often hands the changed function an object of a class it defines on the spot: a
``Mapping`` subclass, an object with its own ``__str__`` or ``__float__``, a subclass of the
module's own class. Such a value's class exists only in the test module, so the call did not
rebuild in the module's namespace and was lost. Here each top-level class of the test files
that ran is read back from its source; where every name that source uses is a builtin, a name
the changed module holds (the same object), or a standard-library module the test imported, the
class is usable (a name imported from a standard-library module of :data:`CONSTRUCTORS`, as
``from dataclasses import dataclass``, too: spelled as that module's attribute), and the
capture resolves its name, writes its instances from their repr or from the
construction it watched (``capture_built.py``), and says which classes a call uses, with their
sources, so that the probe and the generated test define them in turn. Imports nothing of
Tandem's.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import os
import sys
import textwrap
from types import CodeType, ModuleType
from typing import Any

MAX_SOURCE_CHARS = 3000  # a longer class is not a small input
# Standard-library modules whose names a test class may use as imported one by one (``from
# dataclasses import dataclass, field``): decorators, bases and value types whose objects
# rebuild from their repr or fields. The class's source then spells them as the module's
# attribute, so that the probe and the generated test need only ``import dataclasses``.
# (``collections.abc`` is not among them: ``import collections`` does not bind its ``abc``.)
CONSTRUCTORS = (
    "dataclasses",
    "enum",
    "collections",
    "datetime",
    "decimal",
    "fractions",
    "pathlib",
    "typing",
    "functools",
)


class TestClasses:
    def __init__(self) -> None:
        # name -> (the class, {"name", "source", "needs": [[name, "module" | "stdlib"]…]})
        self.found: dict[str, tuple[type, dict[str, Any]]] = {}

    def collect(self, test_files: set[str], module: ModuleType) -> None:
        """The usable classes of the test modules loaded from `test_files`; a name two test
        files define differently is left out, as is one the changed module holds."""
        held = vars(module)
        clashes: set[str] = set()
        for test_module in list(sys.modules.values()):
            file = getattr(test_module, "__file__", None)
            if not isinstance(file, str) or os.path.abspath(file) not in test_files:
                continue
            for name, cls in list(vars(test_module).items()):
                if (
                    not isinstance(cls, type)
                    or cls.__module__ != test_module.__name__
                    or cls.__qualname__ != name
                    or name in held
                    # pytest would collect it as tests in the generated file that defines it
                    or name.startswith("Test")
                ):
                    continue
                record = describe(cls, test_module, module)
                if record is None:
                    continue
                if name in self.found and self.found[name][0] is not cls:
                    clashes.add(name)
                self.found[name] = (cls, record)
        for name in clashes:
            del self.found[name]

    def namespace(self) -> dict[str, type]:
        return {name: cls for name, (cls, _) in self.found.items()}

    def inits(self) -> set[CodeType]:
        """Their own ``__init__`` codes, whose calls ``capture_built.py`` notes."""
        codes = set()
        for cls, _ in self.found.values():
            code = getattr(vars(cls).get("__init__"), "__code__", None)
            if isinstance(code, CodeType):
                codes.add(code)
        return codes

    def bare(self, value: object) -> str | None:
        """``Name()`` for an instance of a usable class that takes no arguments and holds no
        state of its own (its behaviour is all in its methods)."""
        cls = type(value)
        name = cls.__name__
        if self.found.get(name, (None,))[0] is not cls:
            return None
        if cls.__init__ is not object.__init__ or cls.__new__ is not object.__new__:
            return None
        return f"{name}()" if not getattr(value, "__dict__", None) else None

    def used(self, call: str) -> list[dict[str, Any]]:
        """The usable classes `call` names, for its record."""
        if not self.found:
            return []
        try:
            names = {
                n.id for n in ast.walk(ast.parse(call, mode="eval")) if isinstance(n, ast.Name)
            }
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
        return [self.found[n][1] for n in sorted(names) if n in self.found]


def describe(cls: type, test_module: ModuleType, module: ModuleType) -> dict[str, Any] | None:
    """`cls`'s source and the imports it needs, when every name it uses can be had."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if (
        len(source) > MAX_SOURCE_CHARS
        or len(tree.body) != 1
        or not isinstance(tree.body[0], ast.ClassDef)
        or tree.body[0].name != cls.__name__
    ):
        return None
    needs = []
    qualified: dict[str, str] = {}  # a name imported from the standard library -> module.name
    for name in sorted(free_names(tree) - {cls.__name__}):
        value = vars(test_module).get(name)
        home = stdlib_home(name, value)
        if name in vars(module) and vars(module)[name] is value:
            needs.append([name, "module"])
        elif isinstance(value, ModuleType) and value.__name__ == name:
            if name not in sys.stdlib_module_names:
                return None
            needs.append([name, "stdlib"])
        elif home is not None:
            qualified[name] = f"{home}.{name}"
            if [home, "stdlib"] not in needs:
                needs.append([home, "stdlib"])
        else:  # a fixture, a helper of the test module, pytest: not ours to rebuild
            return None
    source = qualify(source, tree, qualified) if qualified else source
    return {"name": cls.__name__, "source": source, "needs": sorted(needs)}


def stdlib_home(name: str, value: object) -> str | None:
    """The module of :data:`CONSTRUCTORS` that holds `value` as `name` (``dataclass`` of
    ``from dataclasses import dataclass``); None for any other value."""
    if value is None or isinstance(value, ModuleType):
        return None
    for home in CONSTRUCTORS:
        held = sys.modules.get(home)
        if held is not None and getattr(held, name, None) is value:
            return home
    return None


def qualify(source: str, tree: ast.AST, names: dict[str, str]) -> str:
    """`source` with each read of a name of `names` spelled as its module's attribute
    (``@dataclass`` → ``@dataclasses.dataclass``), the rest of the text as it was."""
    lines = source.splitlines(keepends=True)
    spots = sorted(
        (node.lineno, node.col_offset, node.end_col_offset or node.col_offset, names[node.id])
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names
    )
    for line, start, end, text in reversed(spots):  # offsets are in the line's UTF-8 bytes
        data = lines[line - 1].encode("utf-8")
        lines[line - 1] = (data[:start] + text.encode("utf-8") + data[end:]).decode("utf-8")
    return "".join(lines)


def free_names(tree: ast.AST) -> set[str]:
    """The names `tree` reads that it does not bind itself and that are not builtins."""
    read: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read - bound - set(dir(builtins))
