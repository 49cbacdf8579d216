"""Test amplification (DSpot, Danglot et al. 2019): an offline engine that takes the project's
own tests that run the changed lines and varies their inputs, one literal at a time, until base
and head behave differently on one. It needs no model of the library's kind of input: the tests
already build the objects, fixtures and calls that reach the change; only the one value that
tells base and head apart is missing.

1. **Which tests** (:func:`chosen_tests`): those the baseline's per-test record
   (``.tandem-work/baseline.per-test.json``) saw run a changed line and pass (where none did,
   those that ran the lines nearest one: :mod:`.amplify_record`), else every test of the test
   files that name a changed module; the smallest first, at most MAX_TESTS.
2. **Variants** (:mod:`.amplify_variants`): each test's body as is, then one literal changed at a
   time, the change's own tokens first; the file's other tests with a call that reaches the
   change added (:mod:`.amplify_calls`). Where none of a file's variants tells base and head
   apart, a second round varies those that changed what the head observed: one moved again,
   two together.
3. **Observations** (:mod:`.amplify_probe`): each variant's assertions become observations of
   what they looked at; all of a test file's variants go into one probe module beside it, a
   copy of that module without its tests (:mod:`.amplify_files`), which pytest runs on the head
   (in the checkout) and on the base (in the base tree, :mod:`jobs.testgen.base_tree`) at the
   same time.
4. **Tests**: a variant whose observations differ becomes a test asserting the head's, named
   after the original and the literal it changed (``test_ol_ol_li_a_li_x_li_b``). It fails on
   the base by construction; the selection keeps it when it passes every run and pins or kills
   something new.
"""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import Coroutine, Mapping
from pathlib import Path, PurePosixPath

# The module, not its function: base_commit imports jobs.testgen (whose package imports the
# engines), so importing the Python backend first would meet this module half made.
from jobs.languages.python import base_commit
from jobs.languages.python.pytest_runner import per_test_record, run_pytest
from jobs.sandbox import Sandbox
from jobs.testgen.base_tree import BaseTree, BaseTreeError, base_tree, place
from jobs.testgen.engines import (
    amplify_calls,
    amplify_files,
    amplify_probe,
    amplify_record,
    amplify_variants,
    input_variants,
)
from jobs.testgen.engines.amplify_variants import TestFunction, Variant
from jobs.testgen.engines.change_values import NO_AIMS, Aims
from jobs.testgen.engines.engine_protocol import EngineOutcome, Workspace
from jobs.testgen.targets import Target

MAX_TESTS = 12
MAX_VARIANTS_PER_TEST = 60
MAX_WRITTEN_PER_FILE = 8
MAX_SECOND_ROUND_PER_TEST = 30
MAX_SECOND_ROUND_FILES = 3  # a second round doubles a file's probe runs: the first files only
MIN_RUN_S = 10.0  # below this much time left, a test file's probe does not run
HEADER = "Tests amplified by Tandem from {path}: each one is a test of it with one input changed, asserting what the head does there (the base did otherwise)."  # noqa: E501


