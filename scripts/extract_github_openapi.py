#!/usr/bin/env python3
"""Extract the GitHub REST operations Tandem uses into a small, committed fixture.

The fake GitHub in ``tests/fakegithub`` validates every request body against GitHub's own
OpenAPI description. That description ships in the npm package ``@octokit/openapi``
(``generated/api.github.com.json``, about 13 MB). This script keeps only the operations we
use, with every ``$ref`` inlined, and writes ``tests/fakegithub/openapi_ops.json``.

Usage::

    # from a file you already have (npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz)
    python scripts/extract_github_openapi.py package/generated/api.github.com.json

    # let the script run `npm pack @octokit/openapi@<pinned>` in a temporary directory
    python scripts/extract_github_openapi.py --npm

Nothing is downloaded unless ``--npm`` is given.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
PINNED_VERSION = "23.0.2"
SPEC_MEMBER = "package/generated/api.github.com.json"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "tests" / "fakegithub" / "openapi_ops.json"

# "METHOD /path/template" exactly as in GitHub's OpenAPI description.
OPERATIONS: tuple[str, ...] = (
    "POST /app/installations/{installation_id}/access_tokens",
    "GET /repos/{owner}/{repo}",
    "GET /repos/{owner}/{repo}/installation",
    "POST /repos/{owner}/{repo}/check-runs",
    "GET /repos/{owner}/{repo}/check-runs/{check_run_id}",
    "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
    "GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
    "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
    "GET /repos/{owner}/{repo}/contents/{path}",
    "GET /repos/{owner}/{repo}/pulls",
    "POST /repos/{owner}/{repo}/pulls",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}",
    "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/comments",
    "POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    "GET /repos/{owner}/{repo}/issues/comments/{comment_id}",
    "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
    "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
    "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/reactions",
)

# Keys that only document a schema. They are dropped to keep the fixture small, except where
# they are property *names* (a request body may well have a property called "description").
_DOC_KEYS = frozenset(
    {"description", "example", "examples", "title", "externalDocs", "deprecated", "readOnly"}
)


class SpecError(Exception):
    pass


def _lookup(spec: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SpecError(f"unsupported $ref {ref!r}")
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(spec: dict[str, Any], node: Any, *, stack: tuple[str, ...] = ()) -> Any:
    """Return ``node`` with every ``$ref`` replaced by its target, documentation stripped."""
    if isinstance(node, list):
        return [inline(spec, item, stack=stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in stack:
            raise SpecError(f"recursive $ref {ref!r}; cannot inline")
        return inline(spec, _lookup(spec, ref), stack=(*stack, ref))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or (key in _DOC_KEYS and not isinstance(value, dict)):
            continue
        if key == "examples" or key == "example":
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: inline(spec, sub, stack=stack) for name, sub in value.items()}
        else:
            out[key] = inline(spec, value, stack=stack)
    return out


def _response_required(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    """Success status codes and the top-level keys GitHub's response schema marks required."""
    result: dict[str, Any] = {}
    for code, response in op.get("responses", {}).items():
        if not code.startswith("2"):
            continue
        response = inline(spec, response)
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        entry: dict[str, Any] = {"required": []}
        if isinstance(schema, dict):
            if schema.get("type") == "array":
                entry["array"] = True
                schema = schema.get("items", {})
            entry["required"] = sorted(schema.get("required", []))
            if "oneOf" in schema:
                entry["one_of_required"] = [sorted(s.get("required", [])) for s in schema["oneOf"]]
        result[code] = entry
    return result


def extract(spec: dict[str, Any], *, source_version: str) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for key in OPERATIONS:
        method, path = key.split(" ", 1)
        try:
            op = spec["paths"][path][method.lower()]
        except KeyError as exc:
            raise SpecError(f"operation {key} not found in the OpenAPI description") from exc
        params = [inline(spec, p) for p in op.get("parameters", [])]
        params = [
            {k: p[k] for k in ("name", "in", "required", "schema") if k in p}
            for p in params
            if p.get("in") in ("path", "query")
        ]
        body = None
        if "requestBody" in op:
            rb = inline(spec, op["requestBody"])
            body = {
                "required": bool(rb.get("required", False)),
                "schema": rb["content"]["application/json"]["schema"],
            }
        operations[key] = {
            "operationId": op.get("operationId"),
            "documentation_url": op.get("externalDocs", {}).get("url"),
            "parameters": params,
            "requestBody": body,
            "responses": _response_required(spec, op),
        }
    return {
        "_comment": "Generated by scripts/extract_github_openapi.py. Do not edit by hand.",
        "source": {
            "package": PACKAGE,
            "version": source_version,
            "file": "generated/api.github.com.json",
            "openapi": spec.get("openapi"),
            "info_version": spec.get("info", {}).get("version"),
        },
        "operations": operations,
    }


def _npm_pack(version: str, workdir: Path) -> Path:
    spec = f"{PACKAGE}@{version}"
    print(f"npm pack {spec} ...", file=sys.stderr)
    subprocess.run(["npm", "pack", spec, "--silent"], cwd=workdir, check=True, stdout=sys.stderr)
    tarballs = sorted(workdir.glob("octokit-openapi-*.tgz"))
    if not tarballs:
        raise SpecError("npm pack did not produce a tarball")
    with tarfile.open(tarballs[0]) as tar:
        member = tar.getmember(SPEC_MEMBER)
        tar.extractall(workdir, members=[member], filter="data")
    return workdir / SPEC_MEMBER


def _package_version_near(spec_path: Path) -> str | None:
    """The version in package/package.json next to generated/, if present."""
    package_json = spec_path.resolve().parent.parent / "package.json"
    if package_json.is_file():
        try:
            return str(json.loads(package_json.read_text())["version"])
        except (ValueError, KeyError):
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", type=Path, help="path to api.github.com.json")
    parser.add_argument(
        "--npm", action="store_true", help=f"fetch {PACKAGE}@{PINNED_VERSION} with npm pack"
    )
    parser.add_argument("--version", default=PINNED_VERSION, help="package version for --npm")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if bool(args.spec) == bool(args.npm):
        parser.error("give either a path to api.github.com.json or --npm")

    with tempfile.TemporaryDirectory() as tmp:
        if args.npm:
            spec_path = _npm_pack(args.version, Path(tmp))
            version = args.version
        else:
            spec_path = args.spec
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        if not args.npm:
            # @octokit/openapi stamps its own package version into info.version.
            version = _package_version_near(spec_path) or str(spec.get("info", {}).get("version"))
        result = extract(spec, source_version=version)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(
        f"wrote {len(result['operations'])} operations from {PACKAGE} {version} "
        f"to {args.output} ({len(text) // 1024} KiB)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
