"""Tandem's characterization probe: runs INSIDE the sandbox, never on the worker.

Usage: ``python characterize_probe.py INPUT.json OUTPUT.jsonl``. The input lists modules
(path, import root, dotted name) and their seeds (id, call expression, the module names it
uses). For each module: import it, then evaluate every seed twice in a namespace holding
exactly those names, each evaluation under a timer, and append one JSON line per seed:
``value`` (a repr that evaluates back to an equal value of the same type, with the names it
needs; an iterator's items as a list, ``"wrap": "list"``, when there are at most
:data:`MAX_ITEMS` of them: a generator's body runs only when it is consumed), ``type`` (only
the result's type: no such repr), ``raises`` (the exception type, named as a test can import
it), ``timeout``, ``nondeterministic``, ``unresolvable`` (a name the module lacks),
``unrepresentable``; or one ``import_error`` line for a module. With ``"walk": true``, a
``value`` or ``type`` line also lists ``types``: the type of each item along a bounded walk of the
result (:func:`nested_types`): two results with the same repr may differ by a nested type. With
``"state": true``, a call that returned also lists ``state``, what it left behind
(:func:`state_of`). Lines are flushed as written: a probe killed half-way leaves the finished ones.

Standard library only: it runs on the sandbox's interpreter, not Tandem's.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import itertools
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType, ModuleType
from typing import Any

MAX_REPR = 2000
MAX_ITEMS = 100
WALK_DEPTH = 3  # subscripts below the result
WALK_NODES = 50
MAX_KEY = 100  # characters of a dict key on a walked path
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{4,}")
MAX_STATES = 4  # objects whose state after the call one record lists
MAX_STATE_CHARS = 8000  # of one record's state, as JSON: the output file has a cap
MAX_ATTRIBUTES = 12  # of one object
UNCHANGING = (int, float, complex, str, bytes, bool, type(None), range, frozenset, tuple, type)
# The first run's objects, alive while the second runs: an object's id() then differs, as it does
# between processes.
ALIVE: list[object] = []


class ProbeTimeout(BaseException):
    """Raised by the timer; a BaseException so that `except Exception` in PR code misses it."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise ProbeTimeout()


