"""Mutants per second of a JS/TS case's changed lines, batched through mutant schemata against a
process per mutant, in the same run: ``python -m bench.js_mutant_rate --work DIR [--case NAME]``.

The case (a ``bench/realprs`` JS/TS case, built into the cache from its mirror) is cloned at its
head, installed from its lockfile and its suite run once under coverage (the baseline's record
of which test file ran which line, as a Tandem run makes it); then the mutants of its changed
lines run twice through :func:`jobs.languages.javascript.js_mutants.run_mutants`: one process
each (``batched=False``, the path before schemata) and batched. It prints each path's mutants,
seconds and mutants/s, their ratio, and the mutants whose outcome differs between the two (an
honest batch changes none). Wall times on a shared machine are inflated: the ratio is the
figure.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import json
import shutil
import time

from bench.realprs.build import BASE_BRANCH, FORGE, HEAD_BRANCH, default_cache, prepare
from bench.realprs.cases import load_cases
from bench.realprs.gitrun import git
from bench.realprs.measure_js import changed_lines, install
from jobs.languages.javascript import javascript_runs
from jobs.languages.javascript.js_mutants import run_mutants
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.testgen.proof.measure import Measured, TestFiles


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.js_mutant_rate", description=__doc__)
    parser.add_argument("--case", default="ufo-withbase-prefix", help="a JS/TS case's name")
    parser.add_argument("--work", type=Path, required=True, help="the clone and the JSON")
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--mirrors", type=Path, help="<owner>+<name>/repo mirrors")
    parser.add_argument("--timeout", type=float, default=1800, help="each path's budget, s")
    return parser.parse_args(argv)


def summary(label: str, measured: Measured) -> dict[str, object]:
    score = measured.score
    ran = score.total - score.count("cut")
    rate = ran / score.seconds if score.seconds else 0.0
    print(
        f"{label:9} {ran:3} of {score.total} mutants run in {score.seconds:6.1f} s: "
        f"{rate:.3f} mutants/s; killed {score.count('killed')}, survived "
        f"{score.count('survived')}, error {score.count('error')}, timeout "
        f"{score.count('timeout')}, cut {score.count('cut')}"
    )
    for note in score.notes:
        print(f"          note: {note}")
    return {"ran": ran, "seconds": score.seconds, "rate": rate, "problem": measured.problem}


async def measure(args: argparse.Namespace) -> dict[str, object]:
    (case,) = [c for c in load_cases() if c.name == args.case]
    mirrors = args.mirrors.resolve() if args.mirrors else None
    source = prepare(case, args.cache.resolve(), mirrors, FORGE, False)
    checkout = args.work.resolve() / case.name
    shutil.rmtree(checkout, ignore_errors=True)
    git(args.work, "clone", "-q", str(source), str(checkout))
    git(checkout, "checkout", "-q", HEAD_BRANCH)
    changed = changed_lines(checkout, f"origin/{BASE_BRANCH}", "HEAD", case.package)
    install(checkout, case, timeout=900)
    sandbox = LocalSandbox()
    problem = await javascript_runs.prepare_coverage(sandbox, checkout, sorted(changed))
    if problem:
        raise SystemExit(f"no coverage: {problem}")
    baseline = await javascript_runs.run_suite(sandbox, checkout, changed, timeout_s=900)
    lines = sum(map(len, changed.values()))
    print(
        f"{case.name}: {lines} changed lines; baseline {baseline.status} ({baseline.passed} passed)"
    )
    found: dict[str, Measured] = {}
    figures: dict[str, object] = {"case": case.name}
    for label, batched in (("alone", False), ("batched", True)):
        started = time.monotonic()
        found[label] = await run_mutants(
            sandbox, checkout, changed, TestFiles(), timeout_s=args.timeout, batched=batched
        )
        figures[label] = summary(label, found[label]) | {"wall": time.monotonic() - started}
    alone, batched_rate = (figures[k]["rate"] for k in ("alone", "batched"))  # type: ignore[index]
    ratio = batched_rate / alone if alone else float("inf")
    print(f"batched / alone: {ratio:.2f}x mutants/s")
    statuses = [{o.mutant.id: o.status for o in found[k].score.outcomes} for k in found]
    differ = {m: (statuses[0][m], statuses[1].get(m)) for m in statuses[0]}
    differ = {m: pair for m, pair in differ.items() if "cut" not in pair and pair[0] != pair[1]}
    print(f"outcomes that differ (neither cut): {differ or 'none'}")
    return figures | {"ratio": ratio, "differ": differ}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    figures = asyncio.run(measure(args))
    (args.work / f"{args.case}.rate.json").write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
