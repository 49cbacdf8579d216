"""The measuring runs of per-test selection (:mod:`.per_test`), in the sandbox: one pytest run
of the candidates under coverage with per-test contexts (what each test runs, and which
passed), and the validation runs of the kept tests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from jobs.languages.python import pytest_runner
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import Sandbox, workdir
from jobs.testgen import line_sets

CONTEXT_RC = f"{workdir.WORK_DIR}/coveragerc-contexts"
MEASURE_OPTIONS = ["--runxfail", "--continue-on-collection-errors"]


def read_contexts(report: Path) -> tuple[dict[str, line_sets.Lines], line_sets.Lines]:
    """Executed lines per coverage context, and the lines run outside any test (context "")."""
    try:
        files = json.loads(report.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}, {}
    by_context: dict[str, line_sets.Lines] = {}
    outside: line_sets.Lines = {}
    for name, info in files.items():
        rel = PurePosixPath(str(name).replace("\\", "/")).as_posix().removeprefix("./")
        for line, contexts in (info.get("contexts") or {}).items():
            for context in contexts:
                target = by_context.setdefault(context, {}) if context else outside
                target.setdefault(rel, set()).add(int(line))
    return by_context, outside


def context_owner(context: str, modules: dict[str, str]) -> tuple[str, str] | None:
    """(path, top-level name) of ``tests.test_x.test_y`` or ``test_x.TestC.test_m``."""
    parts = context.split(".")
    for i in range(len(parts) - 1):
        prefix = ".".join(parts[: i + 1])
        for module, path in modules.items():
            if module == prefix or module.endswith("." + prefix):
                return path, parts[i + 1]
    return None


def junit_outcomes(xml: Path, modules: dict[str, str]) -> dict[tuple[str, str], str]:
    """ "" (passed) or why not, per (path, top-level test name); a class fails with any method."""
    try:
        root = ET.parse(xml).getroot()  # written by pytest; no DTDs or entities
    except (OSError, ET.ParseError):
        return {}
    outcomes: dict[tuple[str, str], str] = {}
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "").split("[")[0]
        if classname in modules:
            key = (modules[classname], name)
        else:
            module, _, cls = classname.rpartition(".")
            if module not in modules:
                continue
            key = (modules[module], cls)
        bad = next(
            (case.find(t) for t in ("failure", "error", "skipped") if case.find(t) is not None),
            None,
        )
        why = ""
        if bad is not None:
            kind = "skipped" if bad.tag == "skipped" else "failed"
            why = f"{kind}: " + " ".join((bad.get("message") or bad.tag).split())[:200]
        if not outcomes.get(key):
            outcomes[key] = why
    return outcomes


async def measure(
    sandbox: Sandbox, checkout: Path, paths: list[str], *, tag: str, timeout_s: float
) -> tuple[SuiteRun, dict[str, line_sets.Lines], line_sets.Lines, Path]:
    """One pytest run of ``paths`` under coverage with per-test contexts and --runxfail."""
    workdir.prepare(checkout)
    (checkout / CONTEXT_RC).write_text(
        workdir.COVERAGE_RC.replace("[run]\n", "[run]\ndynamic_context = test_function\n", 1)
    )
    junit, data, report = (f"{workdir.WORK_DIR}/{tag}.{ext}" for ext in ("xml", "coverage", "json"))
    for stale in (junit, data, report):
        (checkout / stale).unlink(missing_ok=True)
    python = sandbox.python
    coverage = [python, workdir.LAUNCHER, "--coverage", "run", f"--rcfile={CONTEXT_RC}"]
    command = [*coverage, f"--data-file={data}", "-m", "pytest", *pytest_runner.pytest_args(junit)]
    result = await sandbox.run(
        [*command, *MEASURE_OPTIONS, *paths], cwd=checkout, timeout_s=timeout_s
    )
    run = pytest_runner.suite_run(
        result.returncode, result.timed_out, result.duration_s, result.output
    )
    contexts: dict[str, line_sets.Lines] = {}
    outside: line_sets.Lines = {}
    if (checkout / data).exists():
        report_cmd = [python, "-m", "coverage", "json", f"--rcfile={CONTEXT_RC}"]
        report_cmd += [f"--data-file={data}", "--show-contexts", "-o", report, "-q"]
        done = await sandbox.run(report_cmd, cwd=checkout, timeout_s=max(30.0, timeout_s / 4))
        if done.returncode == 0:
            contexts, outside = read_contexts(checkout / report)
            run.measured = True
    return run, contexts, outside, checkout / junit


async def flaky_runs(
    sandbox: Sandbox,
    checkout: Path,
    texts: dict[str, str],
    names: dict[str, dict[str, str]],
    modules: dict[str, str],
    runs: int,
    left: Callable[[], float],
) -> tuple[dict[str, str], int]:
    """Runs 2…``runs`` of the kept files together: label -> why, for each test that failed,
    and how many pytest runs that took."""
    paths = sorted(texts)
    everyone = {label: path for path in paths for label in names[path].values()}
    for number in range(2, runs + 1):
        if not paths:
            return {}, number - 2
        if left() <= 1:
            why = f"not validated: wall-time budget reached after {number - 1} of {runs} runs"
            return dict.fromkeys(everyone, why), number - 2
        run = await pytest_runner.run_pytest(
            sandbox, checkout, paths, tag=f"per-test-run-{number}", timeout_s=left(), measure=False
        )
        if run.ok:
            continue
        prefix = f"flaky: passed {number - 1} run(s), then run {number} of {runs}"
        failing: dict[str, str] = {}
        for failure in run.failures:
            module, _, cls = failure.classname.rpartition(".")
            path = modules.get(failure.classname) or modules.get(module)
            top = failure.name.split("[")[0] if failure.classname in modules else cls
            label = names.get(path or "", {}).get(top)
            if label is not None:
                failing[label] = f"{prefix} failed: {failure.message}"
        if run.status != "failed" or not failing:
            return dict.fromkeys(everyone, f"{prefix} {run.describe()}"), number - 1
        return failing, number - 1
    return {}, max(0, runs - 1)
