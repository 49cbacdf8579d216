"""Test amplification for JavaScript/TypeScript (DSpot, Danglot et al. 2019; issues 19 and 20): an
offline engine, ``amplify-js``, that takes the project's own tests that run the changed lines
and varies their inputs one literal at a time until base and head behave differently on one.
Where the existing tests run every changed line, the change's new behaviour is most often one
of them with another input.

1. **Which tests**: those the baseline's per-test record (``baseline.test-lines.json``, its
   ``tests``) saw run a changed line and pass, those that ran the most changed lines first, then
   the smallest; at most MAX_TESTS.
2. **Variants** (:mod:`.js_amplify_variants`): each with one literal of its body changed, read
   and rewritten by position with the TypeScript compiler API (``js_amplify.cjs``), never by a
   regex over the code; the expected side of a matcher is never varied.
3. **Observations** (:mod:`.js_amplify_text`): one probe file per test file, a copy of it with
   only the variants, whose ``expect(actual)`` calls record ``actual`` instead of asserting; run
   by the package's own runner on the head and on the base commit's sources
   (:mod:`.base_runs`), and once more on the head where something differs: what the head
   observed differently in its two runs is dropped.
4. **Tests**: a variant whose observations differ becomes a test asserting the head's values,
   named after its original and the input it changed, in a file beside the original (its
   imports, describes and hooks kept); per-test selection then keeps what passes every run and
   pins or kills something new.

What it cannot do, and says: a test with no ``expect`` (``assert``-style), ``it.each`` tables,
a test file the runner's config would not collect a copy of, values with no source form.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.dependencies.pip_log import CheckoutFiles
from jobs.languages.javascript import javascript_runs, jest_runs, vitest_files
from jobs.languages.javascript.base_runs import RunFiles, run_on_base
from jobs.languages.javascript.javascript_conventions import layout_of
from jobs.languages.javascript.js_amplify_text import (
    Observations,
    differences,
    probe_text,
    read_observations,
    written_text,
)
from jobs.languages.javascript.js_amplify_variants import (
    Scan,
    ScannedFile,
    Variant,
    parse_scan,
    variants,
)
from jobs.languages.javascript.package_job import FilesRun, PackageJob, RunnerError
from jobs.languages.javascript.packages import Package
from jobs.languages.javascript.run_results import RunResults
from jobs.languages.javascript.runner_choice import Unsupported, find_runner
from jobs.languages.javascript.split_tests import canonical
from jobs.languages.javascript.suite_layout import TestLayout, tandem_path
from jobs.languages.javascript.toolchain import (
    Node,
    NodeScript,
    NodeUnavailable,
    ScriptTrouble,
    find_node,
    script_json,
)
from jobs.languages.javascript.typescript_tool import typescript_for
from jobs.sandbox import workdir
from jobs.testgen.engines.engine_protocol import EngineOutcome, Workspace
from jobs.testgen.targets import Target

SCANNER = Path(__file__).with_name("js_amplify.cjs")
TOOLS = "js-tools"
MAX_TESTS = 10  # the tests varied, in all
MAX_SCANNED = 40  # the tests read, the most changed lines first
MAX_VARIANTS_PER_TEST = 40
MAX_WRITTEN_PER_FILE = 8
MAX_STEP_S = 240.0
MIN_RUN_S = 15.0  # below this much time left, a test file's probe does not run
MAX_RECORD_BYTES = 50_000_000
MAX_RECORD_FILES = 500  # the test files read for a changed module's name
MAX_WHOLE_FILES = 5  # the test files all of whose tests are varied, without each test's lines
TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")


def beside(path: str, suffix: str) -> str:
    """Tandem's file beside the test file ``path``: ``a.test.ts`` → ``a.<suffix>.test.ts``, and
    ``__tests__/a.js`` → ``__tests__/a.<suffix>.js`` (pure)."""
    if posixpath.basename(path).count(".") >= 2:
        return tandem_path(path, suffix)
    stem, ext = posixpath.splitext(path)
    return f"{stem}.{suffix}{ext}"


def ran_changed_lines(record: object, changed: dict[str, set[int]]) -> dict[str, int]:
    """Test id -> how many changed lines it ran, of the passing tests the baseline's record
    saw run one (pure; every field checked: the sandbox wrote it)."""
    if not isinstance(record, dict):
        return {}
    tests, passed = record.get("tests"), record.get("passed")
    if not isinstance(tests, dict) or not isinstance(passed, list):
        return {}
    passing = {canonical(str(p)) for p in passed}
    found: dict[str, int] = {}
    for test, ran in tests.items():
        if canonical(str(test)) not in passing or not isinstance(ran, dict):
            continue
        hits = sum(
            len({n for n in numbers if type(n) is int} & changed.get(str(path), set()))
            for path, numbers in ran.items()
            if isinstance(numbers, list)
        )
        if hits:
            found[canonical(str(test))] = hits
    return found


def files_naming_the_change(
    record: object, changed: dict[str, set[int]], texts: dict[str, str], limit: int
) -> list[str]:
    """Without each test's lines (the recorder said nothing of them: jest 28 with ts-jest), the
    test files of the run that ran a changed line, else those that name a changed module (its
    file name without the extension), at most ``limit`` (pure; ``texts``: the test files')."""
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict):
        return []
    ran = sorted(
        str(f)
        for f, lines in files.items()
        if isinstance(lines, dict)
        and any(
            isinstance(ns, list) and set(ns) & changed.get(str(p), set()) for p, ns in lines.items()
        )
    )
    if ran:
        return ran[:limit]
    stems = {posixpath.splitext(posixpath.basename(p))[0] for p in changed} - {"index"}
    return [f for f in sorted(map(str, files)) if any(s in texts.get(f, "") for s in stems)][:limit]


