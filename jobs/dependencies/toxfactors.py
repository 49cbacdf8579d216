"""tox's factor conditions, evaluated for the sandbox's Python (pure).

A tox ``deps`` or ``extras`` line may hold only in some environments: ``py312: x``,
``!py38: y``, ``{py311,py312}: z``, ``py3{11,12}-django: w``. tox decides by the environment's
*factors*, the parts of its name between hyphens (``py312-django50``: ``py312`` and
``django50``). Tandem runs one environment, chosen among those of tox's ``envlist`` whose
factors name the sandbox's Python (``py312`` for 3.12), which a CI runs for that Python
(tox-gh-actions runs them all): the first that is not a part of another (whose conditional
lines another's include and exceed), since a fuller run skips fewer tests. pyjwt's
``py312-nocrypto`` installs a part of what ``py312-crypto`` does; ``django42`` and ``django50``
are alternatives, so the first of them. When the envlist names none, the environment ``py312``
alone. A
line's condition is a comma-separated list of alternatives (any may hold), each a hyphen-joined
list of factors (all must hold), each factor possibly negated with ``!``; braces expand first,
as in ``envlist``. PEP 508 markers (``x; python_version < "3.9"``) are evaluated for the same
Python, so a dep that is not for it is left out as pip would.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

# "cond: rest": the condition is factor names, braces, commas, hyphens and "!"; tox wants the
# space after the colon (a URL's "https://" has none).
_CONDITION = re.compile(r"^(!?[A-Za-z0-9_{},.!-]+):\s+(.*)$")
Python = tuple[int, int]


def expand(text: str) -> list[str]:
    """tox's generative names: top-level commas and newlines separate, braces multiply
    (``py3{11,12}-x`` → ``py311-x``, ``py312-x``). Unbalanced braces: the text as it is."""
    items: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return [text.strip()]
        if depth == 0 and char in ",\n":
            items.append(text[start:i])
            start = i + 1
    if depth:
        return [text.strip()]
    items.append(text[start:])
    return [name for item in items if item.strip() for name in _multiply(item.strip())]


def _multiply(name: str) -> list[str]:
    """One item's brace groups multiplied out, left to right (no nesting, as tox)."""
    parts = re.split(r"(\{[^{}]*\})", name)
    choices = [
        [r for c in part[1:-1].split(",") for r in _range(c.strip())]
        if part.startswith("{")
        else [part]
        for part in parts
    ]
    return ["".join(combo) for combo in itertools.product(*choices)]


def _range(choice: str) -> list[str]:
    """tox 4's numeric range in braces: ``{10-13}`` is 10, 11, 12, 13 (``3.1{0-5}``)."""
    bounds = re.fullmatch(r"(\d+)-(\d+)", choice)
    if bounds is None or int(bounds.group(2)) - int(bounds.group(1)) > 100:
        return [choice]
    return [str(n) for n in range(int(bounds.group(1)), int(bounds.group(2)) + 1)]


def python_envs(envlist: str, python: Python) -> list[frozenset[str]]:
    """The factors of each environment of ``envlist`` that names ``python``, in its order, or
    of ``py312`` alone when none does. tox 4 also names a Python ``3.12`` or ``py3.12``."""
    own = f"py{python[0]}{python[1]}"
    names = {own, f"{python[0]}.{python[1]}", f"py{python[0]}.{python[1]}"}
    found = [frozenset(name.split("-")) for name in expand(envlist)]
    return list(dict.fromkeys(f for f in found if names & f)) or [frozenset({own})]


def env_factors(envlist: str, python: Python) -> frozenset[str]:
    """The factors of the first environment for ``python`` (:func:`python_envs`)."""
    return python_envs(envlist, python)[0]


def fullest(
    candidates: list[frozenset[str]], applied: Callable[[frozenset[str]], frozenset[str]]
) -> frozenset[str]:
    """Of the candidate environments, the first whose ``applied`` lines no other candidate's
    strictly include (module docstring)."""
    lines = [applied(factors) for factors in candidates]
    for factors, own in zip(candidates, lines, strict=True):
        if not any(own < other for other in lines):
            return factors
    return candidates[0]


def split_condition(line: str) -> tuple[str | None, str]:
    """(the condition or None, the rest) of one ``deps``/``extras`` line."""
    match = _CONDITION.match(line)
    return (match.group(1), match.group(2).strip()) if match else (None, line)


def holds(condition: str, factors: frozenset[str]) -> bool:
    """Whether a factor condition holds for an environment with ``factors``."""

    def one(alternative: str) -> bool:
        wanted = [f for f in alternative.split("-") if f]
        return bool(wanted) and all(
            (f[1:] not in factors) if f.startswith("!") else (f in factors) for f in wanted
        )

    return any(one(alternative) for alternative in expand(condition))


def marker_holds(requirement_marker: Marker | None, python: Python) -> bool:
    """A PEP 508 marker evaluated for ``python`` (this machine's platform otherwise); one that
    cannot be evaluated holds (pip then decides)."""
    if requirement_marker is None:
        return True
    version = f"{python[0]}.{python[1]}"
    try:
        return requirement_marker.evaluate(
            {"python_version": version, "python_full_version": f"{version}.0"}
        )
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return True
