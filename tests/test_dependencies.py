"""Installing the PR's dependencies before its tests run: the plan on plain data (hostile
requirements files included), then real installs without internet, with the local sandbox
and, where an engine answers, the Docker sandbox.

Offline, pip gets its packages from the repository itself: the fixture's requirements.txt
names a vendored package (`./vendor/helperlib`) and the install runs with
TANDEM_SANDBOX_INSTALL_NETWORK=none, which is `--no-index --no-build-isolation` (an isolated
build would fetch setuptools from the index; this way the sandbox's own setuptools builds it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest

from core.repo_config import Dependencies, RepoConfig
from core.repo_config_file import InvalidConfig, parse_config
from core.settings import Settings
from jobs.dependencies import (
    ENV_DIR,
    CheckoutFiles,
    InstallOutcome,
    InstallPlan,
    MemoryFiles,
    Source,
    already_satisfied,
    failure_line,
    install_dependencies,
    plan_install,
    summary_line,
)
from jobs.dependencies.install import PIP_LOG
from jobs.dependencies.install_plan import project_alone
from jobs.languages.python import pytest_runner
from jobs.languages.python.python_backend import PYTHON
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import LABEL_RUN, DockerConfig, DockerSandbox, LocalSandbox, workdir
from jobs.testgen import new_test_files, produce_tests
from tests.test_testgen import make_repo

AUTO = Dependencies()


def plan(files: dict[str, str], deps: Dependencies = AUTO, *, index: bool = True) -> InstallPlan:
    return plan_install(MemoryFiles(files), deps, index=index)


def refusal(files: dict[str, str]) -> str:
    result = plan(files)
    assert result.empty, result
    assert len(result.refused) == 1, result.refused
    return result.refused[0]


PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "app"
version = "0.1"
dependencies = ["attrs>=22"]

[project.optional-dependencies]
test = ["pytest-mock"]
docs = ["sphinx"]
dev = ["ruff"]
"""


SCM_PYPROJECT = """
[build-system]
requires = ["setuptools>=64", "setuptools-scm>=8"]
build-backend = "setuptools.build_meta"

[project]
name = "scm_app"
dynamic = ["version"]

[tool.setuptools]
py-modules = ["scmapp"]

[tool.setuptools_scm]
"""


# --- the plan --------------------------------------------------------------------------------


def test_the_distributions_pip_found_already_installed_are_read_from_its_log() -> None:
    log = (
        "2026-12-01T17:30:01,120 Obtaining file:///repo\n"
        "2026-12-01T17:30:03,004 Requirement already satisfied: anyio in "
        "/venv/lib/python3.12/site-packages (from asyncpkg==0.1) (4.9.0)\n"
        "2026-12-01T17:30:03,010 Requirement already satisfied: idna>=2.8 in /venv/lib (3.10)\n"
        "2026-12-01T17:30:03,011 Requirement already satisfied: anyio in /venv/lib (4.9.0)\n"
        "2026-12-01T17:30:04,500 Successfully installed asyncpkg-0.1\n"
    )
    assert already_satisfied(log) == ["anyio", "idna"]
    assert already_satisfied("Requirement already satisfied: ;rm -rf in /x") == []


def test_nothing_declared_means_nothing_installed() -> None:
    assert plan({}).empty and plan({}).refused == ()
    # a pyproject.toml that only configures tools is not a project
    assert plan({"pyproject.toml": "[tool.black]\nline-length = 100\n"}).empty


def test_a_pyproject_project_is_installed_editable_with_the_extras_it_has() -> None:
    result = plan({"pyproject.toml": PYPROJECT})
    assert result.sources == (Source("pyproject.toml", "project", ("test", "dev")),)
    args = result.pip_args()
    assert args[0] == "install" and "--no-index" not in args
    assert args[-2:] == ["-e", ".[test,dev]"]  # docs is not a test extra
    bare = plan({"pyproject.toml": '[project]\nname = "x"\nversion = "1"\n'})
    assert bare.pip_args()[-2:] == ["-e", "."]


def test_setup_py_setup_cfg_and_dependency_groups() -> None:
    cfg = "[metadata]\nname = x\n\n[options.extras_require]\ntesting = pytest-mock\n"
    assert plan({"setup.py": "", "setup.cfg": cfg}).pip_args()[-2:] == ["-e", ".[testing]"]
    assert plan({"setup.cfg": cfg}).sources[0].path == "setup.cfg"
    groups = '[dependency-groups]\ntest = ["hypothesis>=6"]\nlint = ["ruff"]\n'
    only_groups = plan({"pyproject.toml": groups})
    assert only_groups.pip_args()[-1:] == ["hypothesis>=6"]
    assert "-e" not in only_groups.pip_args()  # no project to install, just the group
    both = plan({"pyproject.toml": PYPROJECT + groups})
    assert both.pip_args()[-3:] == ["-e", ".[test,dev]", "hypothesis>=6"]
    assert both.describe() == "`pyproject.toml` (extras test, dev; groups test)"


def test_dependency_groups_are_resolved_by_tandem_for_any_pip() -> None:
    """pip's --group needs pip 25.1; the groups go to pip as plain requirements instead,
    includes followed (PEP 735), each once, names normalised so that none reads as an option,
    a path or an archive file."""
    text = (
        "[dependency-groups]\n"
        'Dev = ["Beta_Lib>=1; python_version >= \'3.8\'", {include-group = "typing"}, "x.zip"]\n'
        'typing = ["mypy", {include-group = "test"}]\n'
        'test = ["alpha.lib[fast]==2.*", "mypy"]\n'
        'docs = ["sphinx"]\n'
    )
    result = plan({"pyproject.toml": text})
    assert result.refused == ()
    assert result.sources == (
        Source(
            "pyproject.toml",
            "groups",
            groups=("test", "Dev"),
            requirements=(
                "alpha-lib[fast]==2.*",
                "mypy",
                'beta-lib>=1; python_version >= "3.8"',
                "x-zip",
            ),
        ),
    )
    assert "--group" not in " ".join(result.pip_args())
    assert plan({"pyproject.toml": "[dependency-groups]\ndev = []\n"}).empty  # nothing to do


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ('dev = [{include-group = "dev"}]', "Cyclic dependency group include"),
        ('dev = [{include-group = "a"}]\na = [{include-group = "dev"}]', "Cyclic"),
        ('dev = [{include-group = "nope"}]', "Dependency group 'nope' not found"),
        ('dev = ["--index-url=http://evil"]', "Expected package name"),
        ('dev = ["ok", "bad name!"]', "Expected"),
        ('dev = "pytest"', "contained a string rather than a sequence"),
        ('dev = [{include-group = "a", extra = 1}]\na = []', "Invalid dependency group item"),
        ("dev = [3]", "Invalid dependency group item"),
        ('dev = ["a"]\nDEV = ["b"]', "Duplicate dependency group names"),
    ],
)
def test_a_group_table_that_does_not_resolve_is_a_note_not_a_crash(table: str, why: str) -> None:
    result = plan({"pyproject.toml": PYPROJECT + "\n[dependency-groups]\n" + table + "\n"})
    # the project is still installed, without the groups
    assert result.sources == (Source("pyproject.toml", "project", ("test", "dev")),)
    assert len(result.refused) == 1, result.refused
    message = result.refused[0]
    assert message.startswith("`pyproject.toml` [dependency-groups]: "), message
    assert message.endswith("; the groups are not installed"), message
    assert why in message, message
    only = plan({"pyproject.toml": "[dependency-groups]\n" + table + "\n"})
    assert only.empty and only.refused == result.refused


