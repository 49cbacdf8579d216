"""What the CI workflow's job that runs the tests installs (pure: its steps in, data out).

Where no tox env says how the suite's environment is built, the job whose ``run:`` step runs
the tests (:mod:`jobs.dependencies.workflows`) says it in its earlier steps: ``pip install -e
.[test]``, ``python -m pip install -r requirements/test.txt``, ``pip install pytest
hypothesis``, ``uv pip install ...``, ``pip install --group test``, ``uv sync --group test``.
Those commands are read into a :class:`WorkflowEnv`, the same shape as tox's env: the project's
extras, dependency groups, ``-r``/``-c`` files and plain requirements. Nothing is run: any
other command (``make deps``, ``./install.sh``, ``apt-get``) is not read, and a word that is
not one of those (a local path, an archive, a URL, an option Tandem does not know, an unresolved
``${{ }}`` or ``$VAR``) is left out and named. A step that runs only under a condition
(``if:``) is left out and named too: whether it runs is not known here. The installer's own
tools (pip, setuptools, wheel, build, uv, tox, nox, ...) are not the suite's environment and
are left out without a word. The PR's author writes these files: they are read, never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from jobs.dependencies.policy import SOURCE_OPTIONS, direct_reference, repo_path
from jobs.dependencies.testcommand import runner_args
from jobs.dependencies.workflows import WorkflowStep

# The installer's tools: a job installs them to install or to run tox, never for the tests
TOOLING = frozenset({
    "pip", "setuptools", "wheel", "build", "twine", "uv", "virtualenv", "pipx", "tox", "nox",
    "pre-commit", "coveralls", "codecov", "poetry", "pdm", "hatch", "flit",
})  # fmt: skip
_PIP_VALUE = frozenset({
    "--upgrade-strategy", "--progress-bar", "--only-binary", "--no-binary", "--cache-dir",
    "--timeout", "--retries", "--python", "-p", "--python-version", "--platform", "--target",
    "-t", "--prefix", "--root", "--src", "--config-settings", "-C", "--resolution",
    "--prerelease", "--exclude-newer", "--log", "--report",
})  # fmt: skip
_PIP_FLAG = frozenset({
    "-U", "--upgrade", "-q", "--quiet", "-v", "--verbose", "--user", "--no-cache-dir",
    "--no-cache", "--pre", "--prefer-binary", "--disable-pip-version-check", "--no-input",
    "--system", "--break-system-packages", "--force-reinstall", "--no-build-isolation",
    "--no-warn-script-location", "--use-pep517", "--compile", "--no-compile",
    "--require-hashes", "-I", "--ignore-installed", "--ignore-requires-python",
})  # fmt: skip
# uv sync's own options that take a value (besides --group, --extra and the like, read below)
_SYNC_VALUE = frozenset({
    "--python", "-p", "--package", "--directory", "--project", "--index", "--index-url",
    "--extra-index-url", "--resolution", "--prerelease",
})  # fmt: skip
_PROJECT = re.compile(r"^\.(?:/)?(?:\[([^\]]*)\])?$")  # ".", "./", ".[test,dev]"
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
UV_DEFAULT_GROUPS = ("dev",)  # uv sync's default-groups, unless the project sets others


@dataclass(frozen=True)
class WorkflowEnv:
    """The environment a CI job installs, in tox's shape (:class:`.tox.ToxEnv`)."""

    path: str  # ".github/workflows/ci.yml"
    section: str  # "job `test`"
    requirements: tuple[str, ...] = ()  # plain requirements, names normalised
    files: tuple[tuple[str, str], ...] = ()  # ("-r" or "-c", repository path)
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # named groups: the project must have them
    default_groups: tuple[str, ...] = ()  # uv sync's: installed where the project has them
    all_extras: bool = False  # uv sync --all-extras, pip install .[all-of-them] is not known
    all_groups: bool = False  # uv sync --all-groups

    @property
    def installs(self) -> bool:
        """Whether it names anything of the suite's environment beyond the project alone."""
        return bool(
            self.requirements
            or self.files
            or self.extras
            or self.groups
            or self.default_groups
            or self.all_extras
            or self.all_groups
        )


