"""Runs inside the sandbox (``python driver.py REPORT ROOT SCRATCH HEAD_MODULE BASE_NAME
BASE_FILE ARGS...``, copied as the differential engine's ``driver.py``): ``crosshair
diffbehavior ARGS`` of a head function against its base version, loaded from BASE_FILE as the
module BASE_NAME, its report on stdout going to the file REPORT. Exit 1 (differences found) is
a success.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

report_path, root, scratch, head_module, base_name, base_file = sys.argv[1:7]
sys.path.insert(0, os.path.abspath(scratch))
sys.path.insert(0, os.path.abspath(root))
# The head's wrapper imports the head's module, past an import cycle the project enters elsewhere.
importlib.import_module(sys.argv[7].rpartition(".")[0])
# The base file as a sibling module of the head's: its relative imports resolve in the package.
spec = importlib.util.spec_from_file_location(base_name, os.path.abspath(base_file))
assert spec is not None and spec.loader is not None
module = importlib.util.module_from_spec(spec)
sys.modules[base_name] = module
spec.loader.exec_module(module)
parent, _, child = base_name.rpartition(".")
if parent:
    setattr(sys.modules[parent], child, module)
arguments = ["diffbehavior", *sys.argv[7:]]
# The compared code sees a process started with no arguments (see crosshair_cover.py).
sys.argv = [sys.argv[0]]
from crosshair.main import main  # noqa: E402  (after sys.path is set)

with open(report_path, "w", encoding="utf-8") as report:
    sys.stdout = report
    try:
        main(arguments)
    except SystemExit as exit:
        code = exit.code
    else:
        code = 0
sys.exit(0 if code in (0, 1, None) else code)
