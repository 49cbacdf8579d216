"""What a project's own pytest configuration needs installed (pure: file texts in,
requirements out), by :func:`pytest_needs`.

The baseline runs pytest with the project's configuration, as its CI does, and some of its
options need more than the project's declared test dependencies hold:

- ``addopts`` with pytest-cov's options (``--cov``, ``--cov-report``, ...): without pytest-cov
  pytest stops with exit 4, "unrecognized arguments" (a CI installs it, often from a place
  Tandem does not read, such as a workflow step); the baseline then runs with ``--no-cov``;
- ``required_plugins``: pytest refuses to start without them;
- ``minversion``: pytest refuses to start when it is older (the sandbox's pytest may be);
- pytest 9's own TOML configuration (``[tool.pytest]`` in ``pyproject.toml`` or a
  ``pytest.toml``): pytest 8 ignores it without a word, so the project's ``testpaths``,
  ``addopts`` and ``filterwarnings`` would not apply. It needs pytest 9.

The file is the one pytest itself would use at the repository root (its order,
:data:`CONFIGS`). The requirements go into the same ``pip install`` as the project's own
dependencies (one resolution with the project's own constraints on pytest), so a project's
pin always wins. Plugins named by ``-p`` are left alone: a module name does not say which
distribution provides it.
"""

from __future__ import annotations

import configparser
import shlex
import tomllib
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from jobs.dependencies.policy import RepoFiles, direct_reference, read_noting

# pytest's order for the configuration files of one directory, and the section that makes each
# count (pytest.ini and pytest.toml count even without one).
CONFIGS = (
    ("pytest.toml", "[pytest]"),
    (".pytest.toml", "[pytest]"),
    ("pytest.ini", "[pytest]"),
    (".pytest.ini", "[pytest]"),
    ("pyproject.toml", "[tool.pytest]"),
    ("tox.ini", "[pytest]"),
    ("setup.cfg", "[tool:pytest]"),
)
NATIVE_TOML = "pytest>=9"  # the first pytest that reads its configuration from TOML tables
COVERAGE_PLUGIN = "pytest-cov"


@dataclass(frozen=True)
class PytestConfig:
    path: str  # "setup.cfg"
    section: str  # "[tool:pytest]", "[tool.pytest.ini_options]"
    addopts: tuple[str, ...] = ()
    required_plugins: tuple[str, ...] = ()
    minversion: str | None = None
    native: bool = False  # pytest 9's TOML configuration, which pytest 8 ignores


@dataclass(frozen=True)
class PytestNeeds:
    config: PytestConfig
    requirements: tuple[str, ...]  # for pip, names normalised
    why: tuple[str, ...]  # a short reason per requirement, for the install summary


def read_pytest_config(files: RepoFiles, refused: list[str]) -> PytestConfig | None:
    """The configuration pytest would read at the repository root, or None without one.
    What cannot be read goes to ``refused``, a line each."""
    for path, section in CONFIGS:
        text = read_noting(files, path, refused)
        if text is None:
            continue
        if path.endswith(".toml"):
            found = _from_toml(text, path, refused)
        else:
            found = _from_ini(text, path, section, refused)
        if found is not None:
            return found
    return None


def pytest_needs(files: RepoFiles, refused: list[str]) -> PytestNeeds | None:
    """What the project's pytest configuration needs besides the project's own dependencies,
    or None when it needs nothing."""
    config = read_pytest_config(files, refused)
    if config is None:
        return None
    where = f"`{config.path}` {config.section}"
    requirements: list[str] = []
    why: list[str] = []
    if config.native:
        requirements.append(NATIVE_TOML)
        why.append("pytest 9 for its TOML configuration")
    if config.minversion is not None:
        try:
            Version(config.minversion)
        except InvalidVersion:
            refused.append(f"{where} minversion {config.minversion[:50]!r}: not a version")
        else:
            requirements.append(f"pytest>={config.minversion}")
            why.append(f"its minversion {config.minversion}")
    if any(opt == "--cov" or opt.startswith(("--cov=", "--cov-")) for opt in config.addopts):
        requirements.append(COVERAGE_PLUGIN)
        why.append("pytest-cov for its --cov options")
    for text in config.required_plugins:
        problem = direct_reference(text)
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            problem = "not a requirement"
        if problem:
            refused.append(f"{where} required_plugins {text[:100]!r}: {problem}")
            continue
        requirement.name = canonicalize_name(requirement.name)
        requirements.append(str(requirement))
        why.append(f"{requirement.name} (required_plugins)")
    if not requirements:
        return None
    return PytestNeeds(config, tuple(requirements), tuple(why))


def _from_ini(text: str, path: str, section: str, refused: list[str]) -> PytestConfig | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as e:
        if path.startswith(("pytest", ".pytest")):  # pytest would stop on it too
            refused.append(f"`{path}`: cannot be read ({str(e).splitlines()[0][:200]})")
        return None
    name = section.strip("[]")
    if not parser.has_section(name):
        # pytest.ini is the configuration even without its section (pytest then has none)
        return PytestConfig(path, section) if path.startswith(("pytest", ".pytest")) else None
    options = parser[name]
    return PytestConfig(
        path,
        section,
        _split(options.get("addopts", ""), path, refused),
        _split(options.get("required_plugins", ""), path, refused),
        options.get("minversion", "").strip() or None,
    )


def _from_toml(text: str, path: str, refused: list[str]) -> PytestConfig | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        if path != "pyproject.toml":  # the project planner says so for pyproject.toml
            refused.append(f"`{path}`: not valid TOML ({e})")
        return None
    if path == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("pytest") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            return None
        legacy = table.get("ini_options")
        if isinstance(legacy, dict) and len(table) == 1:
            return _from_table(legacy, path, "[tool.pytest.ini_options]", False, refused)
        return _from_table(table, path, "[tool.pytest]", True, refused)
    table = data.get("pytest")
    return _from_table(table if isinstance(table, dict) else {}, path, "[pytest]", True, refused)


def _from_table(
    table: dict[str, object], path: str, section: str, native: bool, refused: list[str]
) -> PytestConfig:
    def words(key: str) -> tuple[str, ...]:
        value = table.get(key)
        if isinstance(value, str):
            return _split(value, path, refused)
        if isinstance(value, list):
            return tuple(v for v in value if isinstance(v, str))
        return ()

    minversion = table.get("minversion")
    return PytestConfig(
        path,
        section,
        words("addopts"),
        words("required_plugins"),
        str(minversion).strip() if isinstance(minversion, str | int | float) else None,
        native,
    )


def _split(value: str, path: str, refused: list[str]) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(value))
    except ValueError as e:
        refused.append(f"`{path}`: {value[:100]!r} cannot be split as pytest would ({e})")
        return ()