def timed(seconds: float, function: Callable[..., Any], *args: Any) -> Any:
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def decisive(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def exception_ref(kind: type, module: ModuleType) -> tuple[str, str]:
    """(name, "builtin" | "module") a test can use in pytest.raises for `kind`."""
    if getattr(builtins, kind.__name__, None) is kind:
        return kind.__name__, "builtin"
    if getattr(module, kind.__name__, None) is kind:
        return kind.__name__, "module"
    for base in kind.__mro__[1:]:
        if getattr(builtins, base.__name__, None) is base:
            return str(base.__name__), "builtin"
    return "BaseException", "builtin"


def type_ref(kind: type, module: ModuleType) -> list[str] | None:
    """[name, "builtin" | "module" | "stdlib"] a test can name `kind` by (a standard-library
    class as ``collections.OrderedDict``), or None."""
    name = kind.__name__
    if getattr(builtins, name, None) is kind:
        return [name, "builtin"]
    if getattr(module, name, None) is kind:
        return [name, "module"]
    home = getattr(kind, "__module__", "")
    if home in sys.stdlib_module_names and kind.__qualname__ == name:
        try:
            if getattr(importlib.import_module(home), name, None) is kind:
                return [f"{home}.{name}", "stdlib"]
        except Exception:
            pass
    return None


def nested_types(value: object, module: ModuleType) -> list[list[Any]]:
    """[path, name, source] for the result and its items, breadth first: a dict's values under
    its str and int keys, a list's or tuple's items by index, at most WALK_DEPTH subscripts deep
    and WALK_NODES nodes. name and source are None for a type no test can name."""
    found: list[list[Any]] = []
    queue: list[tuple[list[Any], object]] = [([], value)]
    while queue and len(found) < WALK_NODES:
        path, node = queue.pop(0)
        ref = type_ref(type(node), module)
        found.append([path, *ref] if ref else [path, None, None])
        if len(path) >= WALK_DEPTH:
            continue
        try:
            if isinstance(node, dict):
                keys = [
                    k
                    for k in itertools.islice(dict.keys(node), WALK_NODES)
                    if type(k) is int or (type(k) is str and len(k) <= MAX_KEY)
                ]
            elif isinstance(node, list | tuple):
                keys = list(range(min(len(node), WALK_NODES)))
            else:
                keys = []
            # Read as the test reads it: through the object's own subscript.
            queue += [([*path, key], node[key]) for key in keys]  # type: ignore[index]
        except Exception:
            continue
    return found


def describe_value(value: object, module: ModuleType, *, walk: bool = True) -> dict[str, Any]:
    """The result as :func:`describe_result` says it, with its walk (:func:`nested_types`)
    when `walk`: only the differential engine compares walks."""
    if isinstance(value, Iterator):
        items = list(itertools.islice(value, MAX_ITEMS + 1))
        if len(items) <= MAX_ITEMS:
            described = describe_value(items, module, walk=walk)
            if described["kind"] == "value":
                return {**described, "wrap": "list"}
    described = describe_result(value, module)
    if walk and described["kind"] in ("value", "type"):
        described["types"] = nested_types(value, module)
    return described


def describe_result(value: object, module: ModuleType) -> dict[str, Any]:
    """The result by its repr, when that rebuilds it, or else by its type."""
    try:
        text = repr(value)
    except Exception:
        text = ""
    if text and len(text) <= MAX_REPR and not ADDRESS.search(text):
        try:
            if type(ast.literal_eval(text)) is type(value) and ast.literal_eval(text) == value:
                return {"kind": "value", "expected": text, "imports": []}
        except Exception:
            pass
        try:
            tree = ast.parse(text, mode="eval")
            names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})
            namespace: dict[str, Any] = {}
            imports: list[list[str]] = []
            for name in names:
                if name in sys.stdlib_module_names:
                    namespace[name] = importlib.import_module(name)
                    imports.append([name, "stdlib"])
                elif hasattr(module, name):
                    namespace[name] = getattr(module, name)
                    imports.append([name, "module"])
                elif not hasattr(builtins, name):
                    raise NameError(name)
            rebuilt = eval(compile(tree, "<repr>", "eval"), namespace)
            if type(rebuilt) is type(value) and rebuilt == value:
                return {"kind": "value", "expected": text, "imports": imports}
        except Exception:
            pass
    kind = type(value)
    if "<" in kind.__qualname__:
        return {"kind": "unrepresentable", "detail": kind.__qualname__}
    return {"kind": "type", "expected": kind.__qualname__}