def test_groups_that_nest_too_deeply_or_are_no_table_are_notes() -> None:
    deep = "[dependency-groups]\ndev = [{include-group = 'g0'}]\n" + "".join(
        f"g{i} = [{{include-group = 'g{i + 1}'}}]\n" for i in range(5000)
    )
    result = plan({"pyproject.toml": deep + "g5000 = ['x']\n"})
    assert result.empty
    assert result.refused == (
        "`pyproject.toml` [dependency-groups]: includes nest too deeply; the groups are not "
        "installed",
    )
    assert plan({"pyproject.toml": "dependency-groups = 3\n"}).refused == (
        "`pyproject.toml` [dependency-groups]: not a table; the groups are not installed",
    )


def test_a_direct_reference_in_an_included_group_refuses_the_project() -> None:
    text = '[dependency-groups]\ndev = [{include-group = "a"}]\na = ["x @ https://evil/x.whl"]\n'
    result = plan({"pyproject.toml": text})
    assert result.empty
    assert "direct URL and VCS requirements" in result.refused[0], result.refused


@pytest.mark.parametrize(
    ("files", "variable", "version", "backend"),
    [
        (
            {"pyproject.toml": SCM_PYPROJECT},
            "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_SCM_APP",
            "0.0.0",
            "setuptools-scm",
        ),
        (
            {
                "pyproject.toml": '[build-system]\nrequires = ["hatchling", "hatch-vcs"]\n'
                '[project]\nname = "My.Pkg"\ndynamic = ["version"]\n'
                '[tool.hatch.version]\nsource = "vcs"\n'
                '[tool.hatch.version.raw-options]\nfallback_version = "2.1"\n'
            },
            "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY_PKG",
            "2.1",
            "hatch-vcs",
        ),
        (
            {
                "setup.py": "from setuptools import setup\n"
                "setup(name='old-app', use_scm_version=True)\n"
            },
            "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_OLD_APP",
            "0.0.0",
            "setuptools-scm",
        ),
        (
            {
                "setup.py": "import setuptools\nsetuptools.setup()\n",
                "setup.cfg": "[metadata]\nname = cfgapp\n"
                "[options]\nsetup_requires = setuptools_scm\n",
            },
            "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_CFGAPP",
            "0.0.0",
            "setuptools-scm",
        ),
        (
            {"setup.py": "setup(name=NAME, use_scm_version={'fallback_version': 'x'})\n"},
            "SETUPTOOLS_SCM_PRETEND_VERSION",  # no readable name: the plain variable
            "0.0.0",
            "setuptools-scm",
        ),
    ],
)
def test_a_project_versioned_by_git_gets_its_version_from_the_environment(
    files: dict[str, str], variable: str, version: str, backend: str
) -> None:
    result = plan(files)
    assert result.environment() == {variable: version}
    assert result.notes() == [
        f"Its version comes from git ({backend}) and the checkout has no tags: it was built as "
        f"version {version} ({variable})"
    ]


def test_a_git_versioned_project_the_tools_depend_on_is_built_as_their_version() -> None:
    """pluggy, iniconfig, packaging: pytest requires them, so the project built as 0.0.0 does
    not resolve beside it; built as the version the tools have, it does."""
    tools = {"scm-app": "1.7.0", "pytest": "9.0.1"}
    result = plan({"pyproject.toml": SCM_PYPROJECT}).known_as(tools)
    assert result.environment() == {"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_SCM_APP": "1.7.0"}
    assert result.notes() == [
        "Its version comes from git (setuptools-scm) and the checkout has no tags: it was built "
        "as version 1.7.0, the version the measuring tools have (they depend on it, and 0.0.0 "
        "would not satisfy them) (SETUPTOOLS_SCM_PRETEND_VERSION_FOR_SCM_APP)"
    ]
    # A project the tools do not have, or one that names its own fallback, keeps its version.
    alone = plan({"pyproject.toml": SCM_PYPROJECT}).known_as({"other": "1.0"})
    assert alone.environment() == {"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_SCM_APP": "0.0.0"}
    fallback = SCM_PYPROJECT.replace(
        "[tool.setuptools_scm]", '[tool.setuptools_scm]\nfallback_version = "2.1"'
    )
    own = plan({"pyproject.toml": fallback}).known_as(tools)
    assert own.environment() == {"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_SCM_APP": "2.1"}
    # Nor does an unreadable version in the tools' metadata.
    odd = plan({"pyproject.toml": SCM_PYPROJECT}).known_as({"scm-app": "not a version"})
    assert odd.environment() == {"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_SCM_APP": "0.0.0"}


@pytest.mark.parametrize(
    "files",
    [
        {"pyproject.toml": PYPROJECT},
        # setuptools-scm asked for, but the version is static
        {"pyproject.toml": PYPROJECT.replace('"setuptools>=61"', '"setuptools", "setuptools-scm"')},
        {"setup.py": "setup(name='x', use_scm_version=False)\n"},
        {"setup.py": "def broken(:\n"},
        {"setup.py": "x = " + "(" * 300 + ")" * 300 + "\nsetup(use_scm_version=True)\n"},
        {"setup.py": "\0"},
        {"setup.py": "setup(name=" + "[" * 100_000 + ")\n"},
    ],
)
def test_no_pretended_version_where_git_does_not_give_it_and_bad_files_do_not_crash(
    files: dict[str, str],
) -> None:
    result = plan(files)
    assert result.environment() == {} and result.notes() == []
    assert result.sources  # still installed as a project


TOX_INI = """
[tox]
envlist = py312, lint

[testenv]
extras = test
deps =
    -e {toxinidir}[dev]
    -r{toxinidir}/requirements/ci.txt
    Pytest_Cov>=4  # coverage in CI
    py38: mock
    {[base]deps}
    -e git+https://evil/x.git#egg=x
    not a requirement!
commands = pytest {posargs}
"""


def test_tox_says_how_the_suite_runs_and_comes_first() -> None:
    files = {
        "pyproject.toml": PYPROJECT,
        "tox.ini": TOX_INI,
        "requirements/ci.txt": "hypothesis\n",
        "requirements-dev.txt": "black\n",  # tox does not install it: neither does Tandem
    }
    result = plan(files)
    assert result.sources == (
        Source(
            "tox.ini",
            "tox",
            ("test", "dev"),
            requirements=("pytest-cov>=4",),
            files=(("-r", "requirements/ci.txt"),),
            section="[testenv]",
        ),
    )
    assert result.pip_args()[-5:] == [
        "-e",
        ".[test,dev]",
        "-r",
        "./requirements/ci.txt",
        "pytest-cov>=4",
    ]
    assert result.describe() == (
        "`tox.ini` [testenv] (deps `requirements/ci.txt`, pytest-cov>=4; extras test, dev)"
    )
    # 'py38: mock' is for another Python: not part of this environment, as in tox
    assert result.refused[:2] == (
        "`tox.ini` [testenv] deps '{[base]deps}': uses a tox substitution",
        "`tox.ini` [testenv] deps '-e git+https://evil/x.git#egg=x': only requirements and "
        "-r/-c files are used",
    )
    assert result.refused[2].startswith(
        "`tox.ini` [testenv] deps 'not a requirement!': not a requirement (Expected "
    )
    assert "\n" not in result.refused[2]


