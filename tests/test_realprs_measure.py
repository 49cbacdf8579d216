"""The real-commit bench's measuring runs: what they add to pytest's command line, and the
JavaScript/TypeScript cases' changed lines and runner arguments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.realprs import measure_js
from bench.realprs.cases import Case
from bench.realprs.gitrun import git
from bench.realprs.measure import coverage_plugin_args, run_tests


def test_a_venv_with_pytest_cov_runs_pytest_without_it(tmp_path: Path) -> None:
    # parse's addopts name --cov: pytest-cov is a case dependency, and its own coverage would
    # take the tracer from the measuring `coverage run`, which would then record nothing.
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    assert coverage_plugin_args(venv) == []
    (site / "pytest_cov").mkdir()
    assert coverage_plugin_args(venv) == ["--no-cov"]


def test_a_js_case_takes_the_changed_lines_of_its_packages_sources_only(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg" / "src").mkdir(parents=True)
    (repo / "other").mkdir()

    def commit(files: dict[str, str]) -> str:
        for name, text in files.items():
            (repo / name).write_text(text, encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
        return git(repo, "rev-parse", "HEAD").strip()

    git(None, "init", "-q", str(repo))
    base = commit({"pkg/src/a.ts": "a\nb\n", "pkg/src/a.test.ts": "t\n", "other/b.ts": "x\n"})
    head = commit({"pkg/src/a.ts": "a\nB\nc\n", "pkg/src/a.test.ts": "T\n", "other/b.ts": "y\n"})
    assert measure_js.changed_lines(repo, base, head, "pkg") == {"pkg/src/a.ts": {2, 3}}
    assert set(measure_js.changed_lines(repo, base, head, ".")) == {"pkg/src/a.ts", "other/b.ts"}


def test_jest_gets_the_test_paths_before_its_list_options() -> None:
    # jest's list options (--collectCoverageFrom, --coverageReporters) swallow the paths after
    # them: the paths come first.
    case = Case("c", "a/b", "a" * 40, "b" * 40, "dev", "d", ("t.js",), runner="jest")
    args = measure_js._runner_args(case, ["test/a.test.js"], ["src/a.js"], Path("/o"))
    assert args[:2] == ["node_modules/jest/bin/jest.js", "test/a.test.js"]
    assert args.index("--collectCoverageFrom=src/a.js") > args.index("test/a.test.js")
    vitest = Case("c", "a/b", "a" * 40, "b" * 40, "dev", "d", ("t.ts",), runner="vitest")
    args = measure_js._runner_args(vitest, [], ["src/a.ts"], Path("/o"))
    assert "--coverage.reportOnFailure" in args and "--coverage.include=src/a.ts" in args
    # a spec file of data only (path-to-regexp's cases.spec.ts) is then no failed file
    assert "--passWithNoTests" in args


def test_jest_gets_its_options_while_the_tests_see_a_bare_jests_argv(tmp_path: Path) -> None:
    # commander's tests call program.parse() on process.argv; jest in band (one worker) runs
    # them in its own process, where the bench's options must not show.
    jest_cli = tmp_path / "node_modules" / "jest-cli"
    (tmp_path / "node_modules" / "jest").mkdir(parents=True)
    jest_cli.mkdir()
    (jest_cli / "index.js").write_text(
        "exports.run = (args) => require('fs').writeFileSync('seen.json',"
        " JSON.stringify({args, argv: process.argv.slice(2)}));\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    case = Case("c", "a/b", "a" * 40, "b" * 40, "dev", "d", ("t.js",), runner="jest")
    command = measure_js.runner_command(case, ["test/a.test.js"], ["src/a.js"], out)
    subprocess.run(command, cwd=tmp_path, check=True)
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["argv"] == []
    assert seen["args"] == measure_js._runner_args(case, ["test/a.test.js"], ["src/a.js"], out)[1:]


def test_a_workspace_package_runs_the_runner_its_workspace_hoisted(tmp_path: Path) -> None:
    # npm workspaces (change-case) install vitest in the root's node_modules, not the package's
    (tmp_path / "node_modules" / "vitest").mkdir(parents=True)
    package = tmp_path / "packages" / "title-case"
    package.mkdir(parents=True)
    assert measure_js.modules_folder(tmp_path, package, "vitest") == "../../node_modules"
    assert measure_js.modules_folder(tmp_path, tmp_path, "vitest") == "node_modules"
    (package / "node_modules" / "vitest").mkdir(parents=True)
    assert measure_js.modules_folder(tmp_path, package, "vitest") == "node_modules"
    case = Case("c", "a/b", "a" * 40, "b" * 40, "dev", "d", ("t.ts",), runner="vitest")
    args = measure_js._runner_args(case, [], ["src/a.ts"], Path("/o"), "../../node_modules")
    assert args[0] == "../../node_modules/vitest/vitest.mjs"


def test_the_jest_launcher_finds_a_hoisted_jest(tmp_path: Path) -> None:
    jest_cli = tmp_path / "node_modules" / "jest-cli"
    (tmp_path / "node_modules" / "jest").mkdir(parents=True)
    jest_cli.mkdir()
    (jest_cli / "index.js").write_text(
        "exports.run = (args) => require('fs').writeFileSync('seen.json', JSON.stringify(args));\n"
    )
    package = tmp_path / "packages" / "p"
    package.mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    case = Case("c", "a/b", "a" * 40, "b" * 40, "dev", "d", ("t.js",), runner="jest")
    modules = measure_js.modules_folder(tmp_path, package, "jest")
    command = measure_js.runner_command(case, ["a.test.js"], ["a.js"], out, modules)
    subprocess.run(command, cwd=package, check=True)
    assert json.loads((package / "seen.json").read_text())[0] == "a.test.js"


def test_a_workspace_packages_runner_gets_paths_inside_the_package(tmp_path: Path) -> None:
    # the runner runs in the package's folder: repository paths would match no test there
    checkout = tmp_path / "clone"
    jest_cli = checkout / "node_modules" / "jest-cli"
    (checkout / "node_modules" / "jest").mkdir(parents=True)
    jest_cli.mkdir()
    (jest_cli / "index.js").write_text(
        "exports.run = (args) => require('fs').writeFileSync('seen.json', JSON.stringify(args));\n"
    )
    (checkout / "packages" / "p").mkdir(parents=True)
    case = Case(
        "c", "a/b", "a" * 40, "b" * 40, "dev", "d", ("t.js",), runner="jest", package="packages/p"
    )
    measure_js.run_tests(case, checkout, ["packages/p/a.test.js"], ["packages/p/a.js"], "x", 60)
    seen = json.loads((checkout / "packages" / "p" / "seen.json").read_text())
    assert seen[0] == "a.test.js" and "--collectCoverageFrom=a.js" in seen


def test_a_js_case_names_a_supported_runner() -> None:
    fields = ("c", "a/b", "a" * 40, "b" * 40, "dev", "d", ("t.js",))
    assert Case(*fields, language="javascript", runner="mocha").problem() == (
        "runner 'mocha' is not vitest or jest"
    )
    assert Case(*fields, language="ruby").problem() == "language 'ruby' is not python or javascript"
    assert Case(*fields, language="javascript", runner="vitest").problem() is None


def test_a_run_of_test_files_counts_only_their_tests(tmp_path: Path) -> None:
    """schwifty's addopts (``--pyargs schwifty --doctest-modules``) add every module's doctests
    to any pytest run: a run of one kept test file said 18 kept tests, 17 of them doctests."""
    checkout = tmp_path / "checkout"
    (checkout / "pkg").mkdir(parents=True)
    (checkout / "tests").mkdir()
    (checkout / "pkg" / "__init__.py").write_text("")
    doctested = 'def double(n):\n    """\n    >>> double(2)\n    4\n    """\n    return n * 2\n'
    (checkout / "pkg" / "calc.py").write_text(doctested)
    (checkout / "tests" / "test_calc.py").write_text(
        "from pkg.calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n"
    )
    (checkout / "pytest.ini").write_text("[pytest]\naddopts = --pyargs pkg --doctest-modules\n")
    case = Case("c", "o/r", "0" * 40, "0" * 40, "dev", "", ())
    venv = Path(sys.prefix)

    suite = run_tests(case, venv, checkout, [], ["pkg/calc.py"], "suite", 120)
    assert suite.total == 1, suite.tail  # the project's own run: its doctest is its test
    kept = run_tests(case, venv, checkout, ["tests/test_calc.py"], ["pkg/calc.py"], "kept", 120)
    assert kept.passed == ["tests.test_calc::test_double"], kept.tail
