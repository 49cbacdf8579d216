"""The second offline engine: CrossHair (``crosshair cover``) explores each changed function
symbolically, in the sandbox, and reports concrete calls with their results or exceptions.

Targets are exactly the changed callables (:mod:`.callables`): functions, methods
(``Class.method``, properties, class and static methods); a nested function is reached through
the callable that encloses it. Each target runs in its own ``crosshair cover`` process with its
own share of the deadline, through a generated *wrapper* module in ``WORK_DIR``: a function
whose signature carries the real annotations plus the inferred ones (unannotated parameters
with a default and no inferred type are left out, so the default is used) and whose
``__wrapped__`` is the real callable, so CrossHair runs and measures the real code under the
wrapper's types. A small driver makes CrossHair's report go to a file (the sandbox merges
stdout and stderr).

The report's tests are rebuilt (:mod:`.crosshair_report`) into one file per source module:
calls of the real callable, ``test_<callable>_<case>`` names, ``pytest.raises`` for
exceptions, and without the tests that pass or compare against functions, classes, lambdas or
reprs with an address.
Determinism: one process per target, in sorted order, with ``PYTHONHASHSEED`` fixed and the
search bounded by iterations (CrossHair seeds its own random generator); the CPU-time caps only
bite on slow targets, and the rebuilt tests are sorted and de-duplicated.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jobs.languages.python.testfiles import is_test_file
from jobs.sandbox import Sandbox
from jobs.sandbox.workdir import ALL_TOOLS, WORK_DIR, copy_script
from jobs.testgen.engines.callables import ChangedCallable, describe_callables
from jobs.testgen.engines.crosshair_report import WRAPPED, WRAPPER_PREFIX, Case, rebuild, render
from jobs.testgen.engines.engine_protocol import EngineOutcome, Workspace, changed_lines
from jobs.testgen.engines.python_modules import module_for, test_sources
from jobs.testgen.engines.seeds import SeedPlan
from jobs.testgen.targets import Target as ChangedFile

# Seconds of CPU per target, and what a crosshair process needs besides (start, import, z3).
MAX_TARGET_S = 30
MIN_TARGET_S = 3
OVERHEAD_S = 10
MAX_UNINTERESTING_ITERATIONS = 20
HASH_SEED = "0"
SCRATCH = f"{WORK_DIR}/crosshair"

# In jobs/sandbox/scripts; copied into the scratch dir as driver.py.
DRIVER = "crosshair_cover.py"

# How a wrapper imports the module it reads. Where importing that module first enters the
# project's own import cycle at a point its entry points never do (pyupgrade's plugin modules:
# ``cannot import name 'REPLACE_EXACT' from partially initialized module``), the modules it imports
# from its own package are imported first, the way the project reaches it, and then it.
LOAD_MODULE = """
def _load(name):
    import ast, importlib, importlib.util
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if "partially initialized module" not in str(exc):
            raise
    spec = importlib.util.find_spec(name)
    with open(spec.origin, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    package = name if spec.submodule_search_locations else name.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for other in names:
            other = importlib.util.resolve_name(other, package) if other[:1] == "." else other
            if other.split(".")[0] == name.split(".")[0] and other != name:
                try:
                    importlib.import_module(other)
                except Exception:
                    pass
    return importlib.import_module(name)
"""

WRAPPER = '''"""Tandem: {qualname} of {module} under inferred types, for CrossHair."""
import inspect, typing
{load}
_module = _load({module!r})
_owner = {owner}
_real = {real}
_inferred = {{{inferred}}}
_left_out = {left_out!r}
try:
    _hints = typing.get_type_hints(_real)
except Exception:
    _hints = {{}}
_signature = inspect.signature(_real)
_params = [
    p.replace(annotation=_inferred.get(p.name, _hints.get(p.name, p.annotation)))
    for p in _signature.parameters.values() if p.name not in _left_out
]
if {bind_self} and _params and _params[0].annotation is inspect.Parameter.empty:
    _params[0] = _params[0].replace(annotation=_owner)


def {wrapped}(*args, **kwargs):
    return _real(*args, **kwargs)


{wrapped}.__wrapped__ = _real
{wrapped}.__signature__ = inspect.Signature(_params)
{wrapped}.__annotations__ = {{p.name: p.annotation for p in _params if p.annotation is not p.empty}}
'''


@dataclass(frozen=True)
class Target:
    path: str
    root: str  # import root, relative to the checkout
    module: str
    callable: ChangedCallable


def test_name_for(module: str) -> str:
    return f"test_{module.replace('.', '_')}_crosshair_tandem.py"


def target_seconds(remaining_s: float, targets: int) -> int:
    per = (remaining_s - OVERHEAD_S * targets) / max(1, targets)
    return int(max(MIN_TARGET_S, min(MAX_TARGET_S, per)))


def plan(
    checkout: Path,
    changed: dict[str, set[int]],
    seeds: Mapping[str, Sequence[str]] | None = None,
    tests: Mapping[str, str] | None = None,
) -> tuple[list[Target], list[str]]:
    """The sorted crosshair targets of a change, and a note per callable that is reached
    another way or not at all. `seeds`: ``"path::qualname"`` -> call expressions; `tests`:
    the repository's test files, read here when not given (:func:`test_sources`)."""
    targets: dict[tuple[str, str], Target] = {}
    notes: list[str] = []
    tests = test_sources(checkout) if tests is None else tests
    for path in sorted(changed):
        if not path.endswith(".py") or is_test_file(path) or not changed[path]:
            continue
        found = module_for(checkout, path)
        if found is None:
            notes.append(f"`{path}`: not an importable module; skipped")
            continue
        root, module = found
        source = (checkout / path).read_text(encoding="utf-8", errors="replace")
        calls = {
            q.split("::", 1)[1]: c for q, c in (seeds or {}).items() if q.startswith(path + "::")
        }
        every = {
            c.qualname: c for c in describe_callables(source, test_sources=tests, seed_calls=calls)
        }
        touched = describe_callables(
            source, test_sources=tests, seed_calls=calls, lines=changed[path]
        )
        for item in touched:
            chosen: ChangedCallable | None = item
            if item.kind == "nested":
                chosen = every.get(item.enclosing or "")
                notes.append(
                    f"`{path}`: nested function `{item.qualname}` is covered through "
                    f"`{item.enclosing}` (CrossHair cannot call it directly)"
                )
            elif item.kind == "accessor":
                notes.append(f"`{path}`: `{item.qualname}` (a property setter/deleter) skipped")
                chosen = None
            if chosen is not None and chosen.is_async:
                notes.append(f"`{path}`: `{chosen.qualname}` is async; CrossHair skips coroutines")
                chosen = None
            if chosen is not None:
                targets.setdefault((path, chosen.qualname), Target(path, root, module, chosen))
    return [targets[key] for key in sorted(targets)], notes


def wrapper_source(target: Target) -> str:
    """The wrapper module CrossHair analyses for `target` (see the module docstring)."""
    item = target.callable
    owner = f"_module.{item.owner}" if item.owner else "None"
    if item.kind == "property":
        accessor = f"inspect.getattr_static({owner}, {item.name!r})"
        real = f"getattr({accessor}, 'fget', None) or {accessor}.func"
    else:
        real = f"inspect.getattr_static(_module, {item.qualname.split('.')[0]!r})"
        for part in item.qualname.split(".")[1:]:
            real = f"inspect.getattr_static({real}, {part!r})"
        if item.kind in ("classmethod", "staticmethod"):
            real = f"getattr({owner}, {item.name!r})"
    return WRAPPER.format(
        qualname=item.qualname,
        module=target.module,
        load=LOAD_MODULE,
        owner=owner,
        real=real,
        inferred=inferred_annotations(item),
        left_out=sorted(left_out(item)),
        bind_self=item.kind in ("method", "property"),
        wrapped=WRAPPED,
    )


def inferred_annotations(item: ChangedCallable) -> str:
    """The body of a wrapper's ``_inferred`` dict: each parameter whose type was inferred, by
    name (``'n': int``)."""
    return ", ".join(f"{p.name!r}: {p.inferred}" for p in item.params if p.inferred)


def left_out(item: ChangedCallable) -> set[str]:
    """Unannotated, uninferred parameters with a default, where leaving them out cannot shift
    a later argument: keyword-only ones, and trailing positional ones (without ``*args``)."""
    unknown = {p.name for p in item.params if p.has_default and not (p.annotation or p.inferred)}
    left = {p.name for p in item.params if p.kind == "keyword_only" and p.name in unknown}
    if any(p.kind == "var_positional" for p in item.params):
        return left
    for param in reversed([p for p in item.params if p.kind in ("positional", "positional_only")]):
        if param.name not in unknown:
            break
        left.add(param.name)
    return left


def seed_calls(plan: SeedPlan) -> dict[str, list[str]]:
    """CrossHair's form of the seeds: "path::qualname" -> call expressions."""
    calls: dict[str, list[str]] = {}
    for seed in plan.seeds:
        calls.setdefault(f"{seed.path}::{seed.qualname}", []).append(seed.call_source)
    return calls


class Crosshair:
    """The engine as portfolios run it (:class:`.base.Engine`)."""

    name = "crosshair"
    label = "CrossHair"
    share = 0.45
    # A search in its own process bounded by its iterations: it may run alongside the other
    # such engine of a portfolio (see .offline).
    alongside = True

    async def generate(self, workspace: Workspace, targets: list[ChangedFile]) -> EngineOutcome:
        workspace.step(f"CrossHair exploring the changed functions of {len(targets)} file(s)")
        return await generate(
            workspace.sandbox,
            workspace.checkout,
            changed_lines(targets),
            workspace.output_dir,
            deadline=workspace.deadline,
            seeds=seed_calls(workspace.seeds),
            tests=workspace.tests,
        )


async def generate(
    sandbox: Sandbox,
    checkout: Path,
    changed: dict[str, set[int]],
    output_dir: str,
    *,
    deadline: float,
    seeds: Mapping[str, Sequence[str]] | None = None,
    tests: Mapping[str, str] | None = None,
) -> EngineOutcome:
    """CrossHair on every changed callable, one test file per source module in `output_dir`.
    `seeds`: ``"path::qualname"`` -> call expressions, extra evidence for parameter types."""
    outcome = EngineOutcome()
    started = time.monotonic()
    targets, outcome.notes = plan(checkout, changed, seeds, tests)
    scratch = checkout / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    copy_script(DRIVER, scratch / "driver.py")
    cases: dict[str, list[Case]] = {}
    for index, target in enumerate(targets):
        remaining = deadline - time.monotonic()
        if remaining < MIN_TARGET_S + OVERHEAD_S:
            left = ", ".join(f"`{t.callable.qualname}`" for t in targets[index:])
            outcome.notes.append(f"wall-time budget reached before CrossHair ran on {left}")
            break
        budget = target_seconds(remaining, len(targets) - index)
        report = await _run(sandbox, checkout, target, index, budget, remaining, outcome)
        if report is not None:
            source = (checkout / target.path).read_text(encoding="utf-8", errors="replace")
            found, dropped = rebuild(report, target.callable, target.module, source)
            cases.setdefault(target.path, []).extend(found)
            why = f"{dropped} dropped: functions, classes, lambdas or addresses in them"
            if not found:
                outcome.notes.append(
                    f"`{target.path}`: CrossHair found no usable test for "
                    f"`{target.callable.qualname}`" + (f" ({why})" if dropped else "")
                )
            elif dropped:
                outcome.notes.append(f"`{target.path}`: `{target.callable.qualname}`: {why}")
    for path in sorted(cases):
        if not cases[path]:
            continue
        module = next(t.module for t in targets if t.path == path)
        destination = PurePosixPath(output_dir) / test_name_for(module)
        (checkout / destination).parent.mkdir(parents=True, exist_ok=True)
        (checkout / destination).write_text(render(path, cases[path]), encoding="utf-8")
        outcome.written.append(destination.as_posix())
    outcome.duration_s = time.monotonic() - started
    return outcome


async def _run(
    sandbox: Sandbox,
    checkout: Path,
    target: Target,
    index: int,
    budget: int,
    remaining: float,
    outcome: EngineOutcome,
) -> str | None:
    """One crosshair process on one target: its report, or None (noted, or crashed)."""
    name = f"{WRAPPER_PREFIX}{index}"
    (checkout / SCRATCH / f"{name}.py").write_text(wrapper_source(target), encoding="utf-8")
    report_path = f"{SCRATCH}/{name}.report"
    result = await sandbox.run(
        [
            "env",
            f"PYTHONHASHSEED={HASH_SEED}",
            ALL_TOOLS,  # the engine's own packages, behind the project's
            sandbox.python,
            f"{SCRATCH}/driver.py",
            report_path,
            target.root,
            f"{name}.{WRAPPED}",
            "--example_output_format=pytest",
            f"--max_uninteresting_iterations={MAX_UNINTERESTING_ITERATIONS}",
            f"--per_condition_timeout={budget}",
            # A path bound by wall time would make the tests depend on the machine's load.
            f"--per_path_timeout={budget}",
        ],
        cwd=checkout,
        timeout_s=min(remaining, 2 * budget + OVERHEAD_S),
    )
    report_file = checkout / report_path
    report = report_file.read_text(encoding="utf-8") if report_file.exists() else ""
    where = f"`{target.path}`: CrossHair on `{target.callable.qualname}`"
    if result.timed_out:
        outcome.notes.append(f"{where} timed out after {result.duration_s:.0f} s")
        return None
    if "def test_" not in report and result.returncode != 0:
        line = decisive_line(result.output)
        if own_limit(result.output):
            # CrossHair could not build or copy a symbolic input of this signature: a limit of
            # the tool on this one callable, not a failure of the part.
            outcome.notes.append(limit_note(target.path, target.callable.qualname, line))
            return None
        outcome.notes.append(f"{where} failed: {line}")
        outcome.crashed.append(f"{where}: {line}")
        return None
    if result.returncode != 0:
        outcome.notes.append(f"{where}: {decisive_line(result.output)}")
    return report


_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')


# A frame of Python's own library (not an installed package): ``.../lib/python3.12/inspect.py``.
_STDLIB = re.compile(r"/lib/python3\.\d+/(?!.*(site|dist)-packages/)")


def own_limit(output: str) -> bool:
    """Whether a failed run's traceback ends inside CrossHair itself (its ``CrossHairInternal``,
    or an assertion of its own while it builds or copies a symbolic input), rather than in the
    project's code or its import. Frames of Python's own library at the end do not count: when
    CrossHair joins a ``dict`` subclass's constructor signatures, it is ``inspect.Signature``
    that raises, on CrossHair's behalf."""
    if "crosshair.util.CrossHairInternal" in output:
        return True
    frames = [
        m.group(1).replace("\\", "/") for line in output.splitlines() if (m := _FRAME.match(line))
    ]
    while frames and _STDLIB.search(frames[-1]):
        frames.pop()
    return bool(frames) and "/crosshair/" in frames[-1]


def limit_note(path: str, qualname: str, line: str) -> str:
    return (
        f"`{path}`: CrossHair cannot search `{qualname}`: its own error ({line}) while it builds "
        "or runs symbolic inputs of this signature, a limit of CrossHair"
    )


def decisive_line(output: str) -> str:
    """The line that says why: the last exception line of a traceback, else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|NotFound)\b", line)]
    chosen = errors[-1] if errors else lines[-1] if lines else "no output"
    return chosen[:200]
