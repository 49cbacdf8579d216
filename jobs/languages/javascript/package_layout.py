"""A package's :class:`~.suite_layout.TestLayout` read from its checkout: its files (a walk
without ``node_modules``, ``.git`` and Tandem's scratch folder, symlinks not followed), its
runner's config file and a few of its test files' texts, handed to the pure
:func:`~.suite_layout.read_layout`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jobs.languages.javascript.suite_layout import (
    Globs,
    TestLayout,
    jest_globs,
    read_layout,
    vitest_globs,
)
from jobs.sandbox import workdir

MAX_FILES = 20_000
MAX_TEXTS = 12  # test files read for their style
MAX_TEXT_BYTES = 200_000
_CONFIG_EXTENSIONS = ("ts", "mts", "cts", "js", "mjs", "cjs")
CONFIGS = {
    "vitest": [f"vitest.config.{e}" for e in _CONFIG_EXTENSIONS]
    + [f"vite.config.{e}" for e in _CONFIG_EXTENSIONS],
    "jest": [f"jest.config.{e}" for e in (*_CONFIG_EXTENSIONS, "json")] + ["package.json"],
}
_SKIPPED = {"node_modules", ".git", workdir.WORK_DIR}


def package_files(package_dir: Path) -> list[str]:
    """Package-relative paths of its files, at most :data:`MAX_FILES`."""
    found: list[str] = []
    for root, dirs, files in os.walk(package_dir):
        dirs[:] = [d for d in dirs if d not in _SKIPPED]
        base = Path(root).relative_to(package_dir).as_posix()
        found += [f if base == "." else f"{base}/{f}" for f in files]
        if len(found) >= MAX_FILES:
            break
    return found[:MAX_FILES]


def _read(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_TEXT_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def runner_globs(runner: str, package_dir: Path) -> tuple[Globs, str | None]:
    """Where the runner collects tests, from its first config file; and that file's text."""
    for name in CONFIGS[runner]:
        text = _read(package_dir / name)
        if text is None or (name == "package.json" and '"jest"' not in text):
            continue
        globs = vitest_globs(name, text) if runner == "vitest" else jest_globs(name, text)
        return globs, text
    return (vitest_globs(None, None) if runner == "vitest" else jest_globs(None, None)), None


def package_layout(runner: str, package_dir: Path) -> TestLayout:
    """The package's layout: where its runner looks and how its tests are written."""
    globs, config_text = runner_globs(runner, package_dir)
    paths = package_files(package_dir)
    tests = [p for p in paths if globs.admits(p)]
    texts = {p: t for p in tests[:MAX_TEXTS] if (t := _read(package_dir / p)) is not None}
    try:
        manifest = json.loads(_read(package_dir / "package.json") or "{}")
    except ValueError:
        manifest = {}
    return read_layout(
        runner,
        globs,
        paths,
        texts,
        manifest if isinstance(manifest, dict) else {},
        config_text=config_text,
    )
