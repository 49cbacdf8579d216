"""Tandem's mutant probe: runs INSIDE the sandbox, never on the worker.

Usage: ``python differential_mutant_probe.py PROBE INPUT.json OUT_DIR``. PROBE is a copy of the
characterization probe (:mod:`.characterize_probe`), loaded as a module; INPUT is its job (the
modules and the calls) plus ``mutants`` (each with the path, the lines it mutates, the enclosing
function's mutated source, the lines it replaces and the chain of enclosing functions, as
:mod:`jobs.testgen.proof.mutants` makes them) and ``deadline_s``.

One process holds every version: the head's modules are imported once and every call runs on
them (``OUT_DIR/head.jsonl``, the probe's records; in at most HEAD_SHARE of the time, the calls
after it left out) while a tracer notes which lines of the mutated files each call ran. Then,
for each mutant, a fork swaps the mutated function's code into the live functions
(``__code__``, as the mutant runner does) and runs only the calls that ran the mutant's lines
(``OUT_DIR/mutant-K.jsonl``); the parent stays the head. ``OUT_DIR/mutants.jsonl`` says, per
mutant, how many calls ran it and how its child ended (``done``, ``unreached``,
``not_applied``, ``timeout``), and last how many the deadline cut.

Standard library only: it runs on the sandbox's interpreter, not Tandem's.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import json
import os
import signal
import sys
import time
import types
from typing import Any

MAX_CALLS_PER_MUTANT = 200  # of those that ran its lines, the first (the shortest calls)
MIN_SHARE_S = 1.0  # the least time a mutant's child gets, shared out of what is left
HEAD_SHARE = 0.5


class HeadDone(Exception):
    """The head's share of the time is over: the calls not run yet are left out."""


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("tandem_characterize_probe", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tandem_characterize_probe"] = module
    spec.loader.exec_module(module)
    return module


class Reach:
    """The lines of ``files`` (real paths) run since the last :meth:`take`."""

    def __init__(self, files: set[str]) -> None:
        self.files = files
        self.known: dict[str, str | None] = {}  # co_filename -> its real path, when watched
        self.lines: set[tuple[str, int]] = set()

    def watched(self, filename: str) -> str | None:
        if filename not in self.known:
            real = os.path.realpath(filename)
            self.known[filename] = real if real in self.files else None
        return self.known[filename]

    def call(self, frame: types.FrameType, event: str, arg: object) -> Any:
        if event == "call" and self.watched(frame.f_code.co_filename) is not None:
            return self.line
        return None

    def line(self, frame: types.FrameType, event: str, arg: object) -> Any:
        if event == "line":
            real = self.watched(frame.f_code.co_filename)
            if real is not None:
                self.lines.add((real, frame.f_lineno))
        return self.line

    def take(self) -> set[tuple[str, int]]:
        taken, self.lines = self.lines, set()
        return taken


def functions_of(files: set[str]) -> dict[tuple[str, str, int], list[types.FunctionType]]:
    """The live function objects of ``files``, by (real path, co_name, co_firstlineno)."""
    found: dict[tuple[str, str, int], list[types.FunctionType]] = {}
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType):
            real = os.path.realpath(obj.__code__.co_filename)
            if real in files:
                key = (real, obj.__code__.co_name, obj.__code__.co_firstlineno)
                found.setdefault(key, []).append(obj)
    return found


