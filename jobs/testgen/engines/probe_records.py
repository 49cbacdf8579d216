"""The characterization probe's records, read back as the hostile data they are (the probe
ran PR code): shapes, kinds, names and sizes checked, an expected value a plain expression
(literals, constructor calls, names the probe said where to import from) without an address, and
a file past its cap cut."""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from jobs.testgen.engines.seeds import names_in

MAX_OUTPUT_BYTES = 2_000_000
MAX_EXPECTED_CHARS = 2000
KINDS = {
    "value",
    "type",
    "raises",
    "timeout",
    "nondeterministic",
    "unresolvable",
    "unrepresentable",
}
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{4,}")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w{0,99}$")


def json_objects(lines: Iterable[str]) -> Iterator[dict[str, object]]:
    """The lines that are JSON objects, of JSON lines a sandbox run wrote (PR code ran there:
    a line may be anything)."""
    for line in lines:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            yield record


def read_records(path: Path, seeds: int, module_paths: set[str]) -> list[dict[str, object]]:
    """The probe's JSON lines that have a valid shape (the probe ran PR code: trust nothing)."""
    if not path.is_file():
        return []
    with path.open("rb") as handle:
        raw = handle.read(MAX_OUTPUT_BYTES)
    records: list[dict[str, object]] = []
    seen: set[object] = set()
    lines = raw.decode("utf-8", errors="replace").splitlines()[: seeds + len(module_paths)]
    for record in json_objects(lines):
        if _valid(record, seeds, module_paths):
            key = record.get("id", record.get("path"))
            if key not in seen:
                seen.add(key)
                records.append(record)
    return records


def _valid(record: dict[str, object], seeds: int, module_paths: set[str]) -> bool:
    kind = record.get("kind")
    if kind == "import_error":
        return record.get("path") in module_paths and _short_text(record.get("detail"))
    identifier = record.get("id")
    if not isinstance(identifier, int) or isinstance(identifier, bool) or kind not in KINDS:
        return False
    if not 0 <= identifier < seeds:
        return False
    if record.get("wrap") not in (None, "list"):
        return False
    if kind == "raises":
        message = record.get("message", "")
        return (
            _name_ok(record.get("exception"))
            and record.get("source") in ("builtin", "module")
            and isinstance(message, str)
            and len(message) <= 300
        )
    if kind == "type":
        expected = record.get("expected")
        return isinstance(expected, str) and re.fullmatch(r"[\w.]{1,200}", expected) is not None
    if kind == "value":
        return expected_ok(record.get("expected"), record.get("imports"))
    return True


def _short_text(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 300 and "\n" not in value


def _name_ok(value: object) -> bool:
    return isinstance(value, str) and _IDENTIFIER.match(value) is not None


def expected_ok(expected: object, imports: object) -> bool:
    if not isinstance(expected, str) or len(expected) > MAX_EXPECTED_CHARS:
        return False
    if _ADDRESS.search(expected) or not isinstance(imports, list) or len(imports) > 20:
        return False
    declared: dict[str, str] = {}
    for entry in imports:
        if not (isinstance(entry, list) and len(entry) == 2 and _name_ok(entry[0])):
            return False
        name, source = entry
        if source not in ("module", "stdlib") or (
            source == "stdlib" and name not in sys.stdlib_module_names
        ):
            return False
        declared[name] = source
    try:
        tree = ast.parse(expected, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return _plain(tree.body) and set(names_in(expected)) <= declared.keys()


def _plain(node: ast.expr) -> bool:
    """Literals, containers, negation, calls of dotted names with plain arguments, and a dotted
    name subscripted by plain ones (a type hint): what a repr of data looks like; no lambda,
    comprehension, operator trick or dunder attribute."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _plain(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        # complex numbers: 1+2j
        return all(isinstance(n, ast.Constant | ast.UnaryOp) for n in (node.left, node.right))
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return all(_plain(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _plain(k) for k in node.keys) and all(
            _plain(v) for v in node.values
        )
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return not node.attr.startswith("__") and _plain(node.value)
    if isinstance(node, ast.Subscript):
        # A type hint's repr: list[int], typing.Optional[int], typing.Callable[[int], str].
        return isinstance(node.value, ast.Name | ast.Attribute) and all(
            _plain(n) for n in (node.value, node.slice)
        )
    if isinstance(node, ast.Call):
        return (
            isinstance(node.func, ast.Name | ast.Attribute)
            and _plain(node.func)
            and all(_plain(a) for a in node.args)
            and all(k.arg is not None and _plain(k.value) for k in node.keywords)
        )
    return False
