"""Calls aimed at one surviving mutant that none of the engine's calls told apart from the head
(:mod:`.differential_mutants`). A mutant differs from the head in one expression, and mostly on
a boundary of it: ``n > 10`` becoming ``n >= 10`` differs only at ``n == 10``, ``10`` becoming
``11`` only at 10 or 11, ``'@'`` becoming ``''`` only on a string with an ``@``. The calls that
reach the mutated function rarely sit on that boundary (they passed the existing tests, which the
mutant survived). So each such call gets neighbours aimed at the mutated expression: a number
argument set to each constant of the expression and the numbers either side of it, a string
argument given each of its strings, and where a comparison of two names was mutated (``a > b``
becoming ``a >= b``), one number argument set to another's value.

Pure: the mutant's description and the calls in, calls out.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator, Sequence

from jobs.testgen.engines.differential_inputs import take_in_turn
from jobs.testgen.engines.input_variants import string_variants
from jobs.testgen.engines.seeds import Seed
from jobs.testgen.proof.mutants import Mutant

MAX_PER_MUTANT = 40  # aimed calls per mutant
MAX_SEEDS = 12  # calls of the mutant's module whose neighbours are tried, the nearest first
MAX_CONSTANTS = 4  # constants read from a mutated expression
_SEGMENT = re.compile(r"`([^`]*)`")
_COMPARISON = re.compile(r"(<=|>=|==|!=|<|>| is | in )")


def constants(description: str) -> tuple[tuple[int | float, ...], tuple[str, ...]]:
    """The number and string constants of a mutant's description (```n > 10` becomes `n >= 10``
    gives ``(10,), ()``), in order, each once: read by Python's tokenizer, so a segment the
    description cut short (``…``) still gives what it has."""
    numbers: list[int | float] = []
    strings: list[str] = []
    for segment in _SEGMENT.findall(description):
        for kind, text in _tokens(segment):
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
            if kind == tokenize.NUMBER and type(value) in (int, float):
                numbers.append(value)
            elif kind == tokenize.STRING and isinstance(value, str):
                strings.append(value)
    return (
        tuple(dict.fromkeys(numbers))[:MAX_CONSTANTS],
        tuple(dict.fromkeys(strings))[:MAX_CONSTANTS],
    )


def _tokens(segment: str) -> Iterator[tuple[int, str]]:
    try:
        for token in tokenize.generate_tokens(io.StringIO(segment).readline):
            yield token.type, token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return


def boundary(numbers: Sequence[int | float]) -> list[int | float]:
    """Each constant and the numbers either side of it (an int's neighbours, a float's
    ±1), the constants themselves first: the boundary a mutated comparison moves."""
    out: list[int | float] = [*numbers]
    for number in numbers:
        out += [number - 1, number + 1]
    return list(dict.fromkeys(out))


def compares_names(description: str) -> bool:
    """The mutated expression is a comparison (``a > b``), so equal values sit on the
    boundary a changed operator moves, whatever the names hold."""
    segments = _SEGMENT.findall(description)
    return bool(segments) and _COMPARISON.search(segments[0]) is not None


def aimed_calls(mutant: Mutant, calls: Sequence[Seed]) -> list[Seed]:
    """Neighbours of `calls` aimed at `mutant` (at most MAX_PER_MUTANT, none of `calls`): the
    calls of the mutated function first, then the others of its module, the shortest first,
    each taking its turn."""
    numbers, strings = constants(mutant.description)
    equal = compares_names(mutant.description)
    if not numbers and not strings and not equal:
        return []
    own = [s for s in calls if s.path == mutant.path]
    own.sort(key=lambda s: (s.qualname != mutant.function, len(s.call_source), s.call_source))
    known = {(s.qualname, s.call_source) for s in calls}
    per_seed = [
        [
            Seed(seed.path, seed.qualname, call, "variant", seed.defines, seed.via)
            for call in neighbours(seed.call_source, boundary(numbers), strings, equal=equal)
            if (seed.qualname, call) not in known
        ]
        for seed in own[:MAX_SEEDS]
    ]
    out: dict[tuple[str, str], Seed] = {}
    take_in_turn(
        [[((s.qualname, s.call_source), s) for s in p] for p in per_seed], MAX_PER_MUTANT, out
    )
    return list(out.values())


def neighbours(
    call: str, numbers: Sequence[int | float], strings: Sequence[str], *, equal: bool
) -> list[str]:
    """`call` with one constant argument replaced: a number by each of `numbers` (and, with
    `equal`, by each other number of the call), a string by its neighbours that carry each of
    `strings` (:func:`.input_variants.string_variants`)."""
    try:
        tree = ast.parse(call, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    slots = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and (isinstance(node.value, str) or type(node.value) in (int, float))
    ]
    present: list[int | float] = [
        n.value for n in slots if isinstance(n.value, int | float) and not isinstance(n.value, bool)
    ]
    out: list[str] = []
    for node in slots:
        original = node.value
        values: list[str | int | float] = []
        if isinstance(original, str):
            values += string_variants(original, strings) if strings else []
        else:
            values += [*numbers, *(present if equal else [])]
        for value in values:
            if value == original and type(value) is type(original):
                continue
            node.value = value
            try:
                out.append(ast.unparse(tree))
            finally:
                node.value = original
    return [c for c in dict.fromkeys(out) if c != call]
