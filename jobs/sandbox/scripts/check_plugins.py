"""Runs inside the sandbox with the project environment's python, after the install
(``python -I -c TEXT OUT``): the pytest plugins of the environment (entry points
``pytest11``) that pytest cannot load, which stop every run with exit 3 ("Error while loading
plugin"): importing one fails, or pluggy refuses its hooks against pytest's own hook
specifications (pytest-flake8 1.3 declares ``pytest_collect_file(path)``, which pytest 9
removed). Writes the plugins' entry-point names to OUT, one a line, and prints
``name<TAB>dist version<TAB>error`` for each. Standard library and pytest only.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys

from _pytest.config import PytestPluginManager


def main(out: str) -> None:
    # pytest's own manager: its hook specifications, and its reading of every ``pytest_*``
    # function as a hook implementation (pluggy's plain manager wants a marker)
    manager = PytestPluginManager()
    broken: list[str] = []
    for dist in metadata.distributions():
        for entry in dist.entry_points:
            if entry.group != "pytest11" or entry.name in broken:
                continue
            try:
                plugin = entry.load()
                if not manager.is_registered(plugin):
                    manager.register(plugin, entry.name)
            except Exception as e:  # what pytest would stop at
                error = " ".join(f"{type(e).__name__}: {e}".split())[:300]
                print(f"{entry.name}\t{dist.metadata['Name']} {dist.version}\t{error}")
                broken.append(entry.name)
    with open(out, "w", encoding="utf-8") as f:
        f.writelines(f"{name}\n" for name in broken)


if __name__ == "__main__":
    main(sys.argv[1])
