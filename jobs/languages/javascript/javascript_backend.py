"""The JavaScript/TypeScript language: it owns ``.ts/.tsx/.js/.jsx/.mjs/.cjs`` (and
``.mts/.cts``) files (:mod:`.detect`), installs each changed package's dependencies the way its
lockfile says (:mod:`.package_install`), and runs its tests through the package's own runner,
vitest or jest (:mod:`.javascript_runs`): the suite under istanbul coverage with each test's
lines, given test files, and test files on the base commit. Its conventions for a prompt are
read from the runner's config and the package's tests (:mod:`.javascript_conventions`).

Its tests come from the offline engines, characterization (:mod:`.export_engine`, the
registry's ``characterize-js``) and test amplification (:mod:`.js_amplify`, ``amplify-js``),
and, with an LLM, the OpenHands agent: its prompts take the package's
runner, where each new test goes, the import and the exact command that runs one file from the
conventions (:meth:`.JsConventions.prompting`), and the files it is judged by are those the
runner's config collects (:func:`.collected_tests`). The engine's tests are kept one by one, for
what each covers, pins and kills (:mod:`.js_per_test`); the agent's files are kept whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from jobs.dependencies.pip_log import CheckoutFiles
from jobs.languages.conventions import Conventions
from jobs.languages.javascript import javascript_runs, js_mutants, js_per_test, packages
from jobs.languages.javascript.detect import detect
from jobs.languages.javascript.export_engine import CharacterizeJs
from jobs.languages.javascript.export_tests import pruned
from jobs.languages.javascript.javascript_conventions import collected_tests, conventions_for
from jobs.languages.javascript.js_amplify import AmplifyJs
from jobs.languages.javascript.package_install import install_packages
from jobs.languages.javascript.runner_choice import Unsupported
from jobs.languages.language_protocol import Installed, InstallRequest
from jobs.languages.suite_run import SuiteRun, TestFailure
from jobs.sandbox import Sandbox
from jobs.testgen.engines.registry import JAVASCRIPT_ENGINES, register
from jobs.testgen.per_test_selection import SelectTests
from jobs.testgen.pin import BrokenTests, Pinning
from jobs.testgen.proof.measure import Measured, TestFiles


class JavaScript:
    name = "javascript"
    label = "JavaScript/TypeScript"
    builds_tests = True
    mutants = True  # run in batches through the package's runner (:mod:`.js_mutants`)
    agent = True  # its conventions give the prompts its runner, paths and command
    engines: tuple[str, ...] = JAVASCRIPT_ENGINES

    @property
    def per_test(self) -> SelectTests:
        return js_per_test.select_tests  # each test's lines, pins and kills (:mod:`.js_per_test`)

    def owns(self, path: str) -> bool:
        return path.rsplit("/", 1)[-1].endswith(packages.SOURCE_SUFFIXES)

    def is_test_file(self, path: str) -> bool:
        return packages.is_test_file(path)

    def sources(
        self, changed: Mapping[str, set[int]], selected: Callable[[str], bool]
    ) -> dict[str, set[int]]:
        return {
            path: lines
            for path, lines in changed.items()
            if packages.is_source(path) and lines and selected(path)
        }

    async def install(self, request: InstallRequest, sources: Mapping[str, set[int]]) -> Installed:
        installed = await install_packages(request, sources)
        if installed.status == "failed":
            return installed
        # vitest's per-test lines need its istanbul provider: installed now, on the install's
        # network, where the project lacks it (the runs after this have no registry).
        async with request.sandbox.networked(request.network) as box:
            trouble = await javascript_runs.prepare_coverage(box, request.checkout, sorted(sources))
        if trouble is None:
            return installed
        note = "; ".join(filter(None, [installed.note, f"coverage provider: {trouble}"]))
        return Installed(installed.status, note)

    def unsupported(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        detection = detect(CheckoutFiles(checkout), paths)
        found = {path: f"`{path}`: {why}" for path, why in detection.unplaced}
        for changed in detection.packages:
            if isinstance(changed.runner, Unsupported):
                where = f"`{changed.package.dir or '.'}`"
                found.update({p: f"{where}: {changed.runner.reason}" for p in changed.sources})
        return found

    def syntax_errors(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        return {}  # not parsed here yet: the TypeScript compiler API comes with issue 20

    async def run_suite(
        self, sandbox: Sandbox, checkout: Path, sources: Mapping[str, set[int]], *, timeout_s: float
    ) -> SuiteRun:
        return await javascript_runs.run_suite(sandbox, checkout, sources, timeout_s=timeout_s)

    def changed_executable(
        self, checkout: Path, changed: Mapping[str, set[int]], statements: dict[str, set[int]]
    ) -> dict[str, set[int]]:
        # istanbul's statements, which count a statement on each of its lines' starts: a file
        # the suite did not measure is not parsed here (the TypeScript compiler API: issue 20)
        return {path: lines & statements.get(path, set()) for path, lines in changed.items()}

    def functions_touching(self, source: str, lines: set[int]) -> list[str]:
        return []  # its engine finds the changed exports itself (.export_scan.cjs)

    def imported_elsewhere(
        self, sources: Mapping[str, set[int]], run: SuiteRun, root: str
    ) -> list[tuple[str, str]]:
        return []  # istanbul reports only files under the checkout (:mod:`.coverage`)

    async def run_tests(
        self,
        sandbox: Sandbox,
        checkout: Path,
        paths: list[str],
        *,
        tag: str,
        timeout_s: float,
        measure: bool,
    ) -> SuiteRun:
        return await javascript_runs.run_tests(
            sandbox, checkout, paths, tag=tag, timeout_s=timeout_s, measure=measure
        )

    def prune_tests(self, checkout: Path, path: str, names: set[str]) -> bool:
        # the files characterize-js writes lose their failing tests; any other file (the
        # agent's) is discarded whole, not parsed here
        file = checkout / path
        try:
            text = file.read_text(encoding="utf-8")
        except OSError:
            return False
        kept = pruned(text, names)
        if kept is None:
            return False
        file.write_text(kept, encoding="utf-8")
        return True

    async def pin_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> Pinning:
        return await javascript_runs.pin_on_base(sandbox, checkout, sha, files, timeout_s=timeout_s)

    async def tests_failing_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> set[tuple[str, str]] | None:
        return await javascript_runs.tests_failing_on_base(
            sandbox, checkout, sha, files, timeout_s=timeout_s
        )

    async def broken_on_base(
        self,
        sandbox: Sandbox,
        checkout: Path,
        sha: str,
        failures: list[TestFailure],
        *,
        timeout_s: float,
    ) -> BrokenTests:
        return await javascript_runs.broken_on_base(
            sandbox, checkout, sha, failures, timeout_s=timeout_s
        )

    async def run_mutants(
        self,
        sandbox: Sandbox,
        checkout: Path,
        changed: dict[str, set[int]],
        tests: TestFiles,
        *,
        timeout_s: float,
    ) -> Measured:
        return await js_mutants.run_mutants(sandbox, checkout, changed, tests, timeout_s=timeout_s)

    def conventions(self, checkout: Path, sources: Mapping[str, set[int]]) -> Conventions:
        return conventions_for(checkout, sorted(sources))

    def tests_among(self, checkout: Path, untracked: list[str]) -> list[str]:
        return collected_tests(checkout, untracked)


JAVASCRIPT = JavaScript()
# its engines, which the portfolios name (JAVASCRIPT_ENGINES)
register(CharacterizeJs())
register(AmplifyJs())
