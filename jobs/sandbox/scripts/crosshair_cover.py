"""Runs inside the sandbox (``python driver.py REPORT ROOT ARGS...``, copied as the CrossHair
engine's ``driver.py``): ``crosshair cover ARGS`` with ROOT importable, its report on stdout
going to the file REPORT.
"""

from __future__ import annotations

import os
import sys

report_path, root = sys.argv[1], os.path.abspath(sys.argv[2])
sys.path.insert(0, root)
arguments = ["cover", *sys.argv[3:]]
# The searched code sees a process started with no arguments: a function that parses the
# command line (argparse's ``parse_args()``) would otherwise read CrossHair's own options and exit.
sys.argv = [sys.argv[0]]
from crosshair.main import main  # noqa: E402  (after sys.path is set)

with open(report_path, "w", encoding="utf-8") as report:
    sys.stdout = report
    main(arguments)
