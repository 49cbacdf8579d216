"""A project whose own build fails here (its backend downloads beyond the package index, as
jaraco's ``coherent.licensed`` does): its declared dependencies installed without it and its
tests run from the source tree, with a ⚠️ in the note (pure plan, then a real install without
internet whose in-tree backend fails as that one does)."""

from __future__ import annotations

from pathlib import Path

from jobs.dependencies import MemoryFiles, plan_install
from jobs.dependencies.sourcetree import declared_requirements, from_source_tree, import_root
from jobs.sandbox import LocalSandbox
from tests.test_dependencies import AUTO, baseline, install_from_wheels, make_wheel
from tests.test_testgen import make_repo

# An in-tree build backend that fails as coherent.licensed does without the internet.
BACKEND = """
def _offline(*args, **kwargs):
    raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

get_requires_for_build_wheel = get_requires_for_build_editable = _offline
prepare_metadata_for_build_wheel = prepare_metadata_for_build_editable = _offline
build_wheel = build_editable = build_sdist = _offline
"""

PYPROJECT = """
[build-system]
requires = []
build-backend = "offline_backend"
backend-path = ["_build"]

[project]
name = "app"
version = "0.1"
dependencies = ["alpha-lib"]

[project.optional-dependencies]
test = ["beta-lib>=1"]
all = ["app[test]", "gamma"]
doc = ["sphinx"]
"""

TOX = """
[testenv]
usedevelop = True
deps = delta
extras =
    test
commands = pytest

[testenv:docs]
extras = doc
"""


def test_the_plan_installs_what_the_project_declares_instead_of_the_project() -> None:
    files = MemoryFiles({"pyproject.toml": PYPROJECT})
    assert declared_requirements(files, ("all",)) == ["alpha-lib", "beta-lib>=1", "gamma"]
    plan = plan_install(files, AUTO)
    tree = from_source_tree(plan, files, "OSError: <urlopen error>")
    assert tree is not None
    # the plan asks for the project with its `test` extra: both sets, no `-e .`
    assert tree.pip_args()[-2:] == ["alpha-lib", "beta-lib>=1"] and "-e" not in tree.pip_args()
    assert tree.loosened[-1].startswith("⚠️ Built from the source tree: the project's own build")
    assert "(OSError: <urlopen error>)" in tree.loosened[-1]
    # tox's [testenv] keeps its deps and its extras' requirements, never another section's.
    with_tox = MemoryFiles({"pyproject.toml": PYPROJECT, "tox.ini": TOX})
    tox_tree = from_source_tree(plan_install(with_tox, AUTO), with_tox, "x")
    assert tox_tree is not None
    assert tox_tree.pip_args()[-3:] == ["alpha-lib", "beta-lib>=1", "delta"]
    # A project whose dependencies come from its build (setup.py) has no such plan.
    text = PYPROJECT.replace('version = "0.1"', 'dynamic = ["dependencies"]')
    dynamic = MemoryFiles({"pyproject.toml": text, "setup.py": ""})
    assert from_source_tree(plan_install(dynamic, AUTO), dynamic, "x") is None


SETUP_CFG = """
[metadata]
name = app

[options]
python_requires = >=3.6.*
install_requires =
    alpha-lib  # its client
    # a comment
    beta-lib>=1; python_version >= "3.8"

[options.extras_require]
test =
    gamma
all =
    app[test]
    delta
"""


def test_a_setup_cfg_projects_static_dependencies_are_read_without_building_it() -> None:
    # `python_requires = >=3.6.*` is what current setuptools refuses to build (semver 2.x)
    setup_py = "import setuptools\nsetuptools.setup()\n"
    files = MemoryFiles({"setup.cfg": SETUP_CFG, "setup.py": setup_py})
    assert declared_requirements(files, ("all",)) == [
        "alpha-lib", 'beta-lib>=1; python_version >= "3.8"', "gamma", "delta"
    ]  # fmt: skip
    tree = from_source_tree(plan_install(files, AUTO), files, "InvalidSpecifier: '>=3.6.*'")
    assert tree is not None and tree.sources[0].path == "setup.cfg"
    assert tree.sources[0].kind == "tree" and "gamma" in tree.pip_args()
    # a setup.py that names its own install_requires wins over setup.cfg: not static
    own = MemoryFiles({"setup.cfg": SETUP_CFG, "setup.py": "setup(install_requires=DEPS)\n"})
    assert declared_requirements(own, ()) is None
    listed = SETUP_CFG.replace("install_requires =", "install_requires = file: reqs.txt\nx =")
    assert declared_requirements(MemoryFiles({"setup.cfg": listed}), ()) is None


def test_the_import_root_is_src_for_a_src_layout() -> None:
    assert import_root({"": ["src", "tests"], "src": ["app"]}) == "src"
    assert import_root({"": ["app", "tests"]}) == "."
    assert import_root({"": ["src"], "src": []}) == "."


async def test_a_project_that_does_not_build_here_runs_its_tests_from_the_source_tree(
    tmp_path: Path,
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "alpha-lib", "1.0", "alpha_lib", "NAME = 'alpha'\n")
    make_wheel(wheels, "beta-lib", "1.0", "beta_lib", "NAME = 'beta'\n")
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": PYPROJECT,
            "tox.ini": TOX.replace("deps = delta\n", ""),
            "_build/offline_backend.py": BACKEND,
            "src/app/__init__.py": "import alpha_lib\n",
            "tests/test_app.py": "import beta_lib\nfrom app import alpha_lib\n\n\n"
            "def test_app():\n    assert (alpha_lib.NAME, beta_lib.NAME) == ('alpha', 'beta')\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note is not None
        assert "⚠️ Built from the source tree: the project's own build failed here (" in (
            outcome.note
        )
        run = await baseline(sandbox, repo)
        assert run.ok and run.passed == 1, run.output[-2000:]
    finally:
        await sandbox.close()


async def test_an_install_that_fails_for_another_reason_is_no_source_tree_install(
    tmp_path: Path,
) -> None:
    """The project builds; one of its test dependencies is not in the index. Installing the
    rest without the project would hide that failure behind a ⚠️ that blames the build."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "alpha-lib", "1.0", "alpha_lib", "NAME = 'alpha'\n")
    buildable = PYPROJECT.replace(
        'requires = []\nbuild-backend = "offline_backend"\nbackend-path = ["_build"]\n',
        'requires = []\nbuild-backend = "setuptools.build_meta"\n',
    ).replace('test = ["beta-lib>=1"]', 'test = ["missing-lib>=1"]')
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": buildable,
            "tox.ini": TOX.replace("deps = delta\n", ""),
            "src/app/__init__.py": "import alpha_lib\n",
            "tests/test_app.py": "def test_app():\n    assert True\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
    finally:
        await sandbox.close()
    assert outcome.status == "failed", (outcome.note, outcome.output)
    assert "missing-lib" in (outcome.note or ""), outcome.note
    assert "source tree" not in (outcome.note or ""), outcome.note
