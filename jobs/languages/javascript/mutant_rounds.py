"""Which existing test files a batched mutant runs on, round by round (pure).

A mutant of a line that most of a large suite runs (chrono: a time parser that 98 ts-jest files
share) cannot run on every one of those files in its batch: ten mutants made hundreds of copies,
the batch ran past its time, and none of the ten came to an answer. Most mutants die on the
first file that checks the line, so a batch first gives each mutant one existing file, the one
that ran most of the changed lines; a mutant no existing test killed yet gets twice as many of
the rest in the next round, until it is killed or every file that ran its lines has run (it
survived) or the time is up (it is cut). The kept and candidate files run in its first round:
the kill matrix needs every candidate's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.languages.javascript.run_results import RunResults
from jobs.testgen.proof.mutants import Mutant

FIRST = 1  # existing files a mutant runs on in its first round; each round doubles it


def ordered(files: list[str], ran: dict[str, dict[str, set[int]]], mutant: Mutant) -> list[str]:
    """The existing ``files`` that ran the mutant's lines, the likeliest to notice it first:
    those that ran the most changed lines of its source (they exercise most of the change),
    then by name. ``ran``: the baseline's record, test file -> source -> lines."""
    return sorted(files, key=lambda f: (-len(ran.get(f, {}).get(mutant.path, set())), f))


@dataclass
class Pending:
    """A batched mutant's rounds so far: the files still to run and what its runs found."""

    mutant: Mutant
    groups: dict[str, str]  # test file -> "existing", "kept" or "candidate": all it may run
    queue: list[str]  # existing files not run yet, in order
    rounds: int = 0
    results: RunResults = field(default_factory=RunResults)
    output: str = ""  # its last batch's runner output: the reason when no test ran

    def next_files(self) -> tuple[str, ...]:
        """The files of its next round (and takes them off the queue)."""
        size = FIRST * 2**self.rounds
        taken, self.queue = self.queue[:size], self.queue[size:]
        if self.rounds == 0:
            taken += sorted(f for f, g in self.groups.items() if g != "existing")
        self.rounds += 1
        return tuple(taken)

    def add(self, found: RunResults, output: str) -> None:
        self.output = output
        self.results.tests.update(found.tests)
        self.results.unloaded.update(found.unloaded)

    def settled(self, passed: frozenset[str]) -> bool:
        """Whether no later round can change its outcome: an existing test that passed in the
        baseline failed (killed), or every file ran. One whose first round never ran (the time
        ran out before its batch) is not: it is cut, not judged on no run."""
        if self.rounds == 0:
            return False
        return not self.queue or any(
            o.status == "fail" and test in passed and self.groups.get(_file(test)) == "existing"
            for test, o in self.results.tests.items()
        )


def start(mutant: Mutant, groups: dict[str, str], ran: dict[str, dict[str, set[int]]]) -> Pending:
    existing = [f for f, g in groups.items() if g == "existing"]
    return Pending(mutant, groups, ordered(existing, ran, mutant))


def ran_groups(pending: Pending) -> dict[str, str]:
    """The groups of the files that ran so far: what the mutant's outcome is judged on."""
    ran = {_file(t) for t in pending.results.tests} | set(pending.results.unloaded)
    not_run = set(pending.queue)
    return {f: g for f, g in pending.groups.items() if f in ran or f not in not_run}


def _file(test: str) -> str:
    return test.partition(" > ")[0]
