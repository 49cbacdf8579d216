"""The project's own test command, read from its tox env or nox session (pure: plain data).

A project whose tox env runs ``pytest --doctest-modules src tests`` counts the doctests of its
package; its pytest configuration files do not say so. The baseline takes the command's options
that decide which tests run and how, and its paths where Tandem names none; it leaves out, with
a line each, what Tandem's own measuring must own (pytest-cov, xdist, JUnit XML, -x, output)."""

from __future__ import annotations

import shlex

from core.repo_config import Dependencies
from jobs.dependencies import MemoryFiles
from jobs.dependencies.install_plan import plan_install
from jobs.dependencies.noxfile import read_nox
from jobs.dependencies.owncommand import own_command
from jobs.dependencies.testcommand import from_commands, pytest_parts, runner_args, tox_words
from jobs.dependencies.tox import read_tox
from jobs.languages.python.unittest_runner import own_unittest, pytest_arguments


def test_each_form_that_runs_pytest_gives_its_arguments() -> None:
    forms = {
        "pytest -x tests": ["-x", "tests"],
        "py.test tests": ["tests"],
        "{envbindir}/pytest tests": ["tests"],
        "python -m pytest -p xdist tests": ["-p", "xdist", "tests"],
        "{envpython} -m pytest tests": ["tests"],
        "coverage run --source=pkg -m pytest tests": ["tests"],
        "python -m coverage run -p -m pytest tests": ["tests"],
        "python3.12 -bb -m pytest -m 'not slow'": ["-m", "not slow"],
        "poetry run pytest tests": ["tests"],
        "CI=1 pytest tests": ["tests"],
        "- pytest tests": ["tests"],
    }
    for line, expected in forms.items():
        words, notes = tox_words(line)
        assert notes == []
        assert runner_args(words, "pytest") == expected, line
    for other in ("pip install pytest", "python -m pip install pytest", "coverage report"):
        assert runner_args(tox_words(other)[0], "pytest") is None, other


def test_tox_substitutions_resolve_as_without_arguments() -> None:
    assert tox_words("pytest {posargs}")[0] == ["pytest"]
    assert tox_words("pytest {posargs:tests -k fast}")[0] == ["pytest", "tests", "-k", "fast"]
    words = tox_words("pytest {tox_root}{/}tests {env:WHERE:src}")[0]
    assert words == ["pytest", "{toxinidir}/tests", "src"]  # the root: placed as a path
    assert pytest_parts(words[1:]) == ([], ["tests", "src"], [])
    assert tox_words("pytest 'unclosed") == (
        [],
        ['"pytest \'unclosed" cannot be split (No closing quotation)'],
    )


def test_the_options_that_decide_the_run_are_kept_the_rest_named() -> None:
    command = (
        "--doctest-modules --doctest-glob=*.rst -p no:cacheprovider -pxdist -m slow -k fast "
        "--ignore tests/big --ignore-glob=*_x.py --deselect tests/a.py::b -o xfail_strict=true "
        "--import-mode=importlib -W error --strict-markers --rootdir . -c tox.ini "
        "--cov --cov=pkg --cov pkg --cov-report term-missing --cov-append -n auto --dist=load "
        "--junitxml=out.xml -x --maxfail 3 --lf -v -q -rA -r a --tb=short -vx --benchmark-skip "
        "--basetemp={envtmpdir} src tests"
    )
    kept, paths, dropped = pytest_parts(shlex.split(command))
    assert kept == [
        "--doctest-modules", "--doctest-glob=*.rst", "-p", "no:cacheprovider", "-pxdist",
        "-m", "slow", "-k", "fast", "--ignore", "tests/big", "--ignore-glob=*_x.py",
        "--deselect", "tests/a.py::b", "-o", "xfail_strict=true", "--import-mode=importlib",
        "-W", "error", "--strict-markers", "--rootdir", ".", "-c", "tox.ini",
    ]  # fmt: skip
    assert paths == ["src", "tests"]
    assert dropped == [
        "--cov (coverage is Tandem's)", "--cov=pkg (coverage is Tandem's)",
        "--cov pkg (coverage is Tandem's)", "--cov-report term-missing (coverage is Tandem's)",
        "--cov-append (coverage is Tandem's)", "-n auto (Tandem's coverage follows one process)",
        "--dist=load (Tandem's coverage follows one process)",
        "--junitxml=out.xml (Tandem writes its own)", "-x (the baseline runs every test)",
        "--maxfail 3 (the baseline runs every test)", "--lf (the baseline runs every test)",
        "-v (output only)", "-q (output only)", "-rA (output only)", "-r a (output only)",
        "--tb=short (output only)", "-vx (output only)",
        "--benchmark-skip (an option Tandem does not know)",
        "'--basetemp={envtmpdir}' (Tandem's temporary folder)",
    ]  # fmt: skip


