"""The surviving mutants searched by the JS/TS characterization engine: the mutants of the
changed lines no existing test killed (``Workspace.survivors``, where every changed line runs
already) told apart from the head by the engine's own calls, so that a test asserting the head's
outcome of such a call kills a mutant the existing tests miss (Python's differential engine does
the same for Python: :mod:`jobs.testgen.engines.differential_mutants`).

The source's mutants are made again (``mutate.cjs``, a second or two) for their schema; a
survivor is found in it by its place and text, not its id (ids number the mutants of a whole
run). The probe (:mod:`.survivor_probe`) runs through the project's runner with the schema
written in place of the source, which is always put back. A survivor with no switch in the
schema (a module-level value, computed as the module loads) is not searched, and the note says
so; at most :data:`MAX_SURVIVORS` a source are.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.javascript.base_runs import RunFiles
from jobs.languages.javascript.export_candidates import Candidate
from jobs.languages.javascript.export_probe import ProbeOutcome
from jobs.languages.javascript.js_mutants import make_mutants
from jobs.languages.javascript.package_job import PackageJob, RunnerError
from jobs.languages.javascript.suite_layout import TestLayout
from jobs.languages.javascript.survivor_probe import (
    Search,
    killing_calls,
    read_search,
    search_source,
)
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox import workdir
from jobs.testgen.engines.engine_protocol import Workspace
from jobs.testgen.proof.mutants import Mutant

MAX_SURVIVORS = 40  # a source's survivors searched; the others are named as not searched


def same_mutant(mutant: Mutant) -> tuple[str, int, int, str, str]:
    """What a mutant is, whichever run made it: its place and its text."""
    return (mutant.path, mutant.start, mutant.end, mutant.source, mutant.description)


def switches_of(
    survivors: list[Mutant], made: list[Mutant], switches: dict[str, int]
) -> dict[int, Mutant]:
    """The survivors' switches in the schema just made (pure): switch -> survivor; a survivor
    not made again, or with no switch, has none."""
    by_key = {same_mutant(m): switches[m.id] for m in made if m.id in switches}
    found = {}
    for survivor in survivors:
        switch = by_key.get(same_mutant(survivor))
        if switch is not None:
            found[switch] = survivor
    return found


@dataclass(frozen=True)
class Where:
    """The changed source and the probe file, as the engine has them."""

    workspace: Workspace
    node: Node
    package_dir: Path
    path: str  # the source, package-relative
    layout: TestLayout
    probe_path: str  # package-relative
    imports: str  # the probe's import lines

    @property
    def repo_path(self) -> str:
        return (self.package_dir / self.path).relative_to(self.workspace.checkout).as_posix()


@dataclass(frozen=True)
class Told:
    """The calls to write for the survivors (candidate indexes, the first killer of each
    first) and one line for the engine's note."""

    killing: list[int]
    note: str


def told_note(search: Search, searched: dict[int, Mutant], left: int, unswitched: int) -> str:
    """The note's words on the search (pure)."""
    told = len(search.kills)
    note = f"{len(searched)} surviving mutant(s) searched with {search.tried} call(s): "
    note += f"{told} told apart from the head by a call"
    if search.cut:
        note += f", {search.cut} call(s) cut by the search's time"
    hung = sorted(s for s in search.hangs if s not in search.kills)
    if hung:
        note += f", {len(hung)} hung on every call that reached it"
    if unswitched:
        note += f", {unswitched} with no switch in the schema (a module-level value) not searched"
    if left:
        note += f", {left} past the {MAX_SURVIVORS} searched left out"
    return note


async def tell_survivors(
    where: Where,
    candidates: list[Candidate],
    heads: dict[int, ProbeOutcome],
    run_files: RunFiles,
    job: PackageJob,
) -> Told | None:
    """The calls among ``heads`` (candidate index -> the head probe's outcome, one a test can
    assert) that tell the source's survivors apart from the head, or None where it has none."""
    workspace = where.workspace
    repo_path = where.repo_path
    mine = [m for m in workspace.survivors if m.path == repo_path]
    if not mine or not heads:
        return None
    lines = set(workspace.changed.get(repo_path) or {m.line for m in mine})
    made = await make_mutants(
        workspace.sandbox, where.node, workspace.checkout, {repo_path: lines}, job.timeout_s
    )
    if isinstance(made, str):
        return Told([], f"surviving mutants not searched: {made}")
    searched = switches_of(mine[:MAX_SURVIVORS], made.mutants, made.schemata.switches)
    schema = made.schemata.texts.get(repo_path)
    unswitched = len(mine[:MAX_SURVIVORS]) - len(searched)
    if not searched or schema is None:
        return Told([], f"{len(mine)} surviving mutant(s), none with a switch to search")
    out = workspace.checkout / workdir.WORK_DIR / "survivor-probe.json"
    out.unlink(missing_ok=True)
    text = search_source(where.layout, where.imports, candidates, heads, searched, str(out))
    run = await _run(where, schema, text, run_files, job)
    try:
        search = read_search(out.read_text(encoding="utf-8"))
    except OSError:
        why = run.reason if isinstance(run, RunnerError) else "it wrote no outcomes"
        return Told([], f"the survivor probe did not run: {why}")
    if isinstance(search, str):
        return Told([], search)
    note = told_note(search, searched, max(0, len(mine) - MAX_SURVIVORS), unswitched)
    return Told(killing_calls(search), note)


async def _run(
    where: Where, schema: str, probe: str, run_files: RunFiles, job: PackageJob
) -> object:
    """The probe through the runner with the schema in place of the source; the source put
    back and the probe removed after."""
    source = where.package_dir / where.path
    placed = where.package_dir / where.probe_path
    original = await asyncio.to_thread(source.read_bytes)
    try:
        placed.parent.mkdir(parents=True, exist_ok=True)
        workdir.write_fresh(probe, placed)
        await asyncio.to_thread(
            source.write_bytes, schema.encode("utf-8", errors="surrogateescape")
        )
        return await run_files(where.workspace.sandbox, where.node, job, [where.probe_path])
    finally:
        await asyncio.to_thread(source.write_bytes, original)
        placed.unlink(missing_ok=True)
