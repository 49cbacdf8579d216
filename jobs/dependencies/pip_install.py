"""pip into the project's environment (I/O): :class:`Install` runs pip on a plan and its
fallbacks (:mod:`jobs.dependencies.fallbacks`) until the environment is ready: the plan, a
loosened lock, the project alone; then test requirements whose pins do not import on this Python
unpinned, the project's other extras for what its tests import, and a setuptools with
``pkg_resources`` for a project that imports it. :func:`install_into` is
the sequence; :mod:`jobs.dependencies.install` wraps it with the bounds and the note."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.utils import canonicalize_name

from jobs.dependencies import testimports
from jobs.dependencies.environment import (
    FIND_MISSING,
    PROBE,
    InstallOutcome,
    left_out_plugins,
    make_environment,
    make_view,
    measuring_tools_among,
)
from jobs.dependencies.fallbacks import pinned_names, unpinned
from jobs.dependencies.install_plan import (
    InstallPlan,
    declared_extras,
    loosen,
    project_alone,
    with_extras,
)
from jobs.dependencies.pip_log import (
    ENV_DIR,
    PIP_LOG,
    TMP_DIR,
    CheckoutFiles,
    build_failed,
    failure_line,
    installed_packages,
    log_size,
    record_project_dists,
    summary_line,
)
from jobs.dependencies.sourcetree import from_source_tree, import_root
from jobs.dependencies.tox import TOOLS_PYTHON
from jobs.sandbox import CommandResult, Sandbox, last_line, tail, workdir

OUTPUT_TAIL = 4000
# The last setuptools with ``pkg_resources`` (81 removed it).
SETUPTOOLS_WITH_PKG_RESOURCES = "setuptools<81"

# Prints "DIST<TAB>MODULE<TAB>ERROR" for each pinned distribution that does not import.
IMPORT_DISTS = workdir.script_text("import_dists.py")


@dataclass
class Install:
    """One install into the checkout's environment: where pip runs, until when, and what the
    attempts so far were."""

    sandbox: Sandbox
    checkout: Path
    network: str
    deadline: float
    extra_pip_args: Sequence[str] = ()
    version: tuple[int, int] = TOOLS_PYTHON  # the sandbox's python, (major, minor)
    since: int = 0  # where in pip's log the last attempt began
    replaced: list[str] = field(default_factory=list)  # the tools' pins that gave way

    @property
    def python(self) -> str:
        return str(self.checkout / ENV_DIR / "bin" / "python")

    def left(self) -> float:
        return max(1.0, self.deadline - time.monotonic())

    async def pip(self, plan: InstallPlan, *more: str) -> CommandResult:
        self.since = log_size(self.checkout)
        async with self.sandbox.networked(self.network) as box:
            return await box.run(
                [
                    "env",
                    f"TMPDIR={self.checkout / TMP_DIR}",
                    workdir.ALL_TOOLS,  # what the tools have counts as installed: not fetched again
                    *(f"{name}={value}" for name, value in plan.environment().items()),
                    self.python,
                    "-I",
                    "-m",
                    "pip",
                    *plan.pip_args(),
                    *more,
                    "--log",
                    str(self.checkout / PIP_LOG),
                    *self.extra_pip_args,
                ],
                cwd=self.checkout,
                timeout_s=self.left(),
            )

    def failure(self, result: CommandResult) -> str:
        return failure_line(self.checkout, result.output, self.since)

    async def resolve(self, plan: InstallPlan) -> tuple[InstallPlan, CommandResult]:
        """pip on the plan; where it fails, once more with a pinned lock loosened, then with
        the project alone (:mod:`jobs.dependencies.fallbacks`)."""
        result = await self.pip(plan)
        if result.returncode != 0 and not result.timed_out:
            # A pinned requirements file made for another Python (pip-compile's lock): once more
            # with its loose source, or without it where the project declares its own.
            loose = await asyncio.to_thread(loosen, plan, CheckoutFiles(self.checkout))
            if loose is not None:
                first = self.failure(result)
                plan = replace(
                    loose, loosened=(*loose.loosened[:-1], f"{loose.loosened[-1]} ({first})")
                )
                result = await self.pip(plan)
        if result.returncode != 0 and not result.timed_out:
            alone = project_alone(plan, self.failure(result))
            if alone is not None:
                plan = alone
                result = await self.pip(plan)
        if result.returncode != 0 and not result.timed_out and build_failed(result.output):
            # The project's own build fails here (a backend that downloads beyond the index):
            # its declared dependencies without it, its tests run from the checkout. Only
            # where pip says a build failed: a full disk or a conflict is no build to skip.
            files = CheckoutFiles(self.checkout)
            tree = await asyncio.to_thread(from_source_tree, plan, files, self.failure(result))
            if tree is not None:
                plan = tree
                nothing = CommandResult(0, "", 0.0, False)  # pip refuses an empty install
                result = await self.pip(plan) if plan.installs_anything else nothing
                if result.returncode == 0:
                    await self.source_tree_importable()
        return plan, result

    async def source_tree_importable(self) -> None:
        """A ``.pth`` file in the environment that puts the checkout's import root (``src``
        for a src layout) on ``sys.path``, as an editable install of the project would."""
        where = await self.run(
            [self.python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            60,
        )
        if where.returncode == 0:
            await asyncio.to_thread(_write_pth, self.checkout, last_line(where.output).strip())

    async def ready(self, plan: InstallPlan, packages: list[str]) -> InstallOutcome | None:
        """The view of the measuring tools made and pytest/coverage importable (None), else the
        failed outcome. Pins of the tools that do not import give way to the tools' copies."""
        what = plan.describe()
        asked = record_project_dists(self.checkout)
        view = await make_view(self.sandbox, self.checkout, asked, timeout_s=min(60, self.left()))
        if view.returncode != 0:
            return InstallOutcome(
                "failed",
                plan,
                f"Dependencies: installed from {what}, but the view of the measuring tools "
                f"could not be made ({last_line(view.output)}); the tests ran without them",
            )
        probe = await self.run([self.python, "-I", "-c", PROBE], 60)
        self.replaced = []
        if probe.returncode != 0 and (replaced := measuring_tools_among(packages)):
            # The project pins its own (often old) pytest or coverage, which does not import
            # here or cannot measure: take them out of its environment, so the tools' copies
            # behind it are used.
            self.replaced = replaced
            names = [package.rsplit("-", 1)[0] for package in replaced]
            pip = ["env", workdir.ALL_TOOLS, self.python, "-I", "-m", "pip"]  # maybe the tools'
            await self.run([*pip, "uninstall", "-y", "--no-input", *names], 120)
            probe = await self.run([self.python, "-I", "-c", PROBE], 60)
        if probe.returncode != 0:
            return InstallOutcome(
                "failed",
                plan,
                f"Dependencies: installed from {what}, but then pytest/coverage did not import "
                f"({last_line(probe.output)}); the tests ran without them",
            )
        return None

    def installed(self, plan: InstallPlan, packages: list[str]) -> InstallOutcome:
        note = f"Dependencies: installed from {plan.describe()} ({len(packages)} package(s))"
        if self.replaced:
            note += (
                f"; its pins of {', '.join(self.replaced)} did not import on this Python or "
                "were too old to measure with, so the sandbox's own are used"
            )
        kept = [p for p in packages if p not in self.replaced]
        return InstallOutcome("installed", plan, note, python=self.python, packages=kept)

    async def run(self, command: list[str], at_most_s: float) -> CommandResult:
        return await self.sandbox.run(
            command, cwd=self.checkout, timeout_s=min(at_most_s, self.left())
        )

    async def broken_pins(self, plan: InstallPlan) -> str | None:
        """Which of the test requirements' pins installed but do not import on this Python
        (one clause, with the first error), None when all do."""
        names = await asyncio.to_thread(pinned_names, plan, CheckoutFiles(self.checkout))
        if not names:
            return None
        found = await self.run([self.python, "-I", "-c", IMPORT_DISTS, *names], 120)
        rows = [line.split("\t") for line in found.output.splitlines() if line.count("\t") == 2]
        broken = [row for row in rows if canonicalize_name(row[0]) in names]
        if not broken:
            return None
        dists = ", ".join(dict.fromkeys(row[0] for row in broken))
        _, module, error = broken[0]
        python = f"{self.version[0]}.{self.version[1]}"
        return f"The pinned {dists} did not import on Python {python} (`{module}`: {error})"

    async def unpin(
        self, plan: InstallPlan, packages: list[str]
    ) -> tuple[InstallPlan, list[str], InstallOutcome | None]:
        """The same names without their pins, over the installed environment, when pins of the
        test requirements do not import here: the plan and packages as they then stand, and
        the failed outcome if the environment is no longer ready."""
        why = await self.broken_pins(plan)
        looser = unpinned(plan, CheckoutFiles(self.checkout), why) if why else None
        if looser is None or why is None:
            return plan, packages, None
        again = await self.pip(looser, "--upgrade")
        if again.returncode != 0 or again.timed_out:
            said = "timed out" if again.timed_out else self.failure(again)
            note = f"{why}; installed without the pins, pip failed ({said})"
            return replace(plan, loosened=(*plan.loosened, note)), packages, None
        now = installed_packages(again.output)  # "name-version": the new versions replace
        names = {canonicalize_name(p.rsplit("-", 1)[0]) for p in now}
        packages = [p for p in packages if canonicalize_name(p.rsplit("-", 1)[0]) not in names]
        packages = [*packages, *now]
        failed = await self.ready(looser, packages)
        still = await self.broken_pins(looser) if failed is None else None
        if still:
            looser = replace(looser, loosened=(*looser.loosened, f"{still}, even so"))
        return looser, packages, failed

    async def more_extras(
        self, plan: InstallPlan, packages: list[str]
    ) -> tuple[InstallPlan, list[str]]:
        """The project's other extras, for the modules its tests import that the install left
        out; kept only when pip installs them (the first install stands either way)."""
        more = await _extras_for_missing_imports(
            self.sandbox, self.checkout, plan, self.python, self.left()
        )
        if more is None:
            return plan, packages
        again, why = await self.once_more(more)
        if why is None:
            packages = list(dict.fromkeys([*packages, *installed_packages(again.output)]))
            return more, packages
        said = more.loosened[-1].replace(" were installed too", " did not install")
        return replace(plan, loosened=(*plan.loosened, f"{said} ({why})")), packages

    async def once_more(self, plan: InstallPlan, *more: str) -> tuple[CommandResult, str | None]:
        """pip on top of an install that stands: where it installs, the tools' view is made
        again for what the project now has; else why not ("timed out", pip's summary)."""
        again = await self.pip(plan, *more)
        if again.returncode == 0 and not again.timed_out:
            asked = record_project_dists(self.checkout)
            await make_view(self.sandbox, self.checkout, asked, timeout_s=min(60, self.left()))
            return again, None
        return again, "timed out" if again.timed_out else summary_line(again.output)


