"""The test commands of a project's CI workflows (pure: file texts in, word lists out).

Where a project has no tox env or nox session that runs its tests, its GitHub Actions workflow
still says how its CI does: a step ``run: python -m pytest --doctest-modules src tests``. Each
``.github/workflows/*.yml`` (and ``.yaml``) is read, in name order, with ``yaml.safe_load``,
those a pull request or a push runs first (a release's or a manual one's own test job comes
after: it is not the CI a PR gets); each job's steps in order; of each step, its ``run:``
script, split into commands (lines, ``\\`` continuations joined, ``&&``, ``||``, ``;`` and ``|``
between commands, comments left out). A GitHub expression (``${{ matrix.args }}``) or a shell
variable (``$ARGS``) in a word is a substitution that is not resolved: that word is left out and
named, as tox's are. The PR's author writes these files: they are read, never run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

import yaml

from jobs.dependencies.policy import RepoFiles, read_noting

FOLDER = ".github/workflows"
_SUFFIXES = (".yml", ".yaml")
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_BETWEEN = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
MAX_STEPS = 2000  # of all the workflows together: the rest are not read


@dataclass(frozen=True)
class WorkflowStep:
    source: str  # "`.github/workflows/ci.yml` job `test`"
    commands: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what did not split, a line each
    directory: str | None = None  # its working-directory, when not the root
    condition: str | None = None  # its `if:`, when it runs only under one
    name: str = ""  # its `name:`, else its script's first line


def read_workflows(files: RepoFiles, refused: list[str]) -> list[WorkflowStep]:
    """The steps with a ``run:`` script of the project's workflows, in order; what cannot be
    read goes to ``refused``."""
    read: list[tuple[str, object]] = []
    for name in sorted(n for n in files.listing(FOLDER) if n.endswith(_SUFFIXES)):
        path = f"{FOLDER}/{name}"
        text = read_noting(files, path, refused)
        if text is None:
            continue
        try:
            read.append((path, yaml.safe_load(text)))
        except (yaml.YAMLError, RecursionError) as e:
            refused.append(f"`{path}`: cannot be parsed ({str(e).splitlines()[0][:200]})")
    # a pull request's CI first: a workflow run only on a release or by hand comes after
    read.sort(key=lambda pair: not _on_pull_request(pair[1]))
    steps: list[WorkflowStep] = []
    for path, data in read:
        jobs = data.get("jobs") if isinstance(data, dict) else None
        for job_id, job in (jobs or {}).items() if isinstance(jobs, dict) else ():
            if isinstance(job, dict):
                steps.extend(_steps(f"`{path}` job `{job_id}`", job))
            if len(steps) >= MAX_STEPS:
                return steps[:MAX_STEPS]
    return steps


def _on_pull_request(data: object) -> bool:
    """Whether a pull request's CI runs the workflow: its ``on:`` names ``pull_request`` (or
    ``pull_request_target``) or ``push``, or it has no ``on:`` that says otherwise. YAML 1.1
    reads the key ``on`` as true."""
    if not isinstance(data, dict):
        return True
    on = data.get("on", data.get(True))
    if on is None:
        return True
    events = [on] if isinstance(on, str) else list(on) if isinstance(on, list | dict) else []
    return any(e in ("pull_request", "pull_request_target", "push") for e in events)


def _steps(source: str, job: dict[object, object]) -> list[WorkflowStep]:
    defaults = job.get("defaults")
    run = defaults.get("run") if isinstance(defaults, dict) else None
    default_dir = run.get("working-directory") if isinstance(run, dict) else None
    found: list[WorkflowStep] = []
    listed = job.get("steps")
    for step in listed if isinstance(listed, list) else ():
        script = step.get("run") if isinstance(step, dict) else None
        if not isinstance(script, str):
            continue
        directory = step.get("working-directory", default_dir)
        commands, notes = script_commands(script)
        where = directory if isinstance(directory, str) and "${{" not in directory else None
        condition = step.get("if")
        label = step.get("name")
        first = next((line.strip() for line in script.splitlines() if line.strip()), "")
        found.append(
            WorkflowStep(
                source,
                commands,
                notes,
                _relative(where),
                _condition(condition),
                (label if isinstance(label, str) else first)[:80],
            )
        )
    return found


def _condition(condition: object) -> str | None:
    """A step's ``if:`` as a line, None where it always runs (no ``if:``, ``true``,
    ``success()``, ``always()``)."""
    if condition is None or condition is True:
        return None
    text = str(condition).strip()
    bare = _EXPRESSION.sub(lambda m: m.group(1), text).strip()
    return None if bare in ("success()", "always()", "true") else text[:100]


def _relative(directory: str | None) -> str | None:
    if directory is None:
        return None
    directory = directory.strip().removeprefix("./").rstrip("/")
    return None if directory in ("", ".") or directory.startswith("/") else directory


def script_commands(script: str) -> tuple[list[list[str]], list[str]]:
    """A ``run:`` script's commands as words, and a note for each line that did not split."""
    commands: list[list[str]] = []
    notes: list[str] = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # an unresolved substitution stays one word, in braces, which the reader leaves out
        line = _EXPRESSION.sub(lambda m: "{" + m.group(1).replace(" ", "") + "}", line)
        line = _VARIABLE.sub(lambda m: "{$" + m.group(1) + "}", line)
        for part in _BETWEEN.split(line):
            try:
                words = shlex.split(part, comments=True)
            except ValueError as e:
                notes.append(f"{part[:100]!r} cannot be split ({e})")
                continue
            if words:
                commands.append(words)
    return commands, notes
