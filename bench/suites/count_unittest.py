"""Runs in the reference venv (``coverage run .../count_unittest.py UNITTEST-ARGS``, from the
project's tree): the project's ``python -m unittest UNITTEST-ARGS``, then one last line with
its count of tests, as pytest's JUnit counts them: a test passed when it ran without a failure,
an error or a skip of its own or of a subtest; a class or module skipped at its set-up counts
nothing. unittest's own summary cannot say this: its ``skipped=`` counts each skipped subtest
and each skipped class (pathspec: 197 tests run, ``skipped=276``). Standard library only; the
bench's own, apart from Tandem's launcher."""

from __future__ import annotations

import json
import os
import sys
import unittest
from typing import Any

sys.path[0] = os.getcwd()  # as `python -m unittest` has it, not this file's directory

MARK = "BENCH-UNITTEST-COUNT "


class Counting(unittest.TextTestResult):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcome: dict[int, str] = {}  # id(test) -> passed | failed | skipped
        self.held: list[Any] = []  # so that no id is reused
        self.first = ""

    def _set(self, test: Any, kind: str, text: str = "") -> None:
        if self.outcome.get(id(test)) == "failed":
            return
        if kind == "failed" and not self.first:
            self.first = f"{test.id()}: {text}"[:300]
        if id(test) in self.outcome or kind == "failed":
            self.outcome[id(test)] = kind

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self.held.append(test)
        self.outcome[id(test)] = "passed"

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._set(test, "failed", str(err[1]))

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._set(test, "failed", f"{err[0].__name__}: {err[1]}")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._set(test, "failed", str(err[1]))

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        test = getattr(test, "test_case", test)  # a subtest's skip
        if self.outcome.get(id(test)) == "passed":
            self.outcome[id(test)] = "skipped"

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self.outcome[id(test)] = "skipped"

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._set(test, "failed", "unexpected success")


if __name__ == "__main__":
    runner = unittest.TextTestRunner(resultclass=Counting)
    program = unittest.main(
        module=None, argv=["python -m unittest", *sys.argv[1:]], exit=False, testRunner=runner
    )
    result = program.result
    assert isinstance(result, Counting)
    kinds = list(result.outcome.values())
    counted = {"passed": kinds.count("passed"), "failed": kinds.count("failed")}
    print(MARK + json.dumps({**counted, "first": result.first}), file=sys.stderr, flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)
