"""The choice by lines and pins of per-test selection (:mod:`.per_test`): today's rule, and the
fallback where no mutants ran (:mod:`.proof.worth` has the choice by what a test proves). Pure:
the changed functions are found by parsing, never running."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.python.tidy import TestCase
from jobs.testgen import line_sets
from jobs.testgen.proof import worth
from jobs.testgen.proof.worth import ANYWHERE


@dataclass
class Measured:
    """A candidate test that passed its measured run, and the changed lines it runs."""

    case: TestCase
    lines: line_sets.Lines


# (chosen with the changed lines each newly covers, changed lines covered after, rejected)
Choice = tuple[list[tuple[Measured, line_sets.Lines]], line_sets.Lines, list[tuple[str, str]]]


@dataclass(frozen=True)
class ProofChoice:
    choice: Choice
    pinned: dict[str, list[str]]  # label -> the changed functions it pins
    kills: dict[str, set[str]]  # label -> the mutants it kills that nothing before it killed


def changed_functions(checkout: Path, changed_exec: line_sets.Lines) -> dict[str, line_sets.Lines]:
    """ "path::qualname" of the innermost function or method holding each changed statement ->
    those statements (parsed, never run); module-level statements are left out."""
    functions: dict[str, line_sets.Lines] = {}
    for path, lines in sorted(changed_exec.items()):
        try:
            tree = ast.parse((checkout / path).read_bytes())
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        spans = _function_spans(tree)
        for line in lines:
            around = [s for s in spans if s[0] <= line <= s[1]]
            if around:
                name = max(around, key=lambda s: s[0])[2]  # the innermost starts last
                functions.setdefault(f"{path}::{name}", {}).setdefault(path, set()).add(line)
    return functions


def _function_spans(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function and method."""
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                end = child.end_lineno or child.lineno
                spans.append((child.lineno, end, prefix + child.name))
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return spans


def pinned_by(m: Measured, functions: dict[str, line_sets.Lines]) -> set[str]:
    hit = {
        f for f, lines in functions.items() if line_sets.count(line_sets.restrict(m.lines, lines))
    }
    return hit or {ANYWHERE}


def choose_pins(
    chosen: list[Measured],
    rest: list[Measured],
    pinning: set[str],
    functions: dict[str, line_sets.Lines],
    pinned_by: Callable[[Measured, dict[str, line_sets.Lines]], set[str]],
) -> tuple[list[Measured], dict[str, list[str]]]:
    """Tests kept for what they pin, though they cover no new changed line: for each changed
    function that no chosen test failing on the base commit runs, the test failing there that
    pins the most such functions, the shortest first. Returns them, and for every chosen or
    picked test failing on the base, the functions it pins (label -> "path::qualname")."""
    said: dict[str, list[str]] = {}
    done: set[str] = set()
    for m in chosen:
        if m.case.label in pinning:
            mine = pinned_by(m, functions)
            said[m.case.label] = sorted(mine - {ANYWHERE})
            done |= mine
    picked: list[Measured] = []
    candidates = sorted((m for m in rest if m.case.label in pinning), key=lambda m: m.case.label)

    def gain(m: Measured) -> set[str]:
        mine = pinned_by(m, functions) - done
        return set() if mine == {ANYWHERE} and done else mine

    while candidates:
        best = min(candidates, key=lambda m: (-len(gain(m)), len(m.case.source), m.case.label))
        new = gain(best)
        if not new:
            break
        picked.append(best)
        said[best.case.label] = sorted(pinned_by(best, functions) - {ANYWHERE})
        done |= new
        candidates.remove(best)
    return picked, said


def preferring(
    pinning: set[str], prefer: Callable[[TestCase], bool] | None
) -> Callable[[TestCase], bool]:
    def preferred(case: TestCase) -> bool:
        return case.label in pinning or (prefer is not None and prefer(case))

    return preferred


def choose_by_lines(
    pool: list[Measured],
    base: line_sets.Lines,
    collection: line_sets.Lines,
    max_tests: int,
    prefer: Callable[[TestCase], bool] | None,
) -> tuple[list[tuple[Measured, line_sets.Lines]], line_sets.Lines, list[tuple[str, str]]]:
    """Greedy choice: (chosen with the lines each adds, lines covered after, rejected)."""
    covered = base
    chosen: list[tuple[Measured, line_sets.Lines]] = []
    rest = sorted(pool, key=lambda m: m.case.label)
    while rest and len(chosen) < max_tests:
        best = min(rest, key=lambda m: rank(m, covered, prefer))
        new = line_sets.gained(best.lines, covered)
        if not new:
            break
        chosen.append((best, new))
        covered = line_sets.union(covered, new)
        rest.remove(best)
    imported = line_sets.gained(collection, covered)
    if imported and rest and not chosen:  # only import-time lines are new: one test brings them
        best = min(rest, key=lambda m: rank(m, covered, prefer))
        chosen.append((best, imported))
        rest.remove(best)
    if chosen:
        covered = line_sets.union(covered, imported)
    reasons = []
    for m in rest:
        if line_sets.gained(m.lines, covered):
            reasons.append((m.case.label, f"left out: the limit of {max_tests} tests was reached"))
        else:
            why = "covers no changed line that the baseline or a kept test does not cover"
            reasons.append((m.case.label, why))
    return chosen, covered, reasons


def rank(
    m: Measured, covered: line_sets.Lines, prefer: Callable[[TestCase], bool] | None
) -> tuple[int, bool, int, str]:
    gain = line_sets.count(line_sets.gained(m.lines, covered))
    preferred = prefer(m.case) if prefer is not None else False
    return (-gain, not preferred, len(m.case.source), m.case.label)


def choose_by_proof(
    usable: list[Measured],
    matrix: list[worth.Kills],
    pinning: set[str],
    base: line_sets.Lines,
    collection: line_sets.Lines,
    functions: dict[str, line_sets.Lines],
    max_tests: int,
) -> ProofChoice:
    """The choice by what each test proves (:func:`.proof.worth.choose`), on the kill matrix
    ``matrix``; ``pinning``: the labels of the tests failing on the base commit."""
    by_label = {m.case.label: m for m in usable}
    candidates = [
        worth.Candidate(
            m.case.label,
            m.lines,
            len(m.case.source),
            frozenset(pinned_by(m, functions)) if m.case.label in pinning else frozenset(),
        )
        for m in usable
    ]
    chosen = worth.choose(candidates, matrix, base, max_tests)
    kept = [(by_label[label], found.lines) for label, found in chosen.kept]
    covered, rejected = chosen.covered, chosen.rejected
    imported = line_sets.gained(collection, covered)
    if imported and not kept and usable:  # only import-time lines are new: one test brings them
        best = min(usable, key=lambda m: rank(m, covered, None))
        kept.append((best, imported))
        rejected = [r for r in rejected if r[0] != best.case.label]
    if kept:
        covered = line_sets.union(covered, imported)
    pinned = {
        m.case.label: sorted(pinned_by(m, functions) - {worth.ANYWHERE})
        for m, _ in kept
        if m.case.label in pinning
    }
    kills = {label: found.kills for label, found in chosen.kept if found.kills}
    return ProofChoice((kept, covered, rejected), pinned, kills)
