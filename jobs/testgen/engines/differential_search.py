"""The differential engine's search: ``crosshair diffbehavior`` of a changed top-level function
against its base version (the base file loaded as a sibling module of the head's, so its
relative imports resolve), and the calls its ``Given:`` lines name. A changed method is searched
through a top-level wrapper per side that calls it on a receiver a known call built."""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jobs.sandbox import Sandbox, decisive_line
from jobs.sandbox.workdir import ALL_TOOLS, WORK_DIR, copy_script
from jobs.testgen.base_tree import BaseTree
from jobs.testgen.engines import characterize
from jobs.testgen.engines import crosshair as crosshair_engine
from jobs.testgen.engines.callables import ChangedCallable, describe_callables
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


# Receivers per changed method searched through a wrapper, at most: each is a process.
MAX_RECEIVERS = 2


# A changed method as a top-level function of its own arguments, called on a fresh receiver
# that this side's module builds: diffbehavior then compares base and head as two functions.
METHOD_WRAPPER = '''"""Tandem: {qualname} of {module} on {receiver}, for crosshair diffbehavior."""
import inspect, typing
{load}
_module = _load({module!r})
_real = {real}
_inferred = {{{inferred}}}
_left_out = {left_out!r}
try:
    _hints = typing.get_type_hints(_real)
except Exception:
    _hints = {{}}
_params = [
    p.replace(annotation=_inferred.get(p.name, _hints.get(p.name, p.annotation)))
    for p in list(inspect.signature(_real).parameters.values())[{bound}:]
    if p.name not in _left_out
]


def {wrapped}(*args, **kwargs):
    # A fresh receiver on every call: the method may change it.
    return getattr(eval({receiver!r}, vars(_module)), {name!r})(*args, **kwargs)


{wrapped}.__signature__ = inspect.Signature(_params)
{wrapped}.__annotations__ = {{p.name: p.annotation for p in _params if p.annotation is not p.empty}}
'''


# A changed method no call built a receiver for, on one its class's annotated __init__ builds
# from arguments CrossHair searches too (keyword-only, named with INIT_PREFIX).
BUILT_WRAPPER = '''"""Tandem: {qualname} of {module} on a {owner} built from searched arguments."""
import inspect, typing
{load}
_module = _load({module!r})
_owner = _module.{owner}


def _typed(real, inferred, left_out, bound, **replace):
    try:
        hints = typing.get_type_hints(real)
    except Exception:
        hints = {{}}
    return [
        p.replace(annotation=inferred.get(p.name, hints.get(p.name, p.annotation)), **replace)
        for p in list(inspect.signature(real).parameters.values())[bound:]
        if p.name not in left_out
    ]


_params = _typed(inspect.getattr_static(_owner, {name!r}), {{{inferred}}}, {left_out!r}, 1)
_params += [
    p.replace(name={prefix!r} + p.name)
    for p in _typed(
        inspect.getattr_static(_owner, "__init__"), {{{init_inferred}}}, {init_left_out!r}, 1,
        kind=inspect.Parameter.KEYWORD_ONLY,
    )
]


def {wrapped}(*args, **kwargs):
    built = {{k[len({prefix!r}):]: kwargs.pop(k) for k in list(kwargs) if k.startswith({prefix!r})}}
    return getattr(_owner(**built), {name!r})(*args, **kwargs)


{wrapped}.__signature__ = inspect.Signature(_params)
{wrapped}.__annotations__ = {{p.name: p.annotation for p in _params if p.annotation is not p.empty}}
'''
INIT_PREFIX = "init_"


@dataclass(frozen=True)
class SearchJob:
    """One diffbehavior search: a top-level function, or a method on one known receiver (an
    expression of the module's names, such as the construction call a test made)."""

    target: DiffTarget
    receiver: str | None = None
    # Or a receiver built by the class's own __init__ (whose parameters are all typed), from
    # arguments CrossHair searches as well.
    init: ChangedCallable | None = None


def searchable(target: DiffTarget) -> bool:
    """diffbehavior compares two functions; a method needs a receiver (:func:`jobs`)."""
    return target.callable.kind == "function" and "." not in target.callable.qualname


