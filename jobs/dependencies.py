"""Installing the PR's own dependencies in the sandbox before its tests run.

A repository whose code imports its dependencies fails its baseline and every generated test
with ImportError when the tests run with the sandbox's bare tools. So before the baseline,
Tandem installs what the repository declares, in two halves:

**The plan** (:func:`plan_install`, pure: file texts in, pip arguments out). With
``test_generation.dependencies.install: auto`` it finds, at the repository root,

- the project: ``pyproject.toml`` with ``[project]`` or ``[build-system]``, or ``setup.py`` /
  ``setup.cfg``, installed **editable** (``-e .[test,dev]``, only the extras among
  ``test, tests, testing, dev`` that exist; dependency groups of those names with
  ``--group``). Editable matters: the tests must import the checkout's files, which coverage
  measures, not a copy in site-packages;
- requirements files: ``requirements.txt``, ``requirements-dev.txt``, ``test-requirements.txt``
  and the other usual names (:data:`REQUIREMENTS_FILES`).

All of them go to one ``pip install`` (one resolution). ``requirements: [paths]`` installs
exactly those files instead. Nothing found: nothing installed, no note.

**The policy for what a requirements file may say.** The PR's author writes these files, and the
same author's ``setup.py`` runs during the install anyway, so the parser is not what contains
hostile code: the sandbox is. The policy keeps two promises that the sandbox alone cannot: (1)
packages come only from the package index the operator configured (pip's config in the sandbox
image) over verified TLS, so a file may not add or replace an index (``--index-url``,
``--extra-index-url``), add ``--find-links``, turn off TLS checks (``--trusted-host``), or name
direct URL / VCS requirements (``pkg @ https://…``, ``git+https://…``, ``-e git+…``; in
pyproject.toml's dependencies too); (2) nothing outside the checkout is read, so includes
(``-r``/``-c``) and local paths (``./vendor/lib``, ``-e ./lib``) must stay inside it, symlinks
resolved. (2) matters most with the local sandbox, where pip runs on the worker's machine and
its error messages, echoing what it read, end up in the check run. Options are allowed by a
short list (:data:`ALLOWED_OPTIONS`); anything else, environment variables (``${VAR}``) and
include cycles are refused too. A refused file is left out, with one note line saying which line
and why; the rest is installed.

**The environment**: a venv at ``.tandem-work/env`` inside the checkout, made by the sandbox's
own python, with one ``.pth`` file that adds the tools' site-packages (``site.addsitedir``, so
their own ``.pth`` files work too) *after* the venv's. So the PR's pins win for its own imports
(a repo pinned to an older library gets it), pytest, coverage and pynguin stay importable, and
pip, run by the venv's python, installs into the venv only: ``pip`` never uninstalls what lies
outside the running environment, so the tools' directory (with the local sandbox: the worker's
own venv) is never written. Why not ``pip install --target`` + ``PYTHONPATH``: ``--target``
ignores ``.pth`` files, so editable installs (which are ``.pth`` files) would not work, and
every command (pytest, coverage, pynguin, the agent's terminal) would need the variable; a venv
is one interpreter path. The checkout's ``.tandem-work`` is already out of ``git status``
(``.git/info/exclude``), pytest does not collect it (a dot directory, and a venv), and
coverage omits it; files the install writes elsewhere in the checkout (``build/``,
``*.egg-info``) are added to ``.git/info/exclude`` too, so they never look like new test files.
After a successful install the venv's python must still import pytest and coverage; then
``sandbox.use_python`` makes every later command (``coverage.run_pytest``, pynguin) use it, and
puts its ``bin`` first on ``PATH`` (with Docker, the agent's terminal too).

**Network**: the tests never get one. With Docker the install runs in a separate short-lived
container on ``TANDEM_SANDBOX_INSTALL_NETWORK`` (default ``bridge``), same image, limits and
mount, removed afterwards; nothing it started survives into the part's container, which stays
on ``network_mode=none``. ``none`` means the install runs in the part's container and there is
no package index: pip runs with ``--no-index`` (only what the repository holds, e.g. vendored
packages) and ``--no-build-isolation`` (an isolated build would fetch setuptools from the
index; this way the sandbox's own setuptools builds). The local sandbox has this machine's
network; ``none`` means ``--no-index`` there too.

**Bounds**: the install has a wall time (a share of the part's budget, at most
:data:`MAX_INSTALL_S`), pip's output is kept as a tail and summarised to one line. A failed
install is not fatal: the tests run with the tools alone and the check run says what failed.
"""