async def _setuptools_for_pkg_resources(run: Install, plan: InstallPlan) -> InstallPlan:
    """setuptools 81 removed ``pkg_resources``, which older projects import at their top level
    (to read their own version): where one does and the install brought a setuptools without
    it (a dependency asking for any setuptools gets the newest), the last one that has it is
    installed, as the project's CI had it then. Kept only when pip installs it."""
    if not await asyncio.to_thread(testimports.own_code_imports, run.checkout, "pkg_resources"):
        return plan
    if not await _missing(run.sandbox, run.checkout, run.python, ["pkg_resources"], run.left()):
        return plan
    _, why = await run.once_more(plan, SETUPTOOLS_WITH_PKG_RESOURCES)
    said = f"`{SETUPTOOLS_WITH_PKG_RESOURCES}` " + (
        "was installed too" if why is None else f"did not install ({why})"
    )
    said += ": the project imports `pkg_resources`, which setuptools 81 removed"
    return replace(plan, loosened=(*plan.loosened, said))


async def install_into(run: Install, plan: InstallPlan) -> InstallOutcome:
    made = await make_environment(run.sandbox, run.checkout, timeout_s=min(120.0, run.left()))
    if made.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: could not create an environment for {plan.describe()}: "
            f"{last_line(made.output)}",
            output=tail(made.output, OUTPUT_TAIL),
        )
    plan, result = await run.resolve(plan)
    output = tail(result.output, OUTPUT_TAIL)
    what = plan.describe()
    if result.timed_out:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installing from {what} timed out after {result.duration_s:.0f} s; "
            "the tests ran without them",
            output=output,
        )
    if result.returncode != 0:
        return InstallOutcome(
            "failed",
            plan,
            f"Dependencies: installing from {what} failed (pip exit {result.returncode}): "
            f"{run.failure(result)}. The tests ran without them",
            output=output,
        )
    packages = installed_packages(result.output)
    failed = await run.ready(plan, packages)
    if failed is None:
        plan, packages, failed = await run.unpin(plan, packages)
    if failed is not None:
        failed.output = output
        return failed
    plan, packages = await run.more_extras(plan, packages)
    plan = await _setuptools_for_pkg_resources(run, plan)
    outcome = run.installed(plan, packages)
    outcome.output = output
    left_out = await left_out_plugins(
        run.sandbox, run.checkout, run.python, timeout_s=min(60.0, run.left())
    )
    if left_out:
        outcome.note = f"{outcome.note}. {left_out}"
    return outcome


