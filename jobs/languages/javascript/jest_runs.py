"""jest runs of a package's tests (issue 20, items 4 and 6): the suite once with istanbul JSON
coverage and the lines of each test (:func:`run_per_test`), and given test files without
coverage (:func:`run_files`, which :mod:`.base_runs` also runs on the base commit).

jest instruments with babel-plugin-istanbul when ``--coverage`` is on, and its counters live in
``globalThis.__coverage__``: the setup file :data:`SETUP` reads them around each test (see
``per_test_recorder.cjs``). It is added to the project's own ``setupFilesAfterEnv`` by a wrapper
config, written into the work dir, that loads the project's config (``jest.config.js/.cjs/.mjs
/.json`` or ``package.json``'s ``jest`` field; an object, a function or a promise) and keeps its
``rootDir`` where the project's config put it. A ``jest.config.ts`` is read by jest's own
``jest-config`` (``readInitialOptions``, jest 29.2 and later), which loads TypeScript as jest
does (ts-node, or Node's type stripping with jest 30); with an older jest that suite runs with its
own config and no per-test record (the whole run's coverage stands), and the run says so.

jest knows a test in its hooks only by its space-joined full name; the records are matched to
the JSON report's ids (``file > describe > title``) by that name. Options that take a list
(``--coverageReporters``) swallow the paths after them, so paths come first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.javascript import vitest
from jobs.languages.javascript.coverage import Coverage, ReportError
from jobs.languages.javascript.measured_run import PerTestLines, measured_files, run_measured
from jobs.languages.javascript.package_job import (
    FilesRun,
    PackageJob,
    RunnerError,
    outcomes_file,
    run_for_outcomes,
)
from jobs.languages.javascript.run_results import ReportProblem, RunResults
from jobs.languages.javascript.toolchain import Node
from jobs.sandbox import workdir
from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox

SETUP = Path(__file__).with_name("jest_per_test.cjs")
LAUNCHER = Path(__file__).with_name("jest_launcher.cjs")
WRAPPER = "jest.tandem.config.cjs"
NO_THRESHOLD = "{}"  # jest parses a JSON object given to --coverageThreshold
CONFIG_NAMES = tuple(f"jest.config.{suffix}" for suffix in ("js", "cjs", "mjs", "json", "ts"))
# The first jest whose jest-config exports readInitialOptions, which the wrapper needs to read a
# TypeScript config as jest itself would.
READS_TYPESCRIPT_CONFIG = (29, 2)


@dataclass(frozen=True)
class JestPerTestRun:
    result: CommandResult
    coverage: Coverage | ReportError
    per_test: PerTestLines
    results: RunResults | ReportProblem
    note: str | None = None  # why there is no per-test record, when there is none


def project_config(package_dir: Path) -> Path | None:
    """jest's config file in ``package_dir``, or its ``package.json`` when that has a
    ``jest`` field; None: jest's defaults."""
    for name in CONFIG_NAMES:
        if (package_dir / name).is_file():
            return package_dir / name
    manifest = package_dir / "package.json"
    try:
        field = json.loads(manifest.read_text(encoding="utf-8")).get("jest")
    except (OSError, ValueError, AttributeError):
        return None
    return manifest if isinstance(field, dict) else None


def reads_typescript_config(jest_version: str | None) -> bool:
    """Whether this jest's jest-config can read a ``jest.config.ts`` for the wrapper."""
    found = re.match(r"(\d+)\.(\d+)", jest_version or "")
    return found is not None and (int(found[1]), int(found[2])) >= READS_TYPESCRIPT_CONFIG


def typescript_loader(config: Path, jest_dir: Path) -> str:
    """The wrapper's ``load`` body for a ``jest.config.ts``: jest-config's own reader, found
    beside the project's jest (npm hoists it; pnpm keeps it under jest-cli or @jest/core)."""
    return (
        'const { createRequire } = require("node:module");\n'
        # pnpm's node_modules/jest is a link: its dependencies are found from where it leads
        '  const { realpathSync } = require("node:fs");\n'
        f"  const jestManifest = realpathSync({json.dumps(str(jest_dir / 'package.json'))});\n"
        "  const fromJest = createRequire(jestManifest);\n"
        "  const beside = (via) => createRequire(fromJest.resolve(`${via}/package.json`));\n"
        "  let reader = null;\n"
        '  for (const via of [null, "jest-cli", "@jest/core"]) {\n'
        "    try {\n"
        "      const from = via ? beside(via) : fromJest;\n"
        '      reader = from("jest-config");\n'
        "      break;\n"
        "    } catch {}\n"
        "  }\n"
        '  if (!reader) throw new Error("jest-config was not found beside jest");\n'
        f"  const read = await reader.readInitialOptions({json.dumps(str(config))}, "
        "{ skipMultipleConfigError: true });\n"
        "  return read.config;"
    )


