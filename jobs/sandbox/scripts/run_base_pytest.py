"""Runs inside the sandbox (``python CHECKOUT/.tandem-work/run_base_pytest.py CHECKOUT ONLY
RESULTS PYTEST-ARGS...``, with the base commit's tree as the cwd): the project's tests on the
base commit (:mod:`jobs.languages.python.base_commit`). Imports into the head checkout (an editable
install) are pointed at the base tree; ONLY (a JSON file, or ``-``) keeps just the tests it names
by file or by JUnit address; RESULTS gets each test's outcome and the collection errors (JSON).
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import tandem_pytest_plugins  # beside this file: imported before sys.path changes

checkout, only_file, results_file = sys.argv[1:4]
base = os.getcwd()
work = os.path.join(checkout, ".tandem-work")


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _to_base(path: str) -> str:
    # An import path into the head checkout (an editable install) becomes the base tree's.
    real = os.path.realpath(path) if path else path
    if real and _under(real, checkout) and not _under(real, work):
        return os.path.join(base, os.path.relpath(real, checkout))
    return path


sys.path[:] = [_to_base(p) for p in sys.path]
sys.path[0] = base
for _name, _module in list(sys.modules.items()):
    if _name.startswith("__editable__"):  # setuptools' editable finders
        _mapping = getattr(_module, "MAPPING", None)
        if isinstance(_mapping, dict):
            for _key, _value in list(_mapping.items()):
                _mapping[_key] = _to_base(_value)
        _spaces = getattr(_module, "NAMESPACES", None)
        if isinstance(_spaces, dict):
            for _key, _value in list(_spaces.items()):
                _spaces[_key] = [_to_base(v) for v in _value]

only: tuple[set[tuple[str, ...]], set[str]] | None = None
if only_file != "-":
    with open(only_file, encoding="utf-8") as f:
        data = json.load(f)
    only = ({tuple(c) for c in data["cases"]}, set(data["files"]))


def _address(nodeid: str, prefix: str | None) -> tuple[str, str]:
    # What pytest's JUnit XML calls this test (junitxml.mangle_test_address).
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    classnames = names[:-1]
    if prefix:
        classnames.insert(0, prefix)
    return ".".join(classnames), names[-1]


class TandemBase:
    def __init__(self) -> None:
        self.tests: dict[str, dict[str, Any]] = {}
        self.collect_errors: list[str] = []

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        prefix = getattr(config.option, "junitprefix", None)
        for item in items:
            self.tests[item.nodeid] = {"address": _address(item.nodeid, prefix), "outcome": None}
        if only is None:
            return
        cases, files = only
        keep: list[Any] = []
        drop: list[Any] = []
        for item in items:
            wanted = item.nodeid.split("::")[0] in files
            wanted = wanted or tuple(self.tests[item.nodeid]["address"]) in cases
            (keep if wanted else drop).append(item)
        for item in drop:
            self.tests.pop(item.nodeid, None)
        items[:] = keep
        if drop:
            config.hook.pytest_deselected(items=drop)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collect_errors.append(report.nodeid)

    def pytest_runtest_logreport(self, report: Any) -> None:
        test = self.tests.setdefault(report.nodeid, {"address": ["", ""], "outcome": None})
        if report.failed:
            test["outcome"] = "failed"
        elif report.when == "call" and report.passed and test["outcome"] != "failed":
            test["outcome"] = "passed"
        elif report.skipped and test["outcome"] is None:
            test["outcome"] = "skipped"

    def pytest_sessionfinish(self, session: Any) -> None:
        tests = [{"nodeid": k, **v} for k, v in self.tests.items() if v["outcome"]]
        with open(results_file, "w", encoding="utf-8") as f:
            json.dump({"tests": tests, "collect_errors": self.collect_errors}, f)


import pytest  # noqa: E402  (after sys.path points at the base tree)

extra = tandem_pytest_plugins.extra_args()
# Before the arguments: they end with `-- paths`.
sys.exit(pytest.main([*extra, *sys.argv[4:]], plugins=[TandemBase()]))