class WhileConsuming(Exception):
    """An iterator the call returned raised while its items were read."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def split_call(call: str) -> ast.Call | None:
    """The call, when the state it leaves behind can be read: a call without ``*`` or ``**``."""
    node = ast.parse(call, mode="eval").body
    if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
        return None
    return None if any(k.arg is None for k in node.keywords) else node


def call_watching(node: ast.Call, scope: dict[str, Any]) -> tuple[Any, list[tuple[str, Any]]]:
    """Make the call as ``eval`` would: its value, and (where, object) for its receiver and
    arguments: "self", "arg:N" (or "arg:N:PARAMETER"), "kw:NAME"."""

    def value_of(expression: ast.expr) -> Any:
        return eval(compile(ast.Expression(expression), "<seed>", "eval"), scope)

    watched: list[tuple[str, Any]] = []
    if isinstance(node.func, ast.Attribute):
        receiver = value_of(node.func.value)
        function = getattr(receiver, node.func.attr)
        watched.append(("self", receiver))
    else:
        function = value_of(node.func)
    args = [value_of(a) for a in node.args]
    kwargs = {str(k.arg): value_of(k.value) for k in node.keywords}
    value = function(*args, **kwargs)
    try:  # the parameters' names, for the test's variables
        parameters = inspect.signature(function).parameters.values()
        named = [p.name for p in parameters if p.kind <= p.POSITIONAL_OR_KEYWORD]
    except Exception:
        named = []
    watched += [(":".join(["arg", str(i), *named[i : i + 1]]), a) for i, a in enumerate(args)]
    watched += [(f"kw:{k}", v) for k, v in kwargs.items()]
    return value, watched


def state_of(
    value: object, described: dict[str, Any], watched: list[tuple[str, Any]], module: ModuleType
) -> list[dict[str, Any]]:
    """The state the call left behind (:func:`describe_state`) in each changeable object it was
    given, receiver first, and in a result whose repr does not rebuild it (an object built)."""
    if described["kind"] != "value" and hasattr(value, "__dict__"):
        watched = [*watched, ("result", value)]
    found: list[dict[str, Any]] = []
    seen: list[object] = []
    for where, thing in watched:
        unchanging = isinstance(thing, UNCHANGING) or inspect.ismodule(thing)
        if unchanging or inspect.isroutine(thing) or any(thing is o for o in seen):
            continue
        seen.append(thing)
        try:
            entry = {"where": where, **describe_state(thing, module)}
        except Exception:  # the project's repr, __eq__ or attributes raised: no state for it
            continue
        if len(json.dumps([*found, entry])) > MAX_STATE_CHARS or len(found) >= MAX_STATES:
            break
        found.append(entry)
    return found


def describe_state(value: object, module: ModuleType) -> dict[str, Any]:
    """One object's state: its repr (:func:`equal_repr`), the walk of its items, and its own
    attributes."""
    described = {**equal_repr(value, module), "types": nested_types(value, module)}
    if attrs := attributes(value, module):  # a dict subclass's own attributes, too
        described["attrs"] = attrs
    return described


def equal_repr(value: object, module: ModuleType) -> dict[str, Any]:
    """:func:`describe_result`, where a repr that gives back an equal object of another type
    (a ``dict`` subclass's) is a value too: a test of state compares it with ``==``."""
    described = describe_result(value, module)
    text = repr(value) if described["kind"] == "type" else ""
    if text and len(text) <= MAX_REPR and not ADDRESS.search(text):
        try:
            if ast.literal_eval(text) == value:
                return {"kind": "value", "expected": text, "imports": []}
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
    return described


def attributes(value: object, module: ModuleType) -> dict[str, dict[str, Any]]:
    """The object's own attributes (public first, at most MAX_ATTRIBUTES), each by its repr or
    its type (None: one no test can name)."""
    own = dict(getattr(value, "__dict__", None) or {})  # not a mapping: no state (state_of)
    names = [n for n in own if isinstance(n, str) and n.isidentifier() and not n.startswith("__")]
    found: dict[str, dict[str, Any]] = {}
    for name in sorted(names, key=lambda n: (n.startswith("_"), n))[:MAX_ATTRIBUTES]:
        if getattr(value, name, None) is not own[name]:
            continue  # a descriptor in front of it: reading the attribute gives something else
        described = equal_repr(own[name], module)
        if described["kind"] != "value":
            described = {"kind": "type", "type": type_ref(type(own[name]), module)}
        found[name] = described
    return found


def evaluate(
    call: str,
    namespace: dict[str, Any],
    module: ModuleType,
    seconds: float,
    *,
    walk: bool = False,
    state: bool = False,
) -> dict[str, Any]:
    code = compile(call, "<seed>", "eval")
    node = split_call(call) if state else None

    def run() -> dict[str, Any]:
        watched: list[tuple[str, Any]] = []
        if node is None:
            value = eval(code, dict(namespace))
        else:
            value, watched = call_watching(node, dict(namespace))
        try:
            described = describe_value(value, module, walk=walk)
        except Exception as error:  # from reading an iterator's items (repr errors are caught)
            raise WhileConsuming(error) from error
        if node is not None and (found := state_of(value, described, watched, module)):
            described["state"] = found
        ALIVE.append((value, watched))
        return described

    try:
        result: dict[str, Any] = timed(seconds, run)
        return result
    except ProbeTimeout:
        return {"kind": "timeout"}
    except WhileConsuming as consuming:
        name, source = exception_ref(type(consuming.error), module)
        said = message_of(consuming.error)
        return {"kind": "raises", "exception": name, "source": source, "wrap": "list", **said}
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        name, source = exception_ref(type(error), module)
        return {"kind": "raises", "exception": name, "source": source, **message_of(error)}


def message_of(error: BaseException) -> dict[str, str]:
    """{"message": str(error)} when that works and is short; the code's __str__ may raise."""
    try:
        text = str(error)
    except Exception:
        return {}
    return {"message": text} if isinstance(text, str) and len(text) <= 300 else {}


def forget_other_copies(module: str, root: str) -> None:
    """Drop an already imported package of this name that is not the checkout's."""
    top = module.split(".")[0]
    loaded = sys.modules.get(top)
    where = os.path.abspath(getattr(loaded, "__file__", None) or root) if loaded else root
    if loaded is not None and not where.startswith(root + os.sep):
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]


