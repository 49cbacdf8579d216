"""Wall time of the refactoring review on a large, real diff.

Copies a big package of the running interpreter's standard library (default: ``email`` and
``asyncio``) into a temporary git repository and commits it as the base. The head then
rewrites a few hundred functions: each gets new branches at its top (complexity grows, so
many cross the threshold), and every tenth also gets a copied block of code (duplication).
The review (diff, radon/AST metrics of base and head, duplication against the whole tree)
runs on that diff as in production, LLM pass off. Prints wall time, time per changed file,
peak memory and the number of findings.

    .venv/bin/python -m bench.review [--packages email asyncio] [--functions 400]
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs.review import Thresholds, review_checkout

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}

COPIED_BLOCK = """\
_rows = [str(item).strip() for item in range(10)]
_header = _rows[0] if _rows else ""
_records = [dict(zip(_header, row)) for row in _rows[1:]]
_records.sort(key=lambda r: len(r))
_active = [r for r in _records if r.get("active") == "yes"]
_total = sum(len(r) for r in _active)
"""


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def rewrite(source: str, budget: int, counter: list[int]) -> str:
    """Add branches at the top of up to ``budget`` functions of ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    inserts: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if len(inserts) >= budget:
            break
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.body:
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            if len(node.body) < 2:
                continue
            first = node.body[1]  # after the docstring
        indent = " " * first.col_offset
        counter[0] += 1
        text = "".join(
            f"{indent}if __debug__ and {counter[0]} == {i}:\n{indent}    pass\n" for i in range(10)
        )
        if counter[0] % 10 == 0:
            text += "".join(f"{indent}{line}\n" for line in COPIED_BLOCK.splitlines())
        inserts.append((first.lineno - 1, text))
    for index, text in sorted(inserts, reverse=True):
        lines.insert(index, text)
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", nargs="+", default=["email", "asyncio"])
    parser.add_argument("--functions", type=int, default=400, help="functions to rewrite")
    args = parser.parse_args(argv)

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        for package in args.packages:
            shutil.copytree(
                stdlib / package, repo / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        (repo / "shared.py").write_text(COPIED_BLOCK)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "base")
        git(repo, "checkout", "-q", "-b", "feature")

        counter = [0]
        files = sorted(p for p in repo.rglob("*.py") if p.name != "shared.py")
        per_file = max(1, args.functions // max(1, len(files)) + 1)
        changed = 0
        for path in files:
            if counter[0] >= args.functions:
                break
            before = path.read_text()
            after = rewrite(before, min(per_file, args.functions - counter[0]), counter)
            if after != before:
                path.write_text(after)
                changed += 1
        git(repo, "commit", "-q", "-am", "head")
        size = sum(p.stat().st_size for p in files)

        tracemalloc.start()
        started = time.perf_counter()
        result = review_checkout(repo, "main", "feature", Thresholds(), duplication_min_lines=6)
        wall = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    kinds: dict[str, int] = {}
    for f in result.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    print(
        f"repository: {', '.join(args.packages)} from {stdlib} "
        f"({len(files)} Python files, {size / 1e6:.1f} MB)"
    )
    print(f"diff: {counter[0]} functions rewritten in {changed} files")
    print(f"wall time: {wall:.2f} s ({wall / max(1, changed) * 1000:.1f} ms per changed file)")
    print(f"peak memory: {peak / 1e6:.1f} MB traced (Python heap), {rss:.0f} MB max RSS")
    print(
        f"findings: {len(result.findings)} "
        f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); "
        f"pre-existing {result.preexisting}; files reviewed {result.files_reviewed}; "
        f"skipped {len(result.skipped)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
