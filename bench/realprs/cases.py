"""The benchmark's cases: real commits listed in ``cases.toml`` as data (repository, commit,
tree id, test files), and where their mirrors are (to build the case repositories from)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CASES_FILE = Path(__file__).with_name("cases.toml")
SPLITS = ("dev", "heldout")
OBJECT_ID = re.compile(r"[0-9a-f]{40}")
REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Case:
    """One real commit to replay as a pull request."""

    name: str
    repo: str  # owner/name on GitHub
    commit: str
    tree: str  # the commit's tree id: what the head with the author's tests must be
    split: str  # dev or heldout (SPLITS)
    description: str
    tests: tuple[str, ...]  # the author's test files, as the commit leaves them
    deps: tuple[str, ...] = ()
    pythonpath: tuple[str, ...] = (".",)
    suite: tuple[str, ...] = ()  # pytest arguments for the existing tests; () = project config
    files: dict[str, str] = field(default_factory=dict)
    # A JavaScript/TypeScript case: its package's folder and runner (vitest or jest), and
    # environment variables its CI sets for the tests (luxon's TZ)
    language: str = "python"
    package: str = "."
    runner: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def mirror(self, mirrors: Path) -> Path:
        """Where the upstream repository's mirror is: ``<owner>+<name>/repo``, as the session's
        ``fetch`` tool lays it out (a bare clone or a plain one)."""
        return mirrors / self.repo.replace("/", "+") / "repo"

    def problem(self) -> str | None:
        """What is malformed about the entry, if anything."""
        if not REPO.fullmatch(self.repo):
            return f"repo {self.repo!r} is not owner/name"
        for key, value in (("commit", self.commit), ("tree", self.tree)):
            if not OBJECT_ID.fullmatch(value):
                return f"{key} {value!r} is not a full 40-digit object id"
        if self.split not in SPLITS:
            return f"split {self.split!r} is not one of {', '.join(SPLITS)}"
        if not self.tests:
            return "no test files"
        if self.language not in ("python", "javascript"):
            return f"language {self.language!r} is not python or javascript"
        if self.language == "javascript" and self.runner not in ("vitest", "jest"):
            return f"runner {self.runner!r} is not vitest or jest"
        return None


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    """Read the case list; a malformed entry is an error naming the case."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    cases: list[Case] = []
    for entry in data.get("case", []):
        try:
            cases.append(
                Case(
                    name=str(entry["name"]),
                    repo=str(entry["repo"]),
                    commit=str(entry["commit"]),
                    tree=str(entry["tree"]),
                    split=str(entry["split"]),
                    description=str(entry["description"]),
                    tests=tuple(entry["tests"]),
                    deps=tuple(entry.get("deps", ())),
                    pythonpath=tuple(entry.get("pythonpath", (".",))),
                    suite=tuple(entry.get("suite", ())),
                    files=dict(entry.get("files", {})),
                    language=str(entry.get("language", "python")),
                    package=str(entry.get("package", ".")),
                    runner=str(entry.get("runner", "")),
                    env={str(k): str(v) for k, v in entry.get("env", {}).items()},
                )
            )
        except KeyError as exc:
            raise ValueError(f"{path}: case {entry.get('name', '?')!r} lacks {exc}") from None
        problem = cases[-1].problem()
        if problem:
            raise ValueError(f"{path}: case {cases[-1].name!r}: {problem}")
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate case names")
    return cases
