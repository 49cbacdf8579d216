"""Runs inside the sandbox (``python .tandem-work/run_unittest.py --junit OUT [--modules OUT]
[--per-test SPEC] [--sysmon] [--coverage DATA RCFILE] -- UNITTEST-ARGS...``, from the checkout):
the project's own ``python -m unittest UNITTEST-ARGS`` (``discover tests``: its ``load_tests``
protocol included, which pytest does not follow), optionally under coverage.py, and unittest's
own result of each test written as JUnit XML in the form pytest writes it (``classname`` the
test's module and class, ``name`` its method), so the worker reads both runners' alike.

- ``--modules``: the modules the run imported and their files (JSON) at exit, as the pytest
  launcher writes them.
- ``--per-test``: the lines of some files each test ran (:mod:`tandem_per_test`'s record, with
  each test named as pytest names it: ``tests/test_x.py::TestY::test_z``).
- ``--sysmon``: coverage.py's ``sys.monitoring`` core, as the pytest launcher's.

The exit status is unittest's: 0 all passed, 1 some failed, 5 no tests ran. Standard library,
coverage.py and the project's own code only; it runs on the sandbox's interpreter.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import unittest
import xml.etree.ElementTree as ET
from typing import Any

import tandem_per_test  # beside this file: imported before sys.path[0] changes

sys.path[0] = os.getcwd()  # as `python -m unittest` has it, not this file's directory


def _options(args: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """This launcher's options (each with its values) and unittest's arguments after ``--``."""
    takes = {"--junit": 1, "--modules": 1, "--per-test": 1, "--sysmon": 0, "--coverage": 2}
    found: dict[str, list[str]] = {}
    while args and args[0] != "--":
        name = args[0]
        count = takes[name]
        found[name], args = args[1 : 1 + count], args[1 + count :]
    return found, args[1:]


def _module_path(cls: type) -> str | None:
    """The file of the test's module relative to the checkout, None without one here."""
    path = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if not isinstance(path, str):
        return None
    return os.path.relpath(os.path.realpath(path), os.getcwd()).replace(os.sep, "/")


def pytest_id(test: unittest.TestCase) -> str:
    """The test as pytest names it (``tests/test_x.py::TestY::test_z``), for the per-test
    record the mutant runner reads; the dotted form where the module has no file here."""
    cls = type(test)
    method = getattr(test, "_testMethodName", str(test))
    rel = _module_path(cls)
    if rel is not None:
        return f"{rel}::{cls.__qualname__}::{method}"
    return f"{cls.__module__}.{cls.__qualname__}::{method}"


def classname(cls: type) -> str:
    """The JUnit classname pytest would write (``tests.test_x.TestY``): from the module's file,
    since ``discover tests`` imports ``tests/test_x.py`` as ``test_x``."""
    rel = _module_path(cls)
    if rel is None or rel.startswith("..") or not rel.endswith(".py"):
        return f"{cls.__module__}.{cls.__qualname__}"
    return f"{rel[:-3].replace('/', '.')}.{cls.__qualname__}"


def _exception(err: Any) -> str:
    """The exception's own line (``AssertionError: 2 != 3``), as pytest's JUnit message."""
    return "".join(traceback.format_exception_only(err[0], err[1])).strip()


class Result(unittest.TextTestResult):
    """unittest's result, also keeping each test's outcome (and its lines, when recording)."""

    recorder: tandem_per_test.Recorder | None = None
    rel: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(test) -> (classname, name, kind, message); the tests are held so that no id is
        # reused: load_tests can build several cases that unittest counts apart under one name
        self.outcomes: dict[int, tuple[str, str, str, str]] = {}
        self._held: list[Any] = []
        self.per_test: dict[str, dict[str, Any]] = {}
        self._started = 0.0

    def _key(self, test: Any) -> tuple[int, str, str]:
        name = getattr(test, "_testMethodName", None) or str(test)
        return id(test), classname(type(test)), name

    def _set(self, test: Any, kind: str, message: str = "") -> None:
        # A subtest's outcome is its test's: the first failure is the one shown
        test = getattr(test, "test_case", test)
        key, cls, name = self._key(test)
        if self.outcomes.get(key, ("", "", "passed", ""))[2] in ("passed", "skipped"):
            self.outcomes[key] = (cls, name, kind, " ".join(message.split())[:300])

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self._held.append(test)
        self._set(test, "passed")
        self._started = time.monotonic()
        if self.recorder is not None:
            self.recorder.start()

    def stopTest(self, test: Any) -> None:
        super().stopTest(test)
        if self.recorder is None:
            return
        lines: dict[str, list[int]] = {}
        for path, number in self.recorder.stop():
            lines.setdefault(self.rel[path], []).append(number)
        key = self._key(test)[0]
        self.per_test[pytest_id(test)] = {
            "passed": self.outcomes[key][2] in ("passed", "skipped"),
            "seconds": round(time.monotonic() - self._started, 4),
            "lines": {path: sorted(numbers) for path, numbers in lines.items()},
        }

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._set(test, "failure", _exception(err))

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._set(test, "error", _exception(err))

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "failure" if issubclass(err[0], test.failureException) else "error"
            self._set(test, kind, f"{subtest}: {_exception(err)}")

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._set(test, "skipped", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._set(test, "skipped", "expected failure")  # pytest's xfail: not a pass

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._set(test, "failure", "unexpected success")


def write_junit(result: Result, out: str) -> None:
    suite = ET.Element("testsuite", name="unittest", tests=str(len(result.outcomes)))
    for cls, name, kind, message in result.outcomes.values():
        case = ET.SubElement(suite, "testcase", classname=cls, name=name)
        if kind != "passed":
            ET.SubElement(case, kind, message=message or kind)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)


def _recording(spec_file: str) -> tuple[tandem_per_test.Recorder, dict[str, str], str] | None:
    tandem_per_test.configure(spec_file)
    spec = tandem_per_test._spec
    if not spec:
        return None
    rel = {os.path.realpath(p): p for p in spec["files"]}
    return tandem_per_test.Recorder(set(rel)), rel, spec["out"]


def main(argv: list[str]) -> int:
    options, unittest_args = _options(argv)
    if "--sysmon" in options and hasattr(sys, "monitoring"):
        os.environ.setdefault("COVERAGE_CORE", "sysmon")
    cov = None
    if "--coverage" in options:
        import coverage

        data, rcfile = options["--coverage"]
        cov = coverage.Coverage(data_file=data, config_file=rcfile)
        cov.start()
    recording = _recording(options["--per-test"][0]) if "--per-test" in options else None
    if recording is not None:
        Result.recorder, Result.rel = recording[0], recording[1]
    runner = unittest.TextTestRunner(resultclass=Result, verbosity=1)
    try:
        program = unittest.main(
            module=None, argv=["python -m unittest", *unittest_args], exit=False, testRunner=runner
        )
    finally:
        if cov is not None:
            cov.stop()
            cov.save()
        if "--modules" in options:
            tandem_per_test.write_modules(options["--modules"][0])
    result = program.result
    assert isinstance(result, Result)
    write_junit(result, options["--junit"][0])
    if recording is not None:
        recording[0].close()
        with open(recording[2], "w", encoding="utf-8") as f:
            json.dump({"files": sorted(recording[1].values()), "tests": result.per_test}, f)
    if result.testsRun == 0 and not result.skipped:
        return 5
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