class Amplify:
    """The engine as portfolios run it (:class:`.engine_protocol.Engine`)."""

    name = "amplify"
    label = "Test amplification"
    share = 0.3

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        started = time.monotonic()
        outcome = EngineOutcome()
        changed = dict(workspace.changed) or {t.path: set(t.lines) for t in targets}
        if not workspace.base_sha:
            outcome.notes.append("test amplification: no base commit given")
            return outcome
        checkout = workspace.checkout
        chosen = chosen_tests(checkout, changed, workspace.tests)
        second_rounds = [MAX_SECOND_ROUND_FILES]  # shared by the files' runs
        if not chosen:
            outcome.notes.append("test amplification: no project test runs the changed lines")
            return outcome
        workspace.step(f"amplifying {sum(len(v) for v in chosen.values())} project test(s)")
        try:
            async with base_tree(
                workspace.checkout,
                workspace.base_sha,
                timeout_s=max(1.0, (workspace.deadline - time.monotonic()) / 4),
            ) as tree:
                tokens = _tokens(workspace.checkout, tree, changed)
                aims = Aims.of(
                    [(_read(tree.root / p), _read(workspace.checkout / p)) for p in sorted(changed)]
                )
                names = {
                    name
                    for p, lines in changed.items()
                    for name in amplify_calls.changed_functions(
                        _read(workspace.checkout / p), lines
                    )
                }
                for index, (path, functions) in enumerate(sorted(chosen.items())):
                    left = workspace.deadline - time.monotonic()
                    if left < MIN_RUN_S:
                        rest = ", ".join(f"`{p}`" for p in sorted(chosen)[index:])
                        outcome.notes.append(
                            f"test amplification: the wall-time budget ended before {rest}"
                        )
                        break
                    share = left / (len(chosen) - index)
                    run = _FileRun(workspace.sandbox, workspace.checkout, tree, path, tokens)
                    run.aims, run.changed_names = aims, names
                    run.second_rounds = second_rounds
                    try:
                        await run.amplify(functions, share, outcome)
                    except (SyntaxError, ValueError, KeyError, RecursionError) as exc:
                        # A test module this cannot rewrite is a note, never a crash.
                        outcome.notes.append(f"test amplification of `{path}`: {exc!r}"[:300])
        except BaseTreeError as exc:
            outcome.notes.append(f"test amplification: the base commit's files: {exc}")
        outcome.duration_s = time.monotonic() - started
        return outcome


def chosen_tests(
    checkout: Path, changed: Mapping[str, set[int]], tests: Mapping[str, str]
) -> dict[str, list[TestFunction]]:
    """Test file -> its tests to amplify, MAX_TESTS in all: those the baseline's record saw run
    a changed line and pass, those that ran the most changed lines first (a test of the changed
    branch before the many that pass through its function), then the smallest; without a
    record, every test of the test files that name a changed module, the smallest first."""
    ran = amplify_record.tests_that_ran(checkout / per_test_record("baseline"), changed)
    stems = {PurePosixPath(p).stem for p in changed} - {"__init__"}
    stems |= {PurePosixPath(p).parent.name for p in changed if p.endswith("__init__.py")}
    ranked: list[tuple[int, int, str, TestFunction]] = []
    for path, text in tests.items():
        if ran is not None and path not in ran:
            continue
        if ran is None and not any(stem and stem in text for stem in stems):
            continue
        try:
            functions = amplify_variants.test_functions(ast.parse(text))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for test, node in functions.items():
            hits = 0 if ran is None else ran[path].get(test.label, 0)
            if ran is None or hits:
                ranked.append((-hits, amplify_variants.size(node), path, test))
    chosen: dict[str, list[TestFunction]] = {}
    for *_, path, test in sorted(ranked, key=lambda r: (r[0], r[1], r[2], r[3].label))[:MAX_TESTS]:
        chosen.setdefault(path, []).append(test)
    return chosen


def _tokens(checkout: Path, tree: BaseTree, changed: Mapping[str, set[int]]) -> tuple[str, ...]:
    """The change's tokens (its lines' string constants and their punctuation), every file's."""
    found: list[str] = []
    for path in sorted(changed):
        found += input_variants.dictionary(_read(tree.root / path), _read(checkout / path))
    return tuple(dict.fromkeys(found))


