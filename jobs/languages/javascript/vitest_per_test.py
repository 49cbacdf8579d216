"""Which lines each vitest test runs, from one run of the suite (issue 20, item 4).

vitest has no coverage contexts, so a setup file (:data:`SETUP`, ``vitest_per_test.mjs``) reads
the istanbul provider's counters before and after each test and writes the lines whose
statements ran, mapped back through each file's source map (otherwise TypeScript's lines come
out shifted by what its transform removed). The setup file is loaded through a wrapper config,
written into the work dir, that imports the project's own config (vitest's or vite's, a
function or an object) and adds the setup file: the CLI has no ``--setupFiles``. Relative paths
in the project's config keep resolving from the package folder, the run's working directory.

Per-test attribution needs the istanbul provider (the v8 provider counts only at the end of a
file). :func:`run_per_test` uses the project's ``@vitest/coverage-istanbul`` or installs it at the
project's exact vitest version into the part's tools folder, like :mod:`.vitest` does for v8.

A test's record says whether it passed (``pass``/``fail``/``skip``); what a test file runs
while loading is its own record, ``(load)``. Test ids are ``<file> > <suite> > <name>``, the
file relative to the checkout.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from jobs.languages.javascript import vitest
from jobs.languages.javascript.coverage import Coverage, ReportError, parse_report
from jobs.languages.javascript.package_job import PackageJob, RunnerError
from jobs.languages.javascript.run_results import ReportProblem, RunResults, read_outcomes
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox, decisive_line

SETUP = Path(__file__).with_name("vitest_per_test.mjs")
RECORDER = Path(__file__).with_name("per_test_recorder.cjs")  # the setup files' shared part
ISTANBUL = "@vitest/coverage-istanbul"
WRAPPER = "vitest.tandem.config.mjs"
LOAD = "(load)"
# The config files vitest reads, in its order: its own first, then vite's
CONFIG_NAMES = tuple(
    f"{tool}.config.{suffix}"
    for tool in ("vitest", "vite")
    for suffix in ("ts", "mts", "cts", "js", "mjs", "cjs")
)
MAX_RECORD_BYTES = 50_000_000


@dataclass
class PerTestLines:
    # test id -> checkout-relative path -> lines its statements started on
    lines: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # test id -> pass/fail/skip/load


@dataclass(frozen=True)
class VitestPerTestRun:
    result: CommandResult
    coverage: Coverage | ReportError  # the whole run's report, as :mod:`.vitest` reads it
    per_test: PerTestLines
    results: RunResults | ReportProblem  # each test's outcome, from vitest's JSON reporter
    provider: str


def project_config(package_dir: Path) -> Path | None:
    """The config file vitest would read in ``package_dir``."""
    for name in CONFIG_NAMES:
        if (package_dir / name).is_file():
            return package_dir / name
    return None


def wrapper_config(config: Path | None, setup: Path) -> str:
    """The wrapper config's text: the project's config (``config``) with ``setup`` added to
    its setup files. A config may export a function of vite's ``env``, or a promise."""
    base = (
        f"import base from {json.dumps(config.as_posix())};\n"
        if config is not None
        else "const base = {};\n"
    )
    return (
        base
        + "export default async (env) => {\n"
        + '  const config = (await (typeof base === "function" ? base(env) : base)) ?? {};\n'
        + "  const test = { ...(config.test ?? {}) };\n"
        + "  test.setupFiles = [...[test.setupFiles ?? []].flat(), "
        + json.dumps(setup.as_posix())
        + "];\n"
        + "  return { ...config, test };\n"
        + "};\n"
    )


