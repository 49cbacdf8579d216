"""Many mutants in one runner process (Stryker's mutant schemata): the changed source is
rewritten once into its schema, which holds every mutant behind a switch
(``globalThis.__tandemMutant === n``, made by ``mutate.cjs``) and is the source itself while no
switch is set; and each test file that may notice a mutant gets a copy beside it (so its
imports and the runner's ``include`` globs hold) whose first statement sets that mutant's
switch. One run of the package's runner then takes the batch's copies and, as a control, the
original files with no switch set.

vitest and jest give each test file its own module registry and global object, so a copy's
switch reaches only its own tests. The switch is set as the copy's module body starts: a
source's module-level values have already been computed by then, which is why ``mutate.cjs``
leaves their mutants out of the schema (they run in a process each, as before).

What keeps the kills honest: only a test that passed in the control run and failed in a copy
kills (an existing one must have passed in the baseline too); a copy that did not load is that
mutant's ``error``. Where the control itself changed (a test that passed in the baseline fails
or a file did not load with no switch set) or the runner did not collect the copies, the batch
says why and its mutants run a process each; so do a batch's mutants when it timed out.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.languages.javascript.javascript_runs import RUN_FILES, Share
from jobs.languages.javascript.package_job import FilesRun, RunnerError
from jobs.languages.javascript.run_results import Outcome, ReportProblem, RunResults
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox.sandbox_protocol import Sandbox
from jobs.testgen.proof.mutants import Mutant

SWITCH = "__tandemMutant"
COPY_TAG = "tandem-m"
# An active mutant's code may run this often in one test file before its copy throws: far
# above what a test file's calls reach (css-what's 921 tests parse a few thousand characters),
# a fraction of a second of a loop that never ends.
MAX_HITS = 5_000_000
HIT_LIMIT = "Tandem: the mutant's code ran past its hit limit (a loop that never ends)"
BATCH = 10  # mutants per run: a mutant that hangs its run costs the batch a re-run, one by one
# a directive must stay the file's first statement, or it is no longer one
DIRECTIVE = re.compile(r"""\A(\s*(?:(['"])use strict\2;?))""")


@dataclass(frozen=True)
class Schemata:
    """What ``mutate.cjs`` made: each source's schema (checkout-relative path -> text), and
    each mutant's switch in it (mutant id -> number); a mutant with none runs alone."""

    texts: dict[str, str] = field(default_factory=dict)
    switches: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    """A mutant to run in a batch: its switch and the test files (checkout-relative) that may
    notice it."""

    mutant: Mutant
    switch: int
    files: tuple[str, ...]


@dataclass(frozen=True)
class BatchFailed:
    """Why a batch gave no outcomes; ``fatal``: no later batch can do better (the schema or the
    copies are at fault, not one mutant)."""

    reason: str
    fatal: bool


def parse_schemata(data: Any, mutant_ids: dict[int, str]) -> Schemata:
    """The mutator's schemata and switches (pure); ``mutant_ids``: the index of each mutant in
    its ``mutants`` list -> the id :func:`.js_mutants.parse_mutants` gave it."""
    if not isinstance(data, dict) or not isinstance(data.get("schemata"), dict):
        return Schemata()
    texts = {str(p): t for p, t in data["schemata"].items() if isinstance(t, str)}
    switches = {}
    for n, raw in enumerate(data.get("mutants") or []):
        switch = raw.get("schema") if isinstance(raw, dict) else None
        if n in mutant_ids and isinstance(switch, int) and raw.get("path") in texts:
            switches[mutant_ids[n]] = switch
    return Schemata(texts, switches)


def copy_path(test_file: str, switch: int) -> str:
    """Where a test file's copy for one switch goes: beside it, the tag before its first dot
    (``test/a.test.ts`` -> ``test/a.tandem-m3.test.ts``), so the runner's globs still take it."""
    folder, slash, name = test_file.rpartition("/")
    stem, dot, rest = name.partition(".")
    copy = f"{stem}.{COPY_TAG}{switch}.{rest}" if dot and stem else f"{name}.{COPY_TAG}{switch}"
    return f"{folder}{slash}{copy}"


def snapshot_path(test_file: str) -> str:
    """Where vitest and jest keep a test file's snapshots by default."""
    folder, slash, name = test_file.rpartition("/")
    return f"{folder}{slash}__snapshots__/{name}.snap"


def switched_test(text: str, switch: int) -> str:
    """The test file's text with the switch set as its body starts, on its first line (its
    line numbers stay); ``Reflect.set`` type-checks in TypeScript and runs in JavaScript. The
    hit counter the schema's active switch calls throws :data:`HIT_LIMIT` past its limit: a
    mutant that loops forever ends its copy's test instead of its batch's whole run."""
    setter = (
        f'Reflect.set(globalThis, "{SWITCH}", {switch}); let tandemHits = 0; '
        f'Reflect.set(globalThis, "__tandemHit", () => {{ if (++tandemHits > {MAX_HITS}) '
        f'throw new Error("{HIT_LIMIT}"); return true; }});'
    )
    directive = DIRECTIVE.match(text)
    if directive:
        return f"{directive.group(1)} {setter}{text[directive.end() :]}"
    if text.startswith("#!"):
        first, newline, rest = text.partition("\n")
        return f"{first}{newline}{setter} {rest}"
    return f"{setter} {text}"


def split_results(
    run: FilesRun, batch: list[Planned], passed: frozenset[str]
) -> dict[str, FilesRun] | BatchFailed:
    """One batch run's outcomes as a run per mutant (pure): its copies' tests under the original
    files' ids, a test that did not pass in the control run counted as skipped. ``passed``:
    the tests that passed in the baseline."""
    originals = {f for planned in batch for f in planned.files}
    results = run.results
    if isinstance(results, ReportProblem):
        return BatchFailed(results.reason, fatal=False)
    control = {t: o for t, o in results.tests.items() if t.partition(" > ")[0] in originals}
    changed = sorted(t for t, o in control.items() if o.status == "fail" and t in passed)
    unloaded = sorted(originals & set(results.unloaded))
    if changed or unloaded:
        shown = (changed or unloaded)[0]
        return BatchFailed(f"with no mutant on, the schema changed `{shown}`", fatal=True)
    control_passed = {t for t, o in control.items() if o.status == "pass"}
    has_tests = {t.partition(" > ")[0] for t in control}
    by_mutant: dict[str, FilesRun] = {}
    for planned in batch:
        found = RunResults()
        for original in planned.files:
            copy = copy_path(original, planned.switch)
            if copy in results.unloaded:
                found.unloaded[original] = results.unloaded[copy]
            ran = {
                f"{original}{t[len(copy) :]}": o
                for t, o in results.tests.items()
                if t.partition(" > ")[0] == copy
            }
            if original in has_tests and not ran and original not in found.unloaded:
                return BatchFailed(f"the runner did not collect `{copy}`", fatal=True)
            for test, outcome in ran.items():
                found.tests[test] = outcome if test in control_passed else Outcome("skip")
        by_mutant[planned.mutant.id] = FilesRun(run.result, found)
    return by_mutant


async def run_batch(
    sandbox: Sandbox,
    node: Node,
    checkout: Path,
    share: Share,
    batch: list[Planned],
    schemata: Schemata,
    timeout_s: float,
) -> FilesRun | BatchFailed:
    """The batch's mutants in one run of the share's runner (read by :func:`split_results`),
    its sources as their schemata and its copies beside the test files; the sources put back
    and the copies removed after."""
    originals = sorted({f for planned in batch for f in planned.files})
    copies = {copy_path(f, p.switch): (f, p.switch) for p in batch for f in p.files}
    sources = [p for p in schemata.texts if p in share.paths]
    if any((checkout / p).exists() for c in copies for p in (c, snapshot_path(c))):
        return BatchFailed("a test file's copy would overwrite a file", fatal=True)
    saved = {p: await asyncio.to_thread((checkout / p).read_bytes) for p in sources}
    job = share.job(checkout, tag="mutants", timeout_s=timeout_s, tests=False)
    try:
        await asyncio.to_thread(_write, checkout, copies, {p: schemata.texts[p] for p in sources})
        files = [share.relative(f) for f in [*originals, *copies]]
        run = await RUN_FILES[share.runner](sandbox, node, job, files)
    finally:
        await asyncio.to_thread(_restore, checkout, saved, list(copies))
    if isinstance(run, RunnerError):
        return BatchFailed(run.reason, fatal=False)
    return run


def _write(checkout: Path, copies: dict[str, tuple[str, int]], schemata: dict[str, str]) -> None:
    for copy, (original, switch) in copies.items():
        text = (checkout / original).read_text(encoding="utf-8", errors="surrogateescape")
        data = switched_test(text, switch).encode("utf-8", errors="surrogateescape")
        (checkout / copy).write_bytes(data)
        # the original's snapshots go with it: a copy without them would write its own, or
        # fail where the runner refuses to write one (CI), which is no kill
        snapshots = checkout / snapshot_path(original)
        if snapshots.is_file():
            (checkout / snapshot_path(copy)).write_bytes(snapshots.read_bytes())
    for path, text in schemata.items():
        (checkout / path).write_bytes(text.encode("utf-8", errors="surrogateescape"))


def _restore(checkout: Path, saved: dict[str, bytes], copies: list[str]) -> None:
    for path, data in saved.items():
        (checkout / path).write_bytes(data)
    for copy in copies:
        (checkout / copy).unlink(missing_ok=True)
        (checkout / snapshot_path(copy)).unlink(missing_ok=True)  # copied, or written by the run