class _FileRun:
    """The amplification of one test file's chosen tests: one probe, on both commits."""

    def __init__(
        self, sandbox: Sandbox, checkout: Path, tree: BaseTree, path: str, tokens: tuple[str, ...]
    ) -> None:
        self.sandbox, self.checkout, self.tree = sandbox, checkout, tree
        self.path, self.tokens = path, tokens
        self.aims = NO_AIMS
        self.changed_names: set[str] = set()
        self.second_rounds = [0]  # second rounds left to the engine's files
        self.unwritable: list[str] = []  # why a differing variant was not written
        self.probe = amplify_files.probe_path(path)

    async def amplify(
        self, tests: list[TestFunction], timeout_s: float, outcome: EngineOutcome
    ) -> None:
        started = time.monotonic()
        module = ast.parse(_read(self.checkout / self.path))
        nodes = amplify_variants.test_functions(module)
        constants = amplify_variants.module_constants(module)
        first = {
            test: amplify_variants.variants(
                nodes[test], constants, self.tokens, MAX_VARIANTS_PER_TEST, self.aims
            )
            for test in tests
        }
        # DSpot's "add a call": the file's other tests get the calls that reach the change.
        calls = amplify_calls.reaching_calls([nodes[t] for t in tests], self.changed_names)
        first |= {t: [v] for t, v in amplify_calls.added_calls(nodes, tests, calls).items()}
        made, head, found = await self._round(module, first, "", timeout_s)
        labels = ", ".join(t.label for t in first)
        note = (
            f"amplified {len(first)} test(s) of `{self.path}` ({labels}; {len(made)} variants): "
            f"{len(found)} variant(s) differ between base and head"
        )
        left = timeout_s - (time.monotonic() - started)
        if not found and left >= MIN_RUN_S and self.second_rounds[0] > 0:
            # No one literal told them apart: the variants that changed what the head observed
            # are varied once more, alone and two together.
            second = {
                test: amplify_variants.second_round(
                    nodes[test],
                    constants,
                    self.tokens,
                    _changers(first[test], made, head),
                    MAX_SECOND_ROUND_PER_TEST,
                    first[test],
                    self.aims,
                )
                for test in tests
            }
            second = {test: these for test, these in second.items() if these}
            if second:
                self.second_rounds[0] -= 1
                more, _, found = await self._round(module, second, "r2_", left)
                made |= more
                note += (
                    f"; a second round of {len(more)} variant(s) (two edits, or one moved "
                    f"again): {len(found)} differ"
                )
        written = self._write(module, made, found, outcome)
        if found:
            note += f"; wrote {written} test(s)"
            if self.unwritable and not written:  # say why, the first reason
                note += f" ({self.unwritable[0]})"
        outcome.notes.append(note)

    async def _round(
        self,
        module: ast.Module,
        variants: Mapping[TestFunction, list[Variant]],
        prefix: str,
        timeout_s: float,
    ) -> tuple[
        dict[str, tuple[TestFunction, Variant]],
        dict[str, amplify_files.Observations],
        list[amplify_files.Difference],
    ]:
        """One probe of `variants` on both commits: the variants by probe name, the head's
        observations and the variants whose observations differ (steady on a second head run)."""
        made: dict[str, tuple[TestFunction, Variant]] = {}
        probes: list[tuple[str | None, ast.FunctionDef]] = []
        for t_index, (test, found) in enumerate(variants.items()):
            for v_index, variant in enumerate(found):
                name = f"test_tandem_{prefix}{t_index}_{v_index}"
                made[name] = (test, variant)
                probes.append((test.cls, amplify_probe.probe(variant.function, name)))
        text = amplify_files.module_text(
            module,
            probes,
            header=f"Tandem's amplification probe of {self.path}",
            prelude=amplify_files.probe_prelude(self.probe),
        )
        started = time.monotonic()
        head, base = await self._run(text, timeout_s)
        differing = _differences(made, head, base)
        if differing:  # the head once more: what it observes differently each run is no difference
            again, _ = await self._run(text, timeout_s - (time.monotonic() - started), base=False)
            differing = _differences(made, head, base, again)
        return made, head, differing

    async def _run(
        self, text: str, timeout_s: float, *, base: bool = True
    ) -> tuple[dict[str, amplify_files.Observations], dict[str, amplify_files.Observations]]:
        """Run the probe on the head and (with `base`) on the base at once; each side's
        observations."""
        observed = PurePosixPath(self.probe).parent / amplify_files.observations_name(self.probe)
        head_probe, head_out = self.checkout / self.probe, self.checkout / observed
        base_out = self.tree.root / observed
        for stale in (head_out, base_out):
            stale.unlink(missing_ok=True)
        head_probe.write_text(text, encoding="utf-8")
        place(self.tree, {self.probe: text})
        runs: list[Coroutine[object, object, object]] = [
            run_pytest(
                self.sandbox,
                self.checkout,
                [self.probe],
                tag="amplify-head",
                timeout_s=timeout_s,
                measure=False,
            )
        ]
        if base:
            runs.append(
                base_commit.run_on_base(
                    self.sandbox,
                    self.checkout,
                    self.tree,
                    [self.probe],
                    tag="amplify",
                    timeout_s=timeout_s,
                )
            )
        try:
            await asyncio.gather(*runs)
            return (
                amplify_files.read_observations(head_out),
                amplify_files.read_observations(base_out) if base else {},
            )
        finally:
            head_probe.unlink(missing_ok=True)
            head_out.unlink(missing_ok=True)

    def _write(
        self,
        module: ast.Module,
        made: Mapping[str, tuple[TestFunction, Variant]],
        found: list[amplify_files.Difference],
        outcome: EngineOutcome,
    ) -> int:
        """The differing variants as tests (at most MAX_WRITTEN_PER_FILE) in one file beside
        the original; how many were written."""
        tests: list[tuple[str | None, ast.FunctionDef]] = []
        names: set[str] = set()
        imports: set[str] = set()
        for difference in found:
            if len(tests) >= MAX_WRITTEN_PER_FILE:
                break
            test, variant = made[difference.variant]
            name = _unique(f"{test.name}_{variant.slug}", names)
            try:
                function = amplify_probe.written(
                    variant.function,
                    name,
                    difference.head,
                    set(difference.points),
                    difference.base,
                )
            except amplify_probe.Unwritable as exc:
                self.unwritable.append(str(exc))
                continue
            names.add(name)
            tests.append((test.cls, function))
            imports |= amplify_files.imported_modules(function, difference.head)
        if tests:
            text = amplify_files.module_text(
                module,
                tests,
                header=HEADER.format(path=self.path),
                prelude="".join(f"import {name}\n" for name in sorted(imports)),
            )
            destination = amplify_files.written_path(self.path)
            (self.checkout / destination).write_text(text, encoding="utf-8")
            outcome.written.append(destination)
        return len(tests)


