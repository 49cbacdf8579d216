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
import os
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.javascript import vitest
from jobs.languages.javascript.coverage import Coverage, ReportError
from jobs.languages.javascript.measured_run import PerTestLines, measured_files, run_measured
from jobs.languages.javascript.package_job import PackageJob, RunnerError
from jobs.languages.javascript.run_results import ReportProblem, RunResults
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox

SETUP = Path(__file__).with_name("vitest_per_test.mjs")
ISTANBUL = "@vitest/coverage-istanbul"
WRAPPER = "vitest.tandem.config.mjs"
# The config files vitest reads, in its order: its own first, then vite's
CONFIG_NAMES = tuple(
    f"{tool}.config.{suffix}"
    for tool in ("vitest", "vite")
    for suffix in ("ts", "mts", "cts", "js", "mjs", "cjs")
)


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


async def ensure_istanbul(
    sandbox: Sandbox, node: Node, installed_vitest: Path, job: PackageJob
) -> Path | RunnerError:
    """The istanbul provider's package folder: the project's, or one installed at the
    project's vitest version into the tools folder and linked beside the project's vitest."""
    own = vitest.find_installed(ISTANBUL, job.package_dir, job.checkout)
    if own is not None:
        return own
    found = vitest.beside(installed_vitest, ISTANBUL) or await vitest.install_provider(
        sandbox, node, installed_vitest, ISTANBUL, job.tools_dir, job.timeout_s
    )
    if isinstance(found, RunnerError):
        return found
    # vitest 4.0 imports the provider through vite, which resolves it from the package's folder,
    # not from vitest's own: under pnpm's layout the two differ, so it is linked at both.
    at = job.package_dir / "node_modules" / ISTANBUL
    if not (at.exists() or at.is_symlink()):
        at.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(found.resolve(), at, target_is_directory=True)
    return found


async def run_per_test(
    sandbox: Sandbox, node: Node, job: PackageJob
) -> VitestPerTestRun | RunnerError:
    """The package's suite (``job.tests`` only, when it names some), once, with coverage and
    the lines of each test."""
    found = vitest.runner_entry("vitest", job.package_dir, job.checkout)
    if isinstance(found, RunnerError):
        return found
    installed, entry = found
    provider = await ensure_istanbul(sandbox, node, installed, job)
    if isinstance(provider, RunnerError):
        return provider
    files = measured_files(job)
    setup, wrapper = files.work / SETUP.name, files.work / f"{job.tag}.{WRAPPER}"
    workdir.copy_fresh(SETUP, setup)
    workdir.write_fresh(wrapper_config(project_config(job.package_dir), setup), wrapper)
    args = vitest.coverage_args(files.report_dir, ISTANBUL, job.include)
    args += ["--reporter=default", "--reporter=json", f"--outputFile.json={files.outcomes}"]
    command = [str(entry), "run", *job.tests, "--config", str(wrapper), *args]
    run = await run_measured(
        sandbox, node, job, "vitest", command, files, files.environment(provider)
    )
    if isinstance(run, RunnerError):
        return run
    shown = f"{ISTANBUL} {vitest.installed_version(provider)}"
    return VitestPerTestRun(run.result, run.coverage, run.per_test, run.results, shown)
