"""Write config/tandem.schema.json, config/default.yml and the configuration reference in
docs/configuration.md from the tandem.yml model. `--check` exits 1 when a committed copy is out
of date."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config_docs import render_default_yaml, render_schema, replace_reference  # noqa: E402


def expected() -> dict[Path, str]:
    reference = ROOT / "docs" / "configuration.md"
    return {
        ROOT / "config" / "tandem.schema.json": render_schema(),
        ROOT / "config" / "default.yml": render_default_yaml(),
        reference: replace_reference(reference.read_text()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for path, text in expected().items():
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(
            "out of date: " + ", ".join(map(str, stale)) + " (run scripts/generate_config_docs.py)"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
