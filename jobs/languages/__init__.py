"""Languages: everything about a changed file that depends on the language it is written in.

- :mod:`.language_protocol`: the :class:`~.language_protocol.Language` protocol: which changed files
  are a language's own, which of them are tests, running its suite under coverage, running given
  test files N times, running tests on the base commit, its test conventions for prompts, and its
  offline engines (names from :mod:`jobs.testgen.engines.registry`).
- :mod:`.language_registry`: ``LANGUAGES``, ``register`` and ``language_for``; how to add a language
  or an engine is in its docstring.
- :mod:`.python`: the Python backend (pytest, coverage.py, ``ast``), delegating to the modules
  of :mod:`jobs.testgen` that do the work.
- :mod:`.suite_run`: :class:`~.suite_run.SuiteRun`, a run of the tests in no runner's terms,
  which each backend's runner fills.
- :mod:`.javascript`: the JavaScript/TypeScript backend (issue 20): its runs (vitest, jest), its
  offline characterization engine, and the conventions the OpenHands agent's prompts read.

This package's ``__init__`` imports nothing, so that :mod:`jobs.dependencies` can use the pure
:mod:`.python.testfiles` without loading test generation.
"""
