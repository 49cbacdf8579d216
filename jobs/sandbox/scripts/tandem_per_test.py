"""Runs inside the sandbox, imported from the work dir by the pytest launchers: which lines of
some files each test runs.

- :class:`Recorder`: the lines of the watched files one test ran (``sys.monitoring`` where the
  interpreter has it, else ``sys.settrace`` for those files only). The mutant runner
  (:mod:`jobs.testgen.proof.runner`) records the tests the baseline did not run with it.
- :class:`PerTest`: the pytest plugin ``run_pytest.py --per-test SPEC`` loads into the
  baseline's run (``-p tandem_per_test``, found in ``sys.modules``): for every test the run
  executes, whether it passed, how long it took and the lines of the watched files it ran,
  written as JSON at the end of the session. The mutant runner then runs each mutant against
  the tests that ran its lines without running the whole suite a second time to learn them.

- :func:`write_modules`: the file each imported module came from, which both launchers write
  for ``--modules``.

SPEC is a JSON object: ``{"files": [repo-relative paths], "out": path}``. The record:
``{"files": [those paths], "tests": {nodeid: {"passed": bool, "seconds": float, "lines": {path:
[numbers]}}}}``.
Under xdist the tests run in other processes: the controller records none, and a worker writes
nothing, so the mutant runner finds no test in the record and measures them all itself.

Standard library only at import (the launcher imports it before pytest, and before coverage.py
starts); pytest once pytest loads it. It runs on the sandbox's interpreter, not Tandem's.
PYTEST_DONT_REWRITE: imported before pytest loads it with ``-p``, which would otherwise warn that
it cannot rewrite its asserts, and a project's ``filterwarnings = error`` makes that warning an
error.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from collections.abc import Callable, Generator
from typing import Any


class Recorder:
    """Which lines of the watched files (real paths) each test ran: :meth:`start` and
    :meth:`stop` around each test, :meth:`close` once done (a forked child must not inherit
    it).

    With ``sys.monitoring``, one tool for the whole session whose callback turns each line's
    event off once it ran (``DISABLE``), recording it when it is a watched file's. A test that
    ran a watched line leaves those lines off, so the next test starts with
    ``restart_events``; after the other tests nothing is re-armed. Re-arming costs: it re-arms
    every tool's events, coverage.py's too. Re-arming before every test made boltons' baseline
    (432 tests, 17 of them in the changed file) 23 s → 38 s; leaving the watched lines on instead
    made toolz's, whose benchmarks loop in the changed file, cost what the slow tracer does.
    """

    def __init__(self, files: set[str]) -> None:
        self.files = files
        self.hits: set[tuple[str, int]] = set()
        self._known: dict[str, str | None] = {}
        self._tool: int | None = None
        self._dirty = False  # a watched line is turned off

    def _wanted(self, filename: str) -> str | None:
        path = self._known.get(filename, "")
        if path == "":
            real = os.path.realpath(filename)
            path = self._known[filename] = real if real in self.files else None
        return path

    def start(self) -> None:
        self.hits = set()
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is None:
            sys.settrace(self._global)
        elif self._tool is None:
            self._start_monitoring(monitoring)
        elif self._dirty:
            self._dirty = False
            monitoring.restart_events()  # the watched lines the last test turned off

    def stop(self) -> set[tuple[str, int]]:
        if getattr(sys, "monitoring", None) is None:
            sys.settrace(None)
        hits, self.hits = self.hits, set()  # lines run between tests belong to none
        return hits

    def close(self) -> None:
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is not None and self._tool is not None:
            monitoring.set_events(self._tool, 0)
            monitoring.register_callback(self._tool, monitoring.events.LINE, None)
            monitoring.free_tool_id(self._tool)
            self._tool = None

    def _start_monitoring(self, monitoring: Any) -> None:
        tool = next(
            (t for t in range(5, -1, -1) if monitoring.get_tool(t) is None),
            None,
        )
        if tool is None:
            raise RuntimeError("no sys.monitoring tool id is free")
        monitoring.use_tool_id(tool, "tandem-per-test")
        self._tool = tool
        disable = monitoring.DISABLE
        wanted = self._wanted

        def line(code: types.CodeType, number: int) -> Any:
            path = wanted(code.co_filename)
            if path is not None:
                self.hits.add((path, number))
                self._dirty = True
            return disable

        monitoring.register_callback(tool, monitoring.events.LINE, line)
        monitoring.set_events(tool, monitoring.events.LINE)
        monitoring.restart_events()  # what an earlier tool (a runner's) left turned off

    def _global(self, frame: types.FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        path = self._wanted(frame.f_code.co_filename)
        if path is None:
            return None
        hits = self.hits

        def local(frame: types.FrameType, event: str, arg: Any) -> Any:
            if event == "line":
                hits.add((path, frame.f_lineno))
            return local

        return local


_spec: dict[str, Any] = {}


def write_modules(out: str) -> None:
    """The file each imported module came from, as JSON at ``out`` (both launchers' ``--modules``:
    the worker checks that the changed files ran from the checkout, not another copy)."""
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            found[name] = os.path.realpath(path)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(found, f)


def configure(spec_file: str) -> None:
    """Read the launcher's SPEC before pytest starts (a bad one: no record, never a crash of
    the run the record only rides along with)."""
    try:
        with open(spec_file, encoding="utf-8") as f:
            spec = json.load(f)
        files = [str(p) for p in spec["files"]]
        out = str(spec["out"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    _spec.update(files=files, out=out)


def _per_test_class() -> type:
    import pytest  # loaded by pytest itself by now

    class PerTest:
        """The baseline's record of each test (see the module's docstring)."""

        def __init__(self, files: list[str], out: str) -> None:
            root = os.getcwd()
            self.rel = {os.path.realpath(os.path.join(root, p)): p for p in files}
            self.out = out
            self.recorder = Recorder(set(self.rel))
            self.tests: dict[str, dict[str, Any]] = {}
            self.broken = False

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item: Any) -> Generator[None, None, None]:
            if self.broken:
                yield
                return
            record: dict[str, Any] = {"passed": True}
            started = time.monotonic()
            try:
                self.recorder.start()
            except (RuntimeError, ValueError):  # no sys.monitoring tool id free: no record
                self.broken = True
                yield
                return
            self.tests[item.nodeid] = record
            try:
                yield
            finally:
                hits = self.recorder.stop()
            record["seconds"] = round(time.monotonic() - started, 4)
            lines: dict[str, list[int]] = {}
            for path, number in hits:
                lines.setdefault(self.rel[path], []).append(number)
            record["lines"] = {path: sorted(numbers) for path, numbers in lines.items()}

        def pytest_runtest_logreport(self, report: Any) -> None:
            record = self.tests.get(report.nodeid)
            if record is not None and report.failed:
                record["passed"] = False

        def pytest_sessionfinish(self) -> None:
            self.recorder.close()
            if self.broken:
                return
            with open(self.out, "w", encoding="utf-8") as f:
                json.dump({"files": sorted(self.rel.values()), "tests": self.tests}, f)

    return PerTest


def pytest_configure(config: Any) -> None:
    if _spec and not hasattr(config, "workerinput"):  # an xdist worker writes nothing
        plugin = _per_test_class()(_spec["files"], _spec["out"])
        config.pluginmanager.register(plugin, "tandem-per-test")
