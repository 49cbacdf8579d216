"""The baseline's record as the JS mutants read it: which changed lines each existing test file
ran and which tests passed (written by :func:`.javascript_runs.run_suite`), so that a mutant runs
only on the files that ran its lines and only a test that passed without it can kill it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from jobs.testgen.proof.mutants import Mutant


@dataclass(frozen=True)
class Record:
    """The baseline's record: which changed lines each existing test file ran, and which tests
    passed (a test that failed without a mutant kills none)."""

    files: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    passed: frozenset[str] = frozenset()
    covered: dict[str, set[int]] = field(default_factory=dict)  # the whole run's lines
    problems: tuple[str, ...] = ()  # why the recorder left lines out (its library did not load)
    trouble: str = ""  # why the baseline's run is no baseline (it did not run, or timed out)

    def files_running(self, mutant: Mutant) -> list[str]:
        """The existing test files that ran the mutant's lines: those the per-test record
        names; every test file where the whole run ran them but no test's record names the
        source at all (the recorder said nothing of it); none where no test ran them."""
        first, last = mutant.lines
        wanted = set(range(first, last + 1))
        if not self.covered.get(mutant.path, set()) & wanted:
            return []
        named = sorted(f for f, ran in self.files.items() if ran.get(mutant.path, set()) & wanted)
        return named if named or self.attributes(mutant.path) else sorted(self.files)

    def attributes(self, path: str) -> bool:
        """Whether the per-test record names any line of ``path``."""
        return any(ran.get(path) for ran in self.files.values())


def read_record(path: Path) -> Record | str:
    """The baseline's record, or why there is none to read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {
            str(f): {str(p): {int(n) for n in ns} for p, ns in dict(ran).items()}
            for f, ran in dict(data["files"]).items()
        }
        covered = {str(p): {int(n) for n in ns} for p, ns in dict(data["covered"]).items()}
        problems = tuple(str(p) for p in data.get("problems") or [])
        trouble = str(data.get("trouble") or "")
        passed = frozenset(str(t) for t in data["passed"])
        return Record(files, passed, covered, problems, trouble)
    except OSError:
        return "the baseline left no record of what each test file ran"
    except (ValueError, KeyError, TypeError) as exc:
        return f"the baseline's record of what each test file ran is unreadable ({exc!r})"


def unusable(record: Record | str) -> str | None:
    """Why the baseline's record cannot judge mutants, or None (pure). Without a baseline that
    ran, no existing test is known to pass: every mutant would "survive" them, a figure of
    Tandem's trouble, not of the tests."""
    if isinstance(record, str):
        return record
    return record.trouble or None


def record_notes(record: Record, mutants: list[Mutant]) -> list[str]:
    """What the mutants' notes say of the baseline's per-test record (pure): why the recorder
    left lines out, and which sources it names no line of (their mutants run on every file)."""
    notes = [f"the per-test record is incomplete: {why}" for why in record.problems]
    unattributed = sorted({m.path for m in mutants if not record.attributes(m.path)})
    if unattributed and record.files:
        shown = ", ".join(f"`{p}`" for p in unattributed)
        notes.append(
            f"the per-test record names no line of {shown}: each of its mutants ran against "
            "every existing test file of its package"
        )
    return notes