FACTOR_TOX = """
[tox]
envlist = py{38,311,312}-django{40,50}, lint

[testenv]
extras =
    test
    py312: speedups
    py38: old
deps =
    always
    py312: only-312
    !py38: not-38
    !py312: not-312
    {py311,py312}: braced
    py3{11,12}: generated
    py312-django40: both
    py312-django50: other-django
    py311,py312: listed
    py38: -r requirements-38.txt
    py312: -r requirements-312.txt
    marked; python_version < "3.9"
    modern; python_version >= "3.12"
"""


@pytest.mark.parametrize(
    ("python", "requirements", "files", "extras"),
    [
        (
            (3, 12),
            ("always", "only-312", "not-38", "braced", "generated", "both", "listed",
             "modern; python_version >= \"3.12\""),
            (("-r", "requirements-312.txt"),),
            ("test", "speedups"),
        ),
        (
            (3, 8),
            ("always", "not-312", 'marked; python_version < "3.9"'),
            (("-r", "requirements-38.txt"),),
            ("test", "old"),
        ),
        # no environment of the envlist runs 3.13: the environment py313 alone
        (
            (3, 13),
            ("always", "not-38", "not-312", 'modern; python_version >= "3.12"'),
            (),
            ("test",),
        ),
    ],
)  # fmt: skip
def test_tox_factor_conditions_and_markers_are_evaluated_for_the_sandboxs_python(
    python: tuple[int, int],
    requirements: tuple[str, ...],
    files: tuple[tuple[str, str], ...],
    extras: tuple[str, ...],
) -> None:
    tree = {
        "pyproject.toml": PYPROJECT,
        "tox.ini": FACTOR_TOX,
        "requirements-38.txt": "a\n",
        "requirements-312.txt": "b\n",
    }
    result = plan_install(MemoryFiles(tree), AUTO, python=python)
    assert result.refused == ()
    (source,) = result.sources
    assert (source.requirements, source.files, source.extras) == (requirements, files, extras)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "pyproject.toml": PYPROJECT
                + '[tool.tox]\nlegacy_tox_ini = """\n[testenv]\nskip_install = true\n'
                'deps = attrs\n"""\n'
            },
            Source(
                "pyproject.toml",
                "tox",
                requirements=("attrs",),
                section="[tool.tox] legacy_tox_ini",
                editable=False,
            ),
        ),
        (
            {
                "pyproject.toml": PYPROJECT
                + "[tool.tox.env_run_base]\nextras = ['dev']\ndeps = ['six', {replace = 'x'}]\n"
            },
            Source(
                "pyproject.toml",
                "tox",
                ("dev",),
                requirements=("six",),
                section="[tool.tox] env_run_base",
            ),
        ),
        (
            {"setup.py": "setup(name='x')\n", "tox.toml": "[env_run_base]\ndeps = ['six']\n"},
            Source("tox.toml", "tox", requirements=("six",), section="env_run_base"),
        ),
    ],
)
def test_tox_in_pyproject_and_tox_toml(files: dict[str, str], expected: Source) -> None:
    assert plan(files).sources == (expected,)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[testenv]\ndeps = six\n[testenv]\n=x\n", "cannot be read as tox configuration"),
        ("[testenv\n", "cannot be read as tox configuration"),
        ("[testenv]\ndeps = -r ../../etc/passwd\n", "only files inside the repository"),
        ("[testenv]\ndeps = -r nope.txt\n", "`nope.txt`: not found"),
        ("[testenv]\ndeps = x @ https://evil/x.whl\n", "direct URL and VCS requirements"),
        ("[testenv]\nextras = a;b\n", "not an extra's name"),
    ],
)
def test_bad_tox_files_are_notes_not_crashes(text: str, why: str) -> None:
    result = plan({"setup.py": "setup()\n", "tox.ini": text})
    assert any(why in line for line in result.refused), result.refused


def test_without_tox_deps_the_project_and_requirements_files_are_used() -> None:
    files = {"pyproject.toml": PYPROJECT, "tox.ini": "[testenv]\ncommands = pytest\n"}
    assert plan(files).sources == (Source("pyproject.toml", "project", ("test", "dev")),)
    assert plan({"tox.ini": "[tox]\nenvlist = py\n"}).empty


def test_setup_py_extras_require_is_read_without_running_it() -> None:
    setup_py = (
        "import os\nos.system('echo pwned')\n"
        "EXTRAS = {'tests': ['pytest-mock', 'hypothesis'], 'docs': ['sphinx']}\n"
        "setup(name='old', extras_require=EXTRAS)\n"
    )
    result = plan({"setup.py": setup_py, "requirements-test.txt": "six\n"})
    assert result.sources == (
        Source("setup.py", "project", ("tests",)),
        Source("requirements-test.txt", "requirements"),
    )
    assert result.pip_args()[-4:] == ["-e", ".[tests]", "-r", "./requirements-test.txt"]
    inline = plan({"setup.py": "setuptools.setup(extras_require={'testing': 'a\\nb'})\n"})
    assert inline.sources[0].extras == ("testing",)
    evil = plan({"setup.py": "setup(extras_require={'test': ['x @ https://evil/x.whl']})\n"})
    assert evil.empty and "direct URL" in evil.refused[0]
    broken = plan({"setup.py": "print 'python 2'\n"})
    assert broken.sources == (Source("setup.py", "project"),)
    assert broken.refused == ("`setup.py`: does not parse (line 1); its extras are not known",)


def test_requirements_files_are_found_and_installed_in_one_resolution() -> None:
    result = plan(
        {
            "pyproject.toml": PYPROJECT,
            "requirements.txt": "attrs==23.1\n",
            "requirements-dev.txt": "-r requirements.txt\npytest-mock  # for tests\n",
            "requirements/test.txt": "hypothesis\n",
            "docs/requirements.txt": "sphinx\n",  # not a test dependency: not looked at
        }
    )
    assert [s.path for s in result.sources] == [
        "pyproject.toml",
        "requirements.txt",
        "requirements-dev.txt",
        "requirements/test.txt",
    ]
    assert result.pip_args()[-8:] == [
        "-e",
        ".[test,dev]",
        "-r",
        "./requirements.txt",
        "-r",
        "./requirements-dev.txt",
        "-r",
        "./requirements/test.txt",
    ]
    assert result.describe() == (
        "`pyproject.toml` (extras test, dev), `requirements.txt`, `requirements-dev.txt` "
        "and `requirements/test.txt`"
    )


def test_the_config_chooses_files_or_turns_installs_off() -> None:
    files = {"pyproject.toml": PYPROJECT, "requirements.txt": "attrs\n", "ci/reqs.txt": "six\n"}
    chosen = plan(files, Dependencies(requirements=["./ci//reqs.txt"]))
    assert chosen.sources == (Source("ci/reqs.txt", "requirements"),)  # exactly those
    assert plan(files, Dependencies(install="none")).empty
    missing = plan(files, Dependencies(requirements=["ci/nope.txt"]))
    assert missing.empty and missing.refused == ("`ci/nope.txt`: not found",)