@dataclass
class _Found:
    requirements: list[str]
    files: list[tuple[str, str]]
    extras: list[str]
    groups: list[str]
    default_groups: list[str]
    all_extras: bool = False
    all_groups: bool = False


def read_install(steps: list[WorkflowStep], refused: list[str]) -> WorkflowEnv | None:
    """What ``steps`` (one job's, before its test step) install; None when they name nothing
    of the suite's environment. What is left out goes to ``refused``, a line each."""
    if not steps:
        return None
    source = steps[0].source  # "`.github/workflows/ci.yml` job `test`"
    path, _, section = source.partition(" ")
    found = _Found([], [], [], [], [])
    for step in steps:
        installs = [words for words in step.commands if _install_args(words) is not None]
        if not installs:
            continue
        where = f"{source} step {step.name!r}"
        if step.condition is not None:
            refused.append(f"{where}: runs only if {step.condition}; its install is left out")
            continue
        if step.directory is not None:
            refused.append(f"{where}: runs in `{step.directory}`; its install is left out")
            continue
        for words in installs:
            kind, args = _install_args(words) or ("pip", [])
            if kind == "sync":
                _read_sync(args, found, where, refused)
            else:
                _read_pip(args, found, where, refused)
    env = WorkflowEnv(
        path.strip("`"),
        section,
        tuple(dict.fromkeys(found.requirements)),
        tuple(dict.fromkeys(found.files)),
        tuple(dict.fromkeys(found.extras)),
        tuple(dict.fromkeys(found.groups)),
        tuple(dict.fromkeys(found.default_groups)),
        found.all_extras,
        found.all_groups,
    )
    return env if env.installs else None


def _install_args(words: list[str]) -> tuple[str, list[str]] | None:
    """("pip", the arguments after ``install``) for ``pip install``, ``pip3 install``,
    ``python -m pip install``, ``uv pip install``; ("sync", its arguments) for ``uv sync``;
    else None."""
    i = 0
    while i < len(words) and "=" in words[i] and not words[i].startswith("-"):
        i += 1  # FOO=bar pip install ...
    if i < len(words) and words[i] == "sudo":
        i += 1
    rest = words[i:]
    if len(rest) >= 2 and rest[0] == "uv" and rest[1] == "sync":
        return "sync", rest[2:]
    if len(rest) >= 3 and rest[0] == "uv" and rest[1:3] == ["pip", "install"]:
        return "pip", rest[3:]
    head = rest[0].rsplit("/", 1)[-1] if rest else ""
    if re.match(r"^pip(?:\d+(?:\.\d+)*)?$", head) and rest[1:2] == ["install"]:
        return "pip", rest[2:]
    # python -m pip install ...: the interpreter's own words first are read as runner_args does
    if runner_args(rest, "pip") is not None:
        args = runner_args(rest, "pip") or []
        return ("pip", args[1:]) if args[:1] == ["install"] else None
    return None


def _read_pip(args: list[str], found: _Found, where: str, refused: list[str]) -> None:
    i = 0
    while i < len(args):
        word = args[i]
        name, has_value = word.split("=", 1)[0], "=" in word
        value = word.split("=", 1)[1] if has_value else args[i + 1] if i + 1 < len(args) else None
        step = 1 if has_value or not word.startswith("-") else 2
        if name in ("-e", "--editable", "-r", "--requirement", "-c", "--constraint", "--group"):
            if value is None:
                refused.append(f"{where}: {word} without its value")
            elif name in ("-e", "--editable"):
                _project(value, found, where, refused)
            elif name == "--group":
                _group(value.split(":", 1)[-1] if ":" in value else value, found, where, refused)
            else:
                option = "-c" if name in ("-c", "--constraint") else "-r"
                _file(option, value, found, where, refused)
            i += step
        elif word.startswith(("-r", "-c", "-e")) and not word.startswith("--") and len(word) > 2:
            short, rest = word[:2], word[2:]  # -rrequirements.txt
            if short == "-e":
                _project(rest, found, where, refused)
            else:
                _file(short, rest, found, where, refused)
            i += 1
        elif name in SOURCE_OPTIONS:
            refused.append(f"{where}: {name}: packages come only from the configured index")
            i += step
        elif name in _PIP_VALUE:
            i += step
        elif name in _PIP_FLAG:
            i += 1
        elif word.startswith("-"):
            refused.append(f"{where}: {word}: an option Tandem does not know")
            i += 1
        else:
            _positional(word, found, where, refused)
            i += 1