from __future__ import annotations

import asyncio
import configparser
import logging
import posixpath
import re
import shlex
import shutil
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from bot.repo_config import Dependencies
from jobs import coverage as cov
from jobs.checkout import git
from jobs.sandbox import Sandbox, tail

log = logging.getLogger(__name__)

ENV_DIR = f"{cov.WORK_DIR}/env"
TMP_DIR = f"{cov.WORK_DIR}/pip-tmp"
MAX_INSTALL_S = 600.0
MAX_FILE_BYTES = 1_000_000
MAX_INCLUDES = 20
OUTPUT_TAIL = 4000
PROJECT_EXTRAS = ("test", "tests", "testing", "dev")
REQUIREMENTS_FILES = (
    "requirements.txt",
    "requirements-dev.txt",
    "requirements_dev.txt",
    "dev-requirements.txt",
    "requirements-test.txt",
    "requirements_test.txt",
    "requirements-tests.txt",
    "test-requirements.txt",
    "test_requirements.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "tests/requirements.txt",
)

# Options a requirements file may use. Paths (-r, -c, -e) are checked separately.
PATH_OPTIONS = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
}
VALUE_OPTIONS = {"--hash", "--only-binary", "--no-binary", "--config-settings"}
FLAG_OPTIONS = {"--pre", "--prefer-binary", "--require-hashes", "--no-index"}
ALLOWED_OPTIONS = {*PATH_OPTIONS.values(), *VALUE_OPTIONS, *FLAG_OPTIONS}
SOURCE_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
}
# Only these may follow a requirement on its line (pip's per-requirement options).
PER_REQUIREMENT_OPTIONS = {"--hash", "--config-settings"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.I)
_COMMENT = re.compile(r"(^|\s+)#.*$")
_EXTRAS = re.compile(r"\[[^\]]*\]$")
_SUCCESS = re.compile(r"^Successfully installed (.+)$", re.M)
_GLOB = re.compile(r"[*?\[\\]")  # special in .git/info/exclude patterns

NO_INDEX_ARGS = ("--no-index", "--no-build-isolation")


# --------------------------------------------------------------------------------------
# The plan (pure)


class UnreadableFile(Exception):
    """A file that exists but must not or cannot be read (outside the repository, too big)."""


class RepoFiles(Protocol):
    def read(self, path: str) -> str | None:
        """The text of the repository file at ``path`` (normalised, relative), None when there
        is none. Raises :class:`UnreadableFile` when it must not be read."""
        ...

    def inside(self, path: str) -> bool:
        """Whether ``path`` (existing or not) stays in the repository, symlinks resolved."""
        ...


@dataclass(frozen=True)
class MemoryFiles:
    """Plain data for the planner: repository-relative path -> text."""

    files: Mapping[str, str]

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def inside(self, path: str) -> bool:
        return True  # no symlinks in plain data; `..` is caught before this is asked


@dataclass(frozen=True)
class Source:
    path: str  # "pyproject.toml", "setup.py", "requirements-dev.txt"
    kind: Literal["project", "groups", "requirements"]  # groups: dependency groups only
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def describe(self) -> str:
        more = []
        if self.extras:
            more.append("extras " + ", ".join(self.extras))
        if self.groups:
            more.append("groups " + ", ".join(self.groups))
        return f"`{self.path}`" + (f" ({'; '.join(more)})" if more else "")

    def pip_args(self) -> list[str]:
        if self.kind == "requirements":
            return ["-r", f"./{self.path}"]
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        args = ["-e", f".{extras}"] if self.kind == "project" else []
        for group in self.groups:
            args.append(f"--group=./pyproject.toml:{group}")
        return args


