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
  their values or by what the test assigned them (``capture_expression.py``);
- the outermost call of another module of the project (``_fix_src('x = (1,)', min_version=…)``),
  written in that module's namespace (``capture_entry.py``): a source-transforming library's
  tests call one entry point with source text, and its changed helpers get tokens.

A class, function or builtin passed as a value (``parse_float=float``) is written by its name
when that name, in the module or the builtins, is the same object. So is an instance of a class
a test module defines, when the class's own source rebuilds it (``capture_defined.py``).

The tests' first calls are often alike (one parametrized test after another), and the input
that tells base and head apart comes later. So a call whose text mentions one of the change's
``tokens`` (the attributes and strings of the changed lines) has a quota of its own,
``max_relevant`` a target, beside ``max_per_target`` for the rest. And, as a fuzzer keeps an
input for its corpus when it reaches code no input kept so far reached, a call that runs a line
of the changed file that no call written down so far ran is written down whatever the quotas,
marked ``"novel": true`` (the document with a float in it, after forty without one): its lines
are watched with ``sys.monitoring``'s LINE events, each line switched off once a written call has
run it, so only the new lines cost anything.

pytest takes the arguments every launcher adds (the project's own options, ``--no-cov``, ``-n
0``: ``tandem_pytest_plugins.py`` in the work dir, at the job's ``plugins`` path).

JOB is JSON: ``{"root", "module", "path", "targets": [qualname…], "tests": [path…],
"max_per_target", "max_relevant", "tokens": [str…], "max_value_chars", "plugins"}``. OUTPUT
gets one JSON line per distinct call: ``{"qualname": target, "call": expression, "entry":
bool}`` (and ``"module"``: the one it is written in, when not the changed one), and ``"novel":
true`` on the calls that ran new lines (such a call may also have a plain line of its own,
written when it started). Imports nothing of Tandem's.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
from types import CodeType, FrameType, ModuleType
from typing import Any

from capture_built import Constructions
from capture_codes import bound as _bound
from capture_codes import code_of as _code_of
from capture_codes import codes_in as _codes_in
from capture_defined import TestClasses
from capture_entry import entry_call
from capture_expression import DATA_TYPES as _DATA_TYPES
from capture_expression import TestExpression
from capture_launch import Plugin, launcher_args

TOOL_ID = 4  # sys.monitoring's free ids are 0-5; coverage takes 1 (it is not running here)
# Once every quota is used, the run still goes on while calls keep reaching new lines: it stops
# after this many calls in a row that reached none.
MAX_STALE_CALLS = 300
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
        # (qualname, call) written: one entry call (`Metadata.from_raw({…})`) that reaches two
        # watched functions is an input of each.
        self.seen: set[tuple[str, str]] = set()
        self.counts: dict[tuple[str, bool], int] = {}  # (qualname, relevant) -> calls written
        self.module: ModuleType | None = None
        # The watched calls under way, innermost last: (code, the call's texts, lines it ran).
        self.stack: list[tuple[CodeType, list[tuple[str, bool, str | None]], set[int]]] = []
        self.covered: set[int] = set()  # the changed file's lines the written calls ran
        self.stale = 0  # watched calls in a row that ran no new line
        self.constructions = Constructions()  # how the objects the tests built were made
        self.defined = TestClasses()  # the classes the test modules define (capture_defined.py)
        self.registered = False  # whether the sys.monitoring callbacks are registered

    # -- set-up, once the tests' imports have loaded the module ------------------------------
    def load(self) -> ModuleType | None:
        module = sys.modules.get(self.job["module"])
        if module is None:
            try:
                module = __import__(self.job["module"], fromlist=["_"])
            except BaseException:  # the tests' own import error says it better
                return None
        self.module = module
        return module

    def register(self) -> None:
        if self.registered:
            return
        self.registered = True
        monitoring = sys.monitoring
        events = monitoring.events
        monitoring.use_tool_id(TOOL_ID, "tandem-capture")
        monitoring.register_callback(TOOL_ID, events.PY_START, self.started)
        monitoring.register_callback(TOOL_ID, events.LINE, self.line)
        for event in (events.PY_RETURN, events.PY_YIELD, events.PY_UNWIND):
            monitoring.register_callback(TOOL_ID, event, self.ended)

    def watch_constructions(self) -> None:
        """Before the test modules are imported: the constructions of the module's classes, so
        that the objects a test module builds as it is imported (the values of a ``parametrize``
        list, a module-level constant) are written as their construction too."""
        module = self.load()
        if module is None:
            return
        self.register()
        for code in self.constructions.codes(module):
            sys.monitoring.set_local_events(TOOL_ID, code, sys.monitoring.events.PY_START)

    def watch(self) -> None:
        module = self.load()
        if module is None:
            return
        for qualname in self.job["targets"]:
            code = _code_of(module, qualname)
            if code is not None:
                # Several methods one decorator wraps share its wrapper's code: the first names
                # it.
                self.codes.setdefault(code, qualname)
        if not self.codes:
            return
        self.register()
        monitoring = sys.monitoring
        events = monitoring.events
        self.defined.collect(self.test_files, module)
        inits = self.constructions.codes(module)
        inits |= self.defined.inits()
        in_file = set(_codes_in(module, self.path))
        for code in dict.fromkeys([*self.codes, *in_file, *inits]):
            ends = events.PY_RETURN | events.PY_YIELD if code in self.codes else 0
            start = events.PY_START if code in self.codes or code in inits else 0
            line = events.LINE if code in in_file or code in self.codes else 0
            monitoring.set_local_events(TOOL_ID, code, line | start | ends)
        # A call that ends in an exception: PY_UNWIND can only be watched everywhere.
        monitoring.set_events(TOOL_ID, events.PY_UNWIND)

    # -- each start of a watched function -----------------------------------------------------
    def started(self, code: CodeType, offset: int) -> object:
        if code in self.constructions.inits:
            self.constructions.started(code, sys._getframe(1), self.bound)
        qualname = self.codes.get(code)
        if qualname is None:
            return None
        texts: list[tuple[str, bool, str | None]] = []
        self.stack.append((code, texts, set()))
        frame = sys._getframe(1)
        try:
            own = self.call_of(frame)
            entry = self.entry_of(frame)
            if own is None and entry is None:
                entry = self.test_expression(frame)
        except Exception:  # a repr that raises: that call is not written down
            return None
        try:
            project = entry_call(self, frame)  # the entry point of another module
        except Exception:
            project = None
        calls = [(own, False, None), (entry, True, None)]
        calls += [(project[0], True, project[1])] if project is not None else []
        for call, is_entry, module in calls:
            if call is None:
                continue
            texts.append((call, is_entry, module))
            if (qualname, call) in self.seen:
                continue
            key = (qualname, self.relevant(call))
            if self.counts.get(key, 0) >= self.quota(key[1]):
                continue
            self.seen.add((qualname, call))
            self.counts[key] = self.counts.get(key, 0) + 1
            self.write(_record(qualname, call, is_entry, module))
        return None

    def line(self, code: CodeType, line: int) -> object:
        if line in self.covered:
            return sys.monitoring.DISABLE  # a written call ran it: it tells nothing new
        if self.stack:
            self.stack[-1][2].add(line)
        return None

    def ended(self, code: CodeType, offset: int, value: object) -> object:
        """A watched call returned, yielded or raised: when it ran a line of the file no
        written call ran, it is written down (again) as novel."""
        qualname = self.codes.get(code)
        if qualname is None or not any(entry[0] is code for entry in self.stack):
            return None
        while self.stack:
            done, texts, lines = self.stack.pop()
            if self.stack:  # the caller ran what its callee ran
                self.stack[-1][2].update(lines)
            if done is code:
                break
        new = lines - self.covered
        if not new or not texts:
            self.stale += 1
            return None
        self.stale = 0
        self.covered |= new
        for call, is_entry, module in texts:
            self.seen.add((qualname, call))
            self.write({**_record(qualname, call, is_entry, module), "novel": True})
        return None

    def write(self, record: dict[str, object]) -> None:
        defines = self.defined.used(str(record["call"]))
        record = {**record, "defines": defines} if defines else record
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

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
        """Every watched function has all the calls it may, and the last MAX_STALE_CALLS calls
        ran no new line: the rest of the tests are unlikely to add any."""
        return (
            bool(self.codes)
            and all(self.full(q) for q in self.codes.values())
            and self.stale >= MAX_STALE_CALLS
        )

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
        if "<locals>" in qualname and code in self.codes:
            # A decorator's wrapper, watched as the function it decorates: written as that.
            qualname = self.codes[code]
        if "<locals>" in qualname:
            return None
        names = code.co_varnames
        positional, keywords = self.bound(frame)
        owner, _, name = qualname.rpartition(".")
        callee = qualname
        if name == "__init__" and positional and names[:1] == ("self",) and self.resolves(owner):
            # A constructor is written as the class's call: the object it builds is the result.
            positional.pop(0)
            callee = owner
        elif owner and positional and names and names[0] in ("self", "cls"):
            receiver = positional.pop(0)
            rebuilt = (
                self.class_ref(receiver) if names[0] == "cls" else self.rebuild(receiver, owner)
            )
            if rebuilt is None:
                return None
            callee = f"{rebuilt}.{name}"
            if not positional and not keywords and _is_property(type(receiver), name):
                return callee  # a getter is read, not called
        elif not self.resolves(owner or name):
            return None
        arguments = self.arguments(positional, keywords)
        return None if arguments is None else f"{callee}({arguments})"

    # The arguments a frame's call was given (``capture_codes.py``).
    bound = staticmethod(_bound)

    def arguments(self, positional: list[Any], keywords: dict[str, Any]) -> str | None:
        """The arguments as code (``1, key='x'``), when every value rebuilds."""
        parts = []
        for value in positional:
            text = self.literal(value)
            if text is None:
                return None
            parts.append(text)
        for key, value in keywords.items():
            text = self.literal(value)
            if text is None or not key.isidentifier():
                return None
            parts.append(f"{key}={text}")
        return ", ".join(parts)

    # -- values ---------------------------------------------------------------------------------
    def namespace(self) -> dict[str, Any]:
        """The changed module's names, and the test modules' classes that rebuild."""
        own = dict(vars(self.module)) if self.module is not None else {}
        return {**self.defined.namespace(), **own}

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
        """``repr(value)`` when it evaluates back to an equal value in the module's namespace;
        else the call that constructed it, as the tests made it (a fixture's, a ``setUp``'s)."""
        text = self.repr_literal(value)
        if text is not None:
            return text
        built = self.constructions.text(value, self.class_ref(type(value)), self.arguments)
        built = built or self.defined.bare(value)
        return built if built is not None and len(built) <= self.max_chars else None

    def repr_literal(self, value: object) -> str | None:
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


def _record(qualname: str, call: str, entry: bool, module: str | None) -> dict[str, object]:
    """One call's line, with the module it is written in when not the changed one."""
    record: dict[str, object] = {"qualname": qualname, "call": call, "entry": entry}
    return {**record, "module": module} if module is not None else record


def _is_property(cls: type, name: str) -> bool:
    try:
        return isinstance(inspect.getattr_static(cls, name), property)
    except AttributeError:
        return False


def main() -> None:
    job_path, output_path = sys.argv[1:3]
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    root = os.path.abspath(job["root"])
    while root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)
    import pytest

    extra = launcher_args(job.get("plugins"))
    with open(output_path, "w", encoding="utf-8") as out:
        capture = Capture(job, out)
        args = ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *extra]
        args += ["--continue-on-collection-errors", *job["tests"]]
        code = pytest.main(args, plugins=[Plugin(capture)])
    sys.exit(0 if int(code) in (0, 1, 5) else int(code))


if __name__ == "__main__":
    main()
