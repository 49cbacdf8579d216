"""The install plan's data (pure): :class:`Source` (one place the environment comes from),
:class:`InstallPlan` (all of them, as ``pip install`` arguments) and :class:`MemoryFiles` (plain
data for the planner). :mod:`jobs.dependencies.install_plan` makes a plan,
:mod:`jobs.dependencies.fallbacks` the plans to try when one does not install or run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from jobs.dependencies.vcsversion import PretendVersion

NO_INDEX_ARGS = ("--no-index", "--no-build-isolation")


@dataclass(frozen=True)
class MemoryFiles:
    """Plain data for the planner: repository-relative path -> text."""

    files: Mapping[str, str]

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def inside(self, path: str) -> bool:
        return True  # no symlinks in plain data; `..` is caught before this is asked

    def listing(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        names = (p[len(prefix) :] for p in self.files if p.startswith(prefix))
        return sorted(name for name in names if "/" not in name)


@dataclass(frozen=True)
class Source:
    path: str  # "pyproject.toml", "setup.py", "requirements-dev.txt"
    # groups: dependency groups only; tox: tox's base test environment (jobs.dependencies.tox);
    # pytest: what the project's pytest configuration needs (jobs.dependencies.pytestconfig)
    # unpinned: a requirements file's requirements, pins dropped (fallbacks.unpinned)
    # tree: the project's declared dependencies without the project (sourcetree)
    # workflow: what the CI workflow's job that runs the tests installs (workflow_install);
    # it is built like tox's: the project with extras, deps and -r/-c files (:attr:`declared`)
    # nox: what the nox session that runs the tests installs (session.install), the same way
    kind: Literal[
        "project", "groups", "requirements", "tox", "workflow", "nox", "pytest", "unpinned", "tree"
    ]
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    # The groups' requirements, resolved (includes followed), each as packaging writes it
    requirements: tuple[str, ...] = ()
    pretend: PretendVersion | None = None  # a project whose version comes from git
    files: tuple[tuple[str, str], ...] = ()  # tox: ("-r" or "-c", repository path)
    section: str = ""  # tox, workflow, pytest: where in the file, "[testenv]", "job `test`"
    why: tuple[str, ...] = ()  # pytest: what each requirement is for
    editable: bool = True  # tox: the project is installed too (no skip_install)

    @property
    def declared(self) -> bool:
        """Whether this is an environment a tox env, a CI job or a nox session declares."""
        return self.kind in ("tox", "workflow", "nox")

    @property
    def builds_project(self) -> bool:
        """Whether pip installs the project itself (editable) for this source."""
        return self.kind == "project" or (self.declared and self.editable)

    def describe(self) -> str:
        more = []
        if self.extras:
            more.append("extras " + ", ".join(self.extras))
        if self.groups:
            more.append("groups " + ", ".join(self.groups))
        if self.kind == "pytest":
            return f"`{self.path}` {self.section} ({', '.join(self.why)})"
        if self.kind == "unpinned":
            return f"`{self.path}` (unpinned)"
        if self.kind == "tree":
            return f"`{self.path}` (its declared dependencies, the project not built)"
        if self.declared:
            deps = [*(f"`{f}`" for _, f in self.files), *self.requirements]
            shown = ", ".join(deps[:4]) + (f" and {len(deps) - 4} more" if len(deps) > 4 else "")
            more = [f"deps {shown}"] if deps else []
            more += [f"extras {', '.join(self.extras)}"] if self.extras else []
            more += [f"groups {', '.join(self.groups)}"] if self.groups else []
            return f"`{self.path}` {self.section} ({'; '.join(more)})"
        return f"`{self.path}`" + (f" ({'; '.join(more)})" if more else "")

    def pip_args(self) -> list[str]:
        if self.kind == "requirements":
            return ["-r", f"./{self.path}"]
        if self.kind in ("pytest", "unpinned", "tree"):
            return [*(a for option, path in self.files for a in (option, f"./{path}")),
                    *self.requirements]  # fmt: skip
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        args = ["-e", f".{extras}"] if self.builds_project else []
        for option, path in self.files:
            args.extend([option, f"./{path}"])
        return [*args, *self.requirements]


@dataclass(frozen=True)
class InstallPlan:
    sources: tuple[Source, ...] = ()
    refused: tuple[str, ...] = ()  # one line per file left out: which line and why
    index: bool = True  # False: --no-index (no network to reach one)
    loosened: tuple[str, ...] = ()  # what :func:`loosen` changed, a sentence each
    # How the baseline runs the suite, from the project's own test command (owncommand)
    runs: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.sources

    @property
    def installs_anything(self) -> bool:
        """Whether pip has anything to install (it refuses ``pip install`` of nothing)."""
        return any(source.pip_args() for source in self.sources)

    def pip_args(self) -> list[str]:
        """The arguments after ``python -m pip``."""
        args = [
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--progress-bar=off",
            "--no-warn-script-location",
            "--retries=2",
            "--timeout=30",
        ]
        if not self.index:
            args.extend(NO_INDEX_ARGS)
        for source in self.sources:
            args.extend(source.pip_args())
        return args

    def describe(self) -> str:
        names = [s.describe() for s in self.sources]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def known_as(self, versions: Mapping[str, str]) -> InstallPlan:
        """The plan with each git-versioned project built as the version ``versions`` has of
        it (:meth:`.vcsversion.PretendVersion.known_as`)."""
        sources = tuple(
            replace(s, pretend=s.pretend.known_as(versions)) if s.pretend else s
            for s in self.sources
        )
        return replace(self, sources=sources)

    def environment(self) -> dict[str, str]:
        """Variables pip (and so the build backends it runs) gets besides the sandbox's."""
        return {s.pretend.variable: s.pretend.version for s in self.sources if s.pretend}

    def notes(self) -> list[str]:
        """What the install summary says about how the plan builds the project and how the
        baseline will run its suite."""
        pretend = [s.pretend.describe() for s in self.sources if s.pretend]
        return [*pretend, *self.loosened, *self.runs]
