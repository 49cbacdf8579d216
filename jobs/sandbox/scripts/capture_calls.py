"""Runs inside the sandbox (``python capture_calls.py JOB OUTPUT``, copied as the differential
engine's ``capture.py``): the project's own tests that reach the changed functions, run once
under pytest while ``sys.monitoring`` watches those functions' code. Each time one starts, the
call is written down as an expression a probe can evaluate in the changed module's namespace,
when every value in it round-trips through ``repr``:

- the changed function's own call (``_strip_auth(netloc='u:p@h', safe=frozenset())``), its
  receiver rebuilt from ``<Name('x')>``-style or dataclass-style reprs;
- the outermost call of the same file that led to it from the test (``Metadata.from_raw({…})``):
  the public entry point the test used, whose arguments are what a user passes;
- when neither rebuilds (a descriptor, a receiver whose repr is not code), the test's own
  expression that was running (``meta.description_content_type``), its local names replaced by
  their values or by what the test assigned them (``Metadata.from_raw({…}).description_…``),
  the test module's import of the changed module dropped (``metadata.Metadata`` → ``Metadata``).

A class, function or builtin passed as a value (``parse_float=float``) is written by its name
when that name, in the module or the builtins, is the same object.

The tests' first calls are often alike (one parametrized test after another), and the input
that tells base and head apart comes later. So a call whose text mentions one of the change's
``tokens`` (the attributes and strings of the changed lines) has a quota of its own,
``max_relevant`` a target, beside ``max_per_target`` for the rest.

JOB is JSON: ``{"root", "module", "path", "targets": [qualname…], "tests": [path…],
"max_per_target", "max_relevant", "tokens": [str…], "max_value_chars"}``. OUTPUT gets one JSON
line per distinct call: ``{"qualname": target, "call": expression, "entry": bool}``. Imports
nothing of Tandem's.
"""

from __future__ import annotations

import ast
import json
import linecache
import os
import re
import sys
from types import CodeType, FrameType, ModuleType
from typing import Any

TOOL_ID = 4  # sys.monitoring's free ids are 0-5; coverage takes 1 (it is not running here)
_DATA_TYPES = {
    t.__name__: t
    for t in (bool, bytes, bytearray, complex, dict, float, frozenset, int, list, set, str, tuple)
}
_ANGLE = re.compile(r"^<(?P<name>[A-Za-z_][\w.]*)\((?P<args>.*)\)>$", re.DOTALL)