def test_without_a_network_pip_uses_no_index_and_the_sandboxs_own_build_tools() -> None:
    args = plan({"requirements.txt": "./vendor/lib\n"}, index=False).pip_args()
    assert "--no-index" in args and "--no-build-isolation" in args


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("--index-url http://evil/simple\nrequests\n", "--index-url is not allowed"),
        ("-i http://evil/simple\n", "--index-url is not allowed"),
        ("--extra-index-url=https://evil/simple\n", "--extra-index-url is not allowed"),
        ("--trusted-host evil.example\n", "--trusted-host is not allowed"),
        ("-f https://evil/links\n", "--find-links is not allowed"),
        ("--find-links=/tmp/wheels\n", "--find-links is not allowed"),
        ("--extra-index=https://evil\n", "option --extra-index is not supported"),
        ("--src /tmp\n", "option --src is not supported"),
        ("requests --index-url=http://evil\n", "--index-url is not allowed after a requirement"),
        ("-e git+https://evil/x.git#egg=x\n", "direct URL and VCS requirements"),
        ("git+https://evil/x.git\n", "direct URL and VCS requirements"),
        ("https://evil/x-1.0-py3-none-any.whl\n", "direct URL and VCS requirements"),
        ("x @ https://evil/x.whl\n", "direct URL and VCS requirements"),
        ("x @ file:///etc/x\n", "direct URL and VCS requirements"),
        ("-r ../../etc/passwd\n", "only files inside the repository may be included"),
        ("-r /etc/passwd\n", "only files inside the repository may be included"),
        ("--requirement=~/secrets.txt\n", "only files inside the repository may be included"),
        ("-c https://evil/constraints.txt\n", "only files inside the repository may be included"),
        ("-e ../outside\n", "only paths inside the repository are installed"),
        ("../outside/pkg\n", "only paths inside the repository are installed"),
        ("/opt/pkg\n", "only paths inside the repository are installed"),
        ("-r ${HOME}/x.txt\n", "environment variables"),
        ("requests ; \\\n  python_version > '3' --index-url x\n", "is not allowed after"),
    ],
)
def test_hostile_requirements_files_are_refused_with_the_line_and_why(text: str, why: str) -> None:
    message = refusal({"requirements.txt": text})
    assert message.startswith("`requirements.txt` line 1: "), message
    assert why in message, message


def test_includes_are_followed_and_a_bad_one_refuses_the_file_that_includes_it() -> None:
    files = {
        "requirements-dev.txt": "-r requirements/base.txt\npytest-mock\n",
        "requirements/base.txt": "attrs\n-r ../constraints.txt\n",  # relative to the file
        "constraints.txt": "six\n--trusted-host evil\n",
    }
    message = refusal(files)
    assert message == (
        "`requirements-dev.txt` → `requirements/base.txt` → `constraints.txt` line 2: "
        "--trusted-host is not allowed (Tandem installs from its own package index only, over "
        "verified TLS)"
    )
    files["constraints.txt"] = "six\n"
    assert [s.path for s in plan(files).sources] == ["requirements-dev.txt"]
    cycle = refusal({"requirements.txt": "-r requirements.txt\n"})
    assert "included twice" in cycle
    missing = refusal({"requirements.txt": "-r nope.txt\n"})
    assert missing == "`requirements.txt` → `nope.txt`: not found"


def test_a_refused_file_does_not_stop_the_others() -> None:
    result = plan(
        {
            "requirements.txt": "--index-url http://evil/simple\nrequests\n",
            "requirements-dev.txt": "pytest-mock\n-e .\n./vendor/lib[extra]\n",
        }
    )
    assert [s.path for s in result.sources] == ["requirements-dev.txt"]
    assert result.refused[0].startswith("`requirements.txt` line 1: --index-url")


def test_allowed_options_comments_continuations_and_hashes() -> None:
    text = (
        "# pinned\n"
        "--pre\n"
        "--only-binary=:all:\n"
        "attrs==23.1 \\\n"
        "    --hash=sha256:abc \\\n"
        "    --hash sha256:def\n"
        "six ; python_version >= '3'  # trailing comment\n"
        "-c constraints.txt\n"
    )
    result = plan({"requirements.txt": text, "constraints.txt": "six<2\n"})
    assert result.refused == () and len(result.sources) == 1


def test_a_project_with_direct_references_is_refused() -> None:
    text = PYPROJECT.replace('"pytest-mock"', '"helper @ git+https://evil/helper.git"')
    result = plan({"pyproject.toml": text})
    assert result.empty
    assert result.refused[0].startswith("`pyproject.toml`: 'helper @ git+https://evil")


def test_checkout_files_never_read_outside_the_repository(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:TOP-SECRET\n")
    repo = tmp_path / "repo"
    (repo / "vendor").mkdir(parents=True)
    (repo / "requirements.txt").symlink_to(secret)
    (repo / "vendor" / "lib").symlink_to(tmp_path)
    (repo / "requirements-dev.txt").write_text("./vendor/lib\n")
    (repo / "requirements-test.txt").write_text("-r vendor/lib/secret.txt\n")
    result = plan_install(CheckoutFiles(repo), AUTO)
    assert result.empty
    assert result.refused == (
        "`requirements.txt`: points outside the repository",
        "`requirements-dev.txt` line 1: './vendor/lib': only paths inside the repository are "
        "installed",
        "`requirements-test.txt` line 1: --requirement vendor/lib/secret.txt: only files inside "
        "the repository may be included",
    )
    assert "TOP-SECRET" not in " ".join(result.refused)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("-e", "must not start with '-'"),
        ("--index-url=http://evil", "must not start with '-'"),
        ("./-r", "must not start with '-'"),
        ("../../etc/passwd", "no '..'"),
        ("reqs/../../x.txt", "no '..'"),
        ("/etc/passwd", "is absolute"),
        ("~/reqs.txt", "must not start with '-' or '~'"),
        ("https://evil/reqs.txt", "':' and '$' are not allowed"),
        ("${HOME}/reqs.txt", "':' and '$' are not allowed"),
        ("reqs\\ci.txt", "backslashes"),
        (".", "does not name a file"),
    ],
)
def test_the_config_refuses_paths_outside_the_repository_or_like_options(
    entry: str, why: str
) -> None:
    text = f"test_generation:\n  dependencies:\n    requirements:\n      - {entry!r}\n"
    with pytest.raises(InvalidConfig) as caught:
        parse_config(text)
    error = caught.value.errors[0]
    assert why in error.message, error.message
    assert "test_generation.dependencies.requirements" in error.message
    assert error.line == 3


def test_the_config_is_read_and_normalised() -> None:
    parsed = parse_config(
        "test_generation:\n  dependencies:\n    install: auto\n"
        "    requirements: [./ci//test.txt, requirements.txt]\n"
    )
    deps = parsed.test_generation.dependencies
    assert deps.install == "auto" and deps.requirements == ["ci/test.txt", "requirements.txt"]
    assert RepoConfig().test_generation.dependencies == Dependencies()
    with pytest.raises(InvalidConfig, match="install"):
        parse_config("test_generation:\n  dependencies:\n    install: always\n")


def test_pip_output_is_summarised_by_its_last_error() -> None:
    output = (
        "Processing ./vendor/x\n"
        "ERROR: Could not find a version that satisfies the requirement nope (from versions: "
        "none)\nERROR: No matching distribution found for nope\n\n"
    )
    assert summary_line(output) == "ERROR: No matching distribution found for nope"
    assert summary_line("a\nlast words\n") == "last words"