def test_an_unresolved_substitution_is_left_out_and_named() -> None:
    kept, paths, dropped = pytest_parts(["-p", "{[base]plugin}", "{toxworkdir}/t", "tests"])
    assert kept == [] and paths == ["tests"]
    assert dropped == [
        "-p '{[base]plugin}' ({[base]plugin} is not resolved)",
        "{toxworkdir}/t ({toxworkdir} is not resolved)",
    ]


TOX_COMMANDS_ONLY = """
[tox]
envlist = py3{11,12}
[testenv]
commands =
    py311: pytest tests
    py312: coverage run -m pytest --doctest-modules \\
        -n auto src tests
    coverage report
"""

PYPROJECT = (
    '[project]\nname = "pkg"\nversion = "1"\n[project.optional-dependencies]\ntest = ["x"]\n'
)


def test_an_env_with_commands_alone_is_read_and_leaves_the_install_plan_alone() -> None:
    files = MemoryFiles({"tox.ini": TOX_COMMANDS_ONLY, "pyproject.toml": PYPROJECT})
    env = read_tox(files, [], (3, 12))
    assert env is not None and not env.installs
    # the factor rule of the deps applies to the commands; a continued line is one command
    assert env.commands == (
        "coverage run -m pytest --doctest-modules  -n auto src tests",
        "coverage report",
    )
    without = plan_install(MemoryFiles({"pyproject.toml": PYPROJECT}), Dependencies())
    plan = plan_install(files, Dependencies(), python=(3, 12))
    assert plan.sources == without.sources and plan.refused == without.refused
    assert [s.describe() for s in plan.sources] == ["`pyproject.toml` (extras test)"]
    assert plan.runs == (
        "pytest options from `tox.ini` [testenv] commands: --doctest-modules src tests "
        "(left out: -n auto (Tandem's coverage follows one process))",
    )
    plain = MemoryFiles({"tox.ini": "[testenv]\ncommands = pytest\n"})
    assert plan_install(plain, Dependencies()).runs == ()  # nothing to say
    on_311 = own_command(files, (3, 11))
    assert on_311 is not None and on_311.args == () and on_311.paths == ("tests",)


def test_toml_commands_and_changedir() -> None:
    toml = (
        "[env_run_base]\n"
        'commands = [["pytest", "--doctest-modules", {replace = "posargs", default = ["src"]},'
        ' {replace = "ref", of = ["x"]}]]\n'
    )
    command = own_command(MemoryFiles({"tox.toml": toml}))
    assert command is not None and command.source == "`tox.toml` env_run_base commands"
    assert (command.args, command.paths) == (("--doctest-modules",), ("src",))
    assert command.dropped == ("{ref} ({ref} is not resolved)",)
    # a changedir moves the relative paths, not those from the root; the installed copy in
    # site-packages is not the checkout
    moved = (
        "[testenv]\nchangedir = {toxinidir}/docs\ncommands = pytest --doctest-modules "
        "--ignore=old -c ../setup.cfg {env_site_packages_dir}/pkg {tox_root}{/}tests . ../x\n"
    )
    elsewhere = own_command(MemoryFiles({"tox.ini": moved}))
    assert elsewhere is not None
    assert elsewhere.args == ("--doctest-modules", "--ignore=docs/old", "-c", "setup.cfg")
    assert elsewhere.paths == ("tests", "docs", "x")
    # how its tests collect (every run) apart from which run (the baseline's alone)
    assert (elsewhere.how, elsewhere.which) == (("-c", "setup.cfg"), elsewhere.args[:2])
    assert elsewhere.dropped == (
        "{env_site_packages_dir}/pkg ({env_site_packages_dir} is not resolved)",
    )
    nested = "[testenv]\ncommands = pytest {posargs:--cov-config={toxinidir}/tox.ini -p no:x t}"
    defaults = own_command(MemoryFiles({"tox.ini": nested}))
    assert defaults is not None and (defaults.args, defaults.paths) == (("-p", "no:x"), ("t",))


