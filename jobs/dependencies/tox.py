"""The test environment a project's tox configuration declares (pure: file texts in, data out).

tox says exactly how a project's suite runs, so where its base test environment
(``[testenv]`` in ``tox.ini``, ``[tool.tox] legacy_tox_ini`` or ``env_run_base`` in
``pyproject.toml``, ``env_run_base`` in ``tox.toml``) names ``deps`` or ``extras``, that is the
environment Tandem installs: the project with those extras (unless ``skip_install`` or
``package = skip``) and those deps. Only what holds for every environment is used: a dep that
depends on a factor (``py38: mock``), or uses a substitution other than ``{toxinidir}`` (tox
4's ``{tox_root}``) and ``{/}``, is left out with one line saying why, and so is anything that
is not a plain requirement or a ``-r`` / ``-c`` file. The PR's author writes this file: nothing
here is run, and the requirements files it names go through the same policy as any other
(:mod:`jobs.dependencies.policy`).
"""

from __future__ import annotations

import configparser
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, replace

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from jobs.dependencies.policy import RepoFiles, direct_reference, read_noting, repo_path
from jobs.dependencies.toxfactors import (
    Python,
    fullest,
    holds,
    marker_holds,
    python_envs,
    split_condition,
)

_EXTRA = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_FILE_OPTION = re.compile(r"^(-r|-c|--requirement|--constraint)(?:=|\s*)(\S+)$")
# The project itself as a dep ("-e .[test]", ".", "{toxinidir}"): it is installed anyway
_THE_PROJECT = re.compile(r"^(?:(?:-e|--editable)(?:=|\s*))?\.(?:\[([^\]]*)\])?$")


@dataclass(frozen=True)
class ToxEnv:
    path: str  # "tox.ini", "pyproject.toml", "tox.toml"
    section: str  # "[testenv]", "[tool.tox] env_run_base", ...
    requirements: tuple[str, ...] = ()  # plain requirements, names normalised
    files: tuple[tuple[str, str], ...] = ()  # ("-r" or "-c", repository path)
    extras: tuple[str, ...] = ()
    install_project: bool = True
    groups: tuple[str, ...] = ()  # tox's `dependency_groups`: pyproject.toml's PEP 735 groups
    # The env's commands, one line each (a TOML command's words joined as a shell would read
    # them), the factor conditions applied: how the suite runs (jobs.dependencies.owncommand).
    commands: tuple[str, ...] = ()
    changedir: str | None = None  # where tox runs them, when not the project's root

    @property
    def installs(self) -> bool:
        """Whether the env names anything to install: only then is it the install plan (an
        env with commands alone leaves the plan to the project's own files, as without tox)."""
        return bool(self.requirements or self.files or self.extras or self.groups)


# The Python a plan is made for when none is given: the one Tandem's tools run on.
TOOLS_PYTHON: Python = (sys.version_info[0], sys.version_info[1])


@dataclass(frozen=True)
class _Where:
    """Where the environment is read and for which Python, and where refusals go."""

    path: str
    section: str
    refused: list[str]
    python: Python
    factors: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return f"`{self.path}` {self.section}"


def read_tox(files: RepoFiles, refused: list[str], python: Python = TOOLS_PYTHON) -> ToxEnv | None:
    """The base test environment of the first tox configuration found (tox's own order:
    ``tox.ini``, then ``pyproject.toml``, then ``tox.toml``), as tox makes it for ``python``,
    or None when there is none that names deps, extras or commands (:attr:`ToxEnv.installs`
    says whether it names anything to install). What cannot be used goes to ``refused``, a line
    each."""
    ini = read_noting(files, "tox.ini", refused)
    if ini is not None:
        return _from_ini(ini, _Where("tox.ini", "[testenv]", refused, python))
    pyproject = read_noting(files, "pyproject.toml", refused)
    if pyproject is not None:
        try:
            tool = tomllib.loads(pyproject).get("tool")
        except tomllib.TOMLDecodeError:
            tool = None  # the project planner says so
        tox = tool.get("tox") if isinstance(tool, dict) else None
        if isinstance(tox, dict):
            legacy = tox.get("legacy_tox_ini")
            where = _Where("pyproject.toml", "[tool.tox] legacy_tox_ini", refused, python)
            if isinstance(legacy, str):
                return _from_ini(legacy, where)
            return _from_toml(tox, replace(where, section="[tool.tox] env_run_base"))
    text = read_noting(files, "tox.toml", refused)
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            refused.append(f"`tox.toml`: not valid TOML ({e})")
            return None
        return _from_toml(data, _Where("tox.toml", "env_run_base", refused, python))
    return None