class Capture:
    def __init__(self, job: dict[str, Any], out: Any) -> None:
        self.job = job
        self.out = out
        self.root = os.path.abspath(job["root"])
        self.path = os.path.abspath(job["path"])
        self.test_files = {os.path.abspath(t) for t in job["tests"]}
        self.max_per_target = int(job.get("max_per_target", 40))
        self.max_relevant = int(job.get("max_relevant", 0))
        # Identifiers match as whole words (``local`` in ``Version('1.0+local')``, not in
        # ``locale``); other tokens (``utf-8``, ``@``) anywhere in the call.
        self.tokens = [
            re.compile(rf"\b{re.escape(t)}\b" if t.isidentifier() else re.escape(t))
            for t in job.get("tokens", [])
            if isinstance(t, str) and t
        ]
        self.max_chars = int(job.get("max_value_chars", 300))
        self.codes: dict[CodeType, str] = {}
        self.seen: set[str] = set()
        self.counts: dict[tuple[str, bool], int] = {}  # (qualname, relevant) -> calls written
        self.module: ModuleType | None = None

    # -- set-up, once the tests' imports have loaded the module ------------------------------
    def watch(self) -> None:
        module = sys.modules.get(self.job["module"])
        if module is None:
            try:
                module = __import__(self.job["module"], fromlist=["_"])
            except BaseException:  # the tests' own import error says it better
                return
        self.module = module
        for qualname in self.job["targets"]:
            code = _code_of(module, qualname)
            if code is not None:
                self.codes[code] = qualname
        if not self.codes:
            return
        monitoring = sys.monitoring
        monitoring.use_tool_id(TOOL_ID, "tandem-capture")
        monitoring.register_callback(TOOL_ID, monitoring.events.PY_START, self.started)
        for code in self.codes:
            monitoring.set_local_events(TOOL_ID, code, monitoring.events.PY_START)

    # -- each start of a watched function -----------------------------------------------------
    def started(self, code: CodeType, offset: int) -> object:
        qualname = self.codes.get(code)
        if qualname is None or self.full(qualname):
            return None
        frame = sys._getframe(1)
        try:
            own = self.call_of(frame)
            entry = self.entry_of(frame)
            if own is None and entry is None:
                entry = self.test_expression(frame)
        except Exception:  # a repr that raises: that call is not written down
            return None
        for call, is_entry in ((own, False), (entry, True)):
            if call is None or call in self.seen:
                continue
            key = (qualname, self.relevant(call))
            if self.counts.get(key, 0) >= self.quota(key[1]):
                continue
            self.seen.add(call)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.out.write(
                json.dumps({"qualname": qualname, "call": call, "entry": is_entry}) + "\n"
            )
            self.out.flush()
        return None

    def relevant(self, call: str) -> bool:
        return any(token.search(call) for token in self.tokens)

    def quota(self, relevant: bool) -> int:
        return self.max_relevant if relevant else self.max_per_target

    def full(self, qualname: str) -> bool:
        """Whether no further call of `qualname` can be written down: both quotas are used (the
        relevant one counts as used when there are no tokens)."""
        relevant_full = not self.tokens or self.counts.get((qualname, True), 0) >= self.quota(True)
        return relevant_full and self.counts.get((qualname, False), 0) >= self.quota(False)

    def saturated(self) -> bool:
        """Every watched function has all the calls it may: the rest of the tests add none."""
        return bool(self.codes) and all(self.full(q) for q in self.codes.values())

    def entry_of(self, frame: FrameType) -> str | None:
        """The outermost call of the same file on the way from the test to ``frame``."""
        outer: FrameType | None = None
        current = frame.f_back
        while current is not None:
            if os.path.abspath(current.f_code.co_filename) == self.path:
                outer = current
            current = current.f_back
        return self.call_of(outer) if outer is not None else None

    def test_expression(self, frame: FrameType) -> str | None:
        """The expression the test was evaluating when it led to ``frame``, as code the module's
        namespace can run (:class:`TestExpression`)."""
        current: FrameType | None = frame.f_back
        while current is not None and os.path.abspath(current.f_code.co_filename) not in (
            self.test_files
        ):
            current = current.f_back
        if current is None:
            return None
        return TestExpression(self, current).text()

    def call_of(self, frame: FrameType) -> str | None:
        code = frame.f_code
        if code.co_name.startswith("<"):  # a comprehension, a lambda, a module body
            return None
        qualname = code.co_qualname
        if "<locals>" in qualname:
            return None
        names = code.co_varnames
        count = code.co_argcount + code.co_kwonlyargcount
        values = frame.f_locals
        positional = [values[n] for n in names[: code.co_argcount]]
        keywords = {n: values[n] for n in names[code.co_argcount : count]}
        star = list(values[names[count]]) if code.co_flags & 0x04 and names[count] in values else []
        extra = count + bool(code.co_flags & 0x04)
        starstar = (
            dict(values[names[extra]]) if code.co_flags & 0x08 and names[extra] in values else {}
        )
        owner, _, name = qualname.rpartition(".")
        callee = qualname
        if owner and positional and names and names[0] in ("self", "cls"):
            receiver = positional.pop(0)
            rebuilt = (
                self.class_ref(receiver) if names[0] == "cls" else self.rebuild(receiver, owner)
            )
            if rebuilt is None:
                return None
            callee = f"{rebuilt}.{name}"
        elif not self.resolves(owner or name):
            return None
        parts = []
        for value in [*positional, *star]:
            text = self.literal(value)
            if text is None:
                return None
            parts.append(text)
        for key, value in {**keywords, **starstar}.items():
            text = self.literal(value)
            if text is None or not key.isidentifier():
                return None
            parts.append(f"{key}={text}")
        return f"{callee}({', '.join(parts)})"

    # -- values ---------------------------------------------------------------------------------
    def namespace(self) -> dict[str, Any]:
        return dict(vars(self.module)) if self.module is not None else {}

    def resolves(self, dotted: str) -> bool:
        head, *rest = dotted.split(".")
        ns = self.namespace()
        if head not in ns:
            return False
        value = ns[head]
        for part in rest:
            if not hasattr(value, part):
                return False
            value = getattr(value, part)
        return True

    def class_ref(self, cls: object) -> str | None:
        qualname = getattr(cls, "__qualname__", "")
        return qualname if isinstance(cls, type) and self.resolves(qualname) else None

    def literal(self, value: object) -> str | None:
        """``repr(value)`` when it evaluates back to an equal value in the module's namespace."""
        text = repr(value)
        if len(text) > self.max_chars:
            return None
        try:
            again = eval(text, self.namespace())  # the project's own reprs, sandboxed
        except Exception:
            return self.angled(value, text) or self.named(value)
        try:
            return text if type(again) is type(value) and bool(again == value) else None
        except Exception:
            return None

    def angled(self, value: object, text: str) -> str | None:
        """``<Version('1.0')>`` → ``Version('1.0')`` when that rebuilds an equal value."""
        match = _ANGLE.match(text)
        if match is None or not self.resolves(match["name"]):
            return None
        expression = f"{match['name']}({match['args']})"
        try:
            again = eval(expression, self.namespace())
            return expression if type(again) is type(value) and bool(again == value) else None
        except Exception:
            return None

    def named(self, value: object) -> str | None:
        """``float``, ``Decimal``, ``helper``: a class or function by the name under which the
        module (or the builtins) holds that very object."""
        if not isinstance(value, type) and not callable(value):
            return None
        qualname = getattr(value, "__qualname__", None)
        if not isinstance(qualname, str) or not all(p.isidentifier() for p in qualname.split(".")):
            return None
        head, *rest = qualname.split(".")
        ns = self.namespace()
        # Of the builtins only the plain data types: a test may name those without an import.
        found: Any = ns[head] if head in ns else _DATA_TYPES.get(head)
        for part in rest:
            found = getattr(found, part, None)
        return qualname if found is value else None

    def rebuild(self, receiver: object, owner: str) -> str | None:
        """An expression for the method's receiver, when its repr rebuilds it."""
        text = self.literal(receiver)
        if text is None:
            return None
        return text if self.resolves(owner) else None


