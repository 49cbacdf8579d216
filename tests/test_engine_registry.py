"""The engine registry: engines behind one interface, portfolios as data, the names defined
once. A toy engine is registered here, from the test alone, and runs through the real
pipeline."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest

from bot.command_parsing import ENGINES as COMMAND_ENGINES
from core.engine_names import ENGINE_NAMES, EngineSetting
from core.repo_config import RepoConfig, TestGeneration
from core.settings import Settings
from jobs.sandbox import LocalSandbox
from jobs.state import RunOptions
from jobs.testgen import produce_tests
from jobs.testgen.engines import (
    ENGINES,
    PORTFOLIOS,
    EngineOutcome,
    Portfolio,
    Workspace,
    choose_engine,
    register,
)
from jobs.testgen.engines import offline as offline_engines
from jobs.testgen.targets import Target
from tests.test_testgen import CALC, make_repo

NO_LLM = Settings(llm_model=None, sandbox="local")  # type: ignore[call-arg]
LLM = Settings(llm_model="openai/some-model", sandbox="local")  # type: ignore[call-arg]


class Toy:
    """An engine that writes one fixed test for the first target, and reports a crash."""

    name = "toy"
    label = "Toy"
    share = 1.0

    def __init__(self) -> None:
        self.seen: list[Workspace] = []

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        self.seen.append(workspace)
        workspace.step("the toy engine writing one test")
        path = f"{workspace.output_dir}/test_toy_tandem.py"
        (workspace.checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (workspace.checkout / path).write_text(
            "from pkg.calc import classify\n\n\ndef test_negative():\n"
            "    assert classify(-1) == 'negative'\n"
        )
        return EngineOutcome(
            written=[path],
            notes=[f"toy: {len(targets)} target(s)"],
            crashed=[f"`{targets[0].path}`: ToyError: boom"],
        )


@pytest.fixture
def isolated_registry() -> Iterator[None]:
    """What a test registers is gone after it (the dicts are shared by reference)."""
    # The languages register their own engines when first imported: imported during the test,
    # they would be gone after it and never come back (the module is imported once).
    importlib.import_module("jobs.languages.language_registry")
    engines, portfolios = dict(ENGINES), dict(PORTFOLIOS)
    yield
    ENGINES.clear()
    ENGINES.update(engines)
    PORTFOLIOS.clear()
    PORTFOLIOS.update(portfolios)


def test_every_name_a_user_may_give_has_a_portfolio_of_registered_engines() -> None:
    assert get_args(EngineSetting) == ("auto", *ENGINE_NAMES)
    assert COMMAND_ENGINES == ENGINE_NAMES
    assert set(get_args(EngineSetting)) == set(PORTFOLIOS)
    # A language's own engines are registered with the language (JS/TS's by its backend),
    # which every run has chosen before its engines run.
    importlib.import_module("jobs.languages.language_registry")
    for portfolio in PORTFOLIOS.values():
        assert all(name in ENGINES for name in portfolio.engines), portfolio
        assert portfolio.fallback is None or not PORTFOLIOS[portfolio.fallback].agent


def test_the_config_the_command_parser_and_the_state_take_the_same_names() -> None:
    for name in ENGINE_NAMES:
        assert RunOptions(engine=name).engine == name
        assert RepoConfig.model_validate({"test_generation": {"engine": name}})
    with pytest.raises(ValueError):
        RunOptions.model_validate({"engine": "toy"})


@pytest.mark.parametrize(
    ("engine", "settings", "reported", "reason"),
    [
        ("auto", NO_LLM, "offline", "offline: characterization, differential, amplification, "
         "crosshair, pynguin (engine auto, no LLM configured)"),
        ("auto", LLM, "openhands", "characterization, differential and amplified tests, then "
         "openhands (openai/some-model; engine auto)"),
        ("openhands", LLM, "openhands", "openhands (openai/some-model)"),
        ("openhands", NO_LLM, None, "engine openhands needs an LLM: set TANDEM_LLM_MODEL (and "
         "TANDEM_LLM_BASE_URL / TANDEM_LLM_API_KEY) or test_generation.model"),
        ("offline", LLM, "offline", "offline: characterization, differential, amplification, "
         "crosshair, pynguin"),
        ("crosshair", NO_LLM, "crosshair", "crosshair (offline)"),
        ("amplify", NO_LLM, "amplify", "amplified project tests (offline)"),
        ("pynguin", LLM, "pynguin", "pynguin (offline)"),
    ],
)  # fmt: skip
def test_the_choice_and_its_reason_for_each_setting(
    engine: str, settings: Settings, reported: str | None, reason: str
) -> None:
    portfolio, why = choose_engine(TestGeneration.model_validate({"engine": engine}), settings)
    assert (portfolio.reported if portfolio else None, why) == (reported, reason)


@pytest.mark.parametrize(
    ("engine", "settings", "reported", "reason"),
    [
        ("auto", LLM, "openhands", "JS/TS characterization and amplification, then openhands "
         "(openai/some-model; "
         "engine auto)"),
        ("auto", NO_LLM, "offline", "offline: JS/TS characterization, amplification (engine "
         "auto, no LLM configured)"),
        ("openhands", LLM, "openhands", "openhands (openai/some-model)"),
        ("offline", LLM, "offline", "offline: JS/TS characterization, amplification"),
    ],
)  # fmt: skip
def test_the_javascript_choice_and_its_reason_for_each_setting(
    engine: str, settings: Settings, reported: str | None, reason: str
) -> None:
    from jobs.languages.javascript.javascript_backend import JAVASCRIPT

    tg = TestGeneration.model_validate({"engine": engine})
    portfolio, why = choose_engine(tg, settings, JAVASCRIPT)
    assert (portfolio.reported if portfolio else None, why) == (reported, reason)


@pytest.mark.parametrize(
    ("engine", "reported", "reason"),
    [
        ("auto", "offline", "offline: characterization, differential, amplification, crosshair, "
         "pynguin (engine auto: the agent writes no Toy tests yet)"),
        ("openhands", None, "engine openhands: the agent writes no Toy tests yet"),
    ],
)  # fmt: skip
def test_a_language_the_agent_does_not_serve_gets_the_offline_fallback(
    engine: str, reported: str | None, reason: str
) -> None:
    from tests.test_languages import Toy

    tg = TestGeneration.model_validate({"engine": engine})
    portfolio, why = choose_engine(tg, LLM, Toy())
    assert (portfolio.reported if portfolio else None, why) == (reported, reason)


@pytest.mark.usefixtures("isolated_registry")
async def test_a_toy_engine_registered_from_outside_runs_through_the_pipeline(
    tmp_path: Path,
) -> None:
    """Registering an engine and a portfolio is all it takes: `engine: offline` now runs the
    toy, whose test is validated and kept, and whose crash is a problem."""
    toy = Toy()
    register(toy, Portfolio("offline", ("toy",), label="offline: toy"))
    repo = make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/test_add.py": "from pkg.calc import add\n\n\ndef test_add():\n"
            "    assert add(1, 2) == 3\n",
        },
    )
    config = RepoConfig.model_validate({"test_generation": {"engine": "offline"}})
    heard: list[str] = []
    production = await produce_tests(
        LocalSandbox(), repo, {"pkg/calc.py": set(range(5, 11))}, config, NO_LLM, heard.append
    )
    assert (production.engine, production.engine_reason) == ("offline", "offline: toy")
    assert list(production.kept) == ["tests/test_toy_tandem.py"]
    assert "toy: 1 target(s)" in production.notes
    assert "Toy crashed on `pkg/calc.py`: ToyError: boom" in production.problems
    assert "engine_toy" in production.timings
    assert "the toy engine writing one test" in heard
    assert [w.checkout for w in toy.seen] == [repo]
    assert "tests/test_add.py" in toy.seen[0].tests


class Search:
    """An engine that, when it may run alongside others, starts only once its partner has
    started too: run one after the other, the first would wait for ever (the test's guard
    fails it); it writes one file named after itself."""

    label = "Search"
    share = 0.5

    def __init__(self, name: str, alongside: bool, started: dict[str, asyncio.Event]) -> None:
        self.name = name
        self.alongside = alongside
        self.started = started
        self.deadline = 0.0

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        self.deadline = workspace.deadline
        self.started[self.name].set()
        if self.alongside:
            partner = next(n for n in self.started if n != self.name and n != "first")
            await asyncio.wait_for(self.started[partner].wait(), timeout=60)
        return EngineOutcome(written=[f"tests/test_{self.name}.py"], notes=[self.name])


@pytest.mark.usefixtures("isolated_registry")
async def test_search_engines_run_alongside_each_other_and_pool_in_the_portfolios_order(
    tmp_path: Path,
) -> None:
    started = {name: asyncio.Event() for name in ("first", "slow", "fast")}
    engines = [Search("first", False, started), Search("slow", True, started)]
    engines.append(Search("fast", True, started))
    for engine in engines:
        register(engine)
    repo = make_repo(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/calc.py": CALC})
    deadline = time.monotonic() + 1000
    targets = [Target("pkg/calc.py", [5], ["add"])]
    tests, seeds = offline_engines.read_evidence(repo, targets)
    workspace = Workspace(LocalSandbox(), repo, "tests", deadline, lambda _: None, tests, seeds)
    outcome = await offline_engines.generate(("first", "slow", "fast"), workspace, targets)
    assert outcome.written == ["tests/test_first.py", "tests/test_slow.py", "tests/test_fast.py"]
    assert outcome.notes == ["first", "slow", "fast"]
    assert set(outcome.timings) == {"engine_first", "engine_slow", "engine_fast"}
    first, slow, fast = engines
    # Each keeps the deadline it would have had started first: its share, or all (the last).
    assert first.deadline < deadline and slow.deadline < deadline
    assert fast.deadline == deadline


def test_a_portfolio_names_the_engines_a_language_runs() -> None:
    offline = PORTFOLIOS["offline"]
    assert offline.label_for("python") == offline.label
    assert offline.label_for("javascript") == "offline: JS/TS characterization, amplification"
