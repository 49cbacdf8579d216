"""The benchmark's cases: real commits listed in ``cases.toml``, and where their mirrors are
(to build the bundles from)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CASES_FILE = Path(__file__).with_name("cases.toml")


@dataclass(frozen=True)
class Case:
    """One real commit to replay as a pull request."""

    name: str
    repo: str  # owner/name on GitHub
    commit: str
    description: str
    tests: tuple[str, ...]  # the author's test files, as the commit leaves them
    deps: tuple[str, ...] = ()
    pythonpath: tuple[str, ...] = (".",)
    suite: tuple[str, ...] = ()  # pytest arguments for the existing tests; () = project config
    files: dict[str, str] = field(default_factory=dict)

    def mirror(self, mirrors: Path) -> Path:
        """The mirror's git directory, as the ``fetch`` tool lays it out."""
        return mirrors / self.repo.replace("/", "+") / "repo"


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
                    description=str(entry["description"]),
                    tests=tuple(entry["tests"]),
                    deps=tuple(entry.get("deps", ())),
                    pythonpath=tuple(entry.get("pythonpath", (".",))),
                    suite=tuple(entry.get("suite", ())),
                    files=dict(entry.get("files", {})),
                )
            )
        except KeyError as exc:
            raise ValueError(f"{path}: case {entry.get('name', '?')!r} lacks {exc}") from None
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate case names")
    return cases
