"""The offline engine for JavaScript/TypeScript: characterization tests of the exported
functions that hold changed lines (issue 20, item 5), without an LLM.

Per changed source, in the sandbox:

1. :mod:`export_scan.cjs <.export_calls>` reads the source and the package's tests with the
   TypeScript compiler API (the project's ``typescript``, else one installed into the part's
   tools folder): the exported functions and arrow constants with a changed line, their
   parameters, their JSDoc ``@example`` calls, the literal calls of them in the tests, and the
   changed lines' literals;
2. :mod:`.export_calls` turns those into argument lists to try;
3. :mod:`.export_probe` writes one probe test file that the project's own runner runs once: each
   call twice, a call whose outcomes differ dropped; where the existing tests left mutants of
   the changed lines alive (``workspace.survivors``), :mod:`.survivor_search` runs the calls a
   test could assert again under each survivor's switch, and a call that tells one apart is
   written first;
4. :mod:`.export_tests` writes the test file, in the package's style, where its runner collects
   it; validation then runs it like any candidate (5 runs, the base commit, the keep rule).

What it cannot do, and says: classes with state, callbacks, I/O and the DOM (a value with no
source form is not asserted), a runner other than vitest or jest, a package without Node.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

from jobs import git
from jobs.dependencies.pip_log import CheckoutFiles
from jobs.languages.javascript import jest_runs, vitest_files
from jobs.languages.javascript.base_runs import RunFiles, run_on_base
from jobs.languages.javascript.detect import detect
from jobs.languages.javascript.export_calls import MAX_FUNCTIONS, Scan, parse_scan
from jobs.languages.javascript.export_candidates import (
    MODULE,
    Candidate,
    Import,
    expression_candidates,
    function_candidates,
    function_import,
    import_lines,
    parse_expressions,
)
from jobs.languages.javascript.export_probe import (
    UNKNOWN,
    ProbeOutcome,
    probe_source,
    read_outcomes,
)
from jobs.languages.javascript.export_tests import asserted, write_tests
from jobs.languages.javascript.javascript_conventions import layout_of
from jobs.languages.javascript.package_job import PackageJob, RunnerError
from jobs.languages.javascript.runner_choice import Unsupported
from jobs.languages.javascript.suite_layout import TestLayout, tandem_path
from jobs.languages.javascript.survivor_search import Where, tell_survivors
from jobs.languages.javascript.toolchain import (
    Node,
    NodeUnavailable,
    env_prefix,
    find_node,
)
from jobs.languages.javascript.typescript_tool import typescript_for
from jobs.sandbox import decisive_line, workdir
from jobs.testgen.engines.engine_protocol import EngineOutcome, Workspace
from jobs.testgen.targets import Target

SCANNER = Path(__file__).with_name("export_scan.cjs")
# the scanner and the modules it requires, copied beside each other into the work dir
SCANNER_PARTS = (
    SCANNER,
    *(
        SCANNER.with_name(n)
        for n in (
            "literal_rows.cjs",
            "test_expressions.cjs",
            "inner_callers.cjs",
            "regex_samples.cjs",
            "object_inputs.cjs",
        )
    ),
)
TOOLS = "js-tools"  # the part's tools folder, in the checkout's work dir
MAX_STEP_S = 180.0  # one install, scan or probe run
MAX_TEST_FILES = 200  # the package's test files the scan reads for calls


@dataclass(frozen=True)
class Source:
    """One changed source in its package, as the engine works on it."""

    workspace: Workspace
    node: Node
    package_dir: Path
    path: str  # package-relative
    layout: TestLayout
    lines: tuple[int, ...]

    @property
    def work(self) -> Path:
        return self.workspace.checkout / workdir.WORK_DIR

    def timeout(self) -> float:
        return max(1.0, min(MAX_STEP_S, self.workspace.deadline - time.monotonic()))

    def job(self, tag: str) -> PackageJob:
        tools = self.work / TOOLS
        return PackageJob(
            self.workspace.checkout, self.package_dir, [], tools, self.timeout(), tag=tag
        )


async def _typescript(source: Source) -> Path | str:
    """The ``typescript`` package to parse with: the project's, else Tandem's tools' copy."""
    workspace = source.workspace
    return await typescript_for(
        workspace.sandbox, source.node, workspace.checkout, source.package_dir, source.timeout()
    )


