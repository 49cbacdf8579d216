"""Tandem's mutant runner: runs INSIDE the sandbox, never on the worker.

Usage (through the launcher :mod:`.measure` writes, which adds pytest's plugin arguments):
``python launcher INPUT.json OUTPUT.jsonl -- PYTEST_ARGS``. The input lists the mutants (each
with the enclosing function's mutated source, the lines it replaces and the chain of enclosing
functions), the kept test files, a deadline in seconds, and optionally the baseline's record of
what each test ran of the changed files (``per_test``, see ``tandem_per_test``).

One pytest session: collection as the project configures it, then, instead of pytest's own loop:
1. which lines of the mutated files each collected test runs: from the baseline's record for the
   tests it has (the existing tests, measured once there), else by running the test once here
   (the kept tests; all of them without a record), recording the lines (``tandem_per_test``'s
   ``Recorder``); a test that failed (there or here) can kill nothing and is left out;
2. for each mutant, a fork: the child compiles the module with the function's lines replaced and
   puts the new code objects into the live functions (``__code__``: everything that imported the
   function by name holds the same function object), then runs only the tests that ran the
   mutant's lines, existing tests first, the kept ones only when no existing test failed.
   With ``candidates`` (test files not chosen yet), their tests that ran the mutant's lines
   then run too, every one of them, when no existing test failed: which of them fail is the
   kill matrix selection reads (their node ids, under ``candidates`` in the mutant's line).
A test failure in the call phase is the only kill (an error in a fixture is not one). A child
that cannot put the mutant in place, crashes, or runs no test is not one; one past its time
limit is killed and reported as ``timeout``, a status of its own. One JSON line per mutant is
written and flushed as it is decided, so a runner stopped
half-way still leaves the finished ones; mutants left when the deadline passes are ``cut``.

Standard library and pytest only: it runs on the sandbox's interpreter, not Tandem's.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import json
import os
import select
import signal
import sys
import time
import types
from typing import Any

import pytest
from tandem_per_test import Recorder  # beside the launcher, which imported it first

# A mutant's tests may take this many times what they took unmutated (plus the constant)
# before the mutant counts as hanging them.
TIMEOUT_FACTOR = 10.0
TIMEOUT_CONSTANT_S = 2.0
# The least time a mutant gets when the deadline is shared out among those left.
MIN_SHARE_S = 1.0
# Exit codes of a child, unlike any a test could end the process with by accident.
SURVIVED, KILLED, NOT_APPLIED, NO_TEST = 80, 81, 82, 83
# What a child may write into its pipe before it exits (a full pipe would block it).
MAX_TOLD = 60_000


class Functions:
    """The live function objects of the mutated files, by (file, co_name, co_firstlineno)."""

    def __init__(self, files: set[str]) -> None:
        self.by_key: dict[tuple[str, str, int], list[types.FunctionType]] = {}
        self.filename: dict[str, str] = {}  # real path -> the co_filename the module has
        # A memoizing wrapper (functools.cache, lru_cache) would answer from what the unmutated
        # function computed in the first pass: its cache is emptied once the code is swapped.
        self.caches: dict[int, list[Any]] = {}
        known: dict[str, str | None] = {}
        for obj in gc.get_objects():
            wrapped = getattr(obj, "__wrapped__", None) if _has_cache(obj) else None
            if isinstance(wrapped, types.FunctionType):
                self.caches.setdefault(id(wrapped), []).append(obj)
            if not isinstance(obj, types.FunctionType):
                continue
            code = obj.__code__
            path = known.get(code.co_filename, "")
            if path == "":
                real = os.path.realpath(code.co_filename)
                path = known[code.co_filename] = real if real in files else None
            if path is None:
                continue
            self.filename.setdefault(path, code.co_filename)
            self.by_key.setdefault((path, code.co_name, code.co_firstlineno), []).append(obj)


def loaded_files() -> set[str]:
    """The real paths of the modules imported so far."""
    found = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__dict__", {}).get("__file__")
        if isinstance(path, str):
            found.add(os.path.realpath(path))
    return found


def _has_cache(obj: object) -> bool:
    # Looked up on the type: an instance's own __getattr__ (project code) never runs here.
    return callable(getattr(type(obj), "cache_clear", None))


def code_in(code: types.CodeType, name: str, line: int) -> types.CodeType | None:
    """The code object ``name`` defined on ``line`` among ``code``'s constants, also inside a
    class body."""
    for const in code.co_consts:
        if (
            isinstance(const, types.CodeType)
            and const.co_name == name
            and const.co_firstlineno == line
        ):
            return const
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and (
            const.co_name[:1] != "<" or const.co_name == "<module>"
        ):
            found = code_in(const, name, line)
            if found is not None:
                return found
    return None


def put_in_place(mutant: dict[str, Any], real: str, functions: Functions) -> str | None:
    """Compile the module with the mutant and swap the new code into the live functions; None
    when done, else why not."""
    filename = functions.filename.get(real, real)
    with open(real, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    start, end = int(mutant["start"]), int(mutant["end"])
    source = mutant["source"].encode("utf-8")
    text = b"".join([*lines[: start - 1], source, *lines[end:]])
    try:
        module = compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"does not compile: {exc}"
    swapped = 0
    code: types.CodeType | None = module
    for name, line in mutant["chain"]:
        assert code is not None
        code = code_in(code, name, int(line))
        if code is None:
            return f"no code for {name} (line {line}) in the mutated module"
        for function in functions.by_key.get((real, name, int(line)), []):
            try:
                function.__code__ = code
            except ValueError as exc:  # another closure: the mutant changed what it captures
                return f"cannot replace the code of {name}: {exc}"
            for cache in functions.caches.get(id(function), []):
                cache.cache_clear()
            swapped += 1
    if not swapped:
        return "the function was never created in this session"
    return None


class MutantRunner:
    """The pytest plugin that replaces pytest's test loop (see the module's docstring)."""

    def __init__(self, spec: dict[str, Any], output: str) -> None:
        self.mutants: list[dict[str, Any]] = spec["mutants"]
        self.kept = set(spec.get("kept", []))
        self.candidates = set(spec.get("candidates", []))
        self.call_failures: list[str] = []  # node ids failing in the call phase, this run
        self.per_test: str | None = spec.get("per_test")
        self.deadline = time.monotonic() + float(spec["deadline_s"])
        self.output = open(output, "w", encoding="utf-8")  # noqa: SIM115 - closed at the end
        self.failed = False
        self.left = len(self.mutants)  # mutants not decided yet, this one included
        self.collect_errors: list[str] = []
        root = os.getcwd()
        self.real = {
            m["path"]: os.path.realpath(os.path.join(root, m["path"])) for m in self.mutants
        }

    def write(self, record: dict[str, Any]) -> None:
        self.output.write(json.dumps(record) + "\n")
        self.output.flush()

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collect_errors.append(report.nodeid)

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            self.failed = True
            if report.when == "call":
                self.call_failures.append(report.nodeid)

    def baseline(self, files: set[str]) -> dict[str, tuple[bool, set[tuple[str, int]], float]]:
        """The baseline's record, nodeid -> (passed, lines run, seconds); empty when there is
        none, it did not watch every mutated file, or it cannot be read: then every test runs
        here first."""
        path = self.per_test
        if not path:
            return {}
        root = os.getcwd()
        try:
            with open(path, encoding="utf-8") as f:
                record = json.load(f)
            real = {str(p): os.path.realpath(os.path.join(root, p)) for p in record["files"]}
            if not files <= set(real.values()):
                return {}
            known = {}
            for nodeid, test in record["tests"].items():
                hits = {(real[p], int(n)) for p, numbers in test["lines"].items() for n in numbers}
                known[str(nodeid)] = (test["passed"] is True, hits, float(test["seconds"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}
        return known

    def first_run(
        self, items: list[Any], files: set[str]
    ) -> list[tuple[Any, set[tuple[str, int]], float]]:
        """Run ``items`` once, in order: those that passed, with the lines of ``files`` they
        ran."""
        ran = []
        recorder = Recorder(files)
        try:
            for i, item in enumerate(items):
                self.failed = False
                started = time.monotonic()
                recorder.start()
                try:
                    nextitem = items[i + 1] if i + 1 < len(items) else None
                    item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                finally:
                    hits = recorder.stop()
                if not self.failed:
                    ran.append((item, hits, time.monotonic() - started))
        finally:
            recorder.close()  # the forks run without it
        return ran

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: Any) -> bool:
        items = list(session.items)
        files = set(self.real.values())
        first_run = time.monotonic()
        known = self.baseline(files)
        recorded = {item.nodeid: known[item.nodeid] for item in items if item.nodeid in known}
        fresh = [item for item in items if item.nodeid not in recorded]
        measured = {id(item): found for item, *found in self.first_run(fresh, files)}
        ran: list[tuple[Any, set[tuple[str, int]], float]] = []
        for item in items:  # in the session's order, as pytest would run them
            if item.nodeid in recorded:
                passed, hits, seconds = recorded[item.nodeid]
                if passed:
                    ran.append((item, hits, seconds))
            elif id(item) in measured:
                ran.append((item, *measured[id(item)]))
        unimported = files - loaded_files()
        if unimported and recorded:
            # A module the tests import only while they run: the recorded tests of its lines
            # run here once (as all did before the baseline kept a record), so that its
            # functions exist to be swapped in the forks.
            importing = [
                item
                for item, hits, _ in ran
                if item.nodeid in recorded and any(path in unimported for path, _ in hits)
            ]
            self.first_run(importing, set())
        self.write(
            {
                "event": "start",
                "tests": len(items),
                "passed": len(ran),
                "from_baseline": len(recorded),
                "collect_errors": self.collect_errors[:20],
                "python": sys.version.split()[0],
                "seconds": round(time.monotonic() - first_run, 3),
            }
        )
        functions = Functions(files)
        for index, mutant in enumerate(self.mutants):
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.write({"event": "end", "cut": len(self.mutants) - index})
                break
            self.left = len(self.mutants) - index
            self.write({"id": mutant["id"], **self.judge(mutant, ran, functions)})
        else:
            self.write({"event": "end", "cut": 0})
        self.output.close()
        return True

    def judge(
        self,
        mutant: dict[str, Any],
        ran: list[tuple[Any, set[tuple[str, int]], float]],
        functions: Functions,
    ) -> dict[str, Any]:
        real = self.real[mutant["path"]]
        first, last = mutant["lines"]
        lines = {(real, n) for n in range(int(first), int(last) + 1)}
        running = [(item, s) for item, hits, s in ran if hits & lines]
        groups: dict[str, list[tuple[Any, float]]] = {"existing": [], "kept": [], "candidate": []}
        for item, seconds in running:
            path = item.nodeid.split("::")[0]
            by = "kept" if path in self.kept else "existing"
            groups["candidate" if path in self.candidates else by].append((item, seconds))
        if not running:
            return {"status": "uncovered", "tests": 0}
        started = time.monotonic()
        for by, group in groups.items():
            if not group:
                continue
            status, why = self.fork(mutant, real, group, functions, every=by == "candidate")
            if status != "survived":
                result: dict[str, Any] = {"status": status, "by": by, "tests": len(running)}
                if status == "killed" and by == "candidate":
                    # The child told the indices of the failing tests in the group.
                    killers = [group[int(i)][0].nodeid for i in why.split(",") if i.isdigit()]
                    result["candidates"] = killers
                elif why:
                    result["why"] = why
                result["seconds"] = round(time.monotonic() - started, 3)
                return result
        return {
            "status": "survived",
            "tests": len(running),
            "seconds": round(time.monotonic() - started, 3),
        }

    def fork(
        self,
        mutant: dict[str, Any],
        real: str,
        group: list[tuple[Any, float]],
        functions: Functions,
        every: bool = False,
    ) -> tuple[str, str]:
        """Run ``group`` against the mutant in a child: (status, why). ``every``: all of the
        group run, and a killed mutant's ``why`` is the indices of the failing tests."""
        own = TIMEOUT_FACTOR * sum(s for _, s in group) + TIMEOUT_CONSTANT_S
        # One mutant that hangs slow tests must not take the time of all the others: none gets
        # more than its share of what is left. Stopped there, it is "cut", not "timeout".
        share = max(MIN_SHARE_S, (self.deadline - time.monotonic()) / max(1, self.left))
        limit = min(own, share)
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(reader)
            code = NOT_APPLIED
            try:
                os.setpgid(0, 0)
                why = put_in_place(mutant, real, functions)
                if why is not None:
                    os.write(writer, why.encode("utf-8", "replace")[:500])
                else:
                    code, killers = self.run_group([item for item, _ in group], every)
                    if every:
                        os.write(writer, ",".join(map(str, killers)).encode()[:MAX_TOLD])
            except BaseException as exc:  # anything at all: the child must not go on as pytest
                os.write(writer, f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:500])
            os._exit(code)
        os.close(writer)
        status = wait(pid, limit)
        with contextlib.suppress(OSError):  # what the tests started and left running
            os.killpg(pid, signal.SIGKILL)
        told = b""
        if status == "timeout" and limit < own:
            status = "cut"  # its share of the deadline, not the mutant's own limit, ended it
        if status not in ("timeout", "cut"):
            with os.fdopen(reader, "rb") as pipe:
                told = pipe.read(MAX_TOLD)
        else:
            os.close(reader)
        return status, told.decode("utf-8", "replace")

    def run_group(self, items: list[Any], every: bool = False) -> tuple[int, list[int]]:
        """The child's run of ``items``: its exit code, and the indices of the tests that
        failed in their call phase (the first only, unless ``every``)."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        killers = []
        for i, item in enumerate(items):
            self.call_failures = []
            nextitem = items[i + 1] if i + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if item.nodeid in self.call_failures:
                killers.append(i)
                if not every:
                    break
        if killers:
            return KILLED, killers
        return (SURVIVED if items else NO_TEST), []


def wait(pid: int, limit: float) -> str:
    """Wait for the child at most ``limit`` seconds: its verdict from its exit status."""
    status = None
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(pid)
        except OSError:
            fd = None
        if fd is not None:
            try:
                ready, _, _ = select.select([fd], [], [], limit)
            finally:
                os.close(fd)
            if ready:
                _, status = os.waitpid(pid, 0)
    else:  # an interpreter without pidfds: poll the child
        ends = time.monotonic() + limit
        while time.monotonic() < ends:
            done, found = os.waitpid(pid, os.WNOHANG)
            if done:
                status = found
                break
            time.sleep(0.005)
    if status is None:
        for target in (-pid, pid):
            with contextlib.suppress(OSError):
                os.kill(target, signal.SIGKILL)
        os.waitpid(pid, 0)
        return "timeout"
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        return {KILLED: "killed", SURVIVED: "survived", NO_TEST: "error"}.get(code, "error")
    return "error"  # a signal ended it: a crash is not a test failure


def main(argv: list[str], extra: list[str]) -> int:
    spec_file, output = argv[0], argv[1]
    args = argv[3:] if argv[2:3] == ["--"] else argv[2:]
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    if importlib.util.find_spec("xdist") is not None and not any("xdist" in a for a in extra):
        # A project's `-n auto` would hand the tests to workers this loop never sees.
        extra = [*extra, "-n", "0"]
    plugin = MutantRunner(spec, output)
    return int(pytest.main([*extra, *args], plugins=[plugin]))
