"""Issue 21, class 5: what the project's own pytest configuration needs (pytest-cov for
``--cov`` in its addopts, its required_plugins, its minversion, pytest 9 for pytest 9's TOML
configuration) is installed with its dependencies: first the plan on plain data, then a real
install, offline, from a local wheel folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.repo_config import Dependencies
from jobs.dependencies import (
    ENV_DIR,
    InstallPlan,
    MemoryFiles,
    Source,
    install_dependencies,
    plan_install,
)
from jobs.dependencies.pytestconfig import read_pytest_config
from jobs.languages.python import pytest_runner
from jobs.sandbox import LocalSandbox
from tests.test_dependencies import install_from_wheels, make_wheel
from tests.test_testgen import make_repo

PROJECT = '[project]\nname = "app"\nversion = "1.0"\n'


def plan(files: dict[str, str], *, index: bool = True) -> InstallPlan:
    return plan_install(MemoryFiles(files), Dependencies(), index=index)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # pytest-cov's options in addopts, setup.cfg
            {"setup.py": "setup()\n", "setup.cfg": "[tool:pytest]\naddopts = -ra --cov=app\n"},
            Source(
                "setup.cfg",
                "pytest",
                requirements=("pytest-cov",),
                section="[tool:pytest]",
                why=("pytest-cov for its --cov options",),
            ),
        ),
        (  # pytest 9's own TOML table, which pytest 8 ignores without a word
            {"pyproject.toml": PROJECT + "[tool.pytest]\ntestpaths = ['tests']\n"},
            Source(
                "pyproject.toml",
                "pytest",
                requirements=("pytest>=9",),
                section="[tool.pytest]",
                why=("pytest 9 for its TOML configuration",),
            ),
        ),
        (  # the ini table: its minversion and required plugins
            {
                "pyproject.toml": PROJECT + "[tool.pytest.ini_options]\nminversion = '8.1'\n"
                "required_plugins = ['pytest_Mock>=3', 'x @ https://evil/x.whl']\n"
            },
            Source(
                "pyproject.toml",
                "pytest",
                requirements=("pytest>=8.1", "pytest-mock>=3"),
                section="[tool.pytest.ini_options]",
                why=("its minversion 8.1", "pytest-mock (required_plugins)"),
            ),
        ),
        (  # pytest.toml comes first, as pytest reads it
            {
                "pytest.toml": "[pytest]\naddopts = ['--cov-report=term']\n",
                "tox.ini": "[pytest]\naddopts = -q\n",
            },
            Source(
                "pytest.toml",
                "pytest",
                requirements=("pytest>=9", "pytest-cov"),
                section="[pytest]",
                why=("pytest 9 for its TOML configuration", "pytest-cov for its --cov options"),
            ),
        ),
    ],
)
def test_what_the_pytest_configuration_needs_is_installed(
    files: dict[str, str], expected: Source
) -> None:
    result = plan(files)
    assert result.sources[-1] == expected
    assert result.pip_args()[-len(expected.requirements) :] == list(expected.requirements)


def test_pytest_needs_join_the_plan_without_repeating_it() -> None:
    # tox names pytest-cov already; pytest's own lower bound is always kept, for pip to join
    files = {
        "pyproject.toml": PROJECT,
        "tox.ini": "[testenv]\ndeps = pytest-cov>=4\n\n[pytest]\nminversion = 7\naddopts = --cov\n",
    }
    result = plan(files)
    assert [s.kind for s in result.sources] == ["tox", "pytest"]
    assert result.sources[1].requirements == ("pytest>=7",)
    assert result.describe() == (
        "`tox.ini` [testenv] (deps pytest-cov>=4) and `tox.ini` [pytest] (its minversion 7)"
    )
    # A bad required plugin is a note, not a crash, and the rest still counts.
    bad = plan({"pytest.ini": "[pytest]\nrequired_plugins = x@https://e/x.whl\nminversion = x\n"})
    assert bad.empty
    assert [line.split(":", 1)[0] for line in bad.refused] == [
        "`pytest.ini` [pytest] minversion 'x'",
        "`pytest.ini` [pytest] required_plugins 'x@https",
    ]


def test_without_an_index_or_a_need_nothing_is_added() -> None:
    # Offline, a requirement pip cannot find would fail the whole install: none is added.
    files = {"setup.py": "setup()\n", "setup.cfg": "[tool:pytest]\naddopts = --cov\n"}
    assert [s.kind for s in plan(files, index=False).sources] == ["project"]
    # A legacy ini table that needs nothing, a setup.cfg without pytest's section, garbage.
    assert [s.kind for s in plan({"setup.py": "", "setup.cfg": "[metadata]\n"}).sources] == [
        "project"
    ]
    quiet = {"pyproject.toml": PROJECT + "[tool.pytest.ini_options]\naddopts = '-q'\n"}
    assert [s.kind for s in plan(quiet).sources] == ["project"]
    refused: list[str] = []
    assert read_pytest_config(MemoryFiles({"pytest.toml": "[pytest"}), refused) is None
    assert refused and refused[0].startswith("`pytest.toml`: not valid TOML")
    assert read_pytest_config(MemoryFiles({"pytest.ini": "addopts = -q\n"}), []) is None


# A stand-in for pytest-cov from the index: the options pytest needs to accept the project's
# addopts, and --no-cov, which the baseline's launcher passes whenever pytest_cov imports.
FAKE_PYTEST_COV = """\
def pytest_addoption(parser):
    group = parser.getgroup("cov")
    group.addoption("--cov", action="append", nargs="?", const=True, default=[])
    group.addoption("--cov-report", action="append", default=[])
    group.addoption("--no-cov", action="store_true")