def by_file(ran: dict[str, int], limit: int) -> dict[str, list[str]]:
    """Test file -> the names (``describe > title``) of its tests among the ``limit`` that ran
    the most changed lines (pure)."""
    chosen: dict[str, list[str]] = {}
    for test, _ in sorted(ran.items(), key=lambda t: (-t[1], t[0]))[:limit]:
        path, _, name = test.partition(" > ")
        if name:
            chosen.setdefault(path, []).append(name)
    return chosen


def ranked(scan: Scan, ran: dict[str, int], limit: int) -> dict[str, list[str]]:
    """Test file -> the tests to vary, ``limit`` in all: the most changed lines first, then the
    smallest (pure)."""
    rows = [
        (-ran.get(f"{file.path} > {test.name}", 0), test.size, file.path, test.name)
        for file in scan.files
        for test in file.tests
        if test.sites and test.expects
    ]
    chosen: dict[str, list[str]] = {}
    for *_, path, name in sorted(rows)[:limit]:
        chosen.setdefault(path, []).append(name)
    return chosen


@dataclass(frozen=True)
class PackageRun:
    """The amplification of one package's tests: where it runs and with what."""

    workspace: Workspace
    node: Node
    package: Package
    layout: TestLayout

    @property
    def checkout(self) -> Path:
        return self.workspace.checkout

    @property
    def package_dir(self) -> Path:
        return self.checkout / self.package.dir

    def left(self) -> float:
        return max(1.0, min(MAX_STEP_S, self.workspace.deadline - time.monotonic()))

    def job(self, tag: str) -> PackageJob:
        tools = self.checkout / workdir.WORK_DIR / TOOLS
        return PackageJob(self.checkout, self.package_dir, [], tools, self.left(), tag=tag)

    def relative(self, path: str) -> str:
        return posixpath.relpath(path, self.package.dir) if self.package.dir else path

    def runner(self) -> RunFiles:
        return vitest_files.run_files if self.layout.runner == "vitest" else jest_runs.run_files