def _base_version(source: Source) -> Path | None:
    """The base commit's version of the source, written into the work dir for the scan (what
    a changed regex replaced is sampled beside it), or None: no base commit, or no such file
    there."""
    sha = source.workspace.base_sha
    if not sha:
        return None
    checkout = source.workspace.checkout
    repo_path = (source.package_dir / source.path).relative_to(checkout).as_posix()
    try:
        text = git.run(checkout, "show", f"{sha}:{repo_path}").stdout
    except git.GitError:
        return None
    target = source.work / ("export-scan-base" + posixpath.splitext(source.path)[1])
    workdir.write_fresh(text.decode("utf-8", errors="replace"), target)
    return target


@dataclass(frozen=True)
class Crashed:
    """The engine's own failure (its scanner broke), which the part reports as a problem:
    not "nothing found"."""

    reason: str


async def scan(source: Source) -> Scan | str | Crashed:
    """The exported functions and class members of the source with a changed line, and what
    the tests check of them, or why there is nothing (:class:`Crashed`: the scan failed)."""
    typescript = await _typescript(source)
    if isinstance(typescript, str):
        return typescript
    workdir.prepare(source.workspace.checkout)
    script = source.work / SCANNER.name
    for helper in SCANNER_PARTS:
        workdir.copy_fresh(helper, source.work / helper.name)
    tests = [source.package_dir / p for p in source.layout.collected[:MAX_TEST_FILES]]
    out = source.work / "export-scan-out.json"  # a file: the sandbox keeps a long output's end
    out.unlink(missing_ok=True)
    request = {
        "typescript": str(typescript),
        "source": str(source.package_dir / source.path),
        "changed": list(source.lines),
        "tests": [str(p) for p in tests],
        "out": str(out),
    }
    base = await asyncio.to_thread(_base_version, source)
    if base is not None:
        request["base"] = str(base)
    request_file = source.work / "export-scan.json"
    workdir.write_fresh(json.dumps(request), request_file)
    result = await source.workspace.sandbox.run(
        [*env_prefix(), str(source.node.path), str(script), str(request_file)],
        cwd=source.package_dir,
        timeout_s=source.timeout(),
    )
    if result.timed_out:
        return "reading the source with the TypeScript compiler timed out"
    if result.returncode != 0:
        why = decisive_line(result.output)
        return Crashed(f"reading the source with the TypeScript compiler failed: {why}")
    try:
        found = parse_scan(json.loads(out.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return Crashed(f"the export scan wrote no JSON: {decisive_line(result.output)}")
    if not found.functions and not found.expressions:
        if found.members:
            return "no test of the package checks the changed members; nothing to start from"
        return "no exported function or class member holds a changed line"
    return found


def _place(source: Source) -> tuple[Workspace, Node, Path, str, TestLayout]:
    return source.workspace, source.node, source.package_dir, source.path, source.layout


def _runner(source: Source) -> RunFiles:
    return vitest_files.run_files if source.layout.runner == "vitest" else jest_runs.run_files


@dataclass(frozen=True)
class Probe:
    """One probe file for a source: where it goes, its import lines and what it tries."""

    path: str  # package-relative
    imports: str
    candidates: list[Candidate]


async def run_probe(
    source: Source, probe: Probe, sha: str | None, only: Collection[int] | None = None
) -> list[ProbeOutcome] | str:
    """The probe's outcomes on the head (``sha`` None) or on the base commit ``sha`` (of the
    candidates in ``only``, if given), or why there are none."""
    side = "base" if sha else "head"
    out = source.work / f"export-probe-{side}.json"
    out.unlink(missing_ok=True)
    text = probe_source(source.layout, probe.imports, probe.candidates, str(out), only)
    job = source.job(f"export-probe-{side}")
    if sha:
        repo_path = (source.package_dir / probe.path).relative_to(source.workspace.checkout)
        files = {repo_path.as_posix(): text}
        run = await run_on_base(
            _runner(source), source.workspace.sandbox, source.node, job, sha, files
        )
    else:
        placed = source.package_dir / probe.path
        placed.parent.mkdir(parents=True, exist_ok=True)
        workdir.write_fresh(text, placed)
        try:
            run = await _runner(source)(source.workspace.sandbox, source.node, job, [probe.path])
        finally:
            placed.unlink(missing_ok=True)
    try:
        return read_outcomes(out.read_text(encoding="utf-8"))
    except OSError:
        why = run.reason if isinstance(run, RunnerError) else "it wrote no outcomes"
        return f"the probe did not run on the {side}: {why}"


def differing(head: list[ProbeOutcome], base: list[ProbeOutcome]) -> set[tuple[str, int]]:
    """The calls whose stable outcome on the head is not their outcome on the base commit."""
    on_base = {(o.function, o.index): o for o in base}
    return {
        (o.function, o.index)
        for o in head
        if o.kind not in UNKNOWN
        and (key := (o.function, o.index)) in on_base
        and on_base[key].kind not in UNKNOWN
        and (on_base[key].kind, on_base[key].source, on_base[key].message)
        != (o.kind, o.source, o.message)
    }


def local_to_the_run(outcomes: list[ProbeOutcome], paths: list[str]) -> list[ProbeOutcome]:
    """The outcomes, those that name a path of this run (the checkout's folder, node's: a CLI's
    `program.parse()` reads the runner's own `process.argv`) made "local", which no test
    asserts: they hold where the probe ran, not where the test will."""
    return [
        replace(o, kind="local")
        if any(p and (p in o.source or p in o.message) for p in paths)
        else o
        for o in outcomes
    ]


def candidates_of(source: Source, found: Scan, probe_path: str) -> tuple[list[Candidate], str]:
    """The candidates to probe, and the probe's import lines (a candidate whose names would
    clash with an earlier one's is left out)."""
    everything = [
        c for f in found.functions[:MAX_FUNCTIONS] for c in function_candidates(f, source.path)
    ]
    expressions = parse_expressions(found.expressions, source.package_dir.as_posix())
    by_name = {f.name: function_import(f, source.path) for f in found.functions[:MAX_FUNCTIONS]}
    # an exported function's expressions are varied with its changed lines' literals too
    literals = {f.name: f.literals for f in found.functions[:MAX_FUNCTIONS]} | found.members
    everything += expression_candidates(expressions, literals, by_name)
    imports = [Import(MODULE, source.path, "namespace")]
    written: list[Import] = []  # what the test file imports, should each candidate give a test
    kept: list[Candidate] = []
    for candidate in everything:
        own = [] if candidate.probe != candidate.expression else list(candidate.imports)
        mine = list(candidate.imports)
        if import_lines(source.layout, probe_path, source.path, imports + own) is not None and (
            not written
            or import_lines(source.layout, probe_path, source.path, written + mine) is not None
        ):
            imports += own
            written += mine
            kept.append(candidate)
    lines = import_lines(source.layout, probe_path, source.path, imports)
    return kept, lines or ""


def reached_note(found: Scan) -> str:
    """Which exports were tried for a change the module does not export, and through what."""
    reached = [f for f in found.functions[:MAX_FUNCTIONS] if f.via]
    if not reached:
        return ""
    names = ", ".join(f"`{f.name}` (reaches {', '.join(f.via)})" for f in reached)
    return f"; changed code no export holds, tried through {names}"


async def characterize(source: Source) -> tuple[str | None, str | Crashed]:
    """(the test file written, repository-relative, or None; one line for the notes, or why
    the engine itself failed)."""
    found = await scan(source)
    if isinstance(found, str | Crashed):
        return None, found
    test_path = source.layout.test_path_for(source.path)
    if test_path is None:
        return None, "no test path the runner collects fits the package's layout"
    probe_path, out_path = tandem_path(test_path, "tandem-probe"), tandem_path(test_path, "tandem")
    if not (source.layout.globs.admits(probe_path) and source.layout.globs.admits(out_path)):
        return None, f"the runner would not collect `{out_path}`"
    candidates, imports = candidates_of(source, found, probe_path)
    probe = Probe(probe_path, imports, candidates)
    outcomes = await run_probe(source, probe, None)
    if isinstance(outcomes, str):
        return None, outcomes
    changed: set[tuple[str, int]] = set()
    base_sha = source.workspace.base_sha
    # The base commit answers only for the calls a test could assert: the others' outcomes there
    # would change nothing written, and a probe's calls are most of the engine's time.
    on_base = (
        await run_probe(source, probe, base_sha, asserted(outcomes))
        if base_sha
        else "no base commit"
    )
    if not isinstance(on_base, str):
        changed = differing(outcomes, on_base)
    outcomes = local_to_the_run(outcomes, [str(source.workspace.checkout), str(source.node.path)])
    told = await tell_survivors(
        Where(*_place(source), probe_path, imports),
        candidates,
        {o.index: o for o in outcomes if o.index in asserted(outcomes)},
        _runner(source),
        source.job("survivor-probe"),
    )
    killing = [(candidates[i].group, i) for i in told.killing] if told else []
    written = write_tests(
        source.layout, (out_path, source.path), candidates, outcomes, changed, killing
    )
    left = ", ".join(f"{n} {kind}" for kind, n in sorted(written.skipped.items()))
    groups = len({c.group for c in candidates})
    note = f"{groups} changed function(s) or member(s), {len(candidates)} candidate(s): "
    note += f"{written.tests} test(s), {written.changed} of them on inputs that behave "
    note += "differently on the base commit"
    note += f"; not asserted: {left}" if left else ""
    if told:
        note += f", {written.killing} of them on calls that tell a surviving mutant apart "
        note += f"({told.note})"
    note += reached_note(found)
    note += f"; base commit not compared: {on_base}" if isinstance(on_base, str) else ""
    if written.text is None:
        return None, note
    target = source.package_dir / out_path
    workdir.write_fresh(written.text, target)
    return target.relative_to(source.workspace.checkout).as_posix(), note


class CharacterizeJs:
    """Characterization tests of a JS/TS change's exported functions (see the module doc)."""

    name = "characterize-js"
    label = "JS/TS characterization"
    share = 1.0

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        started = time.monotonic()
        outcome = EngineOutcome()
        node = await asyncio.to_thread(find_node)
        if isinstance(node, NodeUnavailable):
            outcome.notes.append(f"{self.label}: {node.reason}")
            return outcome
        files = CheckoutFiles(workspace.checkout)
        if not targets:  # every changed line runs already: look for what pins the change
            targets = [Target(p, sorted(ls), []) for p, ls in sorted(workspace.changed.items())]
        for target in targets:
            if time.monotonic() >= workspace.deadline:
                outcome.notes.append(f"{self.label}: out of time before `{target.path}`")
                break
            detection = await asyncio.to_thread(detect, files, [target.path])
            if not detection.packages:
                outcome.notes.append(f"{self.label}: `{target.path}` is in no package")
                continue
            changed = detection.packages[0]
            if isinstance(changed.runner, Unsupported):
                outcome.notes.append(f"{self.label}: `{target.path}`: {changed.runner.reason}")
                continue
            package_dir = workspace.checkout / changed.package.dir
            layout = await asyncio.to_thread(
                layout_of, workspace.checkout, changed.package, changed.runner
            )
            relative = posixpath.relpath(target.path, changed.package.dir or ".")
            source = Source(workspace, node, package_dir, relative, layout, tuple(target.lines))
            written, note = await characterize(source)
            if isinstance(note, Crashed):
                outcome.crashed.append(f"`{target.path}`: {note.reason}")
                continue
            outcome.notes.append(f"{self.label}: `{target.path}`: {note}")
            if written:
                outcome.written.append(written)
        outcome.duration_s = time.monotonic() - started
        return outcome
