"""Runs inside the sandbox (``python .tandem-work/run_mutants.py ARGS...``, from the checkout):
the mutant runner (:mod:`jobs.testgen.proof.runner`, copied beside this file as
``mutant_runner.py``) with :mod:`tandem_pytest_plugins`' arguments for its pytest runs, and
:mod:`tandem_per_test` imported for it.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import tandem_per_test  # noqa: F401  beside this file, as is the next: imported before
import tandem_pytest_plugins  # sys.path[0] changes (the runner imports the first)

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[0] = os.getcwd()  # as `python -m pytest` has it, not this file's directory
extra = tandem_pytest_plugins.extra_args()
_spec = importlib.util.spec_from_file_location(
    "tandem_mutant_runner", os.path.join(_here, "mutant_runner.py")
)
assert _spec is not None and _spec.loader is not None
_runner = importlib.util.module_from_spec(_spec)
sys.modules["tandem_mutant_runner"] = _runner
_spec.loader.exec_module(_runner)
sys.exit(_runner.main(sys.argv[1:], extra))
