"""The test commands of a project's ``noxfile.py`` (pure: its text in, word lists out).

A nox session runs its suite with ``session.run("pytest", "--doctest-modules", "src")`` or
``session.run("python", "-m", "pytest", ...)``. The PR's author writes this file: it is parsed
with :mod:`ast`, never imported or run. Only literal string arguments are read;
``*session.posargs`` (no arguments are given) is nothing, and any other argument is left out
with a line saying so. A session is a function decorated with ``nox.session`` (or ``session``,
called or not); its ``run`` and ``install`` calls are those on its first parameter, in the order
they appear. What ``session.install(...)`` installs is read as ``pip install`` words
(:mod:`jobs.dependencies.workflow_install` reads those, as it does a CI job's), nox's
``*nox.project.dependency_groups(PYPROJECT, "test")`` as ``--group test``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

PATH = "noxfile.py"


@dataclass(frozen=True)
class NoxSession:
    name: str
    commands: list[list[str]] = field(default_factory=list)
    installs: list[list[str]] = field(default_factory=list)  # session.install's arguments
    notes: list[str] = field(default_factory=list)  # run's arguments left out, a line each
    install_notes: list[str] = field(default_factory=list)  # install's, the same


def read_nox(text: str, refused: list[str]) -> list[NoxSession]:
    """The sessions of ``noxfile.py``, in the file's order; what cannot be read goes to
    ``refused``."""
    try:
        tree = ast.parse(text, filename=PATH)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:  # nesting too deep
        refused.append(f"`{PATH}`: cannot be parsed ({str(e)[:200]})")
        return []
    sessions: list[NoxSession] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and _is_session(node) and node.args.args:
            sessions.append(_session(node))
    return sessions


def _is_session(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr == "session":
            return True
        if isinstance(target, ast.Name) and target.id == "session":
            return True
    return False


def _session(node: ast.FunctionDef) -> NoxSession:
    found = NoxSession(_name(node))
    param = node.args.args[0].arg
    calls = [
        call
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in ("run", "install")
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == param
    ]
    # ast.walk goes breadth-first: the file's order is the order they run in
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
        assert isinstance(call.func, ast.Attribute)  # the comprehension above checked it
        if call.func.attr == "run":
            found.commands.append(_literal_words(call, found.name, found.notes))
        else:
            found.installs.append(_literal_words(call, found.name, found.install_notes))
    return found


def _literal_words(call: ast.Call, session: str, notes: list[str]) -> list[str]:
    """The call's literal string arguments; each other one is a line in ``notes``."""
    words: list[str] = []
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            words.append(arg.value)
        elif (groups := _dependency_groups(arg)) is not None:
            words.extend(word for group in groups for word in ("--group", group))
        elif not _posargs(arg):  # *session.posargs: no arguments are given
            notes.append(
                f"`{PATH}` session `{session}` line {arg.lineno}: "
                f"{ast.unparse(arg)[:60]} (not a literal)"
            )
    return words


def _dependency_groups(arg: ast.expr) -> list[str] | None:
    """The groups of ``*nox.project.dependency_groups(PYPROJECT, "test", ...)`` (nox's own way to
    install ``pyproject.toml``'s dependency groups); None for any other argument."""
    call = arg.value if isinstance(arg, ast.Starred) else None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "dependency_groups"
        and call.args
    ):
        return None
    names = call.args[1:]  # the first is the pyproject table
    if not all(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in names):
        return None
    return [str(n.value) for n in names if isinstance(n, ast.Constant)]


def _posargs(arg: ast.expr) -> bool:
    return (
        isinstance(arg, ast.Starred)
        and isinstance(arg.value, ast.Attribute)
        and arg.value.attr == "posargs"
    )


def _name(node: ast.FunctionDef) -> str:
    """The session's name: the decorator's ``name="..."``, else the function's."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                value = keyword.value
                if keyword.arg == "name" and isinstance(value, ast.Constant):
                    return str(value.value)
    return node.name
