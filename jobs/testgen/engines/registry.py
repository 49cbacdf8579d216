"""The engines and portfolios by name: the one place that says what each engine name runs.

An **engine** (:class:`.engine_protocol.Engine`) writes candidate test files. A **portfolio** is
what ``test_generation.engine`` or ``/generate-tests --engine`` names (the names are defined once,
in :mod:`core.engine_names`): offline engines run one after the other within the engine budget,
their candidates pooled, then, if the portfolio says so, the OpenHands agent (:mod:`.agent`), which
needs an LLM. A portfolio that needs one has a fallback portfolio for when none is
configured, or cannot run.

Adding an engine: write a module with a class that has ``name``, ``label``, ``share`` and
``async generate(workspace, targets) -> EngineOutcome`` (see :mod:`.characterize`), and add one
line to ``ENGINES`` below (or call :func:`register`). To let users ask for it, add its name to
:data:`core.engine_names.EngineName` and a portfolio here; the config schema, the command parser
and the run state follow from that name. Only the engines the change's language names run on its
files (``Language.engines``, :mod:`jobs.languages`): Python's are the ``offline`` portfolio's.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.testgen.engines.amplify import Amplify
from jobs.testgen.engines.characterize import Characterize
from jobs.testgen.engines.crosshair import Crosshair
from jobs.testgen.engines.differential import Differential
from jobs.testgen.engines.engine_protocol import Engine
from jobs.testgen.engines.pynguin import Pynguin

AGENT = "openhands"  # the LLM engine, which validates and fixes its own files (:mod:`.agent`)


@dataclass(frozen=True)
class Portfolio:
    name: str
    engines: tuple[str, ...] = ()  # offline engines, in the order they run
    agent: bool = False  # then the OpenHands agent, on what they left uncovered
    label: str = ""  # the check run's "Engine: …" line; {model} is the LLM's model
    fallback: str | None = None  # the portfolio to run when it needs an LLM and has none
    # The label for a language whose engines are not the ones ``label`` names: (language, label)
    labels: tuple[tuple[str, str], ...] = ()

    def label_for(self, language: str) -> str:
        return dict(self.labels).get(language, self.label)

    @property
    def reported(self) -> str:
        """The engine named in the check run's details: the agent if it runs."""
        return AGENT if self.agent else self.name


ENGINES: dict[str, Engine] = {
    engine.name: engine
    for engine in (Characterize(), Differential(), Amplify(), Crosshair(), Pynguin())
}
# The engines that write JavaScript/TypeScript tests (``JavaScript.engines``), registered by
# that language's backend (:mod:`jobs.languages.javascript.javascript_backend`); every other
# engine of the offline portfolio writes Python's (``Python.engines``).
JAVASCRIPT_ENGINES = ("characterize-js", "amplify-js")
# The engines that run the change's functions on the base commit too and keep what differs: where
# the existing tests run every changed line, they still look for what pins the change.
COMPARING_ENGINES = ("differential", "amplify", "characterize-js", "amplify-js")

PORTFOLIOS: dict[str, Portfolio] = {
    p.name: p
    for p in (
        Portfolio(
            "auto",
            # Characterization is cheap and pins the change where the project's own examples
            # reach it; the differential search pins what it did not, covered lines included;
            # amplification varies the project's own tests where no call of the changed
            # function shows the change; the agent is then asked only for what they left.
            ("characterize", "differential", "amplify", *JAVASCRIPT_ENGINES),
            agent=True,
            label="characterization, differential and amplified tests, then openhands "
            "({model}; engine auto)",
            labels=(
                (
                    "javascript",
                    "JS/TS characterization and amplification, then openhands "
                    "({model}; engine auto)",
                ),
            ),
            fallback="offline",
        ),
        Portfolio(AGENT, agent=True, label="openhands ({model})"),
        Portfolio(
            "offline",
            (
                "characterize",
                "differential",
                "amplify",
                "crosshair",
                "pynguin",
                *JAVASCRIPT_ENGINES,
            ),
            label="offline: characterization, differential, amplification, crosshair, pynguin",
            labels=(("javascript", "offline: JS/TS characterization, amplification"),),
        ),
        Portfolio("crosshair", ("crosshair",), label="crosshair (offline)"),
        Portfolio("pynguin", ("pynguin",), label="pynguin (offline)"),
        Portfolio("amplify", ("amplify",), label="amplified project tests (offline)"),
        Portfolio("amplify-js", ("amplify-js",), label="amplified JS/TS project tests (offline)"),
    )
}


def register(engine: Engine, *portfolios: Portfolio) -> Engine:
    """Add an engine (and portfolios that run it) at run time: what a plugin or test does."""
    ENGINES[engine.name] = engine
    for portfolio in portfolios:
        PORTFOLIOS[portfolio.name] = portfolio
    return engine