# --- real installs, offline ------------------------------------------------------------------

HELPER_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "helperlib"
version = "1.0"
"""


def helper_repo(root: Path, requirements: str = "./vendor/helperlib\n") -> Path:
    """A repository whose code imports a package it vendors and declares in
    requirements.txt. The vendored package has a test module of its own, so its in-tree build
    (build/lib/helperlib/test_inner.py) would look like a new test file if not excluded."""
    return make_repo(
        root,
        {
            "requirements.txt": requirements,
            "vendor/helperlib/pyproject.toml": HELPER_PYPROJECT,
            "vendor/helperlib/helperlib/__init__.py": "def triple(x):\n    return 3 * x\n",
            "vendor/helperlib/helperlib/test_inner.py": "def test_inner():\n    pass\n",
            "conftest.py": 'collect_ignore = ["vendor"]\n',
            "app.py": "from helperlib import triple\n\n\ndef nine():\n    return triple(3)\n",
            "tests/test_app.py": "from app import nine\n\n\ndef test_nine():\n"
            "    assert nine() == 9\n",
        },
    )


async def baseline(sandbox: Any, repo: Path) -> SuiteRun:
    return await pytest_runner.run_pytest(
        sandbox, repo, ["tests"], tag="baseline", timeout_s=120, measure=True
    )


def worker_site_packages() -> set[str]:
    import site

    return {name for d in site.getsitepackages() if os.path.isdir(d) for name in os.listdir(d)}


async def test_local_install_makes_the_baseline_pass_without_touching_the_workers_venv(
    tmp_path: Path,
) -> None:
    repo = helper_repo(tmp_path / "repo")
    before_packages = worker_site_packages()
    sandbox = LocalSandbox()
    try:
        without = await baseline(sandbox, repo)
        assert not without.ok and "No module named 'helperlib'" in without.output

        outcome = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert outcome.status == "installed", outcome.note
        assert outcome.note == "Dependencies: installed from `requirements.txt` (1 package(s))."
        assert outcome.packages == ["helperlib-1.0"]
        assert sandbox.python == str(repo.resolve() / ENV_DIR / "bin" / "python")

        again = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert again.status == "installed" and again.note is None  # once per sandbox

        with_deps = await baseline(sandbox, repo)
        assert with_deps.ok, with_deps.output
        assert with_deps.passed == 1 and with_deps.measured
        assert with_deps.executed["app.py"] == {1, 4, 5}  # the checkout's file is measured
        # the sandbox's tools are still there: coverage measured above; pytest's own version
        tools = await sandbox.run(
            [sandbox.python, "-c", "import pytest, coverage, helperlib; print('ok')"],
            cwd=repo,
            timeout_s=60,
        )
        assert tools.output.strip() == "ok", tools.output
        on_path = await sandbox.run(
            ["python", "-c", "import sys; print(sys.prefix)"], cwd=repo, timeout_s=60
        )
        assert on_path.output.strip() == str(repo.resolve() / ENV_DIR), on_path.output
        # The agent's terminal gets the same environment, and nothing of the worker's.
        shell = await sandbox.terminal_command(repo)
        assert shell is not None
        os.environ["TANDEM_TEST_SECRET"] = "sk-must-not-leak"
        try:
            typed = await asyncio.to_thread(
                subprocess.run,
                shell,
                input="python -c 'import helperlib; print(helperlib.triple(2))'\nenv\n",
                capture_output=True,
                text=True,
                cwd=repo,
                timeout=60,
            )
        finally:
            del os.environ["TANDEM_TEST_SECRET"]
        assert typed.stdout.splitlines()[0] == "6", typed.stdout + typed.stderr
        assert "sk-must-not-leak" not in typed.stdout and "TANDEM_" not in typed.stdout
    finally:
        await sandbox.close()

    # Nothing of it shows as a new or changed file (build/, egg-info, the venv).
    assert await new_test_files(repo, PYTHON.tests_among) == []
    status = await asyncio.to_thread(
        subprocess.run,
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""
    assert (repo / "vendor/helperlib/build").is_dir()  # it was built in-tree, and is excluded

    # The worker's own environment is untouched.
    assert worker_site_packages() == before_packages
    probe = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "import helperlib"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert probe.returncode != 0 and "No module named 'helperlib'" in probe.stderr


def six_source() -> bytes:
    import six

    return Path(six.__file__).read_bytes()


async def test_a_pin_of_a_package_the_worker_has_goes_to_the_environment_only(
    tmp_path: Path,
) -> None:
    """The worker's venv has six; the PR pins its own "six 99" (vendored). pip installs it
    into the environment and does not uninstall the worker's copy, which is outside it."""
    worker_six = six_source()
    repo = make_repo(
        tmp_path / "repo",
        {
            "requirements.txt": "./vendor/six\n",
            "vendor/six/pyproject.toml": HELPER_PYPROJECT.replace(
                'name = "helperlib"\nversion = "1.0"', 'name = "six"\nversion = "99.0"'
            ).replace("[project]", "[tool.setuptools]\npy-modules = ['six']\n\n[project]"),
            "vendor/six/six.py": "MARK = 'the PR pinned this'\n",
            "tests/test_six.py": "import six\n\n\ndef test_pinned():\n"
            "    assert six.MARK == 'the PR pinned this'\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert outcome.packages == ["six-99.0"], outcome.output
        assert "outside environment" in outcome.output  # pip's own words: not uninstalled
        assert (await baseline(sandbox, repo)).ok
    finally:
        await sandbox.close()
    assert six_source() == worker_six
    probe = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('six'))"],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "1.17.0"


async def test_a_failing_install_is_a_note_and_the_run_goes_on(tmp_path: Path) -> None:
    repo = helper_repo(tmp_path / "repo", "./vendor/helperlib\nnonexistent-tandem-pkg==1.0\n")
    sandbox = LocalSandbox()
    tools_python = sandbox.python
    try:
        outcome = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert outcome.status == "failed"
        assert outcome.note == (
            "Dependencies: installing from `requirements.txt` failed (pip exit 1): ERROR: No "
            "matching distribution found for nonexistent-tandem-pkg==1.0. The tests ran "
            "without them."
        )
        assert sandbox.python == tools_python  # the tests run with the tools alone
        run = await baseline(sandbox, repo)
        assert run.returncode == 2 and "helperlib" in run.output  # reported, not fatal
    finally:
        await sandbox.close()
    assert await new_test_files(repo, PYTHON.tests_among) == []


PIP_PRINTED = """\
  Getting requirements to build editable: started
  error: subprocess-exited-with-error

  × Getting requirements to build editable did not run successfully.
  │ exit code: 1
  ╰─> No available output.

  note: This error originates from a subprocess, and is likely not a problem with pip.
ERROR: Failed to build 'file:///tmp/x' when getting requirements to build editable
"""
STAMP = "2026-12-06T12:12:14,994 "
PIP_LOGGED = "".join(
    STAMP + line + "\n"
    for line in (
        "      raise URLError(err)",
        "  urllib.error.URLError: <urlopen error [Errno -2] Name or service not known>",
        "  ERROR: Getting requirements to build editable exited with 1",
        "ERROR: Failed to build 'file:///tmp/x' when getting requirements to build editable",
        "Exception information:",
        "pip._internal.exceptions.build.InstallationSubprocessError: Getting requirements to "
        "build editable exited with 1",
        "pip._internal.exceptions.FailedToPrepareCandidate: Failed to build 'file:///tmp/x' "
        "when getting requirements to build editable",
    )
)


def test_a_failed_build_is_reported_by_its_own_error_from_pips_log(tmp_path: Path) -> None:
    """With --log, pip keeps a build subprocess's output out of what it prints ("No available
    output") and sums up with "ERROR: Failed to build …": the decisive line comes from the log,
    from what this attempt wrote, past pip's own exceptions."""
    log = tmp_path / PIP_LOG
    log.parent.mkdir(parents=True)
    earlier = "2026-12-06T12:00:00,000   RuntimeError: an earlier attempt's error\n"
    log.write_text(earlier + PIP_LOGGED)
    line = "urllib.error.URLError: <urlopen error [Errno -2] Name or service not known>"
    assert failure_line(tmp_path, PIP_PRINTED, since=len(earlier)) == line
    # Where the output says it all, the log is not needed; without a log, the output's line.
    said = "ERROR: No matching distribution found for nope\n"
    assert failure_line(tmp_path, said) == "ERROR: No matching distribution found for nope"
    log.unlink()
    assert failure_line(tmp_path, PIP_PRINTED) == (
        "ERROR: Failed to build 'file:///tmp/x' when getting requirements to build editable"
    )


async def test_a_timeout_and_a_refusal_are_notes(tmp_path: Path) -> None:
    repo = helper_repo(tmp_path / "repo", "--index-url http://evil/simple\nhelperlib\n")
    sandbox = LocalSandbox()
    try:
        refused = await install_dependencies(sandbox, repo, timeout_s=60, network="none")
        assert refused.status == "refused"
        assert refused.note == (
            "Dependencies: not installed: `requirements.txt` line 1: --index-url is not allowed "
            "(Tandem installs from its own package index only, over verified TLS)."
        )
        # A package whose build never ends (its setup.py sleeps): the install is stopped.
        (repo / "vendor/sleeper").mkdir(parents=True)
        (repo / "vendor/sleeper/setup.py").write_text(
            "import time\ntime.sleep(600)\nfrom setuptools import setup\nsetup(name='sleeper')\n"
        )
        (repo / "requirements.txt").write_text("./vendor/sleeper\n")
        slow = await install_dependencies(sandbox, repo, timeout_s=20, network="none")
        assert slow.status == "failed" and slow.note is not None
        assert "timed out" in slow.note, slow.note
        assert sandbox.python == LocalSandbox.python
    finally:
        await sandbox.close()


async def install_from_wheels(sandbox: LocalSandbox, repo: Path, wheels: Path) -> InstallOutcome:
    """The project's dependencies installed with no index, from the wheels the test built."""
    return await install_dependencies(
        sandbox, repo, timeout_s=180, network="none", extra_pip_args=["--find-links", str(wheels)]
    )


def make_wheel(
    folder: Path, name: str, version: str, module: str, source: str, entry_points: str = ""
) -> None:
    """A pure-Python wheel for --find-links, written directly: a zip of the module and the
    dist-info files pip reads (no build tool, no network)."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{module}.py": source,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tandem-tests\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if entry_points:
        files[f"{dist}.dist-info/entry_points.txt"] = entry_points
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record += f"{path},sha256={digest.decode()},{len(text.encode())}\n"
    files[f"{dist}.dist-info/RECORD"] = record + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def old_pip_tools(root: Path) -> str:
    """A tools' environment like that of a Tandem installed with a plain `pip install` into a
    new Python 3.12 venv: the pip its Python bundles (23.2.1 with 3.12.1, older than pip's
    --group), with this worker's packages (pytest, coverage, setuptools) behind it. Its
    python."""
    venv.EnvBuilder(with_pip=True, symlinks=True).create(root)
    python = str(root / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    worker = [d for d in site.getsitepackages() if os.path.isdir(d)]
    (Path(purelib) / "tandem-worker.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in worker)
    )
    return python


GROUPED_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "grouped"
version = "0.1"

[tool.setuptools]
py-modules = ["grouped"]

[dependency-groups]
dev = ["beta-lib>=2", {include-group = "lint"}]
lint = ["alpha_lib"]
docs = ["docs-only"]
"""


async def test_dependency_groups_install_with_a_pip_older_than_its_group_option(
    tmp_path: Path,
) -> None:
    """Issue 17: the tools' pip is 23.2, which has no --group. The project's dev group (and
    the lint group it includes) still installs, from a local wheel folder, offline."""
    tools = await asyncio.to_thread(old_pip_tools, tmp_path / "tools")
    sandbox = LocalSandbox()
    pip = await sandbox.run([tools, "-m", "pip", "install", "--help"], cwd=tmp_path, timeout_s=60)
    assert pip.returncode == 0 and "--group" not in pip.output  # it cannot install a group
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "alpha-lib", "1.0", "alpha_lib", "NAME = 'alpha'\n")
    make_wheel(wheels, "beta-lib", "2.0", "beta_lib", "NAME = 'beta'\n")
    make_wheel(wheels, "docs-only", "1.0", "docs_only", "")
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": GROUPED_PYPROJECT,
            "grouped.py": "import alpha_lib\nimport beta_lib\n\n\ndef names():\n"
            "    return alpha_lib.NAME + beta_lib.NAME\n",
            "tests/test_grouped.py": "from grouped import names\n\n\ndef test_names():\n"
            "    assert names() == 'alphabeta'\n",
        },
    )
    sandbox.python = tools
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note == (
            "Dependencies: installed from `pyproject.toml` (groups dev) (3 package(s))."
        )
        assert sorted(outcome.packages) == ["alpha-lib-1.0", "beta-lib-2.0", "grouped-0.1"]
        # The project's environment has no pip of its own: pip is the tools', as for the install.
        pip = ["env", workdir.ALL_TOOLS, sandbox.python, "-m", "pip", "--version"]
        used = await sandbox.run(pip, cwd=repo, timeout_s=60)
        assert used.output.startswith("pip 23."), used.output  # the old pip did the install
        run = await baseline(sandbox, repo)
        assert run.ok and run.passed == 1, run.output
        docs = await sandbox.run([sandbox.python, "-c", "import docs_only"], cwd=repo, timeout_s=60)
        assert docs.returncode != 0  # a group that is not for tests stays out
    finally:
        await sandbox.close()
    assert await new_test_files(repo, PYTHON.tests_among) == []


