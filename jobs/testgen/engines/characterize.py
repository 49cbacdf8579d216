"""The third offline engine: characterization tests from the project's own seeds.

:mod:`.seeds` finds calls of the changed callables that the project already holds
(docstring examples, its tests' literal calls, the literals a changed branch compares against).
One probe process (:mod:`.characterize_probe`, copied into ``WORK_DIR``) runs in the sandbox:
it imports each target module and evaluates every seed twice, each under a timer, recording the
head's result: a value whose repr evaluates back to an equal value, else only its type, or the
exception type. The worker only writes the probe and its JSON input and reads the JSON lines
back, treated as hostile (:mod:`.probe_records`). Results that differ between the two runs
(nondeterministic), calls that time out and modules that fail to import are dropped, with a
note (an import failure is also ``crashed``).

One test file per source module, ``test_<module>_characterize_tandem.py``: ``assert call ==
expected`` (``is`` for None and booleans; ``list(call) == [...]`` for an iterator),
``assert type(call).__qualname__ == 'T'``, or ``with pytest.raises(E): call``, named
``test_<callable>_<origin>_<slug>``. Determinism: seeds are sorted, ``PYTHONHASHSEED`` is
fixed, and the tests are sorted and de-duplicated.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jobs.languages.python.tidy import raises_match
from jobs.sandbox import CommandResult, Sandbox, decisive_line
from jobs.sandbox.workdir import WORK_DIR, copy_fresh, write_fresh
from jobs.testgen.engines import input_helpers
from jobs.testgen.engines.engine_protocol import EngineOutcome, Workspace, changed_lines
from jobs.testgen.engines.operator_syntax import operator_syntax
from jobs.testgen.engines.probe_records import _plain as _plain  # differential_search's
from jobs.testgen.engines.probe_records import read_records
from jobs.testgen.engines.python_modules import module_for, test_sources
from jobs.testgen.engines.seeds import Seed, SeedPlan, seeds_for_change
from jobs.testgen.targets import Target

SCRATCH = f"{WORK_DIR}/characterize"
PROBE = Path(__file__).with_name("characterize_probe.py")
CALL_TIMEOUT_S = 2.0  # per evaluation; each seed is evaluated twice
IMPORT_TIMEOUT_S = 10.0
OVERHEAD_S = 10.0  # interpreter start, imports
HASH_SEED = "0"
MAX_SLUG = 32
_DROPPED = {
    "timeout": "timed out after {s:g} s",
    "nondeterministic": "gave different results on two runs",
    "unresolvable": "uses a name the module lacks",
    "unrepresentable": "returned a local class's instance",
}


@dataclass(frozen=True)
class Case:
    stem: str  # test_<callable>_<origin>_<slug>, before de-duplication
    body: str  # source, unindented
    needs: tuple[tuple[str, str], ...]  # (name, "module" | "stdlib") the body uses
    defines: tuple[str, ...] = ()  # sources of the test modules' classes the body uses


def test_name_for(module: str) -> str:
    return f"test_{module.replace('.', '_')}_characterize_tandem.py"


class Characterize:
    """The engine as portfolios run it (:class:`.base.Engine`)."""

    name = "characterize"
    label = "Characterization"
    share = 0.15

    async def generate(self, workspace: Workspace, targets: list[Target]) -> EngineOutcome:
        workspace.step(
            "calling the changed functions on the project's own examples "
            f"({len(workspace.seeds.seeds)})"
        )
        return await generate(
            workspace.sandbox,
            workspace.checkout,
            changed_lines(targets),
            workspace.output_dir,
            deadline=workspace.deadline,
            seeds=workspace.seeds,
        )


async def generate(
    sandbox: Sandbox,
    checkout: Path,
    changed: dict[str, set[int]],
    output_dir: str,
    *,
    deadline: float,
    seeds: SeedPlan | None = None,
) -> EngineOutcome:
    """Characterization tests of every changed callable that has seeds, one file per module in
    `output_dir`. `seeds`: found here from the checkout when not given."""
    started = time.monotonic()
    outcome = EngineOutcome()
    plan = (
        seeds if seeds is not None else seeds_for_change(checkout, changed, test_sources(checkout))
    )
    outcome.notes += plan.notes
    modules: dict[str, tuple[str, str]] = {}
    for seed in plan.seeds:
        if seed.path not in modules and (found := module_for(checkout, seed.path)) is not None:
            modules[seed.path] = found
    ordered = sorted(s for s in plan.seeds if s.path in modules)
    if not ordered:
        outcome.notes.append("no seeds for the changed callables; no characterization tests")
        outcome.duration_s = time.monotonic() - started
        return outcome
    scratch = checkout / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    options = ProbeOptions(budget_s=deadline - time.monotonic())
    records, result = await run_probe(sandbox, checkout, SCRATCH, modules, ordered, options)
    failed_imports = {
        str(r["path"]): str(r["detail"]) for r in records if r["kind"] == "import_error"
    }
    for path, detail in sorted(failed_imports.items()):
        outcome.crashed.append(f"`{path}`: {detail}")
        outcome.notes.append(f"`{path}`: importing `{modules[path][1]}` failed: {detail}")
    by_id = {r["id"]: r for r in records if "id" in r}
    missing = [s for i, s in enumerate(ordered) if i not in by_id and s.path not in failed_imports]
    if missing:
        why = "timed out" if result.timed_out else decisive_line(result.output)
        outcome.notes.append(f"characterization probe stopped before {len(missing)} seeds: {why}")
    cases: dict[str, list[Case]] = {}
    for index, seed in enumerate(ordered):
        record = by_id.get(index)
        if record is None:
            continue
        if record["kind"] in _DROPPED:
            reason = _DROPPED[record["kind"]].format(s=CALL_TIMEOUT_S)
            outcome.notes.append(f"`{seed.path}`: `{seed.call_source[:80]}` {reason}; dropped")
            continue
        case = case_for(seed, record)
        if case is None:
            outcome.notes.append(f"`{seed.path}`: `{seed.call_source[:80]}`: unusable result")
        else:
            cases.setdefault(seed.path, []).append(case)
    for path in sorted(cases):
        module = modules[path][1]
        text, conflicts = render(path, module, cases[path])
        outcome.notes += [f"`{path}`: {c}" for c in conflicts]
        destination = PurePosixPath(output_dir) / test_name_for(module)
        (checkout / destination).parent.mkdir(parents=True, exist_ok=True)
        (checkout / destination).write_text(text, encoding="utf-8")
        outcome.written.append(destination.as_posix())
    outcome.duration_s = time.monotonic() - started
    return outcome


@dataclass(frozen=True)
class ProbeOptions:
    """How one probe run goes: its time, the name of its files, what it records beyond results."""

    budget_s: float
    tag: str = ""  # names this run's input and output
    # The nested-type walk of each result: only the differential engine compares walks, and they
    # take room in the output (:data:`.probe_records.MAX_OUTPUT_BYTES`).
    walk: bool = False
    # The state each call leaves behind (receiver, mutable arguments): differential only.
    state: bool = False


def probe_calls(modules: Mapping[str, tuple[str, str]], seeds: Sequence[Seed]) -> dict[str, object]:
    """The part of a probe's job that says what to call (the differential mutant probe reads
    the same): the input helpers the seeds use, the time limits, and each module's seeds. A
    call written in an entry point's module (``Seed.via``) runs in that module's namespace,
    imported from the same root (the base tree's on the base's side)."""
    return {
        "helpers": {
            name: input_helpers.HELPERS[name]
            for name in input_helpers.helpers_used(n for seed in seeds for n in seed.names)
        },
        "call_timeout_s": CALL_TIMEOUT_S,
        "import_timeout_s": IMPORT_TIMEOUT_S,
        "modules": [
            {
                "path": path,
                "root": root,
                "module": via or module,
                "seeds": [
                    {
                        "id": index,
                        "call": seed.call_source,
                        "names": list(seed.names),
                        "defines": {d.name: d.source for d in seed.defines},
                    }
                    for index, seed in enumerate(seeds)
                    if seed.path == path and seed.via == via
                ],
            }
            for path, (root, module) in sorted(modules.items())
            for via in sorted({s.via for s in seeds if s.path == path} | {""})
        ],
    }


async def run_probe(
    sandbox: Sandbox,
    checkout: Path,
    scratch: str,
    modules: Mapping[str, tuple[str, str]],
    seeds: list[Seed],
    options: ProbeOptions,
) -> tuple[list[dict[str, object]], CommandResult]:
    """Run the probe (copied into ``scratch``, a repo-relative folder) on every seed of
    ``modules`` (path -> (import root, module)), within ``options.budget_s`` or what the seeds
    need: its records, checked (:func:`read_records`), and how the run ended."""
    folder, tag = checkout / scratch, options.tag
    # One copy per tag: the differential engine runs the head's and the base's probe at once,
    # and a copy replaced under a probe that is starting would be read half-written.
    copy_fresh(PROBE, folder / f"probe{tag}.py")
    job = {
        **probe_calls(modules, seeds),
        "walk": options.walk,
        "state": options.state,
    }
    # The project's code has run in the sandbox before (the capture, another side's probe).
    write_fresh(json.dumps(job, sort_keys=True), folder / f"input{tag}.json")
    output = folder / f"output{tag}.jsonl"
    output.unlink(missing_ok=True)
    needed = OVERHEAD_S + IMPORT_TIMEOUT_S * len(modules) + 2 * CALL_TIMEOUT_S * len(seeds)
    result = await sandbox.run(
        [
            "env",
            f"PYTHONHASHSEED={HASH_SEED}",
            sandbox.python,
            f"{scratch}/probe{tag}.py",
            f"{scratch}/input{tag}.json",
            f"{scratch}/output{tag}.jsonl",
        ],
        cwd=checkout,
        timeout_s=max(1.0, min(options.budget_s, needed)),
    )
    return read_records(output, len(seeds), set(modules)), result


def case_for(seed: Seed, record: dict[str, object]) -> Case | None:
    """The test of one seed's validated result."""
    kind = record["kind"]
    helpers = input_helpers.helpers_used(seed.names)
    defined = {d.name for d in seed.defines}
    needs = {
        (name, "helper" if name in helpers else "defined" if name in defined else "module")
        for name in seed.names
    }
    needs |= {need for d in seed.defines for need in d.needs}
    call = seed.call_source
    if record.get("expected") != "NotImplemented":  # that sentinel is only seen on a call
        call = operator_syntax(call)
    if record.get("wrap") == "list":  # an iterator: its items are the result
        call = f"list({call})"
    stem = f"test_{'_'.join(p.strip('_') for p in seed.qualname.split('.'))}_{seed.origin}"
    stem += f"_{_slug(seed.call_source)}"
    if kind == "raises":
        exception = str(record["exception"])
        if record["source"] == "module":
            needs.add((exception, "module"))
        match = raises_match(str(record.get("message", "")))
        body = f"with pytest.raises({exception}{match}):\n    {call}"
        stem += f"_raises_{exception.lower()}"
        needs.add(("pytest", "pytest"))
    elif kind == "type":
        body = f"assert type({call}).__qualname__ == {str(record['expected'])!r}"
    else:
        expected = str(record["expected"])
        imports = record["imports"]
        assert isinstance(imports, list)
        needs |= {(str(name), str(source)) for name, source in imports}
        operator = "is" if expected in ("None", "True", "False", "NotImplemented") else "=="
        body = f"assert {call} {operator} {expected}"
    try:
        ast.parse(body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return Case(stem, body, tuple(sorted(needs)), tuple(d.source for d in seed.defines))


def _slug(call: str) -> str:
    """Words of the call's arguments (or "no_args"), for a readable, deterministic name."""
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "case"
    if isinstance(node, ast.Attribute):
        return "attribute"
    parts = [
        *(ast.unparse(a) for a in getattr(node, "args", [])),
        *(f"{k.arg}_{ast.unparse(k.value)}" for k in getattr(node, "keywords", [])),
    ]
    # a negative number keeps its sign in words: f(-1) and f(1) are different tests
    text = re.sub(r"(?<![a-z0-9)\]])-(?=\d)", " minus ", " ".join(parts).lower())
    words = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    return words[:MAX_SLUG].strip("_") or "no_args"


def render(
    path: str, module: str, cases: list[Case], *, header: str | None = None
) -> tuple[str, list[str]]:
    """One test file (sorted, de-duplicated, unique names), and a note per test left out
    because a name it needs is imported differently by an earlier one. `header`: the comment
    the file starts with (another engine's, e.g. :mod:`.differential`)."""
    unique: dict[str, Case] = {}
    for case in sorted(cases, key=lambda c: (c.stem, c.body)):
        unique.setdefault(case.body, case)
    bound: dict[str, str] = {}
    kept: list[Case] = []
    conflicts: list[str] = []
    for case in unique.values():
        own: dict[str, set[str]] = {}
        for name, source in case.needs:
            own.setdefault(name, set()).add(source)
        clash = [n for n, s in sorted(own.items()) if len(s) > 1 or bound.get(n, *s) not in s]
        if clash:
            conflicts.append(f"`{case.stem}` left out: `{clash[0]}` means two things")
            continue
        bound.update(dict(case.needs))
        kept.append(case)
    stdlib = sorted(f"import {n}" for n, s in bound.items() if s == "stdlib")
    pytest = ["import pytest"] if "pytest" in bound else []
    project = sorted(n for n, s in bound.items() if s == "module")
    # Names of another module of the project (an entry point's, ``"from:pkg._main"``).
    others: dict[str, list[str]] = {}
    for name, source in sorted(bound.items()):
        if source.startswith("from:"):
            others.setdefault(source.removeprefix("from:"), []).append(name)
    imports = [f"from {m} import {', '.join(names)}" for m, names in sorted(others.items())]
    if project:
        imports = sorted([*imports, f"from {module} import {', '.join(project)}"])
    groups = [stdlib, pytest, imports]
    text = header or (
        f"# Characterization tests for {path}: they record the head's behaviour (each call's\n"
        "# result or exception, on inputs the project itself holds), generated by Tandem and\n"
        "# validated before delivery.\n"
    )
    text += "\n\n".join("\n".join(group) for group in groups if group) + "\n"
    # The inputs the project does not hold (:mod:`.input_helpers`), defined where they are used.
    for helper in sorted(n for n, s in bound.items() if s == "helper"):
        text += "\n\n" + input_helpers.HELPERS[helper]
    # The classes of the project's test modules the calls take, as those modules define them.
    for source in dict.fromkeys(source for case in kept for source in case.defines):
        text += "\n\n" + source.rstrip() + "\n"
    used: dict[str, int] = {}
    for case in kept:
        used[case.stem] = used.get(case.stem, 0) + 1
        name = case.stem if used[case.stem] == 1 else f"{case.stem}_{used[case.stem]}"
        text += f"\n\ndef {name}() -> None:\n{_indent(case.body)}\n"
    return text, conflicts


def _indent(body: str) -> str:
    return "\n".join("    " + line for line in body.splitlines())
