"""Languages: everything about a changed file that depends on the language it is written in.

- :mod:`.language_protocol`: the :class:`~.language_protocol.Language` protocol: which changed files
  are a language's own, which of them are tests, its dependency install, running its suite under
  coverage, which changed lines are statements and which functions hold them, running given
  test files N times, running tests on the base commit, its test conventions for prompts, its
  selection test by test (or None: files are kept whole), and its offline engines (names from
  :mod:`jobs.testgen.engines.registry`).
- :mod:`.language_registry`: ``LANGUAGES``, ``register``, ``language_for`` and ``change_for``;
  how to add a language or an engine is in its docstring.
- :mod:`.suite_run`: :class:`~.suite_run.SuiteRun`, a run of the tests in no runner's terms,
  which each backend's runner fills; :mod:`.conventions`: :class:`~.conventions.Conventions`, a
  repository's test conventions as a prompt reads them, which each backend fills, with
  :class:`~.conventions.Prompting`, how the agent's prompts name its runner, files and command.
- :mod:`.python`: the Python backend: pytest under coverage.py (``pytest_runner``), the base
  commit's runs (``base_commit``), the conventions (``python_conventions``), the test-file
  predicate (``testfiles``), its statements and functions (``python_statements``), the pruning
  of a candidate's failing tests (``pruning``), the
  selection test by test (``per_test`` with ``per_test_choice``, ``per_test_measure``, and the
  tidying: ``tidy``, ``tidy_names``, ``tidy_review``); its offline engines are in
  :mod:`jobs.testgen.engines`.
- :mod:`.javascript`: the JavaScript/TypeScript backend (issue 20): its runs (vitest, jest), its
  layout and conventions (the OpenHands agent's prompts read them), its selection test by test
  (``js_per_test``, the choice shared with Python's: :mod:`jobs.testgen.test_choice`), and its
  engine (``export_engine``).

This package's ``__init__`` imports nothing, so that :mod:`jobs.dependencies` can use the pure
:mod:`.python.testfiles` without loading test generation.
"""
