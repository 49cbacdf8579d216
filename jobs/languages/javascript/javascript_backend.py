"""The JavaScript/TypeScript language, registered so that its changed files are recognised:
it owns ``.ts/.tsx/.js/.jsx/.mjs/.cjs`` (and ``.mts/.cts``) files (:mod:`.detect`), and says
that it generates no tests yet. A change whose only sources are JS/TS ends as a skipped part
with that reason, never ✅; the runs below raise :class:`NotBuilt`, and no stage calls them
while ``builds_tests`` is False. Issue 20 wires :mod:`.vitest`, :mod:`.coverage` and
:mod:`.toolchain` in here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

from jobs.languages.javascript import packages
from jobs.languages.javascript.package_install import install_packages
from jobs.languages.language_protocol import Installed, InstallRequest
from jobs.sandbox import Sandbox
from jobs.testgen.conventions import Conventions
from jobs.testgen.pin import BrokenTests, Pinning
from jobs.testgen.pytest_runner import PytestRun, TestFailure

NOT_BUILT = "JavaScript/TypeScript: test generation is not built yet"


class NotBuilt(NotImplementedError):
    """A run the JavaScript/TypeScript backend cannot do yet."""


def _not_built() -> NoReturn:
    raise NotBuilt(NOT_BUILT)


class JavaScript:
    name = "javascript"
    label = "JavaScript/TypeScript"
    builds_tests = False
    per_test = False
    mutants = False
    engines: tuple[str, ...] = ()

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
        return await install_packages(request, sources)

    def syntax_errors(self, checkout: Path, paths: list[str]) -> dict[str, str]:
        return {}  # not parsed here yet: the TypeScript compiler API comes with issue 20

    async def run_suite(
        self, sandbox: Sandbox, checkout: Path, sources: Mapping[str, set[int]], *, timeout_s: float
    ) -> PytestRun:
        _not_built()

    def imported_elsewhere(
        self, sources: Mapping[str, set[int]], run: PytestRun, root: str
    ) -> list[tuple[str, str]]:
        return []

    async def run_tests(
        self,
        sandbox: Sandbox,
        checkout: Path,
        paths: list[str],
        *,
        tag: str,
        timeout_s: float,
        measure: bool,
    ) -> PytestRun:
        _not_built()

    async def pin_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> Pinning:
        _not_built()

    async def tests_failing_on_base(
        self, sandbox: Sandbox, checkout: Path, sha: str, files: dict[str, str], *, timeout_s: float
    ) -> set[tuple[str, str]] | None:
        _not_built()

    async def broken_on_base(
        self,
        sandbox: Sandbox,
        checkout: Path,
        sha: str,
        failures: list[TestFailure],
        *,
        timeout_s: float,
    ) -> BrokenTests:
        _not_built()

    def conventions(self, checkout: Path) -> Conventions:
        _not_built()


JAVASCRIPT = JavaScript()
