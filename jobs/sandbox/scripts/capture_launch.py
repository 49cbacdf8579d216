"""Runs inside the sandbox beside ``capture_calls.py`` (copied next to it as
``capture_launch.py``): how the capture runs under pytest. Its plugin starts watching once the
tests' imports have loaded the changed module and stops the run once every changed function's
calls are written down; and pytest takes the arguments every launcher adds. Imports nothing of
Tandem's.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any


class Plugin:
    def __init__(self, capture: Any) -> None:
        self.capture = capture

    def pytest_sessionstart(self, session: object) -> None:
        # Before collection imports the test modules: what they build as they load is noted.
        self.capture.watch_constructions()

    def pytest_collection_finish(self, session: object) -> None:
        # After collection: the tests' imports have loaded the changed module, from the checkout.
        self.capture.watch()

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        if self.capture.saturated():
            import pytest

            pytest.exit("every changed function's calls are written down", returncode=0)


def launcher_args(plugins: object) -> list[str]:
    """The arguments every launcher adds to pytest's (``tandem_pytest_plugins.extra_args``, at
    the path the job gives, in the work dir whose options file it reads): the project's own
    options, ``--no-cov``, ``-n 0`` and the plugins it never asked for left out. Without them
    the tests run as the project never runs them: a test its own options collect is not
    collected, and pytest-xdist's workers run the tests where nothing watches the calls. None
    when the job names no such file (the script run on its own). Called after ``sys.path``
    points at the import root: what pytest will find decides the arguments."""
    if not isinstance(plugins, str) or not os.path.isfile(plugins):
        return []
    spec = importlib.util.spec_from_file_location("tandem_pytest_plugins", plugins)
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [str(arg) for arg in module.extra_args()]