def _from_ini(text: str, where: _Where) -> ToxEnv | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as e:
        why = str(e).splitlines()[0][:200]
        where.refused.append(f"`{where.path}`: cannot be read as tox configuration ({why})")
        return None
    if not parser.has_section("testenv"):
        return None
    tox = parser["tox"] if parser.has_section("tox") else {}
    envlist = tox.get("envlist", "") or tox.get("env_list", "")
    env = parser["testenv"]

    def applied(factors: frozenset[str]) -> frozenset[str]:
        """The conditional lines that hold for an environment, each with its key."""
        keys = ("deps", "extras", "dependency_groups")
        return frozenset(
            f"{key}: {line}"
            for key in keys
            for line in _applying(env.get(key, "").splitlines(), factors)
        )

    where = replace(where, factors=fullest(python_envs(envlist, where.python), applied))
    deps = _applying(env.get("deps", "").splitlines(), where.factors)
    extras = [
        extra
        for line in _applying(env.get("extras", "").splitlines(), where.factors)
        for extra in re.split(r"[,\s]+", line)
    ]
    groups = [
        group
        for line in _applying(env.get("dependency_groups", "").splitlines(), where.factors)
        for group in re.split(r"[,\s]+", line)
    ]
    skip = env.get("skip_install", "").strip().lower() == "true"
    package_skip = env.get("package", "").strip().lower() == "skip"
    found = _env(where, deps, extras, not (skip or package_skip), groups)
    commands = tuple(_applying(_joined(env.get("commands", "")), where.factors))
    return _with_commands(where, found, commands, _changedir(env.get("changedir", "")))


def _joined(text: str) -> list[str]:
    """tox.ini's lines with a trailing backslash joined to the next, as tox reads commands."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    return [*lines, pending] if pending else lines


def _changedir(value: str) -> str | None:
    """``changedir`` unless it is the project's root."""
    value = value.strip().replace("{toxinidir}/", "").replace("{toxinidir}", "").strip("/")
    return value if value not in ("", ".") else None


def _with_commands(
    where: _Where, found: ToxEnv | None, commands: tuple[str, ...], changedir: str | None
) -> ToxEnv | None:
    """The env with its commands; an env with commands alone is still one (it installs
    nothing: :attr:`ToxEnv.installs`)."""
    commands = tuple(c for c in commands if c.strip())
    if not commands:
        return found
    base = found or ToxEnv(where.path, where.section)
    return replace(base, commands=commands, changedir=changedir)


def _applying(lines: list[str], factors: frozenset[str]) -> list[str]:
    """The lines (comments dropped) whose factor condition holds, without the condition."""
    kept: list[str] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        condition, rest = split_condition(line)
        if condition is None or holds(condition, factors):
            kept.append(rest)
    return kept


def _from_toml(data: dict[str, object], where: _Where) -> ToxEnv | None:
    base = data.get("env_run_base")
    if not isinstance(base, dict):
        return None
    deps = base.get("deps", [])
    extras = base.get("extras", [])
    groups = base.get("dependency_groups", [])
    if not all(isinstance(v, list) for v in (deps, extras, groups)):
        where.refused.append(f"{where}: deps, extras and dependency_groups must be lists")
        return None
    unusable = [d for d in [*deps, *extras, *groups] if not isinstance(d, str)]
    if unusable:
        where.refused.append(f"{where}: {str(unusable[0])[:100]}: not a plain string")
    skip = base.get("skip_install") is True or base.get("package") == "skip"
    found = _env(
        where,
        [d for d in deps if isinstance(d, str)],
        [e for e in extras if isinstance(e, str)],
        not skip,
        [g for g in groups if isinstance(g, str)],
    )
    changedir = base.get("change_dir")
    where_to = _changedir(changedir) if isinstance(changedir, str) else None
    return _with_commands(where, found, _toml_commands(base.get("commands")), where_to)


