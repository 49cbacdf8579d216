"""The engine names, defined once: what `test_generation.engine`, `/generate-tests --engine`
and a run's stored options may say. The config schema, the command parser and the run state all
use these; the worker's registry (:mod:`jobs.testgen.engines.registry`) says what each name runs.

A name here is a *portfolio* a user may ask for (one engine, or several pooled); ``auto`` is
the config's default and is never asked for by a command.
"""

from __future__ import annotations

from typing import Literal, get_args

EngineName = Literal["openhands", "offline", "pynguin", "crosshair", "amplify", "amplify-js"]
# typing flattens the nested Literal: "auto" then the names above, in that order.
EngineSetting = Literal["auto", EngineName]

ENGINE_NAMES: tuple[EngineName, ...] = get_args(EngineName)