@dataclass(frozen=True)
class InstallPlan:
    sources: tuple[Source, ...] = ()
    refused: tuple[str, ...] = ()  # one line per file left out: which line and why
    index: bool = True  # False: --no-index (no network to reach one)

    @property
    def empty(self) -> bool:
        return not self.sources

    def pip_args(self) -> list[str]:
        """The arguments after ``python -m pip``."""
        args = [
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--progress-bar=off",
            "--no-warn-script-location",
            "--retries=2",
            "--timeout=30",
        ]
        if not self.index:
            args.extend(NO_INDEX_ARGS)
        for source in self.sources:
            args.extend(source.pip_args())
        return args

    def describe(self) -> str:
        names = [s.describe() for s in self.sources]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def plan_install(files: RepoFiles, config: Dependencies, *, index: bool = True) -> InstallPlan:
    """What to install, from the repository's files and ``test_generation.dependencies``."""
    if config.install == "none":
        return InstallPlan(index=index)
    sources: list[Source] = []
    refused: list[str] = []
    if config.requirements:
        candidates = list(config.requirements)
    else:
        project = _project(files, refused)
        if project is not None:
            sources.append(project)
        candidates = [path for path in REQUIREMENTS_FILES if _exists(files, path, refused)]
    for path in candidates:
        problem = check_requirements_file(files, path)
        if problem is None:
            sources.append(Source(path, "requirements"))
        else:
            refused.append(problem)
    return InstallPlan(tuple(sources), tuple(dict.fromkeys(refused)), index)


def _exists(files: RepoFiles, path: str, refused: list[str]) -> bool:
    try:
        return files.read(path) is not None
    except UnreadableFile as e:
        refused.append(f"`{path}`: {e}")
        return False


def _read(files: RepoFiles, path: str, refused: list[str]) -> str | None:
    try:
        return files.read(path)
    except UnreadableFile as e:
        refused.append(f"`{path}`: {e}")
        return None


def _project(files: RepoFiles, refused: list[str]) -> Source | None:
    """The repository's own project, when it is one pip can install (or, without one,
    pyproject.toml's test/dev dependency groups)."""
    text = _read(files, "pyproject.toml", refused)
    data: dict[str, object] = {}
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            refused.append(f"`pyproject.toml`: not valid TOML ({e})")
            return None
    project = data.get("project")
    has_setup = _exists(files, "setup.py", refused)
    setup_cfg = _read(files, "setup.cfg", refused)
    is_project = (
        isinstance(project, dict)
        or "build-system" in data
        or has_setup
        or (setup_cfg is not None and "[metadata]" in setup_cfg)
    )
    extras: list[str] = []
    declared: list[str] = []
    if isinstance(project, dict):
        declared.extend(_strings(project.get("dependencies")))
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            extras = [name for name in PROJECT_EXTRAS if name in optional]
            for name in extras:
                declared.extend(_strings(optional[name]))
    elif setup_cfg is not None:
        extras = _setup_cfg_extras(setup_cfg)
    groups: list[str] = []
    dependency_groups = data.get("dependency-groups")
    if isinstance(dependency_groups, dict):
        groups = [name for name in PROJECT_EXTRAS if name in dependency_groups]
        for name in groups:
            declared.extend(_strings(dependency_groups[name]))
    if not is_project and not groups:
        return None
    where = "pyproject.toml" if text is not None else "setup.py" if has_setup else "setup.cfg"
    for requirement in declared:
        why = _direct_reference(requirement)
        if why:
            refused.append(f"`{where}`: {requirement!r}: {why}")
            return None
    return Source(where, "project" if is_project else "groups", tuple(extras), tuple(groups))


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _setup_cfg_extras(text: str) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    if not parser.has_section("options.extras_require"):
        return []
    present = set(parser.options("options.extras_require"))
    return [name for name in PROJECT_EXTRAS if name in present]


def _direct_reference(requirement: str) -> str | None:
    """Why a requirement does not come from the index, or None."""
    spec = requirement.split(";", 1)[0].strip()
    if "${" in requirement:
        return "environment variables are not expanded"
    if _VCS.match(spec) or "://" in spec or "@" in spec:
        return "direct URL and VCS requirements are not installed (only the package index)"
    return None


