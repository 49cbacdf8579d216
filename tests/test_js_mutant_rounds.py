"""Which existing test files a batched JS mutant runs on, round by round
(:mod:`jobs.languages.javascript.mutant_rounds`), on plain data; the real runs are in
``tests/test_js_mutant_schemata.py``."""

from __future__ import annotations

from jobs.languages.javascript.mutant_rounds import Pending, ordered, ran_groups, start
from jobs.languages.javascript.run_results import Outcome, RunResults
from tests.test_js_mutants import mutant

# test file -> source -> lines its tests ran (the baseline's record)
RAN = {
    "test/a.test.ts": {"src/a.ts": {2}},
    "test/b.test.ts": {"src/a.ts": {2, 3, 4}},
    "test/c.test.ts": {"src/a.ts": {2, 3}, "src/other.ts": {1, 2, 3, 4}},
    "test/d.test.ts": {"src/a.ts": {2}},
}
EXISTING = dict.fromkeys(RAN, "existing")


def test_the_files_that_ran_most_of_the_changed_source_come_first() -> None:
    files = ["test/a.test.ts", "test/c.test.ts", "test/d.test.ts", "test/b.test.ts"]
    assert ordered(files, RAN, mutant()) == [
        "test/b.test.ts",
        "test/c.test.ts",
        "test/a.test.ts",
        "test/d.test.ts",
    ]


def test_each_round_doubles_the_files_and_the_candidates_run_in_the_first() -> None:
    groups = EXISTING | {"test/new.test.ts": "candidate", "test/kept.test.ts": "kept"}
    pending = start(mutant(), groups, RAN)
    assert pending.next_files() == ("test/b.test.ts", "test/kept.test.ts", "test/new.test.ts")
    assert pending.next_files() == ("test/c.test.ts", "test/a.test.ts")
    assert pending.next_files() == ("test/d.test.ts",)
    assert pending.queue == []


def test_a_mutant_is_settled_once_an_existing_test_that_passed_kills_it_or_all_files_ran() -> None:
    passed = frozenset({"test/b.test.ts > parses", "test/c.test.ts > years"})
    pending = start(mutant(), EXISTING, RAN)
    pending.next_files()
    pending.add(RunResults({"test/b.test.ts > parses": Outcome("pass")}), "")
    assert not pending.settled(passed)
    pending.next_files()
    # a test that failed in the baseline too kills nothing: the mutant goes on
    pending.add(RunResults({"test/a.test.ts > broken": Outcome("fail")}), "")
    assert not pending.settled(passed)
    pending.add(RunResults({"test/c.test.ts > years": Outcome("fail", "expected 2")}), "")
    assert pending.settled(passed)
    assert pending.queue == ["test/d.test.ts"]
    # judged on the files that ran, not on the one it never needed
    assert sorted(ran_groups(pending)) == ["test/a.test.ts", "test/b.test.ts", "test/c.test.ts"]


def test_a_survivor_is_settled_only_when_every_file_that_ran_its_line_has_run() -> None:
    pending = Pending(mutant(), EXISTING, ordered(list(RAN), RAN, mutant()))
    while pending.queue:
        assert not pending.settled(frozenset())
        for file in pending.next_files():
            pending.add(RunResults({f"{file} > t": Outcome("pass")}), "")
    assert pending.settled(frozenset())
    assert ran_groups(pending) == EXISTING


def test_a_mutant_whose_first_round_never_ran_is_not_settled() -> None:
    # only candidate files: no existing file waits in its queue, yet nothing ran
    pending = start(mutant(), {"test/new.test.ts": "candidate"}, RAN)
    assert pending.queue == [] and not pending.settled(frozenset())
    assert pending.next_files() == ("test/new.test.ts",)
    assert pending.settled(frozenset())
