"""A JS/TS package's install: lockfile-exact through the sandbox, then from a cache keyed by
the lockfile, never through a node_modules the checkout brought. The end-to-end test needs Node
and the npm registry and skips, saying why, without them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.repo_config import Dependencies
from jobs.languages.javascript.javascript_backend import JAVASCRIPT
from jobs.languages.javascript.package_install import (
    InstallOptions,
    PackageInstall,
    cache_key,
    install_package,
    restore,
    save,
)
from jobs.languages.javascript.package_managers import PackageManager
from jobs.languages.javascript.toolchain import Node
from jobs.languages.language_protocol import InstallRequest
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.sandbox.sandbox_protocol import CommandResult
from tests.js_support import node_or_skip, npm_install

NPM = PackageManager("npm", "", "package-lock.json")


def test_the_key_follows_the_lockfile_the_manifest_the_node_and_the_scripts() -> None:
    files = {"package-lock.json": b'{"lockfileVersion": 3}', "package.json": b"{}"}
    key = cache_key(NPM, files, 24, allow_scripts=False)
    assert key is not None and key == cache_key(NPM, dict(files), 24, allow_scripts=False)
    assert key != cache_key(NPM, {**files, "package-lock.json": b"{}"}, 24, allow_scripts=False)
    assert key != cache_key(NPM, {**files, "package.json": b'{"a": 1}'}, 24, allow_scripts=False)
    assert key != cache_key(NPM, files, 22, allow_scripts=False)
    assert key != cache_key(NPM, files, 24, allow_scripts=True)
    assert cache_key(PackageManager("npm", "", None), files, 24, allow_scripts=False) is None


def test_save_and_restore_keep_symlinks_and_never_write_through_the_checkouts(
    tmp_path: Path,
) -> None:
    installed = tmp_path / "first" / "node_modules"
    (installed / "dep").mkdir(parents=True)
    (installed / "dep" / "index.js").write_text("module.exports = 1\n")
    (installed / ".bin").mkdir()
    (installed / ".bin" / "dep").symlink_to("../dep/index.js")
    cache = tmp_path / "cache"
    save(cache, "k1", installed)
    assert (cache / "k1" / "node_modules" / ".bin" / "dep").is_symlink()

    # The next checkout committed node_modules as a symlink to a folder outside it.
    outside = tmp_path / "outside"
    outside.mkdir()
    checkout = tmp_path / "second"
    checkout.mkdir()
    (checkout / "node_modules").symlink_to(outside)
    assert restore(cache / "k1", checkout / "node_modules")

    assert not (checkout / "node_modules").is_symlink()
    assert (checkout / "node_modules" / "dep" / "index.js").read_text() == "module.exports = 1\n"
    assert (checkout / "node_modules" / ".bin" / "dep").is_symlink()
    assert list(outside.iterdir()) == []
    assert not restore(cache / "missing", checkout / "node_modules")


class NoRuns(LocalSandbox):
    """A sandbox in which nothing may run: the cached install must not need one."""

    async def run(self, args: list[str], *, cwd: Path, timeout_s: float) -> CommandResult:
        raise AssertionError(f"ran {args} although the install was cached")


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


@pytest.mark.slow
async def test_npm_ci_then_the_cache(node: Node, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "package.json").write_text(
        json.dumps({"name": "tiny", "private": True, "dependencies": {"is-number": "7.0.0"}})
    )
    sandbox = LocalSandbox()
    options = InstallOptions(tmp_path / "cache", False, "none", timeout_s=240)
    try:
        await npm_install(sandbox, node, checkout, "--package-lock-only")  # the lockfile only
        first = await install_package(sandbox, node, checkout, NPM, options)
    finally:
        await sandbox.close()
    assert first.status == "installed", first
    assert first.note.startswith("`npm ci --no-audit --no-fund --ignore-scripts` in ")
    assert (checkout / "node_modules" / "is-number" / "package.json").is_file()

    # The same lockfile in a fresh checkout: copied from the cache, nothing run.
    again = tmp_path / "again"
    again.mkdir()
    for name in ("package.json", "package-lock.json"):
        (again / name).write_bytes((checkout / name).read_bytes())
    cached = await install_package(NoRuns(), node, again, NPM, options)
    assert cached.status == "cached", cached
    assert (again / "node_modules" / "is-number" / "package.json").is_file()

    # A lockfile that does not fit its manifest: npm ci refuses, and says why.
    (again / "package.json").write_text(
        json.dumps({"name": "tiny", "private": True, "dependencies": {"is-number": "6.0.0"}})
    )
    sandbox = LocalSandbox()
    try:
        refused = await install_package(sandbox, node, again, NPM, options)
    finally:
        await sandbox.close()
    assert refused == PackageInstall("failed", refused.note)
    assert refused.note.startswith("`npm ci --no-audit --no-fund --ignore-scripts` failed (exit")


@pytest.mark.slow
async def test_the_languages_install_through_the_seam(node: Node, tmp_path: Path) -> None:
    """JAVASCRIPT.install: each changed package installed once, a package whose runner is not
    supported left alone with the reason, a lockfile that does not parse a failed install."""
    checkout = tmp_path / "checkout"
    manifests = {
        "app": {"scripts": {"test": "vitest run"}, "dependencies": {"is-number": "7.0.0"}},
        "old": {"scripts": {"test": "mocha"}},
        "broken": {"scripts": {"test": "jest"}},
    }
    for folder, manifest in manifests.items():
        (checkout / folder / "src").mkdir(parents=True)
        (checkout / folder / "package.json").write_text(json.dumps({"name": folder, **manifest}))
        (checkout / folder / "src" / "a.ts").write_text("export const a = 1;\n")
    (checkout / "broken" / "package-lock.json").write_text("{not json")
    sandbox = LocalSandbox()
    try:
        await npm_install(sandbox, node, checkout / "app", "--package-lock-only")
        request = InstallRequest(sandbox, checkout, Dependencies(), tmp_path / "data", "none", 240)
        sources = {f"{folder}/src/a.ts": {1} for folder in manifests}
        installed = await JAVASCRIPT.install(request, {**sources, "app/src/b.ts": {1}})
    finally:
        await sandbox.close()

    assert installed.status == "failed", installed  # the broken lockfile
    note = installed.note or ""
    assert "`app`: `npm ci --no-audit --no-fund --ignore-scripts` in " in note
    assert "`old`: not supported yet: mocha" in note and "not installed" in note
    assert "`broken`: " in note and "package-lock.json" in note
    assert note.count("`app`") == 1  # two changed files, one install
    assert (checkout / "app" / "node_modules" / "is-number").is_dir()
    assert list((tmp_path / "data" / "js-cache").iterdir())  # kept for the next run
