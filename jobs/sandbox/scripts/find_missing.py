"""Runs inside the sandbox, in the project's environment (``python -c TEXT NAME...``, the
checkout as cwd): prints the names, one a line, that it cannot find. find_spec of a top-level
name imports nothing.
"""

from __future__ import annotations

import importlib.util
import sys

for name in sys.argv[1:]:
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        print(name)