def _toml_commands(commands: object) -> tuple[str, ...]:
    """TOML's commands (lists of words) as lines a shell would split back into those words."""
    if not isinstance(commands, list):
        return ()
    return tuple(
        shlex.join(word for item in command for word in _words(item))
        for command in commands
        if isinstance(command, list)
    )


def _words(item: object) -> list[str]:
    """A TOML command's item: a word, or a substitution such as ``{replace = "posargs",
    default = [...]}`` (Tandem gives no arguments: its default, if any)."""
    if isinstance(item, str):
        return [item]
    if not isinstance(item, dict):
        return []
    default = item.get("default")
    if isinstance(default, list):
        return [w for w in default if isinstance(w, str)]
    if isinstance(default, str):
        return [default]
    # posargs without a default is nothing; any other stays a substitution, which the command's
    # reader names as one it cannot resolve
    kind = item.get("replace")
    return [] if kind == "posargs" else [f"{{{kind}}}"]


def _env(
    where: _Where,
    deps: list[str],
    extras: list[str],
    install_project: bool,
    groups: list[str],
) -> ToxEnv | None:
    requirements: list[str] = []
    included: list[tuple[str, str]] = []
    for raw in deps:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        # tox 4's names: the root (`{tox_root}`) and the path separator (`{/}`), as in commands
        line = line.replace("{tox_root}", "{toxinidir}").replace("{/}", "/")
        line = line.replace("{toxinidir}/", "").replace("{toxinidir}", ".")
        project = _THE_PROJECT.match(line)
        if project:
            extras = [*extras, *(project.group(1) or "").split(",")]
            continue
        why = _dep_problem(line)
        if why is not None:
            where.refused.append(f"{where} deps {line[:100]!r}: {why}")
            continue
        option = _FILE_OPTION.match(line)
        if option:
            target = repo_path("", option.group(2))
            if target is None:
                where.refused.append(
                    f"{where} deps {line[:100]!r}: only files inside the repository"
                )
                continue
            included.append(("-c" if option.group(1) in ("-c", "--constraint") else "-r", target))
            continue
        requirement = _requirement(where, line)
        if requirement is not None and marker_holds(requirement.marker, where.python):
            requirements.append(str(requirement))
    names: list[str] = []
    for extra in (e.strip() for e in extras):
        if not extra:
            continue
        if _EXTRA.match(extra):
            names.append(extra)
        else:
            where.refused.append(f"{where} extras {extra[:100]!r}: not an extra's name")
    group_names = [g.strip() for g in groups if g.strip()]
    for group in group_names:
        if not _EXTRA.match(group):
            where.refused.append(f"{where} dependency_groups {group[:100]!r}: not a group's name")
    group_names = [g for g in group_names if _EXTRA.match(g)]
    if not requirements and not included and not names and not group_names:
        return None
    return ToxEnv(
        where.path,
        where.section,
        tuple(dict.fromkeys(requirements)),
        tuple(dict.fromkeys(included)),
        tuple(dict.fromkeys(names)),
        install_project,
        tuple(dict.fromkeys(group_names)),
    )


def _requirement(where: _Where, line: str) -> Requirement | None:
    """The dep as a requirement from the index, its name normalised; else None and a note."""
    try:
        requirement = Requirement(line)
    except InvalidRequirement as e:
        why = (str(e).splitlines() or ["invalid"])[0][:100]
        where.refused.append(f"{where} deps {line[:100]!r}: not a requirement ({why})")
        return None
    if direct_reference(line):
        where.refused.append(f"{where} deps {line[:100]!r}: {direct_reference(line)}")
        return None
    requirement.name = canonicalize_name(requirement.name)
    return requirement


def _dep_problem(line: str) -> str | None:
    if split_condition(line)[0] is not None:
        return "depends on a tox factor"  # only in TOML, where tox does not read conditions
    if "{" in line or "}" in line:
        return "uses a tox substitution"
    if line.startswith("-") and not _FILE_OPTION.match(line):
        return "only requirements and -r/-c files are used"
    return None
