"""The differential engine's search: ``crosshair diffbehavior`` of a changed top-level function
against its base version (the base file loaded as a sibling module of the head's, so its
relative imports resolve), and the calls its ``Given:`` lines name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from jobs.sandbox import Sandbox, decisive_line
from jobs.sandbox.workdir import ALL_TOOLS, WORK_DIR, copy_script
from jobs.testgen.base_tree import BaseTree
from jobs.testgen.engines import characterize
from jobs.testgen.engines import crosshair as crosshair_engine
from jobs.testgen.engines.crosshair_report import WRAPPED
from jobs.testgen.engines.differential_targets import DiffTarget
from jobs.testgen.engines.seeds import Seed

SCRATCH = f"{WORK_DIR}/differential"


BASE_SUFFIX = "__tandem_base"


# Seconds of search per function for crosshair diffbehavior; n > 10 vs n >= 10 takes about one.
MAX_SEARCH_S = 15


MIN_SEARCH_S = 3


SEARCH_OVERHEAD_S = 8  # interpreter start, imports, z3


MAX_UNINTERESTING_ITERATIONS = 20


MAX_CALLS_PER_FUNCTION = 5  # calls taken from one diffbehavior report


_GIVEN = re.compile(r"^Given: \((.*)\),\s*$")


# In jobs/sandbox/scripts; copied into the scratch dir as driver.py.
DRIVER = "crosshair_diffbehavior.py"


def searchable(target: DiffTarget) -> bool:
    """diffbehavior compares two functions; a method would need one instance of each class."""
    return target.callable.kind == "function" and "." not in target.callable.qualname


async def search(
    sandbox: Sandbox,
    checkout: Path,
    tree: BaseTree,
    target: DiffTarget,
    index: int,
    seconds: int,
    limit: float,
) -> tuple[str, str | None]:
    """One ``crosshair diffbehavior`` process: its report ('' when it said nothing), and a note
    when it timed out or failed."""
    base_name = f"{target.module}{BASE_SUFFIX}"
    head_target = crosshair_engine.Target(target.path, target.root, target.module, target.callable)
    base_target = crosshair_engine.Target(target.path, target.root, base_name, target.callable)
    head_wrapper, base_wrapper = f"_tandem_diff_head_{index}", f"_tandem_diff_base_{index}"
    scratch = checkout / SCRATCH
    (scratch / f"{head_wrapper}.py").write_text(
        crosshair_engine.wrapper_source(head_target), encoding="utf-8"
    )
    (scratch / f"{base_wrapper}.py").write_text(
        crosshair_engine.wrapper_source(base_target), encoding="utf-8"
    )
    copy_script(DRIVER, scratch / "driver.py")
    report_path = f"{SCRATCH}/{head_wrapper}.report"
    base_file = f"{WORK_DIR}/{tree.root.name}/{target.path}"
    result = await sandbox.run(
        [
            "env",
            f"PYTHONHASHSEED={characterize.HASH_SEED}",
            ALL_TOOLS,
            sandbox.python,
            f"{SCRATCH}/driver.py",
            report_path,
            target.root,
            SCRATCH,
            target.module,
            base_name,
            base_file,
            f"{head_wrapper}.{WRAPPED}",
            f"{base_wrapper}.{WRAPPED}",
            f"--max_uninteresting_iterations={MAX_UNINTERESTING_ITERATIONS}",
            f"--per_condition_timeout={seconds}",
            f"--per_path_timeout={max(1, seconds // 3)}",
        ],
        cwd=checkout,
        timeout_s=max(1.0, min(2 * seconds + SEARCH_OVERHEAD_S, limit)),
    )
    report_file = checkout / report_path
    report = (
        report_file.read_text(encoding="utf-8", errors="replace")[:200_000]
        if report_file.exists()
        else ""
    )
    where = f"`{target.path}`: differential search on `{target.callable.qualname}`"
    if result.timed_out:
        return report, f"{where} timed out after {result.duration_s:.0f} s"
    if result.returncode != 0 and "Given:" not in report:
        line = decisive_line(result.output)
        if crosshair_engine.own_limit(result.output):
            return report, crosshair_engine.limit_note(target.path, target.callable.qualname, line)
        return report, f"{where} failed: {line}"
    return report, None


def calls_from_report(report: str, target: DiffTarget) -> list[Seed]:
    """The calls of the real callable that a diffbehavior report's ``Given:`` lines name, where
    every argument is a plain expression (a literal, a container, a constructor call)."""
    calls: list[Seed] = []
    for line in report.splitlines():
        match = _GIVEN.match(line.strip())
        if match is None:
            continue
        call = f"{target.callable.qualname}({match.group(1)})"
        try:
            node = ast.parse(call, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if not isinstance(node, ast.Call):
            continue
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if not all(characterize._plain(a) and _literal_only(a) for a in arguments):
            continue
        calls.append(Seed(target.path, target.callable.qualname, ast.unparse(node), "literal"))
        if len(calls) >= MAX_CALLS_PER_FUNCTION:
            break
    return calls


def _literal_only(node: ast.expr) -> bool:
    """No names: a call's namespace holds only the module's top-level names, and CrossHair's
    reprs of symbolic objects are not something a test can rebuild."""
    return not any(isinstance(n, ast.Name | ast.Call) for n in ast.walk(node))
