"""The suites bench (issue 21): Tandem's baseline (the project's own tests under coverage,
after Tandem installs the project's dependencies) against the project's own way of running its
tests, on popular pure-Python projects. ``python -m bench.suites --help``."""