async def test_a_project_versioned_by_git_installs_from_a_checkout_git_cannot_describe(
    tmp_path: Path,
) -> None:
    """setuptools-scm (the real one, from the tools) finds no git metadata here, as in a
    sandbox that cannot read the checkout's git; Tandem gives it the version to use."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": SCM_PYPROJECT,
            "scmapp.py": "def one():\n    return 1\n",
            "tests/test_scmapp.py": "from scmapp import one\n\n\ndef test_one():\n"
            "    assert one() == 1\n",
        },
    )
    shutil.rmtree(repo / ".git")
    sandbox = LocalSandbox()
    try:
        outcome = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note == (
            "Dependencies: installed from `pyproject.toml` (1 package(s)). Its version comes "
            "from git (setuptools-scm) and the checkout has no tags: it was built as version "
            "0.0.0 (SETUPTOOLS_SCM_PRETEND_VERSION_FOR_SCM_APP)."
        )
        assert outcome.packages == ["scm_app-0.0.0"]
        assert (await baseline(sandbox, repo)).ok
    finally:
        await sandbox.close()


async def test_the_tox_environment_installs_with_its_extras_deps_and_files(
    tmp_path: Path,
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("alpha-lib", "beta-lib", "gamma-lib"):
        module = name.replace("-", "_")
        make_wheel(wheels, name, "1.0", module, f"NAME = {module!r}\n")
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": GROUPED_PYPROJECT.replace(
                "[dependency-groups]",
                "[project.optional-dependencies]\ntest = ['gamma-lib']\n\n[dependency-groups]",
            ),
            "tox.ini": "[testenv]\nextras = test\ndeps =\n    -r requirements/ci.txt\n"
            "    beta-lib\n    py27: nope-lib\ncommands = pytest\n",
            "requirements/ci.txt": "alpha-lib\n",
            "requirements.txt": "nope-lib\n",  # tox does not use it, so neither does Tandem
            "grouped.py": "import alpha_lib\nimport beta_lib\nimport gamma_lib\n",
            "tests/test_grouped.py": "import grouped\n\n\ndef test_it():\n"
            "    assert grouped.gamma_lib.NAME == 'gamma_lib'\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note == (
            "Dependencies: installed from `tox.ini` [testenv] (deps `requirements/ci.txt`, "
            "beta-lib; extras test) (4 package(s))."
        )
        assert (await baseline(sandbox, repo)).ok
    finally:
        await sandbox.close()


LOCK = """#
# This file is autogenerated by pip-compile with Python 3.8
# by the following command:
#
#    pip-compile requirements/test.in
#
alpha-lib==0.9
    # via -r requirements/test.in