def test_one_pytest_command_counts_and_its_options_precede_given_paths() -> None:
    command = from_commands(["pytest -k a -p no:x tests", "pytest --doctest-modules src"], "t")
    assert command is not None and command.dropped[-1].startswith("its other pytest commands")
    # `-p no:x` decides how the tests run: every run takes it, through the launchers
    assert pytest_arguments(command, []) == ["-k", "a", "tests"]
    assert pytest_arguments(command, ["tests/test_a.py"]) == ["-k", "a", "tests/test_a.py"]
    assert pytest_arguments(None, ["t"]) == ["t"]


def test_the_command_that_runs_the_suite_counts_not_the_doctests_run_before_it() -> None:
    """A tox env that runs its documents' doctests, then the installed package's, then the
    suite (with no path: pytest's testpaths): the baseline runs the suite."""
    lines = [
        "pytest README.rst docs/usage.md",
        "pytest --doctest-modules {envsitepackagesdir}/pkg",
        "pytest -p no:cacheprovider --cov {envsitepackagesdir}/pkg {posargs:}",
    ]
    command = from_commands(lines, "t")
    assert command is not None
    assert (command.args, command.paths) == (("-p", "no:cacheprovider"), ())
    assert command.dropped[-1].startswith("its other pytest commands")
    # documents alone, or only paths where tox installs the package: the first one counts
    only = from_commands(lines[:2], "t")
    assert only is not None and only.paths == ("README.rst", "docs/usage.md")


NOXFILE = """
import nox

SOURCES = ["src"]


@nox.session(python=["3.11", "3.12"])
def lint(session):
    session.run("ruff", "check")


@nox.session(name="tests")
def run_tests(s):
    s.install("-e", ".[test]")
    if True:
        s.run("coverage", "run", "-m", "pytest", "--doctest-modules", *SOURCES, "tests", *s.posargs)
    s.run("coverage", "report")
"""


def test_nox_sessions_are_read_with_ast_and_never_run() -> None:
    refused: list[str] = []
    sessions = read_nox(NOXFILE, refused)
    assert refused == [] and [s.name for s in sessions] == ["lint", "tests"]
    assert sessions[1].commands == [
        ["coverage", "run", "-m", "pytest", "--doctest-modules", "tests"],
        ["coverage", "report"],
    ]
    command = own_command(MemoryFiles({"noxfile.py": NOXFILE}))
    assert command is not None and command.source == "`noxfile.py` session `tests`"
    assert (command.args, command.paths) == (("--doctest-modules",), ("tests",))
    assert command.dropped == ("`noxfile.py` session `tests` line 16: *SOURCES (not a literal)",)
    # a tox env that runs the tests comes first
    tox = "[testenv]\ncommands = pytest -p no:x\n"
    first = own_command(MemoryFiles({"noxfile.py": NOXFILE, "tox.ini": tox}))
    assert first is not None and first.source.startswith("`tox.ini`")


