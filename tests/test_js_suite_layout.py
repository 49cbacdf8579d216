"""Where a generated JS/TS test goes and how it is written: read from the runner's config and
the package's own tests (plain data, no Node)."""

from __future__ import annotations

from jobs.languages.javascript.javascript_conventions import JsConventions
from jobs.languages.javascript.suite_layout import (
    JEST_INCLUDE,
    VITEST_INCLUDE,
    collected_by,
    jest_globs,
    read_layout,
    vitest_globs,
)

VITEST_CONFIG = """
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [],
  test: {
    include: ['test/unit/**/*.test.ts', "test/int/**/*.test.ts"],
    environment: 'node',
  },
})
"""


def test_a_vitest_include_that_names_a_folder_puts_the_test_there() -> None:
    globs = vitest_globs("vitest.config.ts", VITEST_CONFIG)
    assert globs.include == ("test/unit/**/*.test.ts", "test/int/**/*.test.ts")
    assert globs.unread is None
    layout = read_layout("vitest", globs, ["src/math/add.ts", "package.json"], {}, {})

    assert layout.existing == 0
    # Beside the source is vitest's default, but this config would never collect it there.
    assert not globs.admits("src/math/add.test.ts")
    assert layout.test_path_for("src/math/add.ts") == "test/unit/add.test.ts"


def test_the_packages_own_layout_and_naming_win_where_the_runner_collects_them() -> None:
    globs = vitest_globs(None, None)
    paths = ["src/a.ts", "src/a.spec.ts", "src/b.ts", "src/b.spec.ts", "src/c/d.ts"]
    texts = {
        "src/a.spec.ts": "import { describe, it, expect } from 'vitest'\n"
        "import { a } from './a.js'\n",
        "src/b.spec.ts": "import { it, expect } from 'vitest'\nimport { b } from './b.js'\n",
    }
    layout = read_layout("vitest", globs, paths, texts, {"type": "module"})

    assert (layout.placement, layout.kind, layout.existing) == ("beside", "spec", 2)
    assert layout.test_path_for("src/c/d.ts") == "src/c/d.spec.ts"
    assert layout.esm and not layout.globals and layout.js_extension
    assert layout.import_of("src/c/d.spec.ts", "src/c/d.ts") == "./d.js"
    assert layout.example == "src/a.spec.ts"
    prompt = layout.describe()
    assert "`npx vitest run <file>`" in prompt and "jest" not in prompt
    # the exact command, where the conventions know it, is what the agent is told to run
    exact = "cd /c/pkg && /n/node node_modules/vitest/vitest.mjs run <file>"
    assert f"run it (`{exact}`), never another runner" in layout.describe(exact)
    conventions = JsConventions("vitest", ["src"], "<name>.spec.ts", layout=layout, command=exact)
    assert f"run it (`{exact}`), never another runner" in conventions.describe()
    assert "import `describe`, `it`, `expect` from 'vitest'" in prompt


def test_a_config_value_that_is_not_a_literal_is_said_and_the_defaults_stand_in() -> None:
    config = "export default defineConfig({ test: { include: [...shared.include, 'x'] } })"
    globs = vitest_globs("vite.config.ts", config)
    assert globs.include == VITEST_INCLUDE
    assert globs.unread == "vite.config.ts: `include` is not a literal list"

    projects = "export default defineConfig({ test: { projects: ['packages/*'] } })"
    assert "projects" in (vitest_globs("vitest.config.ts", projects).unread or "")


def test_an_include_inside_a_nested_block_of_the_test_block_is_not_the_runners() -> None:
    # citty's config: `coverage.include` names the sources coverage reports on; the runner
    # collects its defaults, and reading the sources as its tests found no call of theirs
    config = """export default defineConfig({
  test: {
    typecheck: { enabled: true },
    coverage: { reporter: ["text", "json"], include: ["src/**/*.ts"] },
  },
});"""
    globs = vitest_globs("vitest.config.ts", config)
    assert globs.include == VITEST_INCLUDE and globs.unread is None
    assert globs.admits("test/parser.test.ts") and not globs.admits("src/_parser.ts")
    nested_and_own = "defineConfig({ test: { coverage: { include: ['s'] }, include: ['t/*.ts'] } })"
    assert vitest_globs("vitest.config.ts", nested_and_own).include == ("t/*.ts",)


def test_vitest_never_collects_from_node_modules() -> None:
    globs = vitest_globs(None, None)
    assert globs.admits("src/x.test.tsx")
    assert not globs.admits("node_modules/pkg/x.test.ts")


def test_jest_roots_and_test_match_from_package_json() -> None:
    manifest = (
        '{"name": "p", "jest": {"roots": ["<rootDir>/src"],'
        ' "testMatch": ["**/__tests__/**/*.[jt]s"]}}'
    )
    globs = jest_globs("package.json", manifest)
    assert globs.roots == ("src",)
    assert globs.include == ("**/__tests__/**/*.[jt]s",)
    layout = read_layout(
        "jest",
        globs,
        ["src/util.js", "src/__tests__/util.test.js", "lib/x.js"],
        {"src/__tests__/util.test.js": "const { util } = require('../util')\n"},
        {},
    )
    assert layout.placement == "__tests__"
    assert not layout.esm and layout.globals
    assert layout.test_path_for("src/parse/num.js") == "src/parse/__tests__/num.test.js"
    assert layout.import_of("src/parse/__tests__/num.test.js", "src/parse/num.js") == "../num"
    # Outside the roots nothing is collected, whatever the name.
    assert layout.test_path_for("lib/x.js") is None
    assert "CommonJS" in layout.describe() and "globals" in layout.describe()


def test_jest_test_regex_and_ignored_folders() -> None:
    config = (
        "module.exports = {\n  testRegex: '(/tests/.*|\\\\.unit)\\\\.ts$',\n"
        "  testPathIgnorePatterns: ['/node_modules/', '/fixtures/'],\n}\n"
    )
    globs = jest_globs("jest.config.js", config)
    assert globs.regex and globs.include == JEST_INCLUDE
    assert globs.admits("tests/a.ts")
    assert not globs.admits("tests/fixtures/a.ts")
    assert not globs.admits("src/a.test.ts")


def test_a_package_without_tests_names_them_as_its_runner_collects_them() -> None:
    spec_only = vitest_globs(
        "vitest.config.ts", 'export default { test: { include: ["spec/**/*.spec.ts"] } }'
    )
    assert read_layout("vitest", spec_only, ["src/x.ts"], {}, {}).kind == "spec"
    folder_named_test = vitest_globs(
        "vitest.config.ts", 'export default { test: { include: ["test/**/*.ts"] } }'
    )
    assert read_layout("vitest", folder_named_test, ["src/x.ts"], {}, {}).kind == "test"
    assert read_layout("vitest", vitest_globs(None, None), ["src/x.ts"], {}, {}).kind == "test"


def test_the_layout_and_the_texts_it_reads_share_one_list_of_collected_files() -> None:
    """``layout_of`` reads the texts of the files ``read_layout`` calls collected: one filter
    (:func:`collected_by`), installed packages left out."""
    globs = vitest_globs(None, None)
    paths = ["src/a.ts", "src/a.test.ts", "node_modules/x/b.test.ts", "test/c.spec.js"]
    assert collected_by(globs, paths) == ("src/a.test.ts", "test/c.spec.js")
    assert read_layout("vitest", globs, paths, {}, {}).collected == collected_by(globs, paths)
