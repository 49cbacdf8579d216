"""The real-commit bench's measuring runs: what they add to pytest's command line."""

from __future__ import annotations

from pathlib import Path

from bench.realprs.measure import coverage_plugin_args


def test_a_venv_with_pytest_cov_runs_pytest_without_it(tmp_path: Path) -> None:
    # parse's addopts name --cov: pytest-cov is a case dependency, and its own coverage would
    # take the tracer from the measuring `coverage run`, which would then record nothing.
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    assert coverage_plugin_args(venv) == []
    (site / "pytest_cov").mkdir()
    assert coverage_plugin_args(venv) == ["--no-cov"]