"""


def test_a_pinned_file_that_does_not_resolve_is_loosened_to_its_source_or_left_out() -> None:
    from jobs.dependencies.install_plan import looks_pinned, loosen

    assert looks_pinned(LOCK) and looks_pinned("a==1\nb==2\nc==3\n# x\n-r other.txt\n")
    assert not looks_pinned("a==1\nb>=2\n") and not looks_pinned("a==1\n")
    files = {
        "pyproject.toml": PYPROJECT,
        "requirements/test.txt": LOCK,
        "requirements/test.in": "alpha-lib\n",
        "requirements-dev.txt": "a==1\nb==2\n",  # pinned, no .in: the project's extras do
        "requirements.txt": "attrs>=22\n",  # not pinned: kept
    }
    first = plan(files)
    loose = loosen(first, MemoryFiles(files))
    assert loose is not None
    assert [s.path for s in loose.sources] == [
        "pyproject.toml",
        "requirements.txt",
        "requirements/test.in",
    ]
    assert loose.notes() == [
        "The pinned `requirements-dev.txt` did not resolve here, so it was left out and the "
        "project's own declared dependencies used",
        "The pinned `requirements/test.txt` did not resolve here, so `requirements/test.in` (its "
        "loose source) was used instead",
    ]
    # Without a project and an .in file, nothing to fall back to; a refused .in is not used.
    alone = {"requirements.txt": "a==1\nb==2\n", "requirements.in": "--index-url http://x\n"}
    assert loosen(plan(alone), MemoryFiles(alone)) is None
    assert loosen(plan({"requirements.txt": "attrs\n"}), MemoryFiles({})) is None
    # tox's -r files too
    tox = {**files, "tox.ini": "[testenv]\ndeps = -r requirements/test.txt\n"}
    loose_tox = loosen(plan(tox), MemoryFiles(tox))
    assert loose_tox is not None
    assert loose_tox.sources[0].files == (("-r", "requirements/test.in"),)


async def test_a_lock_for_another_python_falls_back_to_its_loose_source(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "alpha-lib", "1.0", "alpha_lib", "NAME = 'alpha'\n")
    repo = make_repo(
        tmp_path / "repo",
        {
            "requirements/test.txt": LOCK,  # alpha-lib 0.9 is not to be had here
            "requirements/test.in": "alpha-lib\n",
            "tests/test_alpha.py": "import alpha_lib\n\n\ndef test_alpha():\n"
            "    assert alpha_lib.NAME == 'alpha'\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note == (
            "Dependencies: installed from `requirements/test.in` (1 package(s)). The pinned "
            "`requirements/test.txt` did not resolve here, so `requirements/test.in` (its loose "
            "source) was used instead (ERROR: No matching distribution found for "
            "alpha-lib==0.9)."
        )
        assert (await baseline(sandbox, repo)).ok
    finally:
        await sandbox.close()


def test_requirements_beside_the_project_are_dropped_when_the_install_fails() -> None:
    files = {"pyproject.toml": PYPROJECT, "requirements.txt": "blist\n", "dev.txt": "x\n"}
    first = plan(files)
    assert [s.kind for s in first.sources] == ["project", "requirements"]
    alone = project_alone(first, "ERROR: Failed to build 'blist'")
    assert alone is not None
    assert [s.kind for s in alone.sources] == ["project"]
    assert alone.notes() == [
        "`requirements.txt` did not install here (ERROR: Failed to build 'blist'), so the "
        "project was installed with its own declared dependencies alone"
    ]
    assert project_alone(alone, "again") is None  # nothing left to drop
    assert project_alone(plan({"requirements.txt": "blist\n"}), "no project") is None


async def test_a_requirements_file_that_does_not_build_gives_way_to_the_project(
    tmp_path: Path,
) -> None:
    """A root requirements.txt with a package that does not build here (as sortedcontainers'
    names blist, a C extension for old Pythons): the project installs alone, and its tests run
    with what it declares."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "alpha-lib", "1.0", "alpha_lib", "NAME = 'alpha'\n")
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": HELPER_PYPROJECT.replace('"helperlib"', '"app"').replace(
                'version = "1.0"', 'version = "1.0"\ndependencies = ["alpha-lib"]'
            )
            + "\n[tool.setuptools]\npy-modules = ['app']\n",
            "app.py": "import alpha_lib\n",
            "requirements.txt": "./vendor/broken\n",
            "vendor/broken/setup.py": "raise SystemExit('this does not build here')\n",
            "tests/test_alpha.py": "import app\n\n\ndef test_alpha():\n"
            "    assert app.alpha_lib.NAME == 'alpha'\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note is not None
        assert outcome.note.startswith("Dependencies: installed from `pyproject.toml`"), (
            outcome.note
        )
        assert "`requirements.txt` did not install here (" in outcome.note
        assert "so the project was installed with its own declared dependencies alone" in (
            outcome.note
        )
        assert (await baseline(sandbox, repo)).ok
    finally:
        await sandbox.close()


async def test_produce_tests_installs_before_the_baseline_and_says_so(tmp_path: Path) -> None:
    repo = helper_repo(tmp_path / "repo")
    repo_config = RepoConfig.model_validate({"test_generation": {"engine": "pynguin"}})
    settings = Settings.model_validate(
        {"llm_model": None, "sandbox": "local", "sandbox_install_network": "none"}
    )
    sandbox = LocalSandbox()
    said: list[str] = []
    try:
        production = await produce_tests(
            sandbox, repo, {"app.py": {4, 5}}, repo_config, settings, progress=said.append
        )
    finally:
        await sandbox.close()
    assert said == [
        "installing the repository's dependencies",
        "measuring what the existing tests cover",
        # every changed line runs: their mutants run before any engine, and all die
        "every changed line runs already: running their mutants against the existing tests",
    ]
    assert production.baseline == "Existing tests: 1 passed."
    assert production.nothing_to_do is not None
    assert production.nothing_to_do.startswith(
        "Every changed statement is covered by the existing tests already. They kill "
    )
    assert "Dependencies: installed from `requirements.txt` (1 package(s))." in production.notes
    assert production.timings["dependencies"] > 0