async def _extras_for_missing_imports(
    sandbox: Sandbox, checkout: Path, plan: InstallPlan, python: str, timeout_s: float
) -> InstallPlan | None:
    """The plan with all the project's extras when its test files import, unguarded, modules
    its environment cannot find (jobs.dependencies.testimports), else None."""
    names = await asyncio.to_thread(testimports.candidates, checkout)
    if not names:
        return None
    extras = await asyncio.to_thread(declared_extras, CheckoutFiles(checkout))
    if not extras:
        return None
    missing = await _missing(sandbox, checkout, python, names, timeout_s)
    return with_extras(plan, extras, missing) if missing else None


async def _missing(
    sandbox: Sandbox, checkout: Path, python: str, names: list[str], timeout_s: float
) -> list[str]:
    """The top-level modules among `names` the environment's `python` cannot find (none where
    that check itself failed)."""
    found = await sandbox.run(
        [python, "-c", FIND_MISSING, *names], cwd=checkout, timeout_s=min(60.0, timeout_s)
    )
    return [n for n in found.output.split() if n in names] if found.returncode == 0 else []


def _write_pth(checkout: Path, purelib: str) -> None:
    entries = {
        where: sorted(p.name for p in (checkout / where).iterdir())
        for where in ("", "src")
        if (checkout / where).is_dir()
    }
    root = (checkout / import_root(entries)).resolve()
    if Path(purelib).is_dir():
        (Path(purelib) / "tandem-source-tree.pth").write_text(f"{root}\n", encoding="utf-8")
