"""JS/TS detection over plain data: sources, packages, workspaces, runners, package managers,
install commands, and malformed files as values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobs.dependencies.install_plan import MemoryFiles
from jobs.languages.javascript.detect import detect
from jobs.languages.javascript.package_managers import (
    InstallCommand,
    PackageManager,
    find_package_manager,
    install_command,
)
from jobs.languages.javascript.packages import (
    Package,
    Problem,
    find_package,
    is_source,
    workspace_lists,
)
from jobs.languages.javascript.runner_choice import Runner, Unsupported, find_runner


def manifest(**fields: Any) -> str:
    return json.dumps(fields)


def repo(tree: dict[str, str]) -> MemoryFiles:
    return MemoryFiles(tree)


def package_at(tree: dict[str, str], source: str) -> Package:
    found = find_package(repo(tree), source)
    assert isinstance(found, Package), found
    return found


@pytest.mark.parametrize(
    "path",
    [
        "src/a.ts",
        "src/a.tsx",
        "lib/b.js",
        "c.jsx",
        "pkg/d.mjs",
        "pkg/e.cjs",
        "src/f.mts",
        "src/testing-utils.ts",  # "test" inside a name is not a test folder
        "src/contest/g.ts",
    ],
)
def test_sources(path: str) -> None:
    assert is_source(path)


@pytest.mark.parametrize(
    "path",
    [
        "src/a.test.ts",
        "src/a.spec.js",
        "src/a.test.tsx",
        "src/__tests__/a.ts",
        "test/helpers.js",
        "packages/x/tests/a.ts",
        "src/__mocks__/fs.ts",
        "types/index.d.ts",
        "vite.config.ts",
        "eslint.config.mjs",
        "jest.config.js",
        ".eslintrc.js",
        "node_modules/left-pad/index.js",
        "src/a.py",
        "README.md",
        "src/a.json",
    ],
)
def test_not_sources(path: str) -> None:
    assert not is_source(path)


def test_nearest_package_json() -> None:
    tree = {
        "package.json": manifest(name="root"),
        "tools/package.json": manifest(name="tools"),
    }
    assert package_at(tree, "tools/src/a.ts").dir == "tools"
    assert package_at(tree, "src/a.ts").dir == ""
    assert package_at(tree, "src/a.ts").workspace_root is None
    assert find_package(repo({"other/package.json": "{}"}), "src/a.ts") is None


def test_a_package_json_that_only_sets_the_module_scope_is_no_package() -> None:
    # luxon: src/package.json is {"type": "module", "version": …}; its tests are the root's
    scope = '{"type": "module", "version": "3.7.1"}'
    tree = {"package.json": manifest(name="luxon"), "src/package.json": scope}
    assert package_at(tree, "src/interval.js").dir == ""
    assert package_at({"package.json": '{"type": "module"}'}, "a.js").dir == ""  # the root is
    named = {**tree, "src/package.json": manifest(name="inner", type="module")}
    assert package_at(named, "src/interval.js").dir == "src"


def test_workspace_member_knows_its_root() -> None:
    tree = {
        "package.json": manifest(workspaces=["packages/*", "!packages/legacy"]),
        "packages/core/package.json": manifest(name="@x/core"),
        "packages/legacy/package.json": manifest(name="legacy"),
        "examples/demo/package.json": manifest(name="demo"),
    }
    core = package_at(tree, "packages/core/src/index.ts")
    assert core.name == "@x/core"
    assert core.workspace_root is not None and core.workspace_root.dir == ""
    assert package_at(tree, "packages/legacy/a.ts").workspace_root is None
    assert package_at(tree, "examples/demo/a.ts").workspace_root is None


def test_yarn_classic_and_pnpm_workspaces() -> None:
    yarn = {
        "package.json": manifest(workspaces={"packages": ["apps/**"]}),
        "apps/web/ui/package.json": manifest(name="ui"),
    }
    assert package_at(yarn, "apps/web/ui/src/a.ts").workspace_root is not None
    pnpm = {
        "package.json": manifest(name="mono"),
        "pnpm-workspace.yaml": "packages:\n  - 'libs/*'\n",
        "libs/a/package.json": manifest(name="a"),
    }
    assert package_at(pnpm, "libs/a/index.js").workspace_root is not None


def test_workspace_globs() -> None:
    assert workspace_lists(["packages/*"], "packages/a")
    assert not workspace_lists(["packages/*"], "packages/a/b")
    assert workspace_lists(["packages/**"], "packages/a/b")
    assert workspace_lists(["./packages/*/"], "packages/a")
    assert not workspace_lists(["packages/*", "!packages/a"], "packages/a")
    assert not workspace_lists([], "packages/a")


def test_malformed_package_json_is_a_problem() -> None:
    found = find_package(repo({"package.json": "{ nope"}), "src/a.ts")
    assert isinstance(found, Problem)
    assert found.path == "package.json" and "not valid JSON" in found.message
    assert isinstance(find_package(repo({"package.json": "[1]"}), "a.ts"), Problem)
    # a broken root above a member is reported, not skipped over silently
    broken_root = {"package.json": "{", "packages/a/package.json": "{}"}
    assert isinstance(find_package(repo(broken_root), "packages/a/x.ts"), Problem)


def runner_of(tree: dict[str, str], source: str = "src/a.ts") -> Runner | Unsupported:
    return find_runner(repo(tree), package_at(tree, source))


@pytest.mark.parametrize(
    ("test_script", "expected"),
    [
        ("vitest run", "vitest"),
        ("vitest", "vitest"),
        ("jest --coverage", "jest"),
        ("cross-env NODE_ENV=test jest", "jest"),
        ("NODE_OPTIONS=--experimental-vm-modules npx jest", "jest"),
        ("tsc --noEmit && vitest run", "vitest"),
        ("pnpm vitest", "vitest"),
        ("pnpm exec jest -i", "jest"),
        ("c8 --reporter lcov vitest run", "vitest"),
        ("npm run test:unit", "vitest"),  # followed to scripts["test:unit"]
        ("yarn test:unit", "vitest"),
    ],
)
def test_supported_runner_from_scripts(test_script: str, expected: str) -> None:
    tree = {
        "package.json": manifest(
            scripts={"test": test_script, "test:unit": "vitest --run"},
            devDependencies={"vitest": "^4.0.0", "jest": "^29"},
        )
    }
    runner = runner_of(tree)
    assert isinstance(runner, Runner), runner
    assert runner.name == expected
    assert "scripts.test runs" in runner.because
    assert runner.version == {"vitest": "^4.0.0", "jest": "^29"}[expected]


@pytest.mark.parametrize(
    ("test_script", "named"),
    [
        ("mocha 'test/**/*.spec.js'", "mocha"),
        ("nyc mocha", "mocha"),
        ("node --test", "node:test"),
        ("node --test test/", "node:test"),
        ("ava --verbose", "ava"),
        ("tap", "tap"),
        ("react-scripts test", "react-scripts test"),
        ("ng test", "karma"),
        ("bun test", "bun test"),
    ],
)
def test_unsupported_runner_says_which(test_script: str, named: str) -> None:
    # even with vitest installed: scripts.test says how the suite really runs
    tree = {
        "package.json": manifest(
            scripts={"test": test_script}, devDependencies={"vitest": "^4.0.0"}
        )
    }
    runner = runner_of(tree)
    assert isinstance(runner, Unsupported)
    assert runner.reason.startswith(f"not supported yet: {named}")
    assert test_script.split()[0] in runner.reason


def test_runner_from_config_file_then_dependencies() -> None:
    assert runner_of(
        {"package.json": manifest(), "vitest.config.mts": "export default {}"}
    ) == Runner("vitest", "`vitest.config.mts`")
    jest_key = runner_of({"package.json": manifest(jest={"testEnvironment": "node"})})
    assert isinstance(jest_key, Runner) and jest_key.name == "jest"
    deps = runner_of({"package.json": manifest(devDependencies={"jest": "29.7.0"})})
    assert deps == Runner("jest", "`package.json` depends on jest", "29.7.0")
    mocharc = runner_of({"package.json": manifest(), ".mocharc.yml": "spec: test"})
    assert isinstance(mocharc, Unsupported) and "mocha" in mocharc.reason


def test_runner_hoisted_to_the_workspace_root() -> None:
    tree = {
        "package.json": manifest(workspaces=["packages/*"], devDependencies={"vitest": "4.1.2"}),
        "packages/a/package.json": manifest(name="a"),
    }
    runner = runner_of(tree, "packages/a/src/x.ts")
    assert runner == Runner("vitest", "`package.json` depends on vitest", "4.1.2")


def test_no_runner_and_npm_init_default_script() -> None:
    default = manifest(scripts={"test": 'echo "Error: no test specified" && exit 1'})
    runner = runner_of({"package.json": default})
    assert isinstance(runner, Unsupported)
    assert runner.reason.startswith("no test runner found for `package.json`")
    # a script that runs itself, or a script with an unbalanced quote, does not hang or crash
    looping = manifest(scripts={"test": "npm run t2", "t2": "npm test"})
    assert isinstance(runner_of({"package.json": looping}), Unsupported)
    quoted = manifest(scripts={"test": "jest 'unterminated"})
    assert isinstance(runner_of({"package.json": quoted}), Runner)


def manager_of(tree: dict[str, str], source: str = "src/a.ts") -> PackageManager | Problem:
    return find_package_manager(repo(tree), package_at(tree, source))


NPM_LOCK = json.dumps({"lockfileVersion": 3, "packages": {}})
PNPM_LOCK = "lockfileVersion: '9.0'\nimporters: {}\n"
YARN1_LOCK = (
    "# THIS IS AN AUTOGENERATED FILE.\n# yarn lockfile v1\n\n\nleft-pad@^1:\n  version 1.3.0\n"
)
BERRY_LOCK = '__metadata:\n  version: 8\n  cacheKey: 10c0\n\n"left-pad@npm:^1":\n  version: 1.3.0\n'


def test_manager_from_lockfile() -> None:
    root = manifest()
    npm = manager_of({"package.json": root, "package-lock.json": NPM_LOCK})
    assert npm == PackageManager("npm", "", "package-lock.json")
    pnpm = manager_of({"package.json": root, "pnpm-lock.yaml": PNPM_LOCK})
    assert isinstance(pnpm, PackageManager) and pnpm.name == "pnpm"
    yarn1 = manager_of({"package.json": root, "yarn.lock": YARN1_LOCK})
    assert isinstance(yarn1, PackageManager) and yarn1.name == "yarn" and not yarn1.berry
    berry = manager_of({"package.json": root, "yarn.lock": BERRY_LOCK})
    assert isinstance(berry, PackageManager) and berry.berry


def test_manager_from_the_package_manager_field() -> None:
    tree = {
        "package.json": manifest(packageManager="yarn@4.5.1+sha512.abc"),
        "yarn.lock": BERRY_LOCK,
    }
    found = manager_of(tree)
    assert found == PackageManager("yarn", "", "yarn.lock", "4.5.1", berry=True)
    no_lock = manager_of({"package.json": manifest(packageManager="pnpm@9.12.0")})
    assert isinstance(no_lock, PackageManager) and no_lock.name == "pnpm"
    assert no_lock.lockfile is None and "no lockfile" in no_lock.notes[0]


def test_workspace_member_installs_from_the_root_lockfile() -> None:
    tree = {
        "package.json": manifest(workspaces=["packages/*"], packageManager="pnpm@9.1.0"),
        "pnpm-lock.yaml": PNPM_LOCK,
        "packages/a/package.json": manifest(name="a"),
    }
    found = manager_of(tree, "packages/a/src/x.ts")
    assert found == PackageManager("pnpm", "", "pnpm-lock.yaml", "9.1.0")


@pytest.mark.parametrize(
    ("tree", "path", "says"),
    [
        ({"package-lock.json": "{ broken"}, "package-lock.json", "not valid JSON"),
        ({"package-lock.json": "{}"}, "package-lock.json", "no lockfileVersion"),
        ({"pnpm-lock.yaml": "a: [b\n"}, "pnpm-lock.yaml", "not valid YAML"),
        ({"yarn.lock": "just: text\n"}, "yarn.lock", "neither a yarn 1"),
        ({"bun.lockb": "\x00"}, "bun.lockb", "bun is not supported yet"),
    ],
)
def test_malformed_or_unsupported_lockfile_is_a_problem(
    tree: dict[str, str], path: str, says: str
) -> None:
    found = manager_of({"package.json": manifest(), **tree})
    assert isinstance(found, Problem)
    assert found.path == path and says in found.message


@pytest.mark.parametrize(
    ("field", "says"),
    [
        ("yarn", "is not `name@version`"),
        (12, "is not `name@version`"),
        ("bun@1.1.0", "bun is not supported yet"),
    ],
)
def test_malformed_package_manager_field_is_a_problem(field: object, says: str) -> None:
    found = manager_of({"package.json": json.dumps({"packageManager": field})})
    assert isinstance(found, Problem) and says in found.message


def test_package_manager_field_and_lockfile_disagree() -> None:
    tree = {"package.json": manifest(packageManager="pnpm@9.0.0"), "package-lock.json": NPM_LOCK}
    found = manager_of(tree)
    assert isinstance(found, Problem) and "says pnpm" in found.message


def test_install_commands_keep_scripts_off() -> None:
    npm = install_command(PackageManager("npm", "", "package-lock.json"))
    assert npm == InstallCommand("npm", ("ci", "--no-audit", "--no-fund", "--ignore-scripts"), "")
    pnpm = install_command(PackageManager("pnpm", "web", "web/pnpm-lock.yaml", "9.1.0"))
    assert pnpm.tool == "pnpm@9.1.0" and pnpm.cwd == "web"
    assert pnpm.args == ("install", "--frozen-lockfile", "--ignore-scripts")
    assert pnpm.env["COREPACK_INTEGRITY_KEYS"] == "0"
    berry = install_command(PackageManager("yarn", "", "yarn.lock", "4.5.1", berry=True))
    assert berry.args == ("install", "--immutable")
    assert berry.env["YARN_ENABLE_SCRIPTS"] == "false"
    assert berry.env["YARN_NODE_LINKER"] == "node-modules"
    yarn1 = install_command(PackageManager("yarn", "", "yarn.lock"))
    assert yarn1.tool == "yarn@1"
    assert yarn1.args == ("install", "--frozen-lockfile", "--ignore-engines", "--ignore-scripts")
    assert yarn1.shown() == "yarn install --frozen-lockfile --ignore-engines --ignore-scripts"


def test_install_commands_when_config_allows_scripts() -> None:
    npm = install_command(PackageManager("npm", "", "package-lock.json"), allow_scripts=True)
    assert "--ignore-scripts" not in npm.args
    berry = install_command(PackageManager("yarn", "", "yarn.lock", berry=True), True)
    assert berry.env["YARN_ENABLE_SCRIPTS"] == "true"
    unlocked = install_command(PackageManager("npm", "", None))
    assert unlocked.args[:2] == ("install", "--no-package-lock")


def test_detect_groups_changed_sources_by_package() -> None:
    tree = {
        "package.json": manifest(workspaces=["packages/*"], devDependencies={"vitest": "4.1.2"}),
        "package-lock.json": NPM_LOCK,
        "packages/a/package.json": manifest(name="a"),
        "packages/b/package.json": manifest(name="b", scripts={"test": "mocha"}),
        "scripts/package.json": "{",
    }
    changed = [
        "packages/a/src/x.ts",
        "README.md",
        "packages/b/lib/y.js",
        "packages/a/src/x.test.ts",
        "packages/a/src/z.tsx",
        "scripts/release.mjs",
    ]
    found = detect(repo(tree), changed)
    a, b = found.packages
    assert a.package.name == "a" and a.sources == ("packages/a/src/x.ts", "packages/a/src/z.tsx")
    assert isinstance(a.runner, Runner) and a.runner.name == "vitest"
    assert isinstance(a.manager, PackageManager) and a.manager.lockfile == "package-lock.json"
    assert isinstance(b.runner, Unsupported) and "mocha" in b.runner.reason
    ((path, why),) = found.unplaced
    assert path == "scripts/release.mjs" and why.startswith("`scripts/package.json`: is not valid")
    assert detect(repo({}), ["a.ts"]).unplaced == (("a.ts", "no package.json above it"),)
