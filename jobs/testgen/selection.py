"""The coverage filter: which passing test files are kept.

Passing files are taken greedily by the changed lines they add; a file is kept only if it
covers changed lines that neither the baseline nor an already kept file covered
(``keep_rule: total``: if it adds any covered line of non-test code). When files add as many
changed lines, one that fails on the base commit (it pins the change, :mod:`.pin`) goes first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from jobs.languages.suite_run import SuiteRun
from jobs.testgen import line_sets
from jobs.testgen.targets import compress
from jobs.testgen.validation import Validation, Verdict


def select(
    passed: list[Validation],
    baseline: SuiteRun,
    changed_exec: line_sets.Lines,
    rule: str,
    pins: Mapping[str, bool] | None = None,
    already: line_sets.Lines | None = None,
    *,
    is_test: Callable[[str], bool],
) -> tuple[list[Verdict], line_sets.Lines]:
    """The coverage filter. Returns verdicts for the passing files and the changed lines
    covered afterwards. ``pins``: path -> fails on the base commit, the tie-break;
    ``already``: changed lines kept tests cover besides the baseline. ``is_test``: the run's
    language's test-file predicate (``Language.is_test_file``): ``keep_rule: total`` counts the
    lines of every other file."""
    pinning = pins or {}
    covered = line_sets.union(line_sets.restrict(baseline.executed, changed_exec), already or {})
    total = {p: ls for p, ls in baseline.executed.items() if not is_test(p)}

    def gain(v: Validation) -> int:
        return line_sets.count(line_sets.gained(v.executed, covered, among=changed_exec))

    verdicts: list[Verdict] = []
    pinned = False  # a kept file fails on the base commit
    for v in sorted(passed, key=lambda v: (-gain(v), not pinning.get(v.path, False), v.path)):
        if not v.measured:
            verdicts.append(Verdict(v.path, False, f"{v.reason}, but coverage was not measured"))
            continue
        new_changed = line_sets.gained(v.executed, covered, among=changed_exec)
        source_lines = {p: ls for p, ls in v.executed.items() if not is_test(p)}
        new_total = line_sets.gained(source_lines, total)
        keep = bool(new_changed) if rule == "new_changed_lines" else bool(new_total)
        # A file that fails on the base commit where no kept one does pins the change: it is
        # worth keeping though every line it runs ran before (issue 19's third reason).
        pins_first = rule == "new_changed_lines" and pinning.get(v.path, False) and not pinned
        if not keep and pins_first:
            pinned = True
            verdicts.append(
                Verdict(
                    v.path, True, f"{v.reason}; fails on the base commit where no kept test does"
                )
            )
            continue
        pinned = pinned or (keep and pinning.get(v.path, False))
        if keep:
            covered = line_sets.union(covered, line_sets.restrict(v.executed, changed_exec))
            total = line_sets.union(total, source_lines)
            where = "; ".join(f"{p} {compress(sorted(ls))}" for p, ls in new_changed.items())
            reason = (
                f"{v.reason}; covers {line_sets.count(new_changed)} changed line(s) not covered "
            )
            reason += f"before: {where}" if where else "before"
            if rule == "total":
                reason += f"; +{line_sets.count(new_total)} line(s) of total coverage"
            verdicts.append(Verdict(v.path, True, reason, new_changed))
        elif rule == "total":
            verdicts.append(Verdict(v.path, False, f"{v.reason}, but adds no covered line"))
        else:
            verdicts.append(
                Verdict(
                    v.path,
                    False,
                    f"{v.reason}, but covers no changed line that was not covered already",
                )
            )
    return verdicts, covered