def jobs(
    targets: Sequence[DiffTarget],
    calls: Iterable[Seed],
    sources: Mapping[str, str],
    *,
    pinned: Collection[tuple[str, str]] = (),
) -> list[SearchJob]:
    """The searches of `targets`: each top-level function, and each method that takes an
    argument on up to MAX_RECEIVERS receivers that `calls` built it on (a class or static method
    on its class), the shortest first; a method no call built a receiver for, on one its class's
    ``__init__`` in `sources` (path -> head source) builds, where that takes only typed
    parameters. A method already `pinned` (path, qualname) by an earlier input is not searched:
    each receiver is a process of its own, and one pinning test per method is what is kept."""
    found: list[SearchJob] = []
    by_target: dict[tuple[str, str], set[str]] = {}
    for seed in calls:
        if not seed.defines:  # a test module's class is not in the module the wrapper reads
            receiver = _receiver(seed)
            if receiver is not None:
                by_target.setdefault((seed.path, seed.qualname), set()).add(receiver)
    for target in targets:
        item = target.callable
        if searchable(target):
            found.append(SearchJob(target))
            continue
        bound = 1 if item.kind in ("method", "classmethod") else 0
        arguments = [
            p for p in item.params[bound:] if p.name not in crosshair_engine.left_out(item)
        ]
        if not item.owner or not arguments or item.kind not in _METHOD_KINDS:
            continue
        if (target.path, item.qualname) in pinned:
            continue
        if item.kind == "method":
            receivers = by_target.get((target.path, item.qualname), set())
        else:
            receivers = {item.owner}
        for receiver in sorted(receivers, key=lambda r: (len(r), r))[:MAX_RECEIVERS]:
            found.append(SearchJob(target, receiver))
        if not receivers and item.kind == "method" and item.name not in ("__init__", "__new__"):
            init = _typed_init(sources.get(target.path, ""), item)
            if init is not None:
                found.append(SearchJob(target, init=init))
    return found


def _typed_init(source: str, item: ChangedCallable) -> ChangedCallable | None:
    """The `__init__` of `item`'s class, where the class defines it and every parameter it
    takes is annotated or its type inferred (one with a default may be left out), and neither
    it nor the method takes ``*args``/``**kwargs``."""
    try:
        every = {c.qualname: c for c in describe_callables(source)}
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    init = every.get(f"{item.owner}.__init__")
    if init is None:
        return None
    # The wrapper passes the built arguments by keyword and puts them after the method's own.
    var = ("var_positional", "var_keyword")
    if any(p.kind in var for p in (*init.params, *item.params)):
        return None
    if any(p.kind == "positional_only" for p in init.params[1:]):
        return None
    leaving = crosshair_engine.left_out(init)
    wanted = [p for p in init.params[1:] if p.name not in leaving]
    if any(not (p.annotation or p.inferred) for p in wanted):
        return None
    return init


_METHOD_KINDS = ("method", "classmethod", "staticmethod")