# --- the Docker sandbox (engine and image: tests/conftest.py) --------------------------------


@pytest.fixture
def docker_config(sandbox_image: str) -> DockerConfig:
    return DockerConfig(image=sandbox_image, cpus=1.0, memory_mb=512, pids=128, tmp_mb=64)


def run_containers(engine: Any, key: str) -> list[Any]:
    return engine.containers.list(all=True, filters={"label": f"{LABEL_RUN}={key}"})


async def test_docker_install_runs_offline_in_the_part_container(
    engine: Any,
    docker_config: DockerConfig,
    tmp_path: Path,
) -> None:
    repo = helper_repo(tmp_path / "repo")
    sandbox = DockerSandbox(docker_config, run_key="test-deps-none", mount=repo)
    try:
        without = await baseline(sandbox, repo)
        assert not without.ok and "No module named 'helperlib'" in without.output
        outcome = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert outcome.status == "installed", (outcome.note, outcome.output)
        with_deps = await baseline(sandbox, repo)
        assert with_deps.ok and with_deps.executed["app.py"] == {1, 4, 5}, with_deps.output
        # PATH finds the environment first; the engines (with every tool in sight) too.
        tools = await sandbox.run(
            ["env", workdir.ALL_TOOLS, "python", "-c", "import pynguin, helperlib; print('ok')"],
            cwd=repo,
            timeout_s=60,
        )
        assert tools.output.strip() == "ok", tools.output
        # The tests see the measuring tools and the project's own, not the engines.
        tools = await sandbox.run(
            [
                "python",
                "-c",
                "import pytest, coverage, helperlib, importlib.util as u; "
                "print('ok' if u.find_spec('pynguin') is None else 'pynguin is in sight')",
            ],
            cwd=repo,
            timeout_s=60,
        )
        assert tools.output.strip() == "ok", tools.output
        assert len(run_containers(engine, "test-deps-none")) == 1
    finally:
        await sandbox.close()
    assert await new_test_files(repo, PYTHON.tests_among) == []


async def test_docker_install_on_a_network_uses_its_own_container(
    engine: Any,
    docker_config: DockerConfig,
    tmp_path: Path,
) -> None:
    """pip runs in a short-lived container on the install network; the part's container never
    gets one. (Containers on this machine's bridge cannot reach the internet, so pip still
    installs from the repository here.)"""
    repo = helper_repo(tmp_path / "repo")
    sandbox = DockerSandbox(docker_config, run_key="test-deps-bridge", mount=repo)
    try:
        await sandbox.run(["true"], cwd=repo, timeout_s=30)
        async with sandbox.networked("bridge") as installer:
            assert installer is not sandbox
            nets = await installer.run(["ls", "/sys/class/net"], cwd=repo, timeout_s=30)
            assert "eth0" in nets.output.split(), nets.output
            assert len(run_containers(engine, "test-deps-bridge")) == 2
        assert len(run_containers(engine, "test-deps-bridge")) == 1  # the installer is gone

        outcome = await install_dependencies(
            sandbox,
            repo,
            timeout_s=180,
            network="bridge",
            extra_pip_args=["--no-index", "--no-build-isolation"],
        )
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert (await baseline(sandbox, repo)).ok
        nets = await sandbox.run(["ls", "/sys/class/net"], cwd=repo, timeout_s=30)
        assert nets.output.split() == ["lo"]
        host_config = engine.api.inspect_container(sandbox.container_id)["HostConfig"]
        assert host_config["NetworkMode"] == "none"
        assert len(run_containers(engine, "test-deps-bridge")) == 1
    finally:
        await sandbox.close()
    assert run_containers(engine, "test-deps-bridge") == []


async def test_docker_install_on_a_missing_network_is_a_note(
    engine: Any,
    docker_config: DockerConfig,
    tmp_path: Path,
) -> None:
    repo = helper_repo(tmp_path / "repo")
    sandbox = DockerSandbox(docker_config, run_key="test-deps-missing", mount=repo)
    try:
        outcome = await install_dependencies(
            sandbox, repo, timeout_s=60, network="tandem-no-such-network"
        )
        assert outcome.status == "failed"
        assert outcome.note is not None and outcome.note.startswith(
            "Dependencies: not installed (NotFound"
        ), outcome.note
        assert sandbox.python == "python"
    finally:
        await sandbox.close()
    assert run_containers(engine, "test-deps-missing") == []


async def test_the_agents_local_terminal_imports_the_installed_dependencies(
    tmp_path: Path,
) -> None:
    """Through the real agent loop: after the install, `python` in the agent's terminal is
    the environment's (the local sandbox's shell), as in the validation runs."""
    from jobs.agent import AgentLimits, LLMSettings
    from jobs.testgen import agent_conversation
    from tests.llmserver import ScriptedLLM, finish, terminal

    repo = helper_repo(tmp_path / "repo")
    sandbox = LocalSandbox()
    try:
        outcome = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert outcome.status == "installed", outcome.note
        command = "python -c 'import helperlib; print(\"tripled\", helperlib.triple(5))'"
        async with ScriptedLLM([terminal(command), finish("done")]) as llm:
            result = await agent_conversation(
                repo,
                "Check that helperlib imports.",
                LLMSettings(model="openai/scripted", base_url=llm.url, api_key="sk-test"),
                AgentLimits(max_iterations=5, wall_time_s=120),
                sandbox=sandbox,
            )
            tool_messages = [
                str(m.get("content"))
                for body in llm.requests
                for m in body["messages"]
                if m.get("role") == "tool"
            ]
    finally:
        await sandbox.close()
    assert result.status == "finished", result
    assert any("tripled 15" in text for text in tool_messages), tool_messages


def test_the_measuring_tools_among_installed_packages() -> None:
    from jobs.dependencies.install import measuring_tools_among

    installed = ["py-1.4.12", "Coverage-3.7.1", "pytest_mock-3.0", "pytest-7.0", "numpy-2.0"]
    assert measuring_tools_among(installed) == ["py-1.4.12", "Coverage-3.7.1", "pytest-7.0"]


@pytest.mark.slow
async def test_a_pinned_measuring_tool_that_does_not_import_gives_way_to_the_sandboxs(
    tmp_path: Path,
) -> None:
    """An old project pins py 1.4.12 (jmespath's requirements.txt does): modern pytest then
    dies importing it. The pin leaves the project's environment; the rest of it stays."""
    repo = helper_repo(tmp_path / "repo", "./vendor/helperlib\npy==1.4.12\n")
    before_packages = worker_site_packages()
    sandbox = LocalSandbox()
    outcome = await install_dependencies(sandbox, repo, timeout_s=300)
    assert outcome.status == "installed", outcome.note
    assert outcome.note is not None and "its pins of py-1.4.12 did not import" in outcome.note
    assert outcome.packages == ["helperlib-1.0"]
    with_deps = await baseline(sandbox, repo)
    assert with_deps.ok and with_deps.passed == 1, with_deps.output
    assert worker_site_packages() == before_packages
