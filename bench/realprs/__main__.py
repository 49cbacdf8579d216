"""Command line of the real-commit benchmark: ``python -m bench.realprs --work DIR``.

Replays each case from its repository in the cache (``--cache``, default
``~/.cache/tandem/realprs``), built there from a mirror of its upstream repository (``--mirrors
DIR``) or from a clone the bench makes, when it is missing or does not fit ``cases.toml``.
Runs every case (or those of ``--split``, or ``--case NAME``) one after another, prints the
table and totals, and
writes the JSON (``--json``, and always ``<work>/results.json``, updated after each case so a
long run leaves its figures behind)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import json
import signal

from rich.console import Console

from bench.realprs.build import FORGE, MissingMirror, default_cache, prepare
from bench.realprs.cases import SPLITS, Case, load_cases
from bench.realprs.gitrun import ReplayError
from bench.realprs.replay import engine_failure, generate_part
from bench.realprs.report import print_report, report_json
from bench.realprs.run import CaseResult, read_stages, run_case

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.realprs", description=__doc__)
    parser.add_argument(
        "--mirrors",
        type=Path,
        help="the upstream repositories' mirrors, as <owner>+<name>/repo (then the network is "
        "not used); without it, the bench clones them into the cache",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=default_cache(),
        help="the cases' repositories and the bench's own clones (default: %(default)s)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="build every case's repository again"
    )
    parser.add_argument("--forge", default=FORGE, help="where to clone from without --mirrors")
    parser.add_argument("--work", type=Path, required=True, help="clones, venvs and results")
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--split", choices=SPLITS, help="run only the cases of this split")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--timeout", type=float, default=600, help="per tandem run, seconds")
    parser.add_argument("--test-timeout", type=float, default=600, help="per pytest run")
    parser.add_argument("--tandem", type=Path, default=ROOT / ".venv" / "bin" / "tandem")
    parser.add_argument(
        "--sandbox",
        choices=["local", "docker"],
        default="local",
        help="where Tandem runs the tests (docker: the image TANDEM_SANDBOX_IMAGE names, "
        "default tandem-sandbox:latest)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: print <work>/results.json again (engine failures re-read from the "
        "runs' tandem.json)",
    )
    return parser.parse_args(argv)


def load_results(work: Path) -> list[CaseResult]:
    """The results of an earlier run, with the engine-failure verdict taken afresh (and the
    stages' seconds, for results written before the bench kept them)."""
    data = json.loads((work / "results.json").read_text(encoding="utf-8"))
    results = [CaseResult(**case) for case in data["cases"]]
    for result in results:
        report_file = work / "runs" / result.name / "tandem.json"
        if result.status == "done" and report_file.exists():
            part = generate_part(json.loads(report_file.read_text(encoding="utf-8")))
            result.engine_failed = part is None or engine_failure(part) is not None
            if part is not None and not result.stage_seconds:
                result.stage_seconds = read_stages(part.get("details", {}).get("timings"))
    return results


def one_case(case: Case, args: argparse.Namespace, work: Path) -> CaseResult:
    """The case from its repository in the cache, built first if need be (a missing mirror
    skips the case)."""
    mirrors = args.mirrors.resolve() if args.mirrors else None
    try:
        source = prepare(case, args.cache.resolve(), mirrors, args.forge, args.rebuild)
    except ReplayError as exc:
        result = CaseResult(case.name, case.repo, case.commit, case.description, case.split)
        result.status = "skipped" if isinstance(exc, MissingMirror) else "error"
        result.reason = str(exc)
        return result
    return run_case(case, source, work, args.tandem, args.timeout, args.test_timeout, args.sandbox)


def stop(signum: int, _frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C, so a running ``tandem run`` is killed too."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, stop)
    # A log file gets the full table; a terminal keeps its own width.
    console = Console() if sys.stdout.isatty() else Console(width=180)
    cases = load_cases()
    if args.case:
        unknown = set(args.case) - {c.name for c in cases}
        if unknown:
            console.print(f"unknown case(s): {', '.join(sorted(unknown))}")
            return 2
        cases = [c for c in cases if c.name in args.case]
    if args.split:
        cases = [c for c in cases if c.split == args.split]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        print_report(load_results(work), console)
        return 0
    results: list[CaseResult] = []
    for case in cases:
        console.print(f"[bold]{case.name}[/bold] {case.repo}@{case.commit[:10]} …", highlight=False)
        result = one_case(case, args, work)
        results.append(result)
        # One line each, however long: the reason names a path and the command that helps.
        if result.status == "skipped":
            console.print(
                f"  skipped: {result.reason}", highlight=False, markup=False, soft_wrap=True
            )
        elif result.status == "error":
            console.print(
                f"  error: {result.reason}", highlight=False, markup=False, soft_wrap=True
            )
        else:
            console.print(
                f"  {result.changed} changed lines, existing {result.covered_existing}, "
                f"+authors {result.covered_authors}, +Tandem {result.covered_tandem}; "
                f"{result.kept_tests} kept ({result.kept_failing_on_base} fail on base) "
                f"in {result.case_seconds:.0f} s",
                highlight=False,
            )
        data = json.dumps(report_json(results), indent=2)
        (work / "results.json").write_text(data, encoding="utf-8")
        if args.json:
            args.json.write_text(data, encoding="utf-8")
    print_report(results, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