def code_in(code: types.CodeType, name: str, line: int) -> types.CodeType | None:
    """The code object ``name`` defined on ``line`` among ``code``'s constants, also inside a
    class body."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_name == name and const.co_firstlineno == line:
                return const
            if const.co_name[:1] != "<" or const.co_name == "<module>":
                found = code_in(const, name, line)
                if found is not None:
                    return found
    return None


def put_in_place(
    mutant: dict[str, Any], real: str, functions: dict[tuple[str, str, int], list[Any]]
) -> str | None:
    """Compile the module with the mutant and swap the new code into the live functions (and
    empty a memoizing wrapper's cache); None when done, else why not."""
    with open(real, "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    start, end = int(mutant["start"]), int(mutant["end"])
    text = b"".join([*lines[: start - 1], mutant["source"].encode("utf-8"), *lines[end:]])
    filename = next((f[0].__code__.co_filename for f in functions.values() if f), real)
    try:
        code: types.CodeType | None = compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"does not compile: {exc}"
    swapped = 0
    for name, line in mutant["chain"]:
        assert code is not None
        code = code_in(code, name, int(line))
        if code is None:
            return f"no code for {name} (line {line}) in the mutated module"
        for function in functions.get((real, name, int(line)), []):
            try:
                function.__code__ = code
            except ValueError as exc:  # another closure: the mutant changed what it captures
                return f"cannot replace the code of {name}: {exc}"
            swapped += 1
    for obj in gc.get_objects():  # functools.cache would answer with the head's results
        wrapped = getattr(obj, "__wrapped__", None) if _has_cache(obj) else None
        if isinstance(wrapped, types.FunctionType) and wrapped.__code__.co_filename == filename:
            obj.cache_clear()
    return None if swapped else "the function was never created in this process"


def _has_cache(obj: object) -> bool:
    # Looked up on the type: an instance's own __getattr__ (project code) never runs here.
    return callable(getattr(type(obj), "cache_clear", None))


def subjob(job: dict[str, Any], ids: set[int]) -> dict[str, Any]:
    """The job with only the calls ``ids``."""
    modules = [{**m, "seeds": [s for s in m["seeds"] if s["id"] in ids]} for m in job["modules"]]
    return {**job, "modules": modules}


def wait(pid: int, limit: float) -> str:
    """The child's end within ``limit`` seconds: ``done``, ``not_applied`` or ``timeout``."""
    ends = time.monotonic() + limit
    while time.monotonic() < ends:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
            return "done" if code == 0 else "not_applied"
        time.sleep(0.005)
    for target in (-pid, pid):
        with contextlib.suppress(OSError):
            os.kill(target, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "timeout"


def run_mutant(
    probe: Any, job: dict[str, Any], mutant: dict[str, Any], real: str, out: str, functions: Any
) -> None:
    """The child's work (it never returns): the mutant in place, then its calls."""
    code = 1
    try:
        os.setpgid(0, 0)
        why = put_in_place(mutant, real, functions)
        if why is None:
            with open(out, "w", encoding="utf-8") as handle:

                def emit(record: dict[str, Any]) -> None:
                    handle.write(json.dumps(record, sort_keys=True) + "\n")
                    handle.flush()

                probe.probe(job, emit)
            code = 0
    except BaseException:  # anything at all: the child must not go on as the parent
        code = 1
    os._exit(code)


def main() -> None:
    probe_path, input_path, out_dir = sys.argv[1:4]
    probe = load(probe_path)
    with open(input_path, encoding="utf-8") as handle:
        job = json.load(handle)
    deadline = time.monotonic() + float(job["deadline_s"])
    # The calls on the head take at most this share of the time: the mutants need the rest.
    head_deadline = time.monotonic() + HEAD_SHARE * float(job["deadline_s"])
    mutants: list[dict[str, Any]] = job.pop("mutants")
    root = os.getcwd()
    real = {m["path"]: os.path.realpath(os.path.join(root, m["path"])) for m in mutants}
    reach = Reach(set(real.values()))
    ran: dict[int, set[tuple[str, int]]] = {}
    summary = open(os.path.join(out_dir, "mutants.jsonl"), "w", encoding="utf-8")  # noqa: SIM115
    with (
        open(os.path.join(out_dir, "head.jsonl"), "w", encoding="utf-8") as head,
        open(os.devnull, "w") as null,
    ):
        sys.stdout = null  # PR code's prints are not the probe's output
        signal.signal(signal.SIGALRM, probe._alarm)

        def emit(record: dict[str, Any]) -> None:
            head.write(json.dumps(record, sort_keys=True) + "\n")
            head.flush()
            if "id" in record:  # the lines run since the last record are this call's
                ran[int(record["id"])] = reach.take()
            if time.monotonic() > head_deadline:
                raise HeadDone()

        sys.settrace(reach.call)
        try:
            probe.probe(job, emit)
        except HeadDone:
            pass
        finally:
            sys.settrace(None)
    functions = functions_of(set(real.values()))
    for index, mutant in enumerate(mutants):
        left = deadline - time.monotonic()
        if left <= 0:
            summary.write(json.dumps({"event": "end", "cut": len(mutants) - index}) + "\n")
            break
        path = real[mutant["path"]]
        first, last = (int(n) for n in mutant["lines"])
        lines = {(path, n) for n in range(first, last + 1)}
        ids = sorted(i for i, hits in ran.items() if hits & lines)[:MAX_CALLS_PER_MUTANT]
        status = "unreached"
        if ids:
            out = os.path.join(out_dir, f"mutant-{index}.jsonl")
            share = max(MIN_SHARE_S, left / (len(mutants) - index))
            limit = min(share, 5.0 + 4 * float(job["call_timeout_s"]) * len(ids))
            summary.flush()
            pid = os.fork()
            if pid == 0:
                run_mutant(probe, subjob(job, set(ids)), mutant, path, out, functions)
            status = wait(pid, limit)
        summary.write(json.dumps({"index": index, "status": status, "calls": len(ids)}) + "\n")
        summary.flush()
    else:
        summary.write(json.dumps({"event": "end", "cut": 0}) + "\n")
    summary.close()


if __name__ == "__main__":
    main()
