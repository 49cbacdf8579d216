"""The languages by name, and which one a changed file belongs to.

A run of test generation works in one language (:func:`change_for`): the first registered one
that builds tests and has changed sources in the change. The changed sources of a language that
builds none (``builds_tests`` False), and those of a second language in the same change, are
named in the part's report, never lost and never ✅.

Adding a language: write a package ``jobs/languages/<name>/`` with a class that has what
:class:`.language_protocol.Language` asks (a name, a label, which files it owns and which are
tests, its sources of a change, its dependency install, running its suite under coverage,
which changed lines are statements and which functions hold them, running given test files,
the base commit's runs, its conventions (a
:class:`~jobs.languages.conventions.Conventions`, with how the agent's prompts name its runner,
where a new test goes and the command that runs one: ``Conventions.prompting``), which new files
are tests its runner collects (``tests_among``), its offline engines, its selection test by
test or None (``per_test``), and whether it has mutants and the agent), and add one line to
``LANGUAGES`` below (or call :func:`register`). Everything it runs stays in its package
(Python's: :mod:`.python`); the stages of :mod:`jobs.testgen.stages` reach it only through
:func:`change_for` and ``Context.language``.

Adding an engine: write one module with a class that has ``name``, ``label``, ``share`` and
``async generate(workspace, targets)`` (see :mod:`jobs.testgen.engines.characterize`), and add
one line to ``ENGINES`` in :mod:`jobs.testgen.engines.registry` (or call its ``register`` with
a portfolio that runs it). A language runs the engines its ``engines`` names: Python's are the
engine registry's ``offline`` portfolio, so a Python engine placed there needs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from jobs.languages.javascript.javascript_backend import JAVASCRIPT
from jobs.languages.language_protocol import Change, Language
from jobs.languages.python.python_backend import PYTHON

# In the order a change's languages are tried: the first that builds tests and has changed
# sources is the run's.
LANGUAGES: dict[str, Language] = {language.name: language for language in (PYTHON, JAVASCRIPT)}
DEFAULT = PYTHON.name  # the language a run reports in when no language has changed sources


def register(language: Language) -> Language:
    """Add a language at run time (what a plugin or test does); it is tried before the ones
    registered already, so that it may claim files another one owns too."""
    others = {name: lang for name, lang in LANGUAGES.items() if name != language.name}
    LANGUAGES.clear()
    LANGUAGES.update({language.name: language, **others})
    return language


def language_for(path: str) -> Language | None:
    """The language that owns a changed file, if any does."""
    return next((lang for lang in LANGUAGES.values() if lang.owns(path)), None)


def change_for(changed: Mapping[str, set[int]], selected: Callable[[str], bool]) -> Change:
    """The run's language and sources (pure: paths in, a decision out). ``selected``: the
    config's paths filter. A file goes to the first language that owns it."""
    claimed: dict[str, dict[str, set[int]]] = {}
    for path, lines in changed.items():
        if (language := language_for(path)) is not None:
            claimed.setdefault(language.name, {})[path] = lines
    chosen: Change | None = None
    not_built: dict[str, list[str]] = {}
    not_this_run: dict[str, list[str]] = {}
    for language in LANGUAGES.values():
        sources = language.sources(claimed.get(language.name, {}), selected)
        if not sources:
            continue
        if not language.builds_tests:
            not_built[language.label] = sorted(sources)
        elif chosen is None:
            chosen = Change(language, sources)
        else:
            not_this_run[language.label] = sorted(sources)
    if chosen is None:
        return Change(LANGUAGES.get(DEFAULT, PYTHON), {}, not_built)
    return Change(chosen.language, chosen.sources, not_built, not_this_run)