async def scan(
    run: PackageRun, chosen: dict[str, list[str] | None], changed: dict[str, set[int]]
) -> Scan | str:
    """The chosen tests' sites and expects (None: every test of the file), and the change's
    literals, or why not read."""
    typescript = await typescript_for(
        run.workspace.sandbox, run.node, run.checkout, run.package_dir, run.left()
    )
    if isinstance(typescript, str):
        return typescript
    work = run.checkout / workdir.WORK_DIR
    out = work / "js-amplify-out.json"
    script, request_file = work / SCANNER.name, work / "js-amplify.json"
    texts: dict[str, str] = {}
    for path in chosen:
        try:
            texts[path] = (run.checkout / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    request = {
        "typescript": str(typescript),
        "out": str(out),
        "files": [
            {"path": p, "file": str(run.checkout / p), "tests": chosen[p]} for p in sorted(texts)
        ],
        "sources": [
            {"file": str(run.checkout / p), "lines": sorted(ls)}
            for p, ls in sorted(changed.items())
            if (run.checkout / p).is_file()
        ],
    }

    def write() -> None:
        workdir.copy_fresh(SCANNER, script)
        workdir.write_fresh(json.dumps(request), request_file)
        out.unlink(missing_ok=True)

    await asyncio.to_thread(write)
    data = await script_json(
        run.workspace.sandbox,
        run.node,
        NodeScript(script, request_file, out, failed=SCAN_FAILED, name="amplification scan"),
        cwd=run.package_dir,
        timeout_s=run.left(),
    )
    if isinstance(data, ScriptTrouble):
        return data.why
    return parse_scan(data, texts)


SCAN_FAILED = "reading the tests with the TypeScript compiler failed"


def _passed(run: FilesRun | RunnerError) -> set[int]:
    """The probe's variants (by index) whose test passed."""
    if isinstance(run, RunnerError) or not isinstance(run.results, RunResults):
        return set()
    found = set()
    for test, outcome in run.results.tests.items():
        last = test.rsplit(" > ", 1)[-1]
        if outcome.status == "pass" and last.startswith("__tandem_v") and last[10:].isdigit():
            found.add(int(last[10:]))
    return found


class FileRun:
    """One test file's probe, on the head (twice where it differs) and on the base."""

    def __init__(self, run: PackageRun, file: ScannedFile, probe: str) -> None:
        self.run, self.file, self.probe = run, file, probe  # probe: checkout-relative

    async def observe(self, made: list[Variant], side: str) -> tuple[Observations, set[int], str]:
        """(observations, the variants that passed, why nothing ran or "")."""
        run = self.run
        out = run.checkout / workdir.WORK_DIR / f"js-amplify-{side}.json"
        out.unlink(missing_ok=True)
        text = probe_text(self.file, made, str(out))
        job = run.job(f"js-amplify-{side}")
        if side == "base":
            sha = run.workspace.base_sha
            assert sha is not None
            files = {self.probe: text}
            ran = await run_on_base(run.runner(), run.workspace.sandbox, run.node, job, sha, files)
        else:
            placed = run.checkout / self.probe
            workdir.write_fresh(text, placed)
            try:
                ran = await run.runner()(
                    run.workspace.sandbox, run.node, job, [run.relative(self.probe)]
                )
            finally:
                placed.unlink(missing_ok=True)
        local = (str(run.checkout), str(run.node.path))
        try:
            observed = read_observations(out.read_text(encoding="utf-8"), local)
        except OSError:
            why = ran.reason if isinstance(ran, RunnerError) else "it observed nothing"
            return {}, set(), f"the probe did not run on the {side}: {why}"
        return observed, _passed(ran), ""

    async def amplify(self, tests: list[str], scan: Scan) -> tuple[str | None, str]:
        """(the written test file, checkout-relative, or None; the note)."""
        nullish = not self.file.path.endswith(TS_SUFFIXES)
        made: list[Variant] = []
        for test in self.file.tests:
            if test.name in tests:
                made += variants(test, scan, nullish=nullish, limit=MAX_VARIANTS_PER_TEST)
        shown = ", ".join(f"`{t}`" for t in tests[:3])
        shown += f" and {len(tests) - 3} more" if len(tests) > 3 else ""
        head, passed, why = await self.observe(made, "head")
        if why:
            return None, f"`{self.file.path}` ({shown}; {len(made)} variants): {why}"
        base, _, why = await self.observe(made, "base")
        if why:
            return None, f"`{self.file.path}` ({shown}; {len(made)} variants): {why}"
        found = differences(len(made), head, base, None, passed)
        if found:  # once more on the head: what it observes differently each run is no difference
            again, passed_again, _ = await self.observe(made, "head")
            found = differences(len(made), head, base, again, passed & passed_again)
        note = f"`{self.file.path}` ({shown}; {len(made)} variants): "
        note += f"{len(found)} differ between base and head"
        if not found:
            return None, note
        written_path = beside(self.run.relative(self.file.path), "tandem-amplified")
        if not self.run.layout.globs.admits(written_path):
            return None, note + f"; the runner would not collect `{written_path}`"
        text, count = written_text(
            self.file, made, found, posixpath.basename(self.file.path), MAX_WRITTEN_PER_FILE
        )
        if text is None:
            return None, note + "; none could be written as a test"
        target = self.run.package_dir / written_path
        workdir.write_fresh(text, target)
        return target.relative_to(self.run.checkout).as_posix(), note + f"; wrote {count} test(s)"


def read_record(checkout: Path) -> object:
    """The baseline's record as JSON (bounded), or None."""
    path = checkout / javascript_runs.test_lines_record(javascript_runs.BASELINE)
    try:
        if path.is_symlink() or path.stat().st_size > MAX_RECORD_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


async def amplify_package(
    run: PackageRun,
    tests: tuple[dict[str, int], list[str]],
    changed: dict[str, set[int]],
    outcome: EngineOutcome,
    label: str,
) -> None:
    """Amplify the package's tests that ran the changed lines (``tests``: test id -> how many,
    and the test files all of whose tests count), file by file, in the time left."""
    ran, every = tests
    wanted: dict[str, list[str] | None] = {**by_file(ran, MAX_SCANNED), **dict.fromkeys(every)}
    found = await scan(run, wanted, changed)
    if isinstance(found, str):
        outcome.notes.append(f"{label}: {found}")
        return
    chosen = ranked(found, ran, MAX_TESTS)
    skipped = [f"`{f.path}`: {f.problem}" for f in found.files if f.problem]
    if skipped:
        outcome.notes.append(f"{label}: test files not read: " + "; ".join(skipped))
    if not chosen:
        outcome.notes.append(f"{label}: no test that ran the change has an input and an expect")
        return
    files = {f.path: f for f in found.files}
    for index, (path, names) in enumerate(sorted(chosen.items())):
        if run.workspace.deadline - time.monotonic() < MIN_RUN_S:
            rest = ", ".join(f"`{p}`" for p in sorted(chosen)[index:])
            outcome.notes.append(f"{label}: the wall-time budget ended before {rest}")
            return
        probe = posixpath.join(
            run.package.dir, beside(run.relative(path), "tandem-amp-probe")
        ).lstrip("/")
        if not run.layout.globs.admits(run.relative(probe)):
            outcome.notes.append(f"{label}: the runner would not collect a copy of `{path}`")
            continue
        try:
            written, note = await FileRun(run, files[path], probe).amplify(names, found)
        except (ValueError, KeyError, IndexError, UnicodeError) as exc:
            # a test file this cannot rewrite is a note, never a crash of the engine
            written, note = None, f"`{path}`: not amplified ({exc!r})"[:300]
        outcome.notes.append(f"{label}: {note}")
        if written:
            outcome.written.append(written)


def _whole_files(workspace: Workspace, record: object, changed: dict[str, set[int]]) -> list[str]:
    """:func:`files_naming_the_change`, with the test files of the record read."""
    files = record.get("files") if isinstance(record, dict) else None
    texts: dict[str, str] = {}
    for path in list(files)[:MAX_RECORD_FILES] if isinstance(files, dict) else []:
        try:
            texts[str(path)] = (workspace.checkout / str(path)).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError):
            continue
    return files_naming_the_change(record, changed, texts, MAX_WHOLE_FILES)