def test_the_nox_session_that_runs_the_tests_installs_its_environment() -> None:
    pyproject = (
        '[project]\nname = "pkg"\nversion = "1"\n'
        '[project.optional-dependencies]\ntest = ["pytest"]\ndev = ["black"]\n'
        '[dependency-groups]\ntyping = ["mypy"]\n'
    )
    nox = NOXFILE.replace(
        's.install("-e", ".[test]")',
        's.install("-e", ".[test]")\n'
        '    s.install("-r", "requirements/ci.txt", "hypothesis", EXTRA)\n'
        '    s.install(*nox.project.dependency_groups(PYPROJECT, "typing"))',
    )
    files = {"noxfile.py": nox, "pyproject.toml": pyproject, "requirements/ci.txt": "attrs\n",
             "requirements-dev.txt": "docs-only\n"}  # fmt: skip
    # CI does not run nox: the noxfile is a developer's tool, its installs are not read
    usual = "`pyproject.toml` (extras test, dev) and `requirements-dev.txt`"
    assert plan_install(MemoryFiles(files), Dependencies()).describe() == usual
    ci = "jobs:\n  t:\n    steps:\n      - run: pip install nox\n      - run: nox -s {}\n"
    files[".github/workflows/ci.yml"] = ci.format("lint tests-3.12")
    plan = plan_install(MemoryFiles(files), Dependencies())
    # the session's installs alone: not the dev extra, not requirements-dev.txt
    assert plan.describe() == (
        "`noxfile.py` session `tests` (deps `requirements/ci.txt`, hypothesis, mypy; "
        "extras test; groups typing)"
    )
    (source,) = plan.sources[:1]
    assert source.kind == "nox" and source.declared and source.editable
    assert source.pip_args() == [
        "-e", ".[test]", "-r", "./requirements/ci.txt", "hypothesis", "mypy"
    ]  # fmt: skip
    assert "`noxfile.py` session `tests` line 15: EXTRA (not a literal)" in plan.refused
    # a session that installs nothing leaves the usual plan; the lint session's installs are
    # not the tests'
    bare = NOXFILE.replace('s.install("-e", ".[test]")', "pass").replace(
        'session.run("ruff", "check")', 'session.install("ruff")\n    session.run("ruff")'
    )
    plan = plan_install(MemoryFiles({**files, "noxfile.py": bare}), Dependencies())
    assert plan.describe() == usual
    # the session CI runs is the one read, though another runs pytest first
    tested = NOXFILE.replace('session.run("ruff", "check")', 'session.run("pytest", "-x")')
    files["noxfile.py"] = tested
    first = own_command(MemoryFiles(files))
    assert first is not None and first.source == "`noxfile.py` session `lint`"
    files[".github/workflows/ci.yml"] = ci.format("tests").replace("nox -s", "pipx run nox -s")
    command = own_command(MemoryFiles(files))
    assert command is not None and command.source == "`noxfile.py` session `tests`"
    # where the sessions CI runs do not run the tests, the first that does is still read
    files[".github/workflows/ci.yml"] = ci.format("release")
    command = own_command(MemoryFiles(files))
    assert command is not None and command.source == "`noxfile.py` session `lint`"


def test_unittest_from_nox_feeds_own_unittest() -> None:
    nox = (
        "import nox\n\n@nox.session\ndef tests(session):\n"
        '    session.run("python", "-m", "unittest", "discover", "-s", "tests")\n'
    )
    assert own_unittest(MemoryFiles({"noxfile.py": nox})) == ["discover", "-s", "tests"]


def test_bad_input_is_a_note_never_a_crash() -> None:
    refused: list[str] = []
    assert read_nox("def broken(:\n", refused) == []
    assert refused[0].startswith("`noxfile.py`: cannot be parsed")
    assert read_nox("x = " + "(" * 100_000 + ")" * 100_000, refused) == []
    plan = plan_install(MemoryFiles({"noxfile.py": "def broken(:\n"}), Dependencies())
    assert plan.refused[0].startswith("`noxfile.py`: cannot be parsed")
    quoted = own_command(MemoryFiles({"tox.ini": "[testenv]\ncommands = pytest 'x\n"}))
    assert quoted is None  # nothing read runs pytest
    garbage = own_command(MemoryFiles({"tox.ini": "[testenv\ncommands"}))
    assert garbage is None
    for words in (["pytest", "-p"], ["pytest", "--"], ["pytest", "-"]):
        assert pytest_parts(words[1:]) is not None


def test_the_options_that_decide_how_are_apart_from_those_that_choose_which_tests() -> None:
    line = (
        "pytest -pxdist --doctest-modules -m 'not slow' -W error::UserWarning "
        "--import-mode=importlib -o xfail_strict=true -k fast --strict-markers --ignore x tests"
    )
    command = from_commands([line], "`tox.ini` [testenv] commands")
    assert command is not None
    assert command.how == (
        "-pxdist", "-W", "error::UserWarning", "--import-mode=importlib", "-o",
        "xfail_strict=true", "--strict-markers",
    )  # fmt: skip
    assert command.which == ("--doctest-modules", "-m", "not slow", "-k", "fast", "--ignore", "x")
    unittest = from_commands(["python -m unittest discover -p 'test_*.py'"], "tox")
    assert unittest is not None and unittest.how == unittest.which == ()


def test_the_interpreters_warning_filters_become_pytests() -> None:
    """`python -W error -m pytest` fails a warning as `pytest -W error` does; unittest's
    arguments stay its own."""
    strict = from_commands(["python -X dev -W error -bb -Wignore::ImportWarning -m pytest t"], "t")
    assert strict is not None and strict.how == ("-W", "error", "-W", "ignore::ImportWarning")
    assert strict.paths == ("t",)
    plain = from_commands(["python -W error -m unittest discover"], "t")
    assert plain is not None and plain.args == ("discover",)
    measured = from_commands(["python -m coverage run -W x -m pytest"], "t")
    assert measured is not None and measured.how == ()