"""


async def test_a_project_whose_addopts_use_pytest_cov_gets_it(tmp_path: Path) -> None:
    """Without pytest-cov, pytest stops on the project's own addopts ("unrecognized arguments",
    exit 4) and there is no baseline. The project declares it nowhere Tandem reads (its CI
    installs it), so the configuration itself says to install it."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(
        wheels,
        "pytest-cov",
        "7.0",
        "pytest_cov",
        FAKE_PYTEST_COV,
        entry_points="[pytest11]\npytest_cov = pytest_cov\n",
    )
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n\n' + PROJECT + "\n[tool.setuptools]\n"
            'py-modules = ["app"]\n\n[tool.pytest.ini_options]\n'
            'addopts = "--cov=app --cov-report=term-missing"\n',
            "app.py": "def one():\n    return 1\n",
            "tests/test_app.py": "from app import one\n\n\ndef test_one():\n"
            "    assert one() == 1\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_dependencies(
            sandbox,
            repo,
            timeout_s=180,
            network="bridge",  # an index in principle; this one is the wheel folder, offline
            extra_pip_args=["--no-index", "--no-build-isolation", "--find-links", str(wheels)],
        )
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note == (
            "Dependencies: installed from `pyproject.toml` and `pyproject.toml` "
            "[tool.pytest.ini_options] (pytest-cov for its --cov options) (2 package(s))."
        )
        run = await pytest_runner.run_pytest(
            sandbox, repo, ["tests"], tag="baseline", timeout_s=120, measure=True
        )
        assert run.ok and run.passed == 1, run.output
        assert run.executed.get("app.py") == {1, 2}  # coverage's tracer, not pytest-cov's
    finally:
        await sandbox.close()


def test_the_modules_test_files_import_unguarded_at_their_top_level(tmp_path: Path) -> None:
    from jobs.dependencies.install_plan import declared_extras, with_extras
    from jobs.dependencies.testimports import candidates, top_level_imports

    assert top_level_imports(
        "import os, alpha.x\nfrom beta.y import z\nfrom . import local\nfrom __future__ import "
        "annotations\ntry:\n    import gamma\nexcept ImportError:\n    pass\n"
        "def f():\n    import delta\n"
    ) == {"os", "alpha", "beta"}
    assert top_level_imports("def (:\n") == set()
    make_repo(
        tmp_path / "repo",
        {
            "app/__init__.py": "",
            "app/wrappers/alpha_lib.py": "",  # wraps the library: not where it comes from
            "tests/helpers.py": "",
            "tests/test_a.py": "import app, helpers, json, alpha_lib\n",
            "tests/conftest.py": "import beta_lib\n",
            "docs/notes.py": "import not_a_test_file\n",
        },
    )
    assert candidates(tmp_path / "repo") == ["alpha_lib", "beta_lib"]
    files = MemoryFiles(
        {
            "pyproject.toml": PROJECT + "[project.optional-dependencies]\n"
            "test = ['pytest']\nfast = ['alpha-lib']\n'bad name!' = []\n"
        }
    )
    assert declared_extras(files) == ("test", "fast")
    setup = MemoryFiles(
        {
            "setup.py": "setup(extras_require={'yaml': ['pyyaml']})\n",
            "setup.cfg": "[options.extras_require]\ntoml = tomli\n",
        }
    )
    assert declared_extras(setup) == ("yaml", "toml")
    first = plan_install(files, Dependencies())
    more = with_extras(first, declared_extras(files), ["alpha_lib"])
    assert more is not None and more.sources[0].extras == ("test", "fast")
    assert more.notes() == [
        "Its tests import `alpha_lib`, which its install did not provide, so its extras fast "
        "were installed too"
    ]
    assert with_extras(more, declared_extras(files), ["alpha_lib"]) is None  # nothing to add


