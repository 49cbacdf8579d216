"""One vitest run of a package's suite with istanbul JSON coverage, through a sandbox.

``vitest run --coverage.enabled --coverage.reporter=json`` writes ``coverage-final.json``,
which :mod:`.coverage` turns into line sets. Details that decide whether that works:

- ``--coverage.reportOnFailure``: without it vitest writes no report when a test fails, and a
  suite with a broken test is common on a PR;
- ``--coverage.include`` names the changed files: vitest 4 reports only files some test loaded,
  unless ``include`` names them, and then an unloaded file comes with zero counts (so its
  statements are known and uncovered, rather than unknown);
- the coverage provider is often not in the project. ``@vitest/coverage-v8`` is installed at
  exactly the project's installed vitest version into the part's own tools folder (``npm install
  --legacy-peer-deps``: its peer, vitest, must be the project's own copy, not a second one) and
  linked next to the project's vitest, where vitest's own ``import()`` finds it. Its ``vitest``
  import is linked to the project's copy too. ``coverage.provider: custom`` pointing at the tools
  folder does not work: vitest's workers still import the provider by its package name.

The tools folder belongs to the caller (one part's own folder: two parts never share one). The
provider's install needs the npm registry: give :func:`run_with_coverage` a networked sandbox
when the project may lack it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.javascript.coverage import Coverage, ReportError, parse_report
from jobs.languages.javascript.package_job import RunnerError as VitestError
from jobs.languages.javascript.toolchain import Node, env_prefix, install_tool
from jobs.sandbox.sandbox_protocol import CommandResult, Sandbox, decisive_line

PROVIDERS = ("@vitest/coverage-v8", "@vitest/coverage-istanbul")
REPORT = "coverage-final.json"
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]{}()!+@])")


@dataclass(frozen=True)
class VitestRun:
    result: CommandResult  # vitest's own: returncode 1 when a test failed
    coverage: Coverage | ReportError
    provider: str  # "@vitest/coverage-v8 4.1.2 (the project's)" or "(Tandem's tools)"


def _package_dirs(start: Path, checkout: Path) -> list[Path]:
    """``start`` and each folder above it inside ``checkout``."""
    start, checkout = start.resolve(), checkout.resolve()
    found = [start]
    while found[-1] != checkout and checkout in found[-1].parents:
        found.append(found[-1].parent)
    return found


def find_installed(name: str, package_dir: Path, checkout: Path) -> Path | None:
    """The folder of the installed package ``name`` that ``package_dir`` resolves (its own
    node_modules, or a workspace root's, where tools are hoisted)."""
    for directory in _package_dirs(package_dir, checkout):
        candidate = directory / "node_modules" / name
        if (candidate / "package.json").is_file():
            return candidate
    return None


def _manifest(package: Path) -> dict[str, object]:
    try:
        data = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def installed_version(package: Path) -> str | None:
    version = _manifest(package).get("version")
    return version if isinstance(version, str) else None


def binary(package: Path, name: str) -> Path | None:
    declared = _manifest(package).get("bin")
    if isinstance(declared, dict):
        declared = declared.get(name)
    return package / declared if isinstance(declared, str) else None


def runner_entry(name: str, package_dir: Path, checkout: Path) -> tuple[Path, Path] | VitestError:
    """The runner ``name`` (vitest, jest) as installed for the package, and its entry script."""
    installed = find_installed(name, package_dir, checkout)
    if installed is None:
        return VitestError(f"{name} is not installed in node_modules (did the install run?)")
    entry = binary(installed, name)
    if entry is None:
        return VitestError(f"{installed}/package.json names no {name} binary")
    return installed, entry


def escape_glob(path: str) -> str:
    """A file path as a literal glob for vitest's picomatch (``src/pages/[id].ts``)."""
    return _GLOB_SPECIAL.sub(r"\\\1", path)


def coverage_args(report_dir: Path, provider: str, include: list[str]) -> list[str]:
    """vitest's options for one coverage run (pure). ``include``: files relative to the
    package folder whose coverage is wanted even when no test loads them."""
    args = [
        "--coverage.enabled",
        "--coverage.reporter=json",
        f"--coverage.provider={provider.rsplit('-', 1)[-1]}",
        f"--coverage.reportsDirectory={report_dir}",
        "--coverage.reportOnFailure",
    ]
    args += [f"--coverage.include={escape_glob(path)}" for path in include]
    # vitest 0.x's CLI takes a lone `--coverage.include` as a string, not a list, and then
    # covers nothing (knitwork at vitest 0.31: a baseline with no data); twice, it is a list
    return args + args[-1:] if len(include) == 1 else args


async def ensure_provider(
    sandbox: Sandbox,
    node: Node,
    vitest: Path,
    package_dir: Path,
    checkout: Path,
    tools_dir: Path,
    timeout_s: float,
) -> str | VitestError:
    """The coverage provider's package name, installing ``@vitest/coverage-v8`` at the
    project's vitest version when the project has neither provider."""
    version = installed_version(vitest)
    if version is None:
        return VitestError(f"{vitest}/package.json has no version")
    found = project_provider(vitest, package_dir, checkout)
    if found is not None:
        return found
    installed = await install_provider(sandbox, node, vitest, PROVIDERS[0], tools_dir, timeout_s)
    if isinstance(installed, VitestError):
        return installed
    return f"{PROVIDERS[0]} {version} (Tandem's tools)"


async def install_provider(
    sandbox: Sandbox, node: Node, vitest: Path, name: str, tools_dir: Path, timeout_s: float
) -> Path | VitestError:
    """Install the coverage provider ``name`` at exactly the project's ``vitest`` version into
    the part's tools folder, link it beside the project's vitest, and return its folder."""
    version = installed_version(vitest)
    if version is None:
        return VitestError(f"{vitest}/package.json has no version")
    folder = tools_dir / f"{name.rsplit('/', 1)[-1]}-{version}"
    # its peer vitest is the project's copy, linked below
    why = await install_tool(
        sandbox, node, folder, f"{name}@{version}", timeout_s=timeout_s, legacy_peers=True
    )
    if why is not None:
        return VitestError(f"installing {name}@{version} failed: {why}")
    failed = link_provider(folder, name, vitest)
    return failed or folder / "node_modules" / name


def beside(vitest: Path, name: str) -> Path | None:
    """Package ``name`` in the node_modules the project's ``vitest`` sits in, where vitest's own
    ``import()`` finds it (linked there by :func:`link_provider`, or hoisted)."""
    found = vitest.resolve().parent / name
    return found if (found / "package.json").is_file() else None


def project_provider(vitest: Path, package_dir: Path, checkout: Path) -> str | None:
    """The coverage provider the project has installed, shown with its version."""
    beside = vitest.resolve().parent  # the node_modules vitest's own import() searches
    for name in PROVIDERS:
        installed = find_installed(name, package_dir, checkout)
        if installed is None and (beside / name / "package.json").is_file():
            installed = beside / name
        if installed is not None:
            return f"{name} {installed_version(installed)} (the project's)"
    return None


def link_provider(folder: Path, name: str, vitest: Path) -> VitestError | None:
    """Link the installed provider next to the project's vitest, and the provider's vitest
    import to that same copy."""
    installed = folder / "node_modules" / name
    if not (installed / "package.json").is_file():
        return VitestError(f"npm installed no {name} into {folder}")
    real = vitest.resolve()
    _link(folder / "node_modules" / "vitest", real)
    _link(real.parent / name, installed)
    return None


def _link(at: Path, target: Path) -> None:
    at.parent.mkdir(parents=True, exist_ok=True)
    if at.is_symlink() or at.exists():
        at.unlink()
    os.symlink(target, at, target_is_directory=True)


@dataclass(frozen=True)
class PackageAt:
    """A JavaScript package's folder, in the checkout it belongs to (its ``node_modules`` may
    be in a folder above it, up to the checkout's root)."""

    checkout: Path
    package_dir: Path


async def run_with_coverage(
    sandbox: Sandbox,
    node: Node,
    package: PackageAt,
    *,
    include: list[str],
    report_dir: Path,
    tools_dir: Path,
    timeout_s: float,
) -> VitestRun | VitestError:
    """Run the package's vitest suite once with JSON coverage and read the report.
    ``include``: paths relative to ``package.package_dir``. Paths in the result are relative
    to ``package.checkout``."""
    checkout, package_dir = package.checkout, package.package_dir
    vitest = find_installed("vitest", package_dir, checkout)
    if vitest is None:
        return VitestError("vitest is not installed in node_modules (did the install run?)")
    entry = binary(vitest, "vitest")
    if entry is None:
        return VitestError(f"{vitest}/package.json names no vitest binary")
    provider = await ensure_provider(
        sandbox, node, vitest, package_dir, checkout, tools_dir, timeout_s
    )
    if isinstance(provider, VitestError):
        return provider
    report = report_dir / REPORT
    report.unlink(missing_ok=True)  # a report left from an earlier run must not be read
    args = coverage_args(report_dir, provider.split(" ", 1)[0], include)
    result = await sandbox.run(
        [*env_prefix(), str(node.path), str(entry), "run", *args],
        cwd=package_dir,
        timeout_s=timeout_s,
    )
    if result.timed_out:
        return VitestError(f"vitest did not finish in {timeout_s:.0f} s")
    try:
        text = report.read_bytes()
    except OSError:
        return VitestError(
            f"vitest wrote no coverage report (exit {result.returncode}): "
            f"{decisive_line(result.output)}"
        )
    return VitestRun(result, parse_report(text, _real(checkout)), provider)


def _real(path: Path) -> str:
    """The path the runner reports files under (vite resolves symlinks)."""
    return str(path.resolve())
