"""The engines that write candidate test files in the checkout, behind one interface
(:mod:`.engine_protocol`: the :class:`Engine` protocol, its :class:`Workspace` and
:class:`EngineOutcome`) and one registry (:mod:`.registry`: the engines and the portfolios
users name, with how to add an engine). The OpenHands agent (:mod:`.agent`, with fix rounds)
and the offline portfolio (:mod:`.offline`: characterization, :mod:`.characterize`; CrossHair
on the changed callables, :mod:`.crosshair`; then Pynguin on the changed modules,
:mod:`.pynguin`; the differential engine, :mod:`.differential`); :mod:`.choice` picks.
Whatever an engine writes goes through the same validation and coverage filter.

The offline engines write Python tests, and the helpers only they use live here beside them:
what they read of a Python project (:mod:`.python_modules`: a source's importable module, the
project's test files), the changed callables and their parameters (:mod:`.callables`), and
the calls the project already holds (:mod:`.seeds`, from :mod:`.seed_sources` and
:mod:`.literal_seeds`). The JavaScript/TypeScript engine lives with its language
(:mod:`jobs.languages.javascript.export_engine`).

The agent works with the stages' own :class:`jobs.testgen.context.Context` and
:class:`jobs.testgen.production.Production` (the budget, usage and timings it shares with
them), so it is imported from :mod:`.agent` itself, never from here: the context imports the
registry, and this package importing the agent would close a circle."""

from jobs.testgen.engines.choice import choose_engine
from jobs.testgen.engines.engine_protocol import Engine, EngineOutcome, Workspace
from jobs.testgen.engines.registry import ENGINES, PORTFOLIOS, Portfolio, register

__all__ = [
    "ENGINES",
    "PORTFOLIOS",
    "Engine",
    "EngineOutcome",
    "Portfolio",
    "Workspace",
    "choose_engine",
    "register",
]