def _differences(
    made: Mapping[str, object],
    head: Mapping[str, amplify_files.Observations],
    base: Mapping[str, amplify_files.Observations],
    again: Mapping[str, amplify_files.Observations] | None = None,
) -> list[amplify_files.Difference]:
    return [
        found
        for name in made
        if (
            found := amplify_files.difference(
                name,
                head.get(name, {}),
                base.get(name, {}),
                None if again is None else again.get(name, {}),
            )
        )
    ]


def _changers(
    variants: list[Variant],
    made: Mapping[str, tuple[TestFunction, Variant]],
    head: Mapping[str, amplify_files.Observations],
) -> list[Variant]:
    """Of one test's first-round `variants` (the as-is one first), those the head observed
    otherwise than the test as it is: their edit reaches something the change may read."""
    names = {id(variant): name for name, (_, variant) in made.items()}
    seen = [amplify_files.signature(head.get(names.get(id(v), ""), {})) for v in variants]
    if not variants or not seen[0]:
        return []
    return [
        v for v, mine in zip(variants, seen, strict=True) if v.edits and mine and mine != seen[0]
    ]


def _unique(name: str, taken: set[str]) -> str:
    candidate, index = name, 2
    while candidate in taken:
        candidate, index = f"{name}_{index}", index + 1
    return candidate


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    except OSError:
        return ""
