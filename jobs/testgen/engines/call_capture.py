"""The calls the project's own tests make of the changed functions, written down while they run
(:mod:`jobs.sandbox.scripts.capture_calls`, in the sandbox): the differential engine's inputs
when no test spells a call out literally, as when the changed function is private and the tests
reach it through the public API. Only the tests that mention the changed module or functions
run, once, within a share of the engine's time; what the time leaves out is simply not used.

The tests' first calls are often alike, and the one that tells base and head apart comes later
(a parametrized list whose 30th row has a local version). So the calls whose text mentions the
change's tokens (:func:`.input_variants.change_words`) are written down beyond the usual cap, and
so is every call that runs a line of the changed file no call written down before ran: those
are the *novel* calls, a fuzzer's corpus, and their neighbours are tried first.
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jobs.sandbox import Sandbox
from jobs.sandbox.workdir import PLUGINS_COPY, WORK_DIR, copy_script, prepare, write_fresh
from jobs.testgen.engines.input_helpers import Defined
from jobs.testgen.engines.probe_records import json_objects
from jobs.testgen.engines.seeds import Seed

SCRIPT = "capture_calls.py"
# Imported by the script, from the folder it is copied to.
HELPERS = (
    "capture_expression.py",
    "capture_built.py",
    "capture_codes.py",
    "capture_defined.py",
    "capture_launch.py",
    "capture_entry.py",
)
MAX_TEST_FILES = 40
MAX_PER_TARGET = 40
MAX_RELEVANT = 160  # calls that mention the change's tokens, beside the MAX_PER_TARGET others
MAX_OUTPUT_BYTES = 2_000_000
MAX_RUN_S = 90.0


def tests_mentioning(tests: Mapping[str, str], module: str, names: list[str]) -> list[str]:
    """The test files that name the module (its last part) or one of the functions, the most
    mentions first; then those named after the module (``typing_pep563_test.py``), then the
    others that name its top-level package: a source-transforming library's tests call one
    entry point (``_fix_plugins(src)``) and name none of the plugins they reach. Pure."""
    last = module.rsplit(".", 1)[-1]
    words = {last, *(n.rsplit(".", 1)[-1] for n in names)}
    package = module.split(".", 1)[0]
    scored = []
    for path, text in tests.items():
        hits = sum(text.count(word) for word in words if word)
        named = bool(last.strip("_")) and last.strip("_") in path.rsplit("/", 1)[-1]
        if hits or named or package in text:
            scored.append((-hits, not named, path))
    return [path for *_, path in sorted(scored)[:MAX_TEST_FILES]]


@dataclass(frozen=True)
class Captured:
    """The calls written down, in order, and those of them that ran new lines of the file."""

    seeds: list[Seed] = field(default_factory=list)
    novel: frozenset[Seed] = frozenset()


def read_calls(path: Path, path_in_repo: str, targets: set[str]) -> Captured:
    """The captured calls (JSON lines the sandbox wrote: bounded, each field checked)."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_OUTPUT_BYTES:
            return Captured()
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return Captured()
    seeds: list[Seed] = []
    novel: set[Seed] = set()
    for record in json_objects(lines):
        qualname, call = record.get("qualname"), record.get("call")
        if not isinstance(qualname, str) or qualname not in targets or not isinstance(call, str):
            continue
        via = record.get("module", "")
        if not isinstance(via, str) or not all(p.isidentifier() for p in via.split(".") if via):
            continue
        seed = _seed(path_in_repo, qualname, call, _defines(record.get("defines")), via)
        if seed is not None:
            seeds.append(seed)
            if record.get("novel") is True:
                novel.add(seed)
    return Captured(list(dict.fromkeys(seeds)), frozenset(novel))


def _defines(value: object) -> tuple[Defined, ...]:
    """The test modules' classes a record says its call uses (each field checked; a class whose
    source does not parse as that one class is dropped, and so then is the call)."""
    if not isinstance(value, list):
        return ()
    found = []
    for item in value:
        if not isinstance(item, dict):
            continue
        name, source, needs = item.get("name"), item.get("source"), item.get("needs")
        if not isinstance(name, str) or not isinstance(source, str) or not isinstance(needs, list):
            continue
        pairs = tuple(
            (str(n[0]), str(n[1]))
            for n in needs
            if isinstance(n, list) and len(n) == 2 and n[1] in ("module", "stdlib")
        )
        if len(pairs) == len(needs) and _is_class(source, name):
            found.append(Defined(name, source, pairs))
    return tuple(found)


def _is_class(source: str, name: str) -> bool:
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return len(body) == 1 and isinstance(body[0], ast.ClassDef) and body[0].name == name


def _seed(
    path: str, qualname: str, call: str, defines: tuple[Defined, ...] = (), via: str = ""
) -> Seed | None:
    try:
        seed = Seed(path, qualname, call, "runtime", defines, via)
        seed.names  # noqa: B018 - parses the expression: a malformed one is dropped here
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return seed


@dataclass(frozen=True)
class CaptureJob:
    """What to watch: ``targets`` (qualnames in ``module``, the file ``path`` under the import
    root ``root``) while ``tests`` run; calls that mention one of ``tokens`` have a quota of
    their own."""

    root: str
    module: str
    path: str
    targets: list[str]
    tests: list[str]
    tokens: tuple[str, ...] = ()
    # The launchers' pytest arguments (the project's own options among them), from the work dir.
    plugins: str = f"{WORK_DIR}/{PLUGINS_COPY}"

    def as_json(self) -> str:
        return json.dumps(
            {
                "root": self.root,
                "module": self.module,
                "path": self.path,
                "targets": self.targets,
                "tests": self.tests,
                "max_per_target": MAX_PER_TARGET,
                "max_relevant": MAX_RELEVANT,
                "tokens": list(self.tokens),
                "plugins": self.plugins,
            }
        )


async def capture(
    sandbox: Sandbox, checkout: Path, scratch: str, job: CaptureJob, *, deadline: float
) -> Captured:
    """Run the job's tests once, writing down the calls of its targets."""
    remaining = min(MAX_RUN_S, deadline - time.monotonic())
    if not job.tests or not job.targets or remaining < 5:
        return Captured()
    prepare(checkout)  # the launchers' plugins module, which the script takes its arguments from
    folder = checkout / scratch
    copy_script(SCRIPT, folder / "capture.py")
    for helper in HELPERS:
        copy_script(helper, folder / helper)
    slug = job.module.replace(".", "_")
    job_file, output = folder / f"capture-{slug}.json", folder / f"capture-{slug}.jsonl"
    write_fresh(job.as_json(), job_file)
    output.unlink(missing_ok=True)
    await sandbox.run(
        [
            sandbox.python,
            f"{scratch}/capture.py",
            f"{scratch}/{job_file.name}",
            str(output.relative_to(checkout)),
        ],
        cwd=checkout,
        timeout_s=remaining,
    )
    return read_calls(output, job.path, set(job.targets))