def repo_path(base: str, ref: str) -> str | None:
    """``ref`` (relative to directory ``base`` of the repository) as a normalised
    repository-relative path, or None when it is absolute, a URL or leaves the repository."""
    if not ref or ref.startswith(("/", "~")) or "\\" in ref or "${" in ref or _SCHEME.match(ref):
        return None
    joined = posixpath.normpath(posixpath.join(base, ref))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each line pip reads: continuations joined, comments
    stripped, blank lines dropped."""
    lines: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        if raw.endswith("\\") and not _COMMENT.search(raw):
            buffer.append(raw[:-1])
            continue
        buffer.append(raw)
        line = _COMMENT.sub("", " ".join(buffer)).strip()
        buffer = []
        if line:
            lines.append((start, line))
    if buffer:
        line = _COMMENT.sub("", " ".join(buffer)).strip()
        if line:
            lines.append((start, line))
    return lines


def _options(tokens: list[str]) -> list[tuple[str, str | None]] | str:
    """(long option name, value) pairs of option tokens, or why they cannot be read."""
    pairs: list[tuple[str, str | None]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        value: str | None = None
        if token.startswith("--"):
            name, eq, attached = token.partition("=")
            takes_value = name in {*PATH_OPTIONS.values(), *VALUE_OPTIONS, *SOURCE_OPTIONS}
            if eq:
                value = attached
            elif takes_value and index < len(tokens):
                value = tokens[index]
                index += 1
        elif token.startswith("-") and len(token) >= 2:
            short = token[:2]
            name = PATH_OPTIONS.get(short) or SOURCE_OPTIONS.get(short) or short
            value = token[2:] or None
            if value is None and index < len(tokens):
                value = tokens[index]
                index += 1
        else:
            return f"unexpected {token!r}"
        name = SOURCE_OPTIONS.get(name, name)
        if name not in ALLOWED_OPTIONS and name not in SOURCE_OPTIONS.values():
            return f"option {name} is not supported"
        pairs.append((name, value))
    return pairs


def check_requirements_file(files: RepoFiles, path: str) -> str | None:
    """None if ``path`` and everything it includes keep to the policy (module docstring), else
    one line saying where (the chain of includes, the line) and why."""
    seen: set[str] = set()

    def check(chain: list[str]) -> str | None:
        current = chain[-1]
        where = " → ".join(f"`{name}`" for name in chain)
        if current in seen:
            return f"{where}: included twice (a cycle?)"
        seen.add(current)
        if len(seen) > MAX_INCLUDES:
            return f"`{path}`: more than {MAX_INCLUDES} included files"
        try:
            text = files.read(current)
        except UnreadableFile as e:
            return f"{where}: {e}"
        if text is None:
            return f"{where}: not found"
        for number, line in _logical_lines(text):
            why, includes = _check_line(files, line, posixpath.dirname(current))
            if why is not None:
                return f"{where} line {number}: {why}"
            for included in includes:
                problem = check([*chain, included])
                if problem is not None:
                    return problem
        return None

    return check([path])


def _check_line(files: RepoFiles, line: str, base: str) -> tuple[str | None, list[str]]:
    """(why the line is refused or None, the repository files it includes)."""
    if "${" in line:
        return "environment variables (${...}) are not expanded", []
    tokens = line.split()
    requirement_tokens: list[str] = []
    for token in tokens:
        if token.startswith("-"):
            break
        requirement_tokens.append(token)
    try:
        option_tokens = shlex.split(" ".join(tokens[len(requirement_tokens) :]))
    except ValueError as e:
        return f"cannot read the options ({e})", []
    options = _options(option_tokens)
    if isinstance(options, str):
        return options, []
    if requirement_tokens:
        why = _check_requirement(files, " ".join(requirement_tokens))
        if why is None:
            extra = [name for name, _ in options if name not in PER_REQUIREMENT_OPTIONS]
            why = f"{extra[0]} is not allowed after a requirement" if extra else None
        return why, []
    includes: list[str] = []
    for name, value in options:
        if name in SOURCE_OPTIONS.values():
            return (
                f"{name} is not allowed (Tandem installs from its own package index only, "
                "over verified TLS)",
                [],
            )
        if name not in ALLOWED_OPTIONS:
            return f"option {name} is not supported", []
        if name not in PATH_OPTIONS.values():
            continue
        if not value:
            return f"{name} needs a value", []
        if name == "--editable":
            why = _check_requirement(files, value, editable=True)
            if why is not None:
                return why, []
            continue
        target = repo_path(base, value)
        if target is None or not files.inside(target):
            return f"{name} {value}: only files inside the repository may be included", []
        includes.append(target)
    return None, includes


def _check_requirement(files: RepoFiles, requirement: str, *, editable: bool = False) -> str | None:
    why = _direct_reference(requirement)
    if why:
        return f"{requirement!r}: {why}"
    spec = requirement.split(";", 1)[0].strip()
    looks_like_path = editable or spec.startswith((".", "/", "~")) or "/" in spec or "\\" in spec
    if not looks_like_path:
        return None
    target = repo_path("", _EXTRAS.sub("", spec))
    if target is None or not files.inside(target):
        return f"{requirement!r}: only paths inside the repository are installed"
    return None


# --------------------------------------------------------------------------------------
# The shell


@dataclass(frozen=True)
class CheckoutFiles:
    """A checkout's files for the planner: reads only regular files inside it (symlinks
    resolved), at most MAX_FILE_BYTES."""

    root: Path

    def _resolve(self, path: str) -> Path:
        return (self.root / path).resolve()

    def inside(self, path: str) -> bool:
        return self._resolve(path).is_relative_to(self.root.resolve())

    def read(self, path: str) -> str | None:
        target = self.root / path
        if not target.exists() and not target.is_symlink():
            return None
        if not self.inside(path):
            raise UnreadableFile("points outside the repository")
        real = self._resolve(path)
        if not real.is_file():
            return None
        if real.stat().st_size > MAX_FILE_BYTES:
            raise UnreadableFile(f"larger than {MAX_FILE_BYTES} bytes")
        try:
            return real.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UnreadableFile(f"cannot be read ({type(e).__name__})") from None


@dataclass
class InstallOutcome:
    status: Literal["nothing", "installed", "failed", "refused"]
    plan: InstallPlan = field(default_factory=InstallPlan)
    note: str | None = None  # one line for the check run
    python: str | None = None  # the environment's interpreter, once installed
    packages: list[str] = field(default_factory=list)  # what pip installed ("name-version")
    duration_s: float = 0.0
    output: str = ""  # pip's output, the tail


# Run by the sandbox's own python (-I: the checkout's files cannot shadow venv or site): make
# the venv, add the tools' site-packages after its own, make sure it has a pip.
BOOTSTRAP = """\
import os, site, subprocess, sys, venv
env = sys.argv[1]
venv.EnvBuilder(symlinks=True, with_pip=False).create(env)
python = os.path.join(env, "bin", "python")
purelib = subprocess.run(
    [python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
    check=True, capture_output=True, text=True,
).stdout.strip()
tools = [d for d in site.getsitepackages() if os.path.isdir(d)]
with open(os.path.join(purelib, "_tandem_tools.pth"), "w") as pth:
    pth.writelines(f"import site; site.addsitedir({d!r})\\n" for d in tools)
if subprocess.run([python, "-I", "-c", "import pip"], capture_output=True).returncode:
    subprocess.run([python, "-I", "-m", "ensurepip", "--default-pip"], check=True)
"""
PROBE = "import pytest, coverage"


def summary_line(output: str) -> str:
    """The line of pip's output that says what went wrong: its last ERROR line, else the last
    line."""
    errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR:")]
    return errors[-1][:300] if errors else cov.last_line(output)


def installed_packages(output: str) -> list[str]:
    found = _SUCCESS.findall(output)
    return found[-1].split() if found else []


async def install_dependencies(
    sandbox: Sandbox,
    checkout: Path,
    *,
    config: Dependencies | None = None,
    timeout_s: float,
    network: str = "bridge",
    extra_pip_args: Sequence[str] = (),
) -> InstallOutcome:
    """Install the PR's dependencies into a venv in the checkout and switch ``sandbox`` to it.
    ``network``: where pip runs (``TANDEM_SANDBOX_INSTALL_NETWORK``; ``none``: no index).
    Never raises for a failed install: the outcome's note says what happened."""
    started = time.monotonic()
    deadline = started + min(timeout_s, MAX_INSTALL_S)
    checkout = await asyncio.to_thread(checkout.resolve)
    plan = await asyncio.to_thread(
        plan_install, CheckoutFiles(checkout), config or Dependencies(), index=network != "none"
    )
    refused = "; ".join(plan.refused)
    if sandbox.python.startswith(f"{checkout / ENV_DIR}/"):  # this sandbox has it already
        return InstallOutcome("installed", plan, python=sandbox.python)
    if plan.empty:
        note = f"Dependencies: not installed: {refused}." if refused else None
        return InstallOutcome("refused" if refused else "nothing", plan, note)
    outcome = InstallOutcome("failed", plan)
    untracked: set[str] | None = None
    try:
        _work_dir(checkout)
        untracked = await _untracked(checkout)
        outcome = await _install(sandbox, checkout, plan, network, deadline, extra_pip_args)
    except Exception as e:  # the engine went away, a network does not exist, ...
        log.warning("installing dependencies failed", exc_info=True)
        why = getattr(e, "explanation", None) or str(e)  # docker's APIError: the engine's words
        outcome.note = f"Dependencies: not installed ({type(e).__name__}: {str(why)[:200]})"
    finally:
        shutil.rmtree(checkout / TMP_DIR, ignore_errors=True)
        if untracked is not None:
            await _exclude_new_files(checkout, untracked)
    outcome.duration_s = time.monotonic() - started
    if outcome.python is not None:
        sandbox.use_python(outcome.python)
    if refused and outcome.note:
        outcome.note = outcome.note.rstrip(".") + f". Not used: {refused}."
    if outcome.note:
        outcome.note = outcome.note if outcome.note.endswith(".") else outcome.note + "."
    return outcome


def _work_dir(checkout: Path) -> None:
    """``.tandem-work`` as a real directory of the checkout, with no environment in it yet."""
    work = checkout / cov.WORK_DIR
    if work.is_symlink() or (work.exists() and not work.is_dir()):
        raise RuntimeError(f"the repository has its own {cov.WORK_DIR}")
    cov.prepare(checkout)
    env = checkout / ENV_DIR
    if env.is_symlink() or env.is_file():
        env.unlink()
    elif env.exists():
        shutil.rmtree(env)
    (checkout / TMP_DIR).mkdir(exist_ok=True)


async def _install(
    sandbox: Sandbox,
    checkout: Path,
    plan: InstallPlan,
    network: str,
    deadline: float,
    extra_pip_args: Sequence[str],
) -> InstallOutcome:
    what = plan.describe()

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    made = await sandbox.run(
        [sandbox.python, "-I", "-c", BOOTSTRAP, str(checkout / ENV_DIR)],
        cwd=checkout,
        timeout_s=min(120.0, left()),
    )
    if made.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: could not create an environment for {what}: "
            f"{cov.last_line(made.output)}",
            output=tail(made.output, OUTPUT_TAIL),
        )
    python = str(checkout / ENV_DIR / "bin" / "python")
    async with sandbox.networked(network) as box:
        result = await box.run(
            [
                "env",
                f"TMPDIR={checkout / TMP_DIR}",
                python,
                "-I",
                "-m",
                "pip",
                *plan.pip_args(),
                *extra_pip_args,
            ],
            cwd=checkout,
            timeout_s=left(),
        )
    output = tail(result.output, OUTPUT_TAIL)
    if result.timed_out:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installing from {what} timed out after {result.duration_s:.0f} s; "
            "the tests ran without them",
            output=output,
        )
    if result.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installing from {what} failed (pip exit {result.returncode}): "
            f"{summary_line(result.output)}. The tests ran without them",
            output=output,
        )
    probe = await sandbox.run([python, "-I", "-c", PROBE], cwd=checkout, timeout_s=min(60, left()))
    if probe.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installed from {what}, but then pytest/coverage did not import "
            f"({cov.last_line(probe.output)}); the tests ran without them",
            output=output,
        )
    packages = installed_packages(result.output)
    return InstallOutcome(
        "installed",
        plan,
        f"Dependencies: installed from {what} ({len(packages)} package(s))",
        python=python,
        packages=packages,
        output=output,
    )


async def _untracked(checkout: Path) -> set[str]:
    try:
        status = await git(
            checkout, "status", "--porcelain", "--untracked-files=normal", "-z", timeout_s=60
        )
    except Exception:
        return set()
    return {entry[3:] for entry in status.split("\0") if entry.startswith("?? ")}


async def _exclude_new_files(checkout: Path, before: set[str]) -> None:
    """Keep what the install wrote in the checkout (build/, *.egg-info) out of `git status`,
    where it would look like files the engine wrote."""
    new = sorted((await _untracked(checkout)) - before)
    if not new:
        return
    exclude = checkout / ".git" / "info" / "exclude"
    try:
        text = exclude.read_text() if exclude.exists() else ""
        lines = "".join(f"/{_escape(path)}\n" for path in new if "\n" not in path)
        exclude.write_text(text.rstrip("\n") + "\n" + lines)
    except OSError as e:
        log.warning("could not exclude install artefacts from git status: %s", e)


def _escape(path: str) -> str:
    return _GLOB.sub(lambda m: "\\" + m.group(0), path)
