"""Runs inside the sandbox (``python .tandem-work/run_pytest.py [--modules OUT] [--per-test
SPEC] [--sysmon] [--coverage COVERAGE-ARGS...] PYTEST-ARGS...``, from the checkout): pytest the
way the project configures it (rootdir, ini file, addopts, --import-mode), with
:mod:`tandem_pytest_plugins`' arguments, under ``coverage run`` after ``--coverage``. With
``--modules``, writes the modules the run imported and their files (JSON) to OUT at exit. With
``--per-test``, records what each test ran of some files (:mod:`tandem_per_test`). With
``--sysmon``, coverage.py measures with ``sys.monitoring`` where the interpreter has it: it stops
watching a line once it ran, so a loop-heavy suite runs about as fast as without coverage
(3x faster than the default tracer on toolz's), for the same lines. Only for runs without
dynamic contexts, which that core does not record.
"""

from __future__ import annotations

import atexit
import os
import sys

import tandem_per_test  # beside this file, as is the next: imported before sys.path[0] changes
import tandem_pytest_plugins

sys.path[0] = os.getcwd()  # as `python -m pytest` has it, not this file's directory
args = sys.argv[1:]
if args[:1] == ["--modules"]:
    _modules_out, args = args[1], args[2:]
    atexit.register(tandem_per_test.write_modules, _modules_out)

extra = tandem_pytest_plugins.extra_args()
if args[:1] == ["--per-test"]:
    tandem_per_test.configure(args[1])
    args = args[2:]
    extra += ["-p", "tandem_per_test"]  # already in sys.modules: pytest takes it from there
if args[:1] == ["--sysmon"]:
    args = args[1:]
    if hasattr(sys, "monitoring") and not os.environ.get("COVERAGE_CORE"):
        os.environ["COVERAGE_CORE"] = "sysmon"
if args[:1] == ["--coverage"]:
    from coverage.cmdline import main

    sys.exit(main([*args[1:], *extra]))
import pytest  # noqa: E402  (from the cwd's sys.path, as the project's tests have it)

sys.exit(pytest.main([*args, *extra]))
