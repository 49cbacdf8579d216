"""What the mutants of the changed lines say, for the check run: the one-line score, the notice
annotations on survivors (the most telling first) and the details ``--json`` shows. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobs.state import Annotation
from jobs.testgen.proof.mutants import KINDS, Mutant

MAX_ANNOTATIONS = 10
STATUSES = ("killed", "survived", "uncovered", "timeout", "error", "cut")


@dataclass(frozen=True)
class Outcome:
    """One mutant's fate: ``status`` one of STATUSES; ``by`` "existing", "kept" or "candidate"
    when a test of that group failed (killed), or hung (timeout); ``killers``: the node ids of
    the candidate tests that failed on it (every one of them, for the kill matrix)."""

    mutant: Mutant
    status: str
    by: str | None = None
    tests: int = 0  # how many tests ran the mutant's lines
    why: str = ""
    killers: tuple[str, ...] = ()


@dataclass
class MutantScore:
    """The mutants of the changed lines and what the tests did to them."""

    outcomes: list[Outcome] = field(default_factory=list)
    equivalent: int = 0  # left out: same bytecode as the original
    tests: int = 0  # tests the session collected
    seconds: float = 0.0  # the whole stage
    first_run_seconds: float = 0.0  # of which the tests' first run, recording lines
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    def count(self, status: str, by: str | None = None) -> int:
        return sum(o.status == status and (by is None or o.by == by) for o in self.outcomes)

    @property
    def killed_existing(self) -> int:
        return self.count("killed", "existing")

    @property
    def killed_with_kept(self) -> int:
        return self.count("killed")

    @property
    def alive(self) -> int:
        """Mutants no test noticed: run and not noticed, or never reached."""
        return self.count("survived") + self.count("uncovered")

    @property
    def judged(self) -> int:
        """Mutants whose tests ran to an answer (killed, survived, uncovered)."""
        return sum(o.status in ("killed", "survived", "uncovered") for o in self.outcomes)

    def line(self, kept: bool) -> str | None:
        if not self.outcomes:
            return None
        total = self.total
        text = (
            f"mutants of the changed lines: existing tests kill {self.killed_existing} of {total}"
        )
        if kept:
            text += f"; with the kept tests {self.killed_with_kept} of {self.total}"
        aside = []
        if timeouts := self.count("timeout"):
            aside.append(f"{timeouts} hung a test (not counted as killed)")
        if errors := self.count("error"):
            aside.append(f"{errors} could not be run")
        if cut := self.count("cut"):
            aside.append(f"{cut} not run: the wall-time budget ran out")
        if self.equivalent:
            aside.append(f"{self.equivalent} equivalent left out")
        return text + (f" ({'; '.join(aside)})" if aside else "")

    def survivors(self) -> list[Outcome]:
        """The mutants no test noticed, the most telling first: a line the tests run before one
        they never reach (run and still unnoticed is the sharper finding), then the grosser
        kind of bug, then file order; one per line."""
        rank = {kind: i for i, kind in enumerate(KINDS)}
        found = [o for o in self.outcomes if o.status in ("survived", "uncovered")]
        found.sort(
            key=lambda o: (
                o.status != "survived",
                rank.get(o.mutant.kind, len(KINDS)),
                o.mutant.path,
                o.mutant.line,
            )
        )
        seen: set[tuple[str, int]] = set()
        shown = []
        for o in found:
            where = (o.mutant.path, o.mutant.line)
            if where not in seen:
                seen.add(where)
                shown.append(o)
        return shown

    def annotations(self) -> list[Annotation]:
        return [
            Annotation(
                path=o.mutant.path,
                start_line=o.mutant.line,
                end_line=o.mutant.line,
                annotation_level="notice",
                title=f"A surviving mutant in {o.mutant.function}"[:255],
                message=(
                    f"No test notices if {o.mutant.description}"
                    + (" (no test runs this line)" if o.status == "uncovered" else "")
                    + "."
                ),
            )
            for o in self.survivors()[:MAX_ANNOTATIONS]
        ]

    def details(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "killed_by_existing": self.killed_existing,
            "killed_with_kept": self.killed_with_kept,
            "equivalent_skipped": self.equivalent,
            **{status: self.count(status) for status in STATUSES if status != "killed"},
            "tests": self.tests,
            "seconds": round(self.seconds, 3),
            "first_run_seconds": round(self.first_run_seconds, 3),
            "notes": self.notes,
            "survivors": [
                {
                    "path": o.mutant.path,
                    "line": o.mutant.line,
                    "function": o.mutant.function,
                    "mutant": o.mutant.description,
                    "status": o.status,
                }
                for o in self.survivors()[:50]
            ],
        }
