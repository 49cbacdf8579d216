"""Runs inside the sandbox (``python driver.py REPORT ROOT ARGS...``, copied as the CrossHair
engine's ``driver.py``): ``crosshair cover ARGS`` with ROOT importable, its report on stdout
going to the file REPORT.
"""

from __future__ import annotations

import os
import sys

report_path, root = sys.argv[1], os.path.abspath(sys.argv[2])
sys.path.insert(0, root)
sys.argv = ["crosshair", "cover", *sys.argv[3:]]
from crosshair.main import main  # noqa: E402  (after sys.path and sys.argv are set)

with open(report_path, "w", encoding="utf-8") as report:
    sys.stdout = report
    main()
