"""The project's own test command, from its tox env or, without one that runs the tests, its
nox sessions, or, without those, its CI workflows' steps (pure: file texts in,
:class:`~jobs.dependencies.testcommand.TestCommand` out).

tox's env is the one the install plan reads (:func:`jobs.dependencies.tox.read_tox`: the same
env, the same factor rule), its commands read with it. nox's first session that runs pytest
counts, else its first that runs unittest, among the sessions a CI workflow runs (``nox -s
tests``) where one names them; where CI runs nox, that session's installs are the suite's
environment; the same of the workflows' steps
(:mod:`jobs.dependencies.workflows`), where there is no noxfile with sessions. The baseline
runs with what it says (:func:`jobs.languages.python.unittest_runner.run_baseline`), and the
install note says where that came from (:func:`jobs.dependencies.install_plan.plan_install`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from jobs.dependencies.noxfile import PATH as NOXFILE
from jobs.dependencies.noxfile import NoxSession, read_nox
from jobs.dependencies.policy import RepoFiles, read_noting
from jobs.dependencies.testcommand import TestCommand, from_commands, from_words, runner_args
from jobs.dependencies.tox import TOOLS_PYTHON, ToxEnv, read_tox
from jobs.dependencies.toxfactors import Python
from jobs.dependencies.workflows import WorkflowStep, read_workflows


def own_command(files: RepoFiles, python: Python = TOOLS_PYTHON) -> TestCommand | None:
    """The project's own test command (module docstring), or None without one."""
    quiet: list[str] = []  # the install plan reports what its files lack
    return command_of(read_tox(files, quiet, python), files, quiet)


def command_of(tox: ToxEnv | None, files: RepoFiles, refused: list[str]) -> TestCommand | None:
    """:func:`own_command` for a tox env already read (None: the project has none)."""
    return command_and_job(tox, files, refused)[0]


def command_and_job(
    tox: ToxEnv | None, files: RepoFiles, refused: list[str]
) -> tuple[TestCommand | None, list[WorkflowStep]]:
    """:func:`command_of`, and where the command came from a CI workflow, the steps of its job
    before the step that runs the tests (where the job installs what they need:
    :mod:`jobs.dependencies.workflow_install`), or from a nox session a CI workflow runs, its
    installs as such a step; none otherwise."""
    if tox is not None and tox.commands:
        where = f"`{tox.path}` {tox.section} commands"
        found = from_commands(list(tox.commands), where, tox.changedir)
        if found is not None:
            return found, []
    text = read_noting(files, NOXFILE, refused)
    if text is not None:
        sessions = read_nox(text, refused)
        ran = _ci_nox(read_workflows(files, []))  # the workflows' own notes: below, if read
        found_all = [
            from_words(s.commands, f"`{NOXFILE}` session `{s.name}`", s.notes) for s in sessions
        ]
        # the sessions CI runs first; where none of them runs the tests, any session
        in_ci = [c for s, c in zip(sessions, found_all, strict=True) if _runs_in(s, ran)]
        found = _first(in_ci) or _first(found_all)
        if found is not None and found in in_ci:
            # CI runs this session: what it installs is the suite's environment
            session = sessions[next(i for i, c in enumerate(found_all) if c is found)]
            refused.extend(session.install_notes)
            return found, _nox_installs(session)
        if found is not None or sessions:
            return found, []
    # no tox env or nox session that runs the tests: the CI workflow's step that does
    steps = read_workflows(files, refused)
    read = [from_words(s.commands, s.source, s.notes, s.directory) for s in steps]
    found = _first(read)
    if found is None:
        return None, []
    at = next(i for i, c in enumerate(read) if c is found)
    # the job's earlier steps, and the test step's own commands before the one that runs the
    # tests (`pip install -e .[test] && pytest` in one step)
    step = steps[at]
    upto = next(
        (k for k, words in enumerate(step.commands) if _runs_tests(words)), len(step.commands)
    )
    earlier = [s for s in steps[:at] if s.source == step.source]
    return found, [*earlier, replace(step, commands=step.commands[:upto])]


def _ci_nox(steps: list[WorkflowStep]) -> set[str] | None:
    """The nox sessions a CI workflow's step runs (``nox -s tests``, ``pipx run nox --session
    tests-3.12``), by name; the empty set where one runs ``nox`` alone (every session). None: no
    step runs nox, so the noxfile is a developer's tool and CI builds the environment otherwise
    (its installs are not read then)."""
    ran: set[str] | None = None
    for step in steps:
        for words in step.commands:
            args = _nox_args(words)
            if args is None:
                continue
            ran = ran if ran is not None else set()
            names = _session_options(args)
            if not names:
                return set()  # nox alone runs every session
            ran.update(_session_name(name) for name in names)
    return ran


def _runs_in(session: NoxSession, ran: set[str] | None) -> bool:
    return ran is not None and (not ran or _session_name(session.name) in ran)


def _nox_args(words: list[str]) -> list[str] | None:
    """The arguments of a command that runs nox (``nox``, ``python -m nox``, ``pipx run nox``,
    ``uvx nox``, ``uv run nox``); None for any other command."""
    for i, word in enumerate(words[:4]):
        if word.rsplit("/", 1)[-1] == "nox" and (i == 0 or words[i - 1] in _NOX_LAUNCHERS):
            return words[i + 1 :]
    return None


_NOX_LAUNCHERS = frozenset({"-m", "run", "uvx", "sudo"})  # python -m nox, pipx/uv run nox


def _session_options(args: list[str]) -> list[str]:
    """The session names of nox's ``-s``/``--session``/``--sessions``/``-e`` options."""
    names: list[str] = []
    i = 0
    while i < len(args):
        option, _, value = args[i].partition("=")
        if option in ("-s", "--session", "--sessions", "-e"):
            if value:
                names.append(value)
            else:
                while i + 1 < len(args) and not args[i + 1].startswith("-"):
                    names.append(args[i + 1])
                    i += 1
        i += 1
    return names


def _session_name(name: str) -> str:
    """A session's function-level name: ``tests-3.12`` and ``tests(python='3.12')`` are
    ``tests``'s runs for one Python."""
    return re.sub(r"-\d+(?:\.\d+)*$", "", name.split("(", 1)[0])


def _nox_installs(session: NoxSession) -> list[WorkflowStep]:
    """A nox session's ``session.install(...)`` calls as the one step of a job that installs
    with pip, for :mod:`jobs.dependencies.workflow_install` to read (none: it installs none)."""
    if not session.installs:
        return []
    commands = [["pip", "install", *words] for words in session.installs]
    where = f"`{NOXFILE}` session `{session.name}`"
    return [WorkflowStep(where, commands, name="session.install")]


def _runs_tests(words: list[str]) -> bool:
    return any(runner_args(words, module) is not None for module in ("pytest", "unittest"))


def _first(found: Iterable[TestCommand | None]) -> TestCommand | None:
    """The first that runs pytest, else the first that runs unittest."""
    read = [c for c in found if c is not None]
    return next((c for c in read if c.runner == "pytest"), read[0] if read else None)
