"""Runs inside the sandbox, in the project's environment (``python -I -c TEXT DIST...``): imports
the top-level modules of each installed distribution DIST and prints, one a line,
``DIST<TAB>MODULE<TAB>ERROR`` for each that does not import (an old pin that installs but
cannot run on this Python). A distribution that is not installed is not this script's concern.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys


def modules(dist: importlib.metadata.Distribution) -> list[str]:
    """Its top-level modules: top_level.txt, else the packages and modules its RECORD lists."""
    text = dist.read_text("top_level.txt")
    if text:
        return sorted({line.strip() for line in text.splitlines() if line.strip()})
    names: set[str] = set()
    for path in dist.files or ():
        parts = path.parts
        if not parts or parts[0].endswith((".dist-info", ".egg-info", ".data")) or ".." in parts:
            continue
        if len(parts) == 1 and parts[0].endswith(".py"):
            names.add(parts[0][:-3])
        elif len(parts) > 1 and parts[1] == "__init__.py":
            names.add(parts[0])
    return sorted(n for n in names if n.isidentifier() and not n.startswith("_"))


for name in sys.argv[1:]:
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        continue
    for module in modules(dist):
        try:
            importlib.import_module(module)
        except BaseException as exc:  # SystemExit too: any failure to import counts
            line = (str(exc).splitlines() or [""])[0][:200]
            print(f"{name}\t{module}\t{type(exc).__name__}: {line}", flush=True)