async def test_tests_that_import_an_extras_module_get_the_projects_extras(tmp_path: Path) -> None:
    """cattrs' shape: its test modules import msgspec, orjson, ... at their top level, which
    only its feature extras install (its CI installs them all). With its test extra alone the
    suite cannot be collected; Tandem then installs the other extras too, and says so."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "alpha-lib", "1.0", "alpha_lib", "NAME = 'alpha'\n")
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n\n' + PROJECT + "\n[tool.setuptools]\n"
            'py-modules = ["app"]\n\n[project.optional-dependencies]\nfast = ["alpha-lib"]\n'
            "test = []\n",
            "app.py": "def speed():\n    import alpha_lib\n    return alpha_lib.NAME\n",
            "tests/test_app.py": "import alpha_lib\nfrom app import speed\n\n\n"
            "def test_speed():\n    assert speed() == alpha_lib.NAME\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note == (
            "Dependencies: installed from `pyproject.toml` (extras test, fast) (2 package(s)). "
            "Its tests import `alpha_lib`, which its install did not provide, so its extras "
            "fast were installed too."
        )
        run = await pytest_runner.run_pytest(
            sandbox, repo, ["tests"], tag="baseline", timeout_s=120, measure=True
        )
        assert run.ok and run.passed == 1, run.output
    finally:
        await sandbox.close()


async def test_a_project_that_excludes_the_sandboxs_pytest_runs_the_one_it_allows(
    tmp_path: Path,
) -> None:
    """The sandbox's pytest is newer than the project allows: the project's own, from the
    index, runs its tests (with the sandbox's coverage), not the sandbox's."""
    import pytest as sandbox_pytest

    repo = make_repo(
        tmp_path / "repo",
        {
            "requirements-dev.txt": f"pytest<{sandbox_pytest.__version__}\n",
            "tests/test_app.py": "import pytest\n\n\ndef test_version():\n"
            "    assert pytest.__version__\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_dependencies(sandbox, repo, timeout_s=300)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert any(p.startswith("pytest-") for p in outcome.packages), outcome.packages
        run = await pytest_runner.run_pytest(
            sandbox, repo, ["tests"], tag="baseline", timeout_s=120, measure=True
        )
        assert run.ok and run.passed == 1, run.output
        env = str((repo / ENV_DIR).resolve())
        assert run.modules["pytest"].startswith(env + "/lib/"), run.modules["pytest"]
        assert "tandem-view" not in run.modules["pytest"]
    finally:
        await sandbox.close()


async def test_a_project_importing_pkg_resources_gets_a_setuptools_that_has_it(
    tmp_path: Path,
) -> None:
    """munch's shape: its ``__init__`` reads its version with ``pkg_resources``, which
    setuptools 81 removed, and declares no setuptools. Its tests then cannot even be
    collected; Tandem installs the last setuptools that has it, and says so. (The wheel folder
    stands in for the index: its "setuptools" holds only a ``pkg_resources``.)"""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(
        wheels,
        "setuptools",
        "80.0",
        "pkg_resources",
        "class _Dist:\n    version = '1.0'\n\n\ndef get_distribution(name):\n    return _Dist()\n",
    )
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n\n' + PROJECT + "\n[tool.setuptools]\n"
            'py-modules = ["app"]\n',
            "app.py": "import pkg_resources\n\n"
            "VERSION = pkg_resources.get_distribution('app').version\n",
            "tests/test_app.py": "from app import VERSION\n\n\n"
            "def test_version():\n    assert VERSION == '1.0'\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert (
            outcome.note is not None
            and (
                "`setuptools<81` was installed too: the project imports `pkg_resources`, which "
                "setuptools 81 removed"
            )
            in outcome.note
        ), outcome.note
        run = await pytest_runner.run_pytest(
            sandbox, repo, ["tests"], tag="baseline", timeout_s=120, measure=True
        )
        assert run.ok and run.passed == 1, run.output
    finally:
        await sandbox.close()


def test_own_code_imports_reads_the_projects_modules_not_its_tests(tmp_path: Path) -> None:
    from jobs.dependencies.testimports import own_code_imports

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("import pkg_resources\n")
    guarded = "try:\n    import pkg_resources\nexcept ImportError:\n    pass\n"
    (tmp_path / "lib.py").write_text(guarded)
    assert not own_code_imports(tmp_path, "pkg_resources")  # a test's, or guarded
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("import os\nimport pkg_resources.extern\n")
    assert own_code_imports(tmp_path, "pkg_resources")
    assert not own_code_imports(tmp_path, "pkg")