def _receiver(seed: Seed) -> str | None:
    """The object a call of a method is made on, where it is built by a plain call of the
    module's names: ``Store(3)`` of ``Store(3).room(4)`` or of ``Store.room(Store(3), 4)``."""
    try:
        node = ast.parse(seed.call_source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    name = seed.qualname.rsplit(".", 1)[-1]
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    if node.func.attr != name:
        return None
    value: ast.expr | None = node.func.value
    owner = seed.qualname.rsplit(".", 1)[0]
    if ast.unparse(node.func.value) == owner:  # Store.room(Store(3), 4)
        value = node.args[0] if node.args else None
    if isinstance(value, ast.Call) and characterize._plain(value):
        return ast.unparse(value)
    return None


def built_wrapper_source(target: DiffTarget, module: str, init: ChangedCallable) -> str:
    """The wrapper module diffbehavior reads for a method of `target` on a receiver its class's
    `init` builds, from `module` (the head's module, or the base's sibling)."""
    item = target.callable
    return BUILT_WRAPPER.format(
        load=crosshair_engine.LOAD_MODULE,
        qualname=item.qualname,
        module=module,
        owner=item.owner,
        name=item.name,
        inferred=crosshair_engine.inferred_annotations(item),
        left_out=sorted(crosshair_engine.left_out(item)),
        init_inferred=crosshair_engine.inferred_annotations(init),
        init_left_out=sorted(crosshair_engine.left_out(init)),
        prefix=INIT_PREFIX,
        wrapped=WRAPPED,
    )


def method_wrapper_source(target: DiffTarget, module: str, receiver: str) -> str:
    """The wrapper module diffbehavior reads for a method of `target` on `receiver`, built by
    `module` (the head's module, or the base's sibling)."""
    item = target.callable
    owner = f"_module.{item.owner}"
    if item.kind == "method":
        real, bound = f"inspect.getattr_static({owner}, {item.name!r})", 1
    else:  # bound to its class already: no cls among the parameters
        real, bound = f"getattr({owner}, {item.name!r})", 0
    return METHOD_WRAPPER.format(
        load=crosshair_engine.LOAD_MODULE,
        qualname=item.qualname,
        module=module,
        receiver=receiver,
        real=real,
        inferred=crosshair_engine.inferred_annotations(item),
        left_out=sorted(crosshair_engine.left_out(item)),
        bound=bound,
        name=item.name,
        wrapped=WRAPPED,
    )


async def search(
    sandbox: Sandbox,
    checkout: Path,
    tree: BaseTree,
    job: SearchJob,
    index: int,
    seconds: int,
    limit: float,
) -> tuple[str, str | None]:
    """One ``crosshair diffbehavior`` process: its report ('' when it said nothing), and a note
    when it timed out or failed."""
    target = job.target
    base_name = f"{target.module}{BASE_SUFFIX}"
    head_wrapper, base_wrapper = f"_tandem_diff_head_{index}", f"_tandem_diff_base_{index}"
    scratch = checkout / SCRATCH
    for wrapper, module in ((head_wrapper, target.module), (base_wrapper, base_name)):
        if job.init is not None:
            source = built_wrapper_source(target, module, job.init)
        elif job.receiver is None:
            side = crosshair_engine.Target(target.path, target.root, module, target.callable)
            source = crosshair_engine.wrapper_source(side)
        else:
            source = method_wrapper_source(target, module, job.receiver)
        (scratch / f"{wrapper}.py").write_text(source, encoding="utf-8")
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
    on = f" on `{job.receiver}`" if job.receiver and job.receiver != target.callable.owner else ""
    where = f"`{target.path}`: differential search on `{target.callable.qualname}`{on}"
    if result.timed_out:
        return report, f"{where} timed out after {result.duration_s:.0f} s"
    if result.returncode != 0 and "Given:" not in report:
        line = decisive_line(result.output)
        if crosshair_engine.own_limit(result.output):
            # The CrossHair engine notes the same limit in full; this says the search met it.
            return report, f"{where}: CrossHair's own error ({line}), a limit of CrossHair"
        return report, f"{where} failed: {line}"
    return report, None


def calls_from_report(report: str, job: SearchJob) -> list[Seed]:
    """The calls of the real callable that a diffbehavior report's ``Given:`` lines name (a
    method's on its receiver, as a test writes it), where every argument is a plain expression
    (a literal, a container, a constructor call)."""
    target = job.target
    called = target.callable.qualname
    if job.receiver is not None:
        called = f"{job.receiver}.{target.callable.name}"
    calls: list[Seed] = []
    for line in report.splitlines():
        match = _GIVEN.match(line.strip())
        if match is None:
            continue
        call = f"{called}({match.group(1)})"
        try:
            node = ast.parse(call, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if not isinstance(node, ast.Call):
            continue
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if job.init is not None:
            node = _on_built(node, job)
        if not all(characterize._plain(a) and _literal_only(a) for a in arguments):
            continue
        calls.append(Seed(target.path, target.callable.qualname, ast.unparse(node), "literal"))
        if len(calls) >= MAX_CALLS_PER_FUNCTION:
            break
    return calls


def _on_built(node: ast.Call, job: SearchJob) -> ast.Call:
    """``Cls.m(n=20, init_k=10)`` as the call a test writes: ``Cls(k=10).m(n=20)``."""
    built = [k for k in node.keywords if (k.arg or "").startswith(INIT_PREFIX)]
    own = [k for k in node.keywords if k not in built]
    receiver = ast.Call(
        func=ast.Name(id=job.target.callable.owner or ""),
        args=[],
        keywords=[ast.keyword(arg=(k.arg or "")[len(INIT_PREFIX) :], value=k.value) for k in built],
    )
    method = ast.Attribute(value=receiver, attr=job.target.callable.name)
    return ast.Call(func=method, args=node.args, keywords=own)


def _literal_only(node: ast.expr) -> bool:
    """No names: a call's namespace holds only the module's top-level names, and CrossHair's
    reprs of symbolic objects are not something a test can rebuild."""
    return not any(isinstance(n, ast.Name | ast.Call) for n in ast.walk(node))
