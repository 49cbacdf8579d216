"""Seed-finding benchmark: what a hostile docstring costs ``find_seeds`` against a plain one.

A source whose docstring carries one 2 MB doctest line and 100,000 prose lines (what a PR's own
code may hold) is read next to a plain source with the same seed; both are timed in the same
run, and the ratio says how much the hostile input costs. The unit test
(``tests/test_seeds.py::test_hostile_sources``) checks only what is found there, never a time.

    python -m bench.seeds            # 5 repetitions of each
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs.testgen.engines.seeds import find_seeds


def source_with(doc: str) -> str:
    return f'def f(x):\n    """Doc.\n\n{doc}    """\n    return x\n'


PLAIN = source_with("    >>> f(1)\n    text\n")
HOSTILE = source_with(
    "    >>> f(1)\n" + "    >>> f('" + "a" * 2_000_000 + "')\n" + "    text\n" * 100_000
)


def seconds(source: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        found = find_seeds("m.py", source, {source.count("\n")}, "m").seeds
        times.append(time.perf_counter() - started)
        assert [s.call_source for s in found] == ["f(1)"], found  # the same seed on both
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    plain = statistics.median(seconds(PLAIN, args.repeat))
    hostile = statistics.median(seconds(HOSTILE, args.repeat))
    print(f"plain source:   {plain * 1000:9.2f} ms (median of {args.repeat})")
    print(f"hostile source: {hostile * 1000:9.2f} ms ({len(HOSTILE) / 1e6:.1f} MB)")
    print(f"ratio hostile / plain: {hostile / plain:.0f}x")


if __name__ == "__main__":
    main()
