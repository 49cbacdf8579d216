"""The keep rules behind one ``Selection``: which rule ``selection_for`` picks, and both run
through the real pipeline on a toy engine's one test file (a local sandbox, real pytest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.repo_config import RepoConfig
from jobs.languages.javascript.javascript_backend import JAVASCRIPT
from jobs.languages.python.python_backend import PYTHON
from jobs.sandbox import LocalSandbox
from jobs.testgen import produce_tests
from jobs.testgen.budget import Budget
from jobs.testgen.engines import Portfolio, register
from jobs.testgen.keep import PerFile, PerTest, selection_for
from jobs.testgen.validation import Validator
from tests.test_engine_registry import NO_LLM, Toy, isolated_registry  # noqa: F401 (a fixture)
from tests.test_testgen import CALC, make_repo


def _validator(tmp_path: Path) -> Validator:
    budget = Budget.start(RepoConfig().test_generation, NO_LLM)
    return Validator(
        LocalSandbox(),
        tmp_path,
        runs=5,
        timeout_s=60,
        budget=budget,
        step=lambda _: None,
        language=PYTHON,
    )


def test_offline_candidates_are_kept_test_by_test_only_under_new_changed_lines(
    tmp_path: Path,
) -> None:
    validator = _validator(tmp_path)
    written = ["tests/test_a_tandem.py"]
    python = PYTHON.per_test
    assert selection_for("new_changed_lines", validator, written, per_test=python) == PerTest(
        written, python, pin=True
    )
    # The agent follows: its own selection runs every kept file on the base commit.
    following = selection_for(
        "new_changed_lines", validator, written, per_test=python, agent_follows=True
    )
    assert following == PerTest(written, python, pin=False)
    assert selection_for("total", validator, written, per_test=python) == PerFile(
        validator, written
    )
    # JavaScript's tests are chosen one by one too, with its own selection.
    javascript = JAVASCRIPT.per_test
    assert javascript is not None and javascript is not python
    assert selection_for("new_changed_lines", validator, written, per_test=javascript) == PerTest(
        written, javascript, pin=True
    )
    # A language without a selection test by test keeps the files whole.
    assert selection_for("new_changed_lines", validator, written, per_test=None) == PerFile(
        validator, written
    )
    # The agent's files, validated as it wrote them, are kept file by file under either rule.
    for rule in ("new_changed_lines", "total"):
        assert selection_for(rule, validator, None, per_test=python) == PerFile(validator, None)


@pytest.mark.usefixtures("isolated_registry")
@pytest.mark.parametrize("keep_rule", ["new_changed_lines", "total"])
async def test_each_keep_rule_keeps_the_toy_engines_test(tmp_path: Path, keep_rule: str) -> None:
    register(Toy(), Portfolio("offline", ("toy",), label="offline: toy"))
    repo = make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/test_add.py": "from pkg.calc import add\n\n\ndef test_add():\n"
            "    assert add(1, 2) == 3\n",
        },
    )
    config = RepoConfig.model_validate(
        {"test_generation": {"engine": "offline", "coverage": {"keep_rule": keep_rule}}}
    )
    heard: list[str] = []
    production = await produce_tests(
        LocalSandbox(), repo, {"pkg/calc.py": set(range(5, 11))}, config, NO_LLM, heard.append
    )
    assert list(production.kept) == ["tests/test_toy_tandem.py"]
    [verdict] = [v for v in production.verdicts if v.kept]
    if keep_rule == "new_changed_lines":  # per test: each test validated and listed
        assert [t["test"] for t in production.tests if t["kept"]] == [
            "tests/test_toy_tandem.py::test_negative"
        ]
        assert "coverage_filter" not in production.timings
    else:  # per file: the file validated whole, kept for the total coverage it adds
        assert production.tests == []
        assert "validating tests/test_toy_tandem.py (5 runs)" in heard
        assert "line(s) of total coverage" in verdict.reason
        assert {"validation", "coverage_filter"} <= set(production.timings)