class AmplifyJs:
    """The engine as portfolios run it (:class:`.engine_protocol.Engine`)."""

    name = "amplify-js"
    label = "JS/TS test amplification"
    share = 0.5

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        started = time.monotonic()
        outcome = EngineOutcome()
        changed = {p: set(ls) for p, ls in workspace.changed.items()} or {
            t.path: set(t.lines) for t in targets
        }
        node = await asyncio.to_thread(find_node)
        if isinstance(node, NodeUnavailable):
            outcome.notes.append(f"{self.label}: {node.reason}")
            return outcome
        if not workspace.base_sha:
            outcome.notes.append(f"{self.label}: no base commit given")
            return outcome
        record = await asyncio.to_thread(read_record, workspace.checkout)
        ran = ran_changed_lines(record, changed)
        whole = [] if ran else await asyncio.to_thread(_whole_files, workspace, record, changed)
        if not ran and not whole:
            outcome.notes.append(f"{self.label}: no passing project test ran a changed line")
            return outcome
        if whole:
            shown = ", ".join(f"`{p}`" for p in whole)
            outcome.notes.append(
                f"{self.label}: no test's own lines were recorded; every test of {shown}"
            )
        workspace.step(f"amplifying the JS/TS tests that ran the change ({len(ran) or whole})")
        paths = sorted({t.partition(" > ")[0] for t in ran} | set(whole))
        checkout = workspace.checkout
        shares, problems = await asyncio.to_thread(javascript_runs.shares, checkout, paths)
        outcome.notes += [f"{self.label}: {p}" for p in problems]
        files = CheckoutFiles(workspace.checkout)
        for share in shares:
            runner = find_runner(files, share.package)
            if isinstance(runner, Unsupported):
                continue  # shares() found it supported: the same evidence says the same
            layout = await asyncio.to_thread(layout_of, workspace.checkout, share.package, runner)
            run = PackageRun(workspace, node, share.package, layout)
            mine = {t: n for t, n in ran.items() if t.partition(" > ")[0] in share.paths}
            every = [p for p in whole if p in share.paths]
            await amplify_package(run, (mine, every), changed, outcome, self.label)
        outcome.duration_s = time.monotonic() - started
        return outcome