def _code_of(module: ModuleType, qualname: str) -> CodeType | None:
    value: Any = module
    for part in qualname.split("."):
        value = vars(value).get(part) if hasattr(value, "__dict__") else None
        if value is None:
            return None
    function = getattr(value, "__func__", value)  # classmethod, staticmethod
    function = getattr(function, "fget", function)  # property
    code = getattr(function, "__code__", None)
    return code if isinstance(code, CodeType) else None


class TestExpression:
    """The sub-expression a test frame is running (from its instruction's source position), with
    each name made something the changed module's namespace runs: a literal, a name the module
    holds, or, for a local the test assigned, that assignment's expression, inlined."""

    MAX_DEPTH = 4

    def __init__(self, capture: Capture, frame: FrameType) -> None:
        self.capture = capture
        self.frame = frame
        self.lines = linecache.getlines(frame.f_code.co_filename)

    def text(self) -> str | None:
        positions = list(self.frame.f_code.co_positions())
        index = self.frame.f_lasti // 2
        if index >= len(positions) or None in positions[index]:
            return None
        expression = self.source(*positions[index])  # type: ignore[arg-type]
        if expression is None:
            return None
        resolved = self.resolve(expression, self.frame.f_lineno, 0)
        if resolved is None:
            return None
        text = ast.unparse(resolved)
        return text if len(text) <= 4 * self.capture.max_chars else None

    def source(self, line: int, end_line: int, col: int, end_col: int) -> ast.expr | None:
        chunk = self.lines[line - 1 : end_line]
        if not chunk:
            return None
        if len(chunk) == 1:
            chunk = [chunk[0][col:end_col]]
        else:
            chunk = [chunk[0][col:], *chunk[1:-1], chunk[-1][:end_col]]
        try:
            return ast.parse("(" + "".join(chunk) + ")", mode="eval").body
        except SyntaxError:
            return None

    def resolve(self, node: ast.expr, before_line: int, depth: int) -> ast.expr | None:
        """`node` with its names replaced; None when one cannot be."""
        if depth > self.MAX_DEPTH:
            return None
        capture, module = self.capture, self.capture.module
        for parent in ast.walk(node):
            for field, child in ast.iter_fields(parent):
                if not isinstance(child, ast.expr):
                    continue
                if (
                    isinstance(child, ast.Attribute)
                    and isinstance(child.value, ast.Name)
                    and self.value_of(child.value.id) is module
                    and capture.resolves(child.attr)
                ):
                    setattr(parent, field, ast.Name(child.attr, ast.Load()))
        for name in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
            replacement = self.replacement(name, before_line, depth)
            if replacement is None:
                return None
            node = _Rename(name, replacement).visit(node)
        return node

    def value_of(self, name: str) -> object:
        frame = self.frame
        return frame.f_locals.get(name, frame.f_globals.get(name, _MISSING))

    def replacement(self, name: str, before_line: int, depth: int) -> ast.expr | None:
        ns = self.capture.namespace()
        value = self.value_of(name)
        if value is _MISSING:
            # A name the module holds, where the test's import of the module was dropped.
            known = name in ns or name in _DATA_TYPES
            return ast.Name(name, ast.Load()) if known else None
        if name in ns and ns[name] is value:
            return ast.Name(name, ast.Load())
        if isinstance(value, type(sys)):
            return None
        text = self.capture.literal(value)
        if text is not None:
            return ast.parse(text, mode="eval").body
        if name not in self.frame.f_code.co_varnames:
            return None
        assigned = self.assignment(name, before_line)
        return None if assigned is None else self.resolve(assigned[1], assigned[0], depth + 1)

    def assignment(self, name: str, before_line: int) -> tuple[int, ast.expr] | None:
        """The last ``name = expression`` of the test function before `before_line`."""
        try:
            tree = ast.parse("".join(self.lines))
        except SyntaxError:
            return None
        first = self.frame.f_code.co_firstlineno
        found = None
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
                first in (node.lineno, *(d.lineno for d in node.decorator_list))
            ):
                for statement in ast.walk(node):
                    if (
                        isinstance(statement, ast.Assign)
                        and len(statement.targets) == 1
                        and isinstance(statement.targets[0], ast.Name)
                        and statement.targets[0].id == name
                        and statement.lineno < before_line
                        and (found is None or statement.lineno > found[0])
                    ):
                        found = (statement.lineno, statement.value)
        return found


_MISSING = object()


class _Rename(ast.NodeTransformer):
    def __init__(self, name: str, replacement: ast.expr) -> None:
        self.name = name
        self.replacement = replacement

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.replacement if node.id == self.name else node


class Plugin:
    def __init__(self, capture: Capture) -> None:
        self.capture = capture

    def pytest_collection_finish(self, session: object) -> None:
        # After collection: the tests' imports have loaded the changed module, from the checkout.
        self.capture.watch()

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        if self.capture.saturated():
            import pytest

            pytest.exit("every changed function's calls are written down", returncode=0)


def main() -> None:
    job_path, output_path = sys.argv[1:3]
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    root = os.path.abspath(job["root"])
    while root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)
    import pytest

    with open(output_path, "w", encoding="utf-8") as out:
        capture = Capture(job, out)
        args = ["-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        args += ["--continue-on-collection-errors", *job["tests"]]
        code = pytest.main(args, plugins=[Plugin(capture)])
    sys.exit(0 if int(code) in (0, 1, 5) else int(code))


if __name__ == "__main__":
    main()