def defined(sources: dict[str, str]) -> dict[str, Any]:
    """The helper inputs (name -> class source) as objects, each from its own source."""
    objects: dict[str, Any] = {}
    for name, source in sources.items():
        scope: dict[str, Any] = {"__name__": "tandem_helpers"}
        exec(compile(source, f"<{name}>", "exec"), scope)
        objects[name] = scope[name]
    return objects


def test_class(
    cache: dict[tuple[str, str], Any], module: ModuleType, name: str, source: str
) -> Any:
    """A class of the project's test modules, defined from its source against this side's
    module (a subclass of the module's class subclasses this side's version of it), with the
    standard-library modules it names imported, as the generated test imports them."""
    key = (name, source)
    if key not in cache:
        scope: dict[str, Any] = dict(vars(module))
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in sys.stdlib_module_names:
                scope.setdefault(node.id, importlib.import_module(node.id))
        exec(compile(tree, f"<{name}>", "exec"), scope)
        cache[key] = scope[name]
    return cache[key]


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        job = json.load(handle)
    with open(sys.argv[2], "w", encoding="utf-8") as output, open(os.devnull, "w") as null:
        sys.stdout = null  # PR code's prints are not the probe's output

        def emit(record: dict[str, Any]) -> None:
            output.write(json.dumps(record, sort_keys=True) + "\n")
            output.flush()

        signal.signal(signal.SIGALRM, _alarm)
        probe(job, emit)


def probe(job: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> None:
    seconds = float(job["call_timeout_s"])
    walk, state = bool(job.get("walk")), bool(job.get("state"))
    helpers = defined(job.get("helpers", {}))

    for entry in job["modules"]:
        root = os.path.abspath(entry["root"])
        # The checkout's copy first, always: an editable install puts it at the END of the path,
        # where a copy of the same package in the tools' site-packages would win.
        while root in sys.path:
            sys.path.remove(root)
        sys.path.insert(0, root)
        forget_other_copies(entry["module"], root)
        try:
            module = timed(float(job["import_timeout_s"]), importlib.import_module, entry["module"])
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                raise
            detail = "import timed out" if isinstance(error, ProbeTimeout) else decisive(error)
            emit({"path": entry["path"], "kind": "import_error", "detail": detail[:300]})
            continue
        classes: dict[tuple[str, str], Any] = {}  # this side's test-module classes, once each
        for seed in entry["seeds"]:
            try:
                own = {
                    name: test_class(classes, module, name, source)
                    for name, source in seed.get("defines", {}).items()
                }
            except Exception as error:  # its source does not run against this side's module
                emit({"id": seed["id"], "kind": "unresolvable", "detail": decisive(error)[:100]})
                continue
            known = {**helpers, **own}
            missing = [n for n in seed["names"] if n not in known and not hasattr(module, n)]
            if missing:
                emit({"id": seed["id"], "kind": "unresolvable", "detail": missing[0][:100]})
                continue
            # A helper input (a class the generated test defines itself) over a module's name.
            namespace = {n: known.get(n) or getattr(module, n) for n in seed["names"]}
            first = evaluate(seed["call"], namespace, module, seconds, walk=walk, state=state)
            if first["kind"] == "timeout":
                emit({"id": seed["id"], **first})
                continue
            second = evaluate(seed["call"], namespace, module, seconds, walk=walk, state=state)
            ALIVE.clear()
            # A state that differs between the runs (a clock, an id) is left out; the result counts.
            theirs = second.pop("state", [])
            same = [e for e in first.pop("state", []) if e in theirs]
            if first != second:
                first = {"kind": "nondeterministic"}
            elif same:
                first["state"] = same
            emit({"id": seed["id"], **first})


if __name__ == "__main__":
    main()