def _positional(word: str, found: _Found, where: str, refused: list[str]) -> None:
    """A ``pip install`` argument that is not an option: the project, or a requirement."""
    if "{" in word or "$" in word or "`" in word:
        refused.append(f"{where}: {word!r} is not resolved")
        return
    if _PROJECT.match(word):
        _project(word, found, where, refused)
        return
    why = direct_reference(word)
    if why is None and ("/" in word or word.endswith((".whl", ".zip", ".tar.gz"))):
        why = "a local path or archive, not the project at the root"
    if why is not None:
        refused.append(f"{where}: {word!r}: {why}")
        return
    try:
        requirement = Requirement(word)
    except InvalidRequirement:
        refused.append(f"{where}: {word!r}: not a requirement")
        return
    requirement.name = canonicalize_name(requirement.name)
    if requirement.name not in TOOLING:
        found.requirements.append(str(requirement))


def _project(word: str, found: _Found, where: str, refused: list[str]) -> None:
    """``.``, ``./`` or ``.[a,b]``: the project (always installed editable) and its extras."""
    match = _PROJECT.match(word)
    if match is None:
        refused.append(f"{where}: {word!r}: only the project at the root is installed from here")
        return
    for extra in (e.strip() for e in (match.group(1) or "").split(",")):
        if not extra:
            continue
        if _NAME.match(extra):
            found.extras.append(extra)
        else:
            refused.append(f"{where}: extra {extra!r} is not an extra's name")


def _file(option: str, path: str, found: _Found, where: str, refused: list[str]) -> None:
    target = repo_path("", path) if "{" not in path and "$" not in path else None
    if target is None:
        refused.append(f"{where}: {option} {path!r}: only files inside the repository")
    else:
        found.files.append((option, target))


def _group(name: str, found: _Found, where: str, refused: list[str]) -> None:
    if _NAME.match(name):
        found.groups.append(name)
    else:
        refused.append(f"{where}: group {name!r} is not a group's name")


def _read_sync(args: list[str], found: _Found, where: str, refused: list[str]) -> None:
    """``uv sync``: the project (unless ``--no-install-project``), the default groups (unless
    ``--no-dev`` / ``--no-default-groups`` / ``--only-group``), ``--group``, ``--extra``,
    ``--all-extras``, ``--all-groups``."""
    defaults = True
    i = 0
    while i < len(args):
        word = args[i]
        name, has_value = word.split("=", 1)[0], "=" in word
        value = word.split("=", 1)[1] if has_value else args[i + 1] if i + 1 < len(args) else None
        step = 1 if has_value else 2
        if name in ("--group", "--only-group", "--extra") and value is not None:
            if name == "--extra":
                _project(f".[{value}]", found, where, refused)
            else:
                _group(value, found, where, refused)
            defaults = defaults and name != "--only-group"
            i += step
        elif name in ("--no-dev", "--no-default-groups", "--only-dev"):
            defaults = False
            found.groups.extend(["dev"] if name == "--only-dev" else [])
            i += 1
        elif name == "--dev":
            i += 1
        elif name == "--all-extras":
            found.all_extras = True
            i += 1
        elif name == "--all-groups":
            found.all_groups = True
            i += 1
        elif name in _SYNC_VALUE:
            i += step
        else:
            i += 1  # --frozen, --locked, --no-install-project, -q: nothing to install
    if defaults:
        found.default_groups.extend(UV_DEFAULT_GROUPS)