def wrapper_config(
    config: Path | None, package_dir: Path, setup: Path, jest_dir: Path | None = None
) -> str:
    """The wrapper config's text (CommonJS): the project's config with ``setup`` added to its
    ``setupFilesAfterEnv`` and Tandem's scratch folder to its ignored test paths. A TypeScript
    config needs ``jest_dir``, the project's jest, whose jest-config reads it."""
    if config is None:
        load = "return {};"
    elif config.suffix == ".ts":
        if jest_dir is None:
            raise ValueError(f"{config.name} is read by jest's own jest-config: give jest_dir")
        load = typescript_loader(config, jest_dir)
    elif config.name == "package.json":
        load = f"return require({json.dumps(str(config))}).jest;"
    elif config.suffix == ".mjs":
        load = f"return (await import({json.dumps(config.as_uri())})).default;"
    else:
        load = f"return require({json.dumps(str(config))});"
    config_dir = json.dumps(str(config.parent if config is not None else package_dir))
    return (
        '"use strict";\n'
        'const path = require("node:path");\n'
        f"async function load() {{\n  {load}\n}}\n"
        "module.exports = async () => {\n"
        "  let config = await load();\n"
        "  if (config && config.__esModule && config.default) config = config.default;\n"
        '  if (typeof config === "function") config = await config();\n'
        "  config = { ...(config ?? {}) };\n"
        f'  config.rootDir = path.resolve({config_dir}, config.rootDir ?? ".");\n'
        "  config.setupFilesAfterEnv = [...(config.setupFilesAfterEnv ?? []), "
        f"{json.dumps(str(setup))}];\n"
        "  config.testPathIgnorePatterns = [\n"
        '    ...(config.testPathIgnorePatterns ?? ["/node_modules/"]),\n'
        f"    {json.dumps(f'/{re.escape(workdir.WORK_DIR)}/')},\n"
        "  ];\n"
        "  return config;\n"
        "};\n"
    )


def by_report_ids(per_test: PerTestLines, results: RunResults) -> PerTestLines:
    """The records' ids (``file > <space-joined full name>``) as the report's
    (``file > describe > title``); ``(load)`` records keep theirs."""
    names = {}
    for test in results.tests:
        file, _, rest = test.partition(" > ")
        names[f"{file} > {' '.join(rest.split(' > '))}"] = test
    renamed = PerTestLines(problems=set(per_test.problems))  # why lines were left out stays
    for test, lines in per_test.lines.items():
        real = names.get(test, test)
        renamed.lines[real] = lines
        if real in results.tests:
            renamed.outcomes[real] = results.tests[real].status
        elif test in per_test.outcomes:
            renamed.outcomes[real] = per_test.outcomes[test]
    return renamed


async def run_per_test(
    sandbox: Sandbox, node: Node, job: PackageJob
) -> JestPerTestRun | RunnerError:
    """The package's suite (``job.tests`` only, when it names some), once, with coverage and
    the lines of each test."""
    found = vitest.runner_entry("jest", job.package_dir, job.checkout)
    if isinstance(found, RunnerError):
        return found
    installed, entry = found
    files = measured_files(job)
    config = project_config(job.package_dir)
    note = None
    version = vitest.installed_version(installed)
    if config is not None and config.suffix == ".ts" and not reads_typescript_config(version):
        args = ["--config", str(config)]
        note = (
            f"no per-test record: {config.name} is TypeScript, which jest {version} reads only "
            "for itself"
        )
    else:
        setup = files.work / SETUP.name
        workdir.copy_fresh(SETUP, setup)
        wrapper = files.work / f"{job.tag}.{WRAPPER}"
        workdir.write_fresh(wrapper_config(config, job.package_dir, setup, installed), wrapper)
        args = ["--config", str(wrapper)]
    if job.tests:  # the paths first: a list option after them would swallow them
        args = [*job.tests, "--runTestsByPath", *args]
    args += [
        "--ci",
        "--coverage",
        # a project's thresholds judge its whole suite in CI: Tandem's runs of a part of it
        # (or of its changed files' coverage alone) would fail them with every test passed
        f"--coverageThreshold={NO_THRESHOLD}",
        f"--coverageDirectory={files.report_dir}",
        *(f"--collectCoverageFrom={path}" for path in job.include),
        "--json",
        f"--outputFile={files.outcomes}",
        "--coverageReporters=json",  # last: it takes a list
    ]
    launch = launch_args(job, installed, entry, args)
    environment = files.environment(installed)
    run = await run_measured(sandbox, node, job, "jest", launch, files, environment)
    if isinstance(run, RunnerError):
        return run
    per_test = run.per_test
    if isinstance(run.results, RunResults):
        per_test = by_report_ids(per_test, run.results)
    return JestPerTestRun(run.result, run.coverage, per_test, run.results, note)


async def run_files(
    sandbox: Sandbox, node: Node, job: PackageJob, files: list[str], *, name: str | None = None
) -> FilesRun | RunnerError:
    """``files`` (relative to the package folder) once, exactly those (``--runTestsByPath``);
    ``name``: only the tests whose full name matches this pattern (jest's ``-t``)."""
    found = vitest.runner_entry("jest", job.package_dir, job.checkout)
    if isinstance(found, RunnerError):
        return found
    outcomes = outcomes_file(job)
    # no coverage: a config's ``collectCoverage`` would slow the run and its thresholds fail it
    args = [*files, "--runTestsByPath", "--ci", "--coverage=false", "--json"]
    args.append(f"--outputFile={outcomes}")
    if name is not None:
        args += ["-t", name]
    launch = launch_args(job, *found, args)
    return await run_for_outcomes(sandbox, node, job, "jest", launch, outcomes)


def launch_args(job: PackageJob, installed: Path, entry: Path, args: list[str]) -> list[str]:
    """node's arguments for a jest run with ``args``: through :data:`LAUNCHER` (copied into the
    work dir), so the tests see the ``process.argv`` of a bare ``jest``, as in the project's CI,
    not Tandem's options."""
    work = job.checkout / workdir.WORK_DIR
    work.mkdir(exist_ok=True)
    launcher = work / LAUNCHER.name
    workdir.copy_fresh(LAUNCHER, launcher)
    return [str(launcher), str(installed), str(entry), *args]
