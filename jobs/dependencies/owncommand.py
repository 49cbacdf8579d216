"""The project's own test command, from its tox env or, without one that runs the tests, its
nox sessions, or, without those, its CI workflows' steps (pure: file texts in,
:class:`~jobs.dependencies.testcommand.TestCommand` out).

tox's env is the one the install plan reads (:func:`jobs.dependencies.tox.read_tox`: the same
env, the same factor rule), its commands read with it. nox's first session that runs pytest
counts, else its first that runs unittest; the same of the workflows' steps
(:mod:`jobs.dependencies.workflows`), where there is no noxfile with sessions. The baseline
runs with what it says (:func:`jobs.languages.python.unittest_runner.run_baseline`), and the
install note says where that came from (:func:`jobs.dependencies.install_plan.plan_install`).
"""

from __future__ import annotations

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
    :mod:`jobs.dependencies.workflow_install`), or from a nox session, its installs as such a
    step; none otherwise."""
    if tox is not None and tox.commands:
        where = f"`{tox.path}` {tox.section} commands"
        found = from_commands(list(tox.commands), where, tox.changedir)
        if found is not None:
            return found, []
    text = read_noting(files, NOXFILE, refused)
    if text is not None:
        sessions = read_nox(text, refused)
        found_all = [
            from_words(s.commands, f"`{NOXFILE}` session `{s.name}`", s.notes) for s in sessions
        ]
        found = _first(found_all)
        if found is not None:
            # the session that runs the tests installs what they need (session.install)
            session = sessions[next(i for i, c in enumerate(found_all) if c is found)]
            refused.extend(session.install_notes)
            return found, _nox_installs(session)
        if sessions:
            return None, []
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
