"""Finding Node for JS/TS: the version rule over plain data, and the real installation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jobs.languages.javascript.package_managers import InstallCommand
from jobs.languages.javascript.toolchain import (
    MIN_NODE,
    Node,
    NodeUnavailable,
    choose_node,
    env_prefix,
    find_node,
    parse_version,
    wheel_node,
)


def test_parse_version() -> None:
    assert parse_version("v24.19.0\n") == (24, 19, 0)
    assert parse_version("20.19.1") == (20, 19, 1)
    assert parse_version("") is None
    assert parse_version("bash: node: not found") is None


def installation(root: Path, npm: bool = True) -> Path:
    """A Node installation's layout (prefix/bin/node, prefix/lib/node_modules/npm/…)."""
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "node").write_text("")
    if npm:
        cli = root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        cli.parent.mkdir(parents=True)
        cli.write_text("")
    return root / "bin" / "node"


def test_choose_the_first_new_enough_node_with_npm(tmp_path: Path) -> None:
    old = installation(tmp_path / "old")
    bare = installation(tmp_path / "bare", npm=False)
    new = installation(tmp_path / "new")
    chosen = choose_node([(old, "v18.19.0\n"), (bare, "v24.1.0"), (new, "v22.12.0\n")])
    assert isinstance(chosen, Node)
    assert chosen.path == new and chosen.version == (22, 12, 0)
    assert chosen.npm_cli == tmp_path / "new/lib/node_modules/npm/bin/npm-cli.js"
    assert chosen.corepack_cli is None


def test_too_old_or_missing_node_says_why(tmp_path: Path) -> None:
    bare = installation(tmp_path / "bare", npm=False)
    too_old = choose_node(
        [(Path("/usr/bin/node"), "v20.18.3"), (Path("/x/node"), None), (bare, "v22.0.0")]
    )
    assert isinstance(too_old, NodeUnavailable)
    assert "/usr/bin/node is Node 20.18.3" in too_old.reason
    assert "/x/node does not run" in too_old.reason
    assert f"{bare} has no npm beside it" in too_old.reason
    assert "vite 8" in too_old.reason and "`js` extra" in too_old.reason
    missing = choose_node([])
    assert isinstance(missing, NodeUnavailable)
    assert missing.reason.startswith("Node.js is not installed")


def test_commands_for_npm_and_corepack() -> None:
    node = Node(Path("/n/bin/node"), (24, 1, 0), Path("/n/npm-cli.js"), Path("/n/corepack.js"))
    npm = node.command(InstallCommand("npm", ("ci", "--ignore-scripts"), ""))
    assert npm[0] == "env" and "NO_COLOR=1" in npm
    assert npm[-4:] == ["/n/bin/node", "/n/npm-cli.js", "ci", "--ignore-scripts"]
    pnpm = node.command(InstallCommand("pnpm@9.1.0", ("install",), "", {"COREPACK_X": "0"}))
    assert "COREPACK_X=0" in pnpm
    assert pnpm[-4:] == ["/n/bin/node", "/n/corepack.js", "pnpm@9.1.0", "install"]
    assert node.environment({"PATH": "/usr/bin"})["PATH"] == "/n/bin:/usr/bin"


def test_env_prefix_passes_the_operators_ca_certificates_only() -> None:
    worker = {"NODE_EXTRA_CA_CERTS": "/etc/ssl/proxy.pem", "GITHUB_TOKEN": "ghs_x"}
    prefix = env_prefix({"YARN_ENABLE_SCRIPTS": "false"}, worker)
    assert "NODE_EXTRA_CA_CERTS=/etc/ssl/proxy.pem" in prefix
    assert "YARN_ENABLE_SCRIPTS=false" in prefix
    assert not any("ghs_x" in word for word in prefix)
    assert not any(w.startswith("NODE_EXTRA") for w in env_prefix(worker={}))


@pytest.fixture(scope="module")
def node() -> Node:
    found = find_node()
    if isinstance(found, NodeUnavailable):
        pytest.skip(f"{found.reason} (scripts/bootstrap installs the `js` extra)")
    return found


def test_the_installed_node_runs_npm(node: Node) -> None:
    assert node.version >= MIN_NODE
    assert node.npm_cli is not None and node.corepack_cli is not None
    done = subprocess.run(node.npm("--version"), capture_output=True, text=True, check=True)
    assert parse_version(done.stdout) is not None
    if wheel_node() is not None:  # the wheel's node comes first, whatever PATH holds
        assert node.path == wheel_node()