def read_records(folder: Path, root: Path) -> PerTestLines:
    """The setup file's JSON lines in ``folder``: per test id, the lines it ran, relative to
    ``root`` (the checkout, resolved; files outside it are left out). A line that is not JSON
    (a worker killed while writing) is skipped."""
    found = PerTestLines()
    lines: dict[str, dict[str, set[int]]] = defaultdict(dict)
    budget = MAX_RECORD_BYTES
    for path in sorted(folder.glob("*.jsonl")):
        budget -= path.stat().st_size
        if budget < 0:
            break
        for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(text)
                test_file = _relative(str(record["file"]), root)
                name = str(record["test"])
                state = str(record["state"])
                ran = {str(k): [int(n) for n in v] for k, v in dict(record["lines"]).items()}
            except (ValueError, KeyError, TypeError):
                continue
            if test_file is None:
                continue
            test = f"{test_file} > {name}"
            found.outcomes[test] = state
            for file, numbers in ran.items():
                relative = _relative(file, root)
                if relative is not None:
                    lines[test].setdefault(relative, set()).update(numbers)
            lines.setdefault(test, {})
    found.lines = dict(lines)
    return found


def _relative(path: str, root: Path) -> str | None:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return None


async def ensure_istanbul(
    sandbox: Sandbox, node: Node, installed_vitest: Path, job: PackageJob
) -> Path | RunnerError:
    """The istanbul provider's package folder: the project's, or one installed at the
    project's vitest version into the tools folder and linked beside the project's vitest."""
    own = vitest.find_installed(ISTANBUL, job.package_dir, job.checkout)
    if own is not None:
        return own
    beside = vitest.beside(installed_vitest, ISTANBUL)
    if beside is not None:
        return beside
    return await vitest.install_provider(
        sandbox, node, installed_vitest, ISTANBUL, job.tools_dir, job.timeout_s
    )


async def run_per_test(
    sandbox: Sandbox, node: Node, job: PackageJob
) -> VitestPerTestRun | RunnerError:
    """The package's suite, once, with coverage and the lines of each test."""
    found = vitest.runner_entry("vitest", job.package_dir, job.checkout)
    if isinstance(found, RunnerError):
        return found
    installed, entry = found
    provider = await ensure_istanbul(sandbox, node, installed, job)
    if isinstance(provider, RunnerError):
        return provider
    work = job.checkout / workdir.WORK_DIR
    work.mkdir(exist_ok=True)
    setup, wrapper = work / SETUP.name, work / f"{job.tag}.{WRAPPER}"
    records, report_dir = work / f"{job.tag}.per-test", work / f"{job.tag}.coverage"
    outcomes = work / f"{job.tag}.results.json"
    workdir.copy_fresh(SETUP, setup)
    workdir.copy_fresh(RECORDER, work / RECORDER.name)
    workdir.write_fresh(wrapper_config(project_config(job.package_dir), setup), wrapper)
    for old in [*records.glob("*.jsonl"), report_dir / vitest.REPORT, outcomes]:
        old.unlink(missing_ok=True)  # an earlier run's must not be read
    environment = {
        "TANDEM_PER_TEST_DIR": str(records),
        "TANDEM_PROVIDER_PACKAGE": str(provider / "package.json"),
    }
    args = vitest.coverage_args(report_dir, ISTANBUL, job.include)
    args += ["--reporter=default", "--reporter=json", f"--outputFile.json={outcomes}"]
    result = await sandbox.run(
        [
            *env_prefix(environment),
            str(node.path),
            str(entry),
            "run",
            "--config",
            str(wrapper),
            *args,
        ],
        cwd=job.package_dir,
        timeout_s=job.timeout_s,
    )
    if result.timed_out:
        return RunnerError(f"vitest did not finish in {job.timeout_s:.0f} s")
    try:
        report = (report_dir / vitest.REPORT).read_bytes()
    except OSError:
        return RunnerError(
            f"vitest wrote no coverage report (exit {result.returncode}): "
            f"{decisive_line(result.output)}"
        )
    root = job.checkout.resolve()
    per_test = read_records(records, root) if records.is_dir() else PerTestLines()
    results = read_outcomes(outcomes, result.output, "vitest", root)
    shown = f"{ISTANBUL} {vitest.installed_version(provider)}"
    return VitestPerTestRun(result, parse_report(report, str(root)), per_test, results, shown)
