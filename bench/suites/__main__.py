"""``python -m bench.suites``: Tandem's baseline against each project's own test run.

    python -m bench.suites [--only NAME]... [--split dev|heldout] [--mirrors DIR]
                           [--cache DIR] [--jobs 1] [--json FILE]

Each project's tree is cloned at bench time from ``<mirrors>/owner+name/repo`` into the cache
(default ``~/.cache/tandem/suites``); nothing of the projects is stored in the repository."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import os

from bench.suites.compare import SPLITS_ORDER, Verdict, success_rate, unmeasured
from bench.suites.recipes import SPLITS, RecipeError, load_recipes
from bench.suites.run import (
    TEST_TIMEOUT_S,
    MissingMirror,
    default_cache,
    note,
    run_recipe,
    write_json,
)


def row(v: Verdict) -> str:
    r, t = v.reference, v.tandem
    mark = "✅" if v.ok else "⚠️"
    ref = f"{r.passed}/{r.failed}" if r.ran else "-"
    tan = f"{t.passed}/{t.failed}" if t.ran else "-"
    line = f" — {v.line}" if v.line else ""
    if r.installed and r.install_note:  # the reference ran another way (its install says)
        line += f" (reference: {r.install_note})"
    if v.first_run:
        line += f" (re-run: the first pair counted {v.first_run})"
    return f"{v.name:18} {v.split:8} {ref:>11} {tan:>11}  {mark} {v.cls}{line}"


def table(verdicts: list[Verdict]) -> str:
    head = f"{'project':18} {'split':8} {'ref p/f':>11} {'tandem p/f':>11}  verdict"
    rates = "  ".join(f"{s}: {success_rate(verdicts, s)}" for s in SPLITS_ORDER)
    apart = [line for s in SPLITS_ORDER if (line := unmeasured(verdicts, s))]
    return "\n".join([head, *map(row, verdicts), "", f"success rate  {rates}", *apart])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suites", description=__doc__)
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--split", choices=SPLITS)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=1, help="only 1: one project at a time")
    parser.add_argument(
        "--timeout", type=float, default=TEST_TIMEOUT_S, help="seconds for each side's tests"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.jobs != 1:
        parser.error("--jobs: only 1 (the runs measure time and share a small machine)")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        recipes = load_recipes()
    except RecipeError as exc:
        parser.error(f"recipes.toml: {exc}")
    names = {r.name for r in recipes}
    unknown = sorted(set(args.only) - names)
    if unknown:
        parser.error(f"--only: no project {unknown}")
    chosen = [
        r
        for r in recipes
        if (not args.only or r.name in args.only) and (not args.split or r.split == args.split)
    ]
    cache = (args.cache or default_cache()).resolve()
    verdicts: list[Verdict] = []
    missing = 0
    for recipe in chosen:
        note(f"{recipe.name}: running")
        try:
            verdict = asyncio.run(run_recipe(recipe, args.mirrors, cache, args.timeout))
        except MissingMirror as exc:
            note(f"{recipe.name}: skipped: {exc}")
            missing += 1
            continue
        verdicts.append(verdict)
        note(row(verdict))
        if args.json:
            write_json(args.json, verdicts)  # after each project, so a cut-off run keeps them
    print(table(verdicts))
    if missing:
        print(f"{missing} project(s) skipped: no mirror")
    return 0 if verdicts and all(v.ok for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
