"""The Python backend of the language seam (:mod:`jobs.languages`).

- :mod:`.testfiles`: what a Python test file is (pure; imports nothing of :mod:`jobs.testgen`,
  so that :mod:`jobs.dependencies` may use it);
- :mod:`.python_backend`: :data:`~.python_backend.PYTHON`, the
  :class:`~jobs.languages.language_protocol.Language` that runs pytest under coverage.py
  (:mod:`.pytest_runner`), the base-commit runs (:mod:`.base_commit`), reads the test conventions
  (:mod:`.python_conventions`) and names the offline engines of :mod:`jobs.testgen.engines`.

Like the package above it, this ``__init__`` imports nothing.
"""
