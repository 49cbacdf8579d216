"""A fake GitHub (REST API subset + smart-HTTP git) that behaves like the real service.

It is an aiohttp server on 127.0.0.1. Point a client at ``FakeGitHub.url`` the way you would
point it at a GitHub Enterprise Server API URL.

What it enforces, like GitHub:

* GitHub App auth: RS256 JWTs verified with the App's public key, exchanged for installation
  tokens (``ghs_...``, one hour); repository endpoints require a live installation token whose
  installation holds the repository, and the token's permissions.
* Request bodies are validated against GitHub's own OpenAPI schemas (``openapi_ops.json``,
  extracted by ``scripts/extract_github_openapi.py``), plus the documented rules the schema
  cannot express (50 annotations per request, 65535-character summaries, conclusion required
  when completing, head sha must exist, duplicate pull requests, 65536-character comments).
* Repositories are real bare git repositories, served over smart HTTP by ``git http-backend``
  with ``x-access-token:<token>`` basic auth. Contents, branch and pull request data come from
  them.

All state is plain Python objects guarded by one lock, so tests may read it from any thread.
A benchmark that needs to know *when* a check run was completed passes
``on_check_run_completed``: it is called with the head sha, the completing request's arrival
time (``time.time()``, taken before its body is read) and the conclusion.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import unquote, urlencode

import jsonschema
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .payloads import node_id, repository_object, stable_id, user_object

OPS_FILE = Path(__file__).with_name("openapi_ops.json")
DOCS_URL = "https://docs.github.com/rest"

MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_OUTPUT_CHARS = 65535
MAX_COMMENT_CHARS = 65536
MAX_ANNOTATION_BYTES = 64 * 1024
MAX_ANNOTATION_TITLE_CHARS = 255
MAX_CONTENTS_INLINE_BYTES = 1024 * 1024
JWT_CLOCK_SKEW = 60
JWT_MAX_LIFETIME = 600
RATE_LIMIT = 5000
DEFAULT_PERMISSIONS: dict[str, str] = {
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}
COLLABORATOR_PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")
_LEVELS = {"read": 1, "write": 2, "admin": 3}
_SHA_RE = re.compile(r"[0-9a-f]{40}")
_REVIEW_COMMENT_KEYS = ("path", "body", "line", "side", "start_line", "start_side", "position")

# ----------------------------------------------------------------------------- keys

_key_lock = threading.Lock()
_key_cache: tuple[bytes, bytes] | None = None


def make_app_key() -> tuple[bytes, bytes]:
    """``(private_pem, public_pem)`` of an RSA-2048 key, generated once per process.

    The private key is PKCS#1 ("BEGIN RSA PRIVATE KEY"), like the file GitHub lets you
    download for an App.
    """
    global _key_cache
    with _key_lock:
        if _key_cache is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
            public = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            _key_cache = (private, public)
        return _key_cache


# Called (on the fake's event loop) when a PATCH completes a check run:
# (head sha, the request's arrival time as time.time(), conclusion).
OnCheckRunCompleted = Callable[[str, float, str], None]

# ----------------------------------------------------------------------------- records


@dataclass
class Call:
    """One API request as the fake saw it (``json`` is the parsed body, or None)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int


@dataclass
class Push:
    """One successful ``git push`` over smart HTTP: ref -> (old sha, new sha); None = absent."""

    full_name: str
    updates: dict[str, tuple[str | None, str | None]]


@dataclass
class GitRequest:
    """One smart-HTTP git request (``content_encoding`` shows e.g. git's gzip bodies)."""

    method: str
    path: str
    query: str
    status: int
    content_encoding: str | None


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    body: Any


@dataclass
class _Installation:
    id: int
    account: str
    permissions: dict[str, str]


@dataclass
class _Repo:
    id: int
    full_name: str
    installation_id: int
    default_branch: str
    private: bool
    path: Path
    next_number: int = 1
    # number -> {"title", "user", "is_pull", "state"}
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]


@dataclass
class _Token:
    token: str
    installation_id: int
    expires_at: datetime
    permissions: dict[str, str]
    repositories: frozenset[str] | None  # lower-cased full names; None = all of the installation


class ApiError(Exception):
    """Raised inside handlers; becomes a GitHub-style JSON error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        headers: Mapping[str, str] | None = None,
        documentation_url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})
        self.documentation_url = documentation_url

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        out["documentation_url"] = self.documentation_url or DOCS_URL
        out["status"] = str(self.status)
        return out


def _validation_failed(resource: str, **error: Any) -> ApiError:
    return ApiError(422, "Validation Failed", errors=[{"resource": resource, **error}])


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Ctx:
    request: web.Request
    op_key: str
    op: dict[str, Any]
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    token: _Token | None
    repo: _Repo | None
    arrived: float  # time.time() when the request arrived, before its body was read

    @property
    def the_repo(self) -> _Repo:
        assert self.repo is not None
        return self.repo


@dataclass
class _Route:
    key: str
    method: str
    regex: re.Pattern[str]
    handler: Callable[[_Ctx], _Reply]
    permissions: tuple[tuple[str, str], ...]  # any one of (permission, level) suffices
    resource: str


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


# ----------------------------------------------------------------------------- schema checks

_format_checker = jsonschema.FormatChecker()


@_format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value and "t" not in value:
        raise ValueError("not an ISO 8601 timestamp")
    _parse_time(value)
    return True


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` -> JSON Schema ``type: [..., "null"]``."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {k: _openapi_to_jsonschema(v) for k, v in value.items()}
        elif key != "nullable":
            out[key] = _openapi_to_jsonschema(value)
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _schema_path(error: jsonschema.ValidationError) -> tuple[str, str]:
    """GitHub-style ``properties/a/properties/b`` location and a dotted field name."""
    parts: list[str] = []
    fields: list[str] = []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts.append("items")
        else:
            parts.append(f"properties/{part}")
            fields.append(str(part))
    return "/".join(parts), ".".join(fields)


def _describe(error: jsonschema.ValidationError) -> tuple[str, dict[str, Any]]:
    where, field_name = _schema_path(error)
    kind = error.validator
    value = error.instance
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        full_field = f"{field_name}.{missing}" if field_name else missing
        return f'"{missing}" wasn\'t supplied.', {"field": full_field, "code": "missing_field"}
    if kind == "enum":
        msg = f"For '{where}', {json.dumps(value)} is not a member of enum."
    elif kind == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(str(n), str(n)) for n in names)
        msg = f"For '{where}', {json.dumps(value)[:100]} is not {wanted}."
    elif kind == "maxLength":
        msg = (
            f"For '{where}', only {error.validator_value} characters are allowed; "
            f"{len(value)} were supplied."
        )
    elif kind == "maxItems":
        msg = (
            f"For '{where}', only {error.validator_value} items are allowed; "
            f"{len(value)} were supplied."
        )
    elif kind in ("anyOf", "oneOf"):
        inner = sorted({_describe(sub)[0] for sub in error.context or []})
        msg = f'No subschema in "{kind}" matched.' + ("\n" + "\n".join(inner) if inner else "")
    else:
        msg = f"For '{where}', {error.message}."
    return msg, {"field": field_name or None, "code": "invalid", "message": msg}


# ----------------------------------------------------------------------------- the fake


class FakeGitHub:
    """The fake GitHub server. See the module docstring."""

    def __init__(
        self,
        root: Path,
        *,
        app_id: int,
        public_key_pem: bytes,
        app_slug: str = "tandem",
        app_name: str = "Tandem",
        on_check_run_completed: OnCheckRunCompleted | None = None,
    ) -> None:
        self.root = Path(root)
        self.on_check_run_completed = on_check_run_completed
        self.app_id = app_id
        self.app_slug = app_slug
        self.app_name = app_name
        self.public_key_pem = public_key_pem
        self.url = ""
        self.token_ttl = timedelta(hours=1)

        self.calls: list[Call] = []
        self.pushes: list[Push] = []
        self.git_requests: list[GitRequest] = []
        self.tokens_issued = 0

        self._lock = threading.RLock()
        self._git_root = self.root / "git"
        self._home = self.root / "home"
        self._git_root.mkdir(parents=True, exist_ok=True)
        self._home.mkdir(parents=True, exist_ok=True)
        self._installations: dict[int, _Installation] = {}
        self._repos: dict[str, _Repo] = {}  # lower-cased full name -> repo
        self._tokens: dict[str, _Token] = {}
        self._faults: list[_Fault] = []
        self._rate_used: dict[str, int] = {}
        self._rate_reset = int(time.time()) + 3600
        self._ids = 4_000_000_000
        self._check_runs: dict[int, dict[str, Any]] = {}
        self._annotations: dict[int, list[dict[str, Any]]] = {}
        self._suites: dict[tuple[str, str], int] = {}
        self._pulls: dict[str, dict[int, dict[str, Any]]] = {}
        self._comments: dict[int, dict[str, Any]] = {}
        self._reviews: dict[int, dict[str, Any]] = {}
        self._review_comments: dict[int, dict[str, Any]] = {}
        self._reactions: list[dict[str, Any]] = []
        self._permissions: dict[tuple[str, str], str] = {}

        spec = json.loads(OPS_FILE.read_text(encoding="utf-8"))
        self.openapi_source: dict[str, Any] = spec["source"]
        self._ops: dict[str, dict[str, Any]] = spec["operations"]
        self._validators: dict[str, jsonschema.protocols.Validator] = {}
        for key, op in self._ops.items():
            if op.get("requestBody"):
                schema = _openapi_to_jsonschema(op["requestBody"]["schema"])
                cls = jsonschema.validators.validator_for(
                    schema, default=jsonschema.Draft7Validator
                )
                self._validators[key] = cls(schema, format_checker=_format_checker)
        self._routes = self._build_routes()

        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # auto_decompress=False: git's gzip request bodies go to http-backend untouched.
        runner = web.AppRunner(app, auto_decompress=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        host, port = cast(tuple[str, int], runner.addresses[0])[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGitHub:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ setup helpers

    def add_installation(
        self, installation_id: int, account: str, *, permissions: Mapping[str, str] | None = None
    ) -> None:
        """Install the App on ``account`` (a user or org login)."""
        with self._lock:
            self._installations[installation_id] = _Installation(
                installation_id, account, dict(permissions or DEFAULT_PERMISSIONS)
            )

    def create_repo(
        self,
        full_name: str,
        *,
        installation_id: int,
        default_branch: str = "main",
        private: bool = False,
    ) -> Path:
        """Create an empty bare repository that ``installation_id`` can access; return its path.

        Push commits into it with plain git (``git push <path> ...``) or ``commit_files``.
        """
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"full_name must be owner/name, got {full_name!r}")
        with self._lock:
            if installation_id not in self._installations:
                raise ValueError(f"unknown installation {installation_id}; add_installation first")
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name} already exists")
            path = self._git_root / owner / f"{name}.git"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._git(
                None, "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)
            )
            self._git(path, "config", "http.receivepack", "true")
            self._git(path, "config", "uploadpack.allowAnySHA1InWant", "true")
            self._repos[full_name.lower()] = _Repo(
                id=stable_id("repo", full_name),
                full_name=full_name,
                installation_id=installation_id,
                default_branch=default_branch,
                private=private,
                path=path,
            )
            self._pulls[full_name.lower()] = {}
            return path

    def repo_path(self, full_name: str) -> Path:
        return self._repo(full_name).path

    def clone_url(self, full_name: str) -> str:
        """The smart-HTTP URL (what webhook payloads carry as ``repository.clone_url``)."""
        if not self.url:
            raise RuntimeError("FakeGitHub is not started")
        return f"{self.url}/git/{self._repo(full_name).full_name}.git"

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        return self._resolve_commit(self._repo(full_name), f"refs/heads/{branch}")

    def commit_files(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, str | bytes | None],
        *,
        message: str = "Update files",
        parent: str | None = None,
        author: tuple[str, str] = ("Alice", "alice@example.com"),
    ) -> str:
        """Commit ``files`` (path -> content; None deletes) on top of ``branch`` (or ``parent``).

        Creates the branch if needed and returns the new commit sha. Uses git plumbing directly
        on the bare repository, so no work tree or network is involved.
        """
        repo = self._repo(full_name)
        base = parent if parent is not None else self.branch_sha(full_name, branch)
        with tempfile.TemporaryDirectory(dir=self._home) as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if base:
                self._git(repo.path, "read-tree", base, env=env)
            else:
                self._git(repo.path, "read-tree", "--empty", env=env)
            for path, content in files.items():
                path = path.strip("/")
                if content is None:
                    self._git(repo.path, "update-index", "--force-remove", "--", path, env=env)
                    continue
                data = content.encode() if isinstance(content, str) else content
                blob = self._git(repo.path, "hash-object", "-w", "--stdin", input=data)
                info = f"100644,{blob.stdout.decode().strip()},{path}"
                self._git(repo.path, "update-index", "--add", "--cacheinfo", info, env=env)
            tree = self._git(repo.path, "write-tree", env=env).stdout.decode().strip()
        name, email = author
        ident = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        args = ["commit-tree", tree, "-m", message]
        if base:
            args += ["-p", base]
        sha = self._git(repo.path, *args, env=ident).stdout.decode().strip()
        self._git(repo.path, "update-ref", f"refs/heads/{branch}", sha)
        return sha

    def create_branch(self, full_name: str, branch: str, from_ref: str) -> str:
        repo = self._repo(full_name)
        sha = self._resolve_commit(repo, from_ref)
        if sha is None:
            raise ValueError(f"no commit {from_ref!r} in {full_name}")
        self._git(repo.path, "update-ref", f"refs/heads/{branch}", sha)
        return sha

    def create_installation_token(
        self, installation_id: int, *, ttl: timedelta | None = None
    ) -> str:
        """Mint a token directly (no JWT exchange; not counted in ``tokens_issued``)."""
        with self._lock:
            inst = self._installations[installation_id]
            return self._mint_token(inst, dict(inst.permissions), None, ttl).token

    def expire_tokens(self) -> None:
        """Make every installation token issued so far expired (to test refresh on 401)."""
        with self._lock:
            past = _now() - timedelta(seconds=1)
            for tok in self._tokens.values():
                tok.expires_at = past

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` ("*" = any) and
        ``re.search(path_regex, path)`` with ``status`` instead of serving them.

        E.g. ``fail_next("POST", r"/check-runs$", 502)`` or a secondary rate limit::

            fail_next("PATCH", r"/check-runs/", 403, headers={"retry-after": "1"},
                      body={"message": "You have exceeded a secondary rate limit."})
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    method.upper(),
                    re.compile(path_regex),
                    status,
                    times,
                    {k.lower(): v for k, v in (headers or {}).items()},
                    body,
                )
            )

    def set_permission(self, full_name: str, user: str, permission: str) -> None:
        """Set ``user``'s collaborator permission: admin, maintain, write, triage, read, none."""
        if permission not in COLLABORATOR_PERMISSIONS:
            raise ValueError(f"permission must be one of {COLLABORATOR_PERMISSIONS}")
        with self._lock:
            self._permissions[(self._repo(full_name).full_name.lower(), user.lower())] = permission

    def add_issue(self, full_name: str, *, title: str = "An issue", user: str = "alice") -> int:
        """Open a plain issue (not a pull request); returns its number."""
        with self._lock:
            repo = self._repo(full_name)
            number = repo.next_number
            repo.next_number += 1
            repo.issues[number] = {"title": title, "user": user, "is_pull": False, "state": "open"}
            return number

    def open_pull_request(
        self,
        full_name: str,
        *,
        head: str,
        base: str | None = None,
        title: str = "Add a feature",
        body: str = "",
        user: str = "alice",
        draft: bool = False,
    ) -> dict[str, Any]:
        """Open a PR as a human would (same rules as the API); returns it as the API would."""
        with self._lock:
            repo = self._repo(full_name)
            pr = self._create_pull(
                repo,
                head=head,
                base=base or repo.default_branch,
                title=title,
                body=body,
                draft=draft,
                user=(user, "User"),
                maintainer_can_modify=False,
            )
            return self._render_pull(repo, pr, full=True)

    def add_comment(
        self, full_name: str, number: int, body: str, *, user: str = "alice"
    ) -> dict[str, Any]:
        """A comment by a human on issue/PR ``number`` (e.g. a ``/generate-tests`` command)."""
        with self._lock:
            repo = self._repo(full_name)
            if number not in repo.issues:
                raise ValueError(f"no issue or pull request #{number} in {full_name}")
            return self._create_comment(repo, number, body, (user, "User"))

    # ------------------------------------------------------------------ read helpers

    def calls_matching(self, method: str, path_regex: str) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if (method == "*" or c.method == method.upper()) and re.search(path_regex, c.path)
            ]

    def check_runs_for(self, full_name: str, head_sha: str) -> list[dict[str, Any]]:
        """Every check run on ``head_sha`` (oldest first), shaped like the API returns them."""
        with self._lock:
            repo = self._repo(full_name)
            branches = self._branches(repo)
            return [
                self._render_check_run(cr, branches)
                for cr in sorted(self._check_runs.values(), key=lambda c: c["id"])
                if cr["_repo"] == repo.full_name and cr["head_sha"] == head_sha
            ]

    def check_run(self, check_run_id: int) -> dict[str, Any]:
        with self._lock:
            cr = self._check_runs[check_run_id]
            return self._render_check_run(cr, self._branches(self._repo(cr["_repo"])))

    def annotations_for(self, check_run_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._annotations.get(check_run_id, []))

    def pulls_for(self, full_name: str) -> list[dict[str, Any]]:
        """Every pull request (any state, by number), shaped like ``GET .../pulls/{n}``."""
        with self._lock:
            repo = self._repo(full_name)
            return [
                self._render_pull(repo, pr, full=True)
                for _, pr in sorted(self._pulls[repo.full_name.lower()].items())
            ]

    def comments_for(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            repo = self._repo(full_name)
            return [
                self._render_comment(c)
                for c in sorted(self._comments.values(), key=lambda c: c["id"])
                if c["_repo"] == repo.full_name and c["_number"] == number
            ]

    def reviews_for(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """Reviews on pull request ``number`` (oldest first), shaped like the API returns them."""
        with self._lock:
            repo = self._repo(full_name)
            return [
                self._render_review(r)
                for r in sorted(self._reviews.values(), key=lambda r: r["id"])
                if r["_repo"] == repo.full_name and r["_number"] == number
            ]

    def review_comments_for(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """Review (diff) comments on pull request ``number``, oldest first."""
        with self._lock:
            repo = self._repo(full_name)
            return [
                self._render_review_comment(c)
                for c in sorted(self._review_comments.values(), key=lambda c: c["id"])
                if c["_repo"] == repo.full_name and c["_number"] == number
            ]

    def reactions_for(
        self,
        full_name: str,
        *,
        comment_id: int | None = None,
        issue_number: int | None = None,
    ) -> list[dict[str, Any]]:
        """Reactions in ``full_name``, optionally only on one comment or one issue/PR."""
        with self._lock:
            repo = self._repo(full_name)
            out = []
            for r in self._reactions:
                if r["_repo"] != repo.full_name:
                    continue
                if comment_id is not None and r["_subject"] != ("comment", comment_id):
                    continue
                if issue_number is not None and r["_subject"] != ("issue", issue_number):
                    continue
                out.append({k: copy.deepcopy(v) for k, v in r.items() if not k.startswith("_")})
            return out

    # ------------------------------------------------------------------ internals: git

    def _git_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self._home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "GIT_AUTHOR_NAME": "Fake GitHub",
            "GIT_AUTHOR_EMAIL": "noreply@github.invalid",
            "GIT_COMMITTER_NAME": "Fake GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.invalid",
        }
        env.update(extra or {})
        return env

    def _git(
        self,
        repo: Path | None,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        cmd = ["git"] + (["--git-dir", str(repo)] if repo is not None else []) + list(args)
        proc = subprocess.run(
            cmd, input=input, capture_output=True, env=self._git_env(env), check=False
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode(errors='replace')}")
        return proc

    def _resolve_commit(self, repo: _Repo, ref: str) -> str | None:
        if not ref or ref.startswith("-") or any(c in ref for c in "\0\n "):
            return None
        proc = self._git(
            repo.path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False
        )
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip() or None

    def _branches(self, repo: _Repo) -> dict[str, str]:
        out = self._git(
            repo.path, "for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/heads"
        ).stdout.decode()
        return dict(line.rsplit(" ", 1) for line in out.splitlines() if line)

    def _refs(self, repo: _Repo) -> dict[str, str]:
        out = self._git(repo.path, "for-each-ref", "--format=%(refname) %(objectname)").stdout
        return dict(line.rsplit(" ", 1) for line in out.decode().splitlines() if line)

    # ------------------------------------------------------------------ internals: state

    def _repo(self, full_name: str) -> _Repo:
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"no repository {full_name} in the fake") from None

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _mint_token(
        self,
        inst: _Installation,
        permissions: dict[str, str],
        repositories: frozenset[str] | None,
        ttl: timedelta | None,
    ) -> _Token:
        value = "ghs_" + "".join(
            secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
            for _ in range(36)
        )
        tok = _Token(value, inst.id, _now() + (ttl or self.token_ttl), permissions, repositories)
        self._tokens[value] = tok
        return tok

    def _bot_login(self) -> str:
        return f"{self.app_slug}[bot]"

    def _user(self, login: str, type_: str = "User") -> dict[str, Any]:
        return user_object(login, type=type_, api_url=self.url, web_url=self.url)

    def _app_object(self) -> dict[str, Any]:
        return {
            "id": self.app_id,
            "slug": self.app_slug,
            "node_id": node_id("A", self.app_id),
            "client_id": f"Iv1.{self.app_id:016x}",
            "owner": self._user("tandem-dev", "Organization"),
            "name": self.app_name,
            "description": "",
            "external_url": f"{self.url}/apps/{self.app_slug}",
            "html_url": f"{self.url}/apps/{self.app_slug}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "permissions": dict(DEFAULT_PERMISSIONS),
            "events": ["check_run", "issue_comment", "pull_request"],
        }

    def _repo_object(self, repo: _Repo) -> dict[str, Any]:
        return repository_object(
            repo.full_name,
            clone_url=f"{self.url}/git/{repo.full_name}.git",
            default_branch=repo.default_branch,
            private=repo.private,
            api_url=self.url,
            web_url=self.url,
        )

    # ------------------------------------------------------------------ HTTP plumbing

    def _build_routes(self) -> list[_Route]:
        table: dict[str, tuple[Callable[[_Ctx], _Reply], tuple[tuple[str, str], ...], str]] = {
            "POST /app/installations/{installation_id}/access_tokens": (
                self._h_access_token,
                (),
                "Installation",
            ),
            "GET /repos/{owner}/{repo}": (self._h_get_repo, (("metadata", "read"),), "Repository"),
            "GET /repos/{owner}/{repo}/installation": (
                self._h_repo_installation,
                (),
                "Installation",
            ),
            "POST /repos/{owner}/{repo}/check-runs": (
                self._h_create_check_run,
                (("checks", "write"),),
                "CheckRun",
            ),
            "GET /repos/{owner}/{repo}/check-runs/{check_run_id}": (
                self._h_get_check_run,
                (("checks", "read"),),
                "CheckRun",
            ),
            "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}": (
                self._h_update_check_run,
                (("checks", "write"),),
                "CheckRun",
            ),
            "GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations": (
                self._h_list_annotations,
                (("checks", "read"),),
                "CheckRun",
            ),
            "GET /repos/{owner}/{repo}/commits/{ref}/check-runs": (
                self._h_list_check_runs_for_ref,
                (("checks", "read"),),
                "CheckRun",
            ),
            "GET /repos/{owner}/{repo}/contents/{path}": (
                self._h_get_contents,
                (("contents", "read"),),
                "Content",
            ),
            "GET /repos/{owner}/{repo}/pulls": (
                self._h_list_pulls,
                (("pull_requests", "read"),),
                "PullRequest",
            ),
            "POST /repos/{owner}/{repo}/pulls": (
                self._h_create_pull,
                (("pull_requests", "write"),),
                "PullRequest",
            ),
            "GET /repos/{owner}/{repo}/pulls/{pull_number}": (
                self._h_get_pull,
                (("pull_requests", "read"),),
                "PullRequest",
            ),
            "PATCH /repos/{owner}/{repo}/pulls/{pull_number}": (
                self._h_update_pull,
                (("pull_requests", "write"),),
                "PullRequest",
            ),
            "GET /repos/{owner}/{repo}/pulls/{pull_number}/comments": (
                self._h_list_review_comments,
                (("pull_requests", "read"),),
                "PullRequestReviewComment",
            ),
            "POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews": (
                self._h_create_review,
                (("pull_requests", "write"),),
                "PullRequestReview",
            ),
            "GET /repos/{owner}/{repo}/issues/{issue_number}/comments": (
                self._h_list_comments,
                (("issues", "read"), ("pull_requests", "read")),
                "IssueComment",
            ),
            "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": (
                self._h_create_comment,
                (("issues", "write"), ("pull_requests", "write")),
                "IssueComment",
            ),
            "GET /repos/{owner}/{repo}/issues/comments/{comment_id}": (
                self._h_get_comment,
                (("issues", "read"), ("pull_requests", "read")),
                "IssueComment",
            ),
            "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": (
                self._h_update_comment,
                (("issues", "write"), ("pull_requests", "write")),
                "IssueComment",
            ),
            "GET /repos/{owner}/{repo}/collaborators/{username}/permission": (
                self._h_collaborator_permission,
                (("metadata", "read"),),
                "Collaborator",
            ),
            "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": (
                self._h_react_comment,
                (("issues", "write"), ("pull_requests", "write")),
                "Reaction",
            ),
            "POST /repos/{owner}/{repo}/issues/{issue_number}/reactions": (
                self._h_react_issue,
                (("issues", "write"), ("pull_requests", "write")),
                "Reaction",
            ),
        }
        missing = set(table) ^ set(self._ops)
        if missing:
            raise RuntimeError(f"openapi_ops.json and the fake disagree on operations: {missing}")
        routes = []
        for key, (handler, perms, resource) in table.items():
            method, template = key.split(" ", 1)
            # {path} of the contents API spans segments ("x-multi-segment" in the spec).
            pattern = re.sub(
                r"\{(\w+)\}",
                lambda m: f"(?P<{m.group(1)}>{'.*' if m.group(1) == 'path' else '[^/]+'})",
                re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
            )
            routes.append(_Route(key, method, re.compile(pattern + "/?"), handler, perms, resource))
        # Literal segments win over parameters (like any router).
        routes.sort(key=lambda r: r.key.count("{"))
        return routes

    def _match(self, method: str, raw_path: str) -> tuple[_Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method != method:
                continue
            m = route.regex.fullmatch(raw_path)
            if m:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in ("*", method) and fault.pattern.search(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _meter_for(self, request: web.Request) -> tuple[str, int]:
        """Which rate-limit bucket a request counts against (per token, like GitHub)."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        value = value.strip()
        with self._lock:
            if scheme.lower() in ("token", "bearer") and value in self._tokens:
                return value, RATE_LIMIT
        if scheme.lower() == "bearer" and value.count(".") == 2:
            return "app", RATE_LIMIT
        return "anonymous", 60

    def _rate_headers(self, bucket: str, limit: int) -> dict[str, str]:
        with self._lock:
            used = self._rate_used.get(bucket, 0) + 1
            self._rate_used[bucket] = used
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(limit - used, 0)),
            "x-ratelimit-reset": str(self._rate_reset),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
        }

    @staticmethod
    def _request_id() -> str:
        return ":".join(secrets.token_hex(n).upper() for n in (2, 3, 3, 4, 4))

    def _respond(
        self,
        status: int,
        body: Any,
        headers: Mapping[str, str],
        bucket: str,
        limit: int,
    ) -> web.Response:
        out = {
            "server": "github.com",
            "x-github-request-id": self._request_id(),
            "x-github-media-type": "github.v3; format=json",
            "x-github-api-version-selected": "2022-11-28",
            **self._rate_headers(bucket, limit),
        }
        out.update(headers)
        if status == 204 or body is None:
            return web.Response(status=status, headers=out)
        out.setdefault("content-type", "application/json; charset=utf-8")
        return web.Response(status=status, body=json.dumps(body).encode(), headers=out)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        arrived = time.time()
        if request.path.startswith("/git/"):
            return await self._git_http(request)
        raw = await request.read()
        method = request.method.upper()
        path = request.path
        query = {k: request.query.getone(k) for k in request.query}
        parsed: Any = None
        parse_error = False
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                parse_error = True
        bucket, limit = self._meter_for(request)
        status: int
        body: Any
        headers: dict[str, str] = {}
        fault = self._take_fault(method, path)
        try:
            if fault is not None:
                status = fault.status
                body = fault.body
                if body is None and status != 204:
                    body = {"message": HTTPStatus(status).phrase, "documentation_url": DOCS_URL}
                headers = dict(fault.headers)
            else:
                reply = self._serve(request, method, query, parsed, parse_error, arrived)
                status, body, headers = reply.status, reply.body, reply.headers
        except ApiError as err:
            status, body, headers = err.status, err.body(), err.headers
        except Exception as exc:  # a bug in the fake: make it loud, but answer like GitHub
            status, body = 500, {"message": f"fake GitHub error: {exc!r}"}
            import traceback

            traceback.print_exc()
        with self._lock:
            self.calls.append(Call(method, path, query, parsed, status))
        return self._respond(status, body, headers, bucket, limit)

    def _serve(
        self,
        request: web.Request,
        method: str,
        query: dict[str, str],
        parsed: Any,
        parse_error: bool,
        arrived: float,
    ) -> _Reply:
        matched = self._match(method, request.rel_url.raw_path)
        if matched is None:
            raise ApiError(404, "Not Found")
        route, params = matched
        op = self._ops[route.key]
        doc = op.get("documentation_url")
        for p in op["parameters"]:
            if (
                p["in"] == "path"
                and p.get("schema", {}).get("type") == "integer"
                and not params.get(p["name"], "").isdigit()
            ):
                raise ApiError(404, "Not Found", documentation_url=doc)
        with self._lock:
            token: _Token | None = None
            repo: _Repo | None = None
            if route.key.startswith("POST /app/"):
                self._verify_app_jwt(request, doc)
            elif route.key == "GET /repos/{owner}/{repo}/installation":
                # Authenticated as the App itself (JWT), like the /app/ endpoints.
                self._verify_app_jwt(request, doc)
                repo = self._repos.get(f"{params['owner']}/{params['repo']}".lower())
                if repo is None:
                    raise ApiError(404, "Not Found", documentation_url=doc)
            else:
                token = self._authenticate(request, doc)
                repo = self._authorize_repo(token, params["owner"], params["repo"], route, doc)
            if parse_error:
                raise ApiError(400, "Problems parsing JSON", documentation_url=doc)
            self._validate_query(op, query, doc)
            body = parsed
            if op.get("requestBody") is not None:
                if body is None:
                    body = {}
                self._validate_body(route, op, body, doc)
            ctx = _Ctx(request, route.key, op, params, query, body, token, repo, arrived)
            return route.handler(ctx)

    # ------------------------------------------------------------------ auth

    def _verify_app_jwt(self, request: web.Request, doc: str | None) -> None:
        def fail(message: str) -> ApiError:
            return ApiError(401, message, documentation_url=doc)

        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if not auth:
            raise fail("A JSON web token could not be decoded")
        if scheme.lower() != "bearer" or not value.strip():
            raise fail("A JSON web token could not be decoded")
        token = value.strip()
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise fail("A JSON web token could not be decoded")
            claims = jwt.decode(
                token,
                self.public_key_pem,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                    "verify_aud": False,
                },
            )
        except jwt.PyJWTError:
            raise fail("A JSON web token could not be decoded") from None
        now = time.time()
        iss = claims.get("iss")
        if isinstance(iss, bool) or not isinstance(iss, int | str) or not str(iss).isdigit():
            raise fail("'Issuer' claim ('iss') must be an Integer")
        if int(iss) != self.app_id:
            raise fail("Integration not found")
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, int | float) or iat > now + JWT_CLOCK_SKEW:
            raise fail(
                "'Issued at' claim ('iat') must be an Integer representing the time "
                "that the assertion was issued."
            )
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= now:
            raise fail(
                "'Expiration time' claim ('exp') must be a numeric value representing "
                "the future time at which the assertion expires."
            )
        if exp > now + JWT_MAX_LIFETIME + JWT_CLOCK_SKEW or exp - iat > (
            JWT_MAX_LIFETIME + JWT_CLOCK_SKEW
        ):
            raise fail("'Expiration time' claim ('exp') is too far in the future")

    def _authenticate(self, request: web.Request, doc: str | None) -> _Token:
        auth = request.headers.get("Authorization", "")
        if not auth:
            raise ApiError(401, "Requires authentication", documentation_url=doc)
        scheme, _, value = auth.partition(" ")
        tok = self._tokens.get(value.strip()) if scheme.lower() in ("token", "bearer") else None
        if tok is None or tok.expires_at <= _now():
            raise ApiError(401, "Bad credentials", documentation_url=doc)
        return tok

    def _token_can_see(self, tok: _Token, repo: _Repo | None) -> bool:
        return (
            repo is not None
            and repo.installation_id == tok.installation_id
            and (tok.repositories is None or repo.full_name.lower() in tok.repositories)
        )

    def _authorize_repo(
        self, tok: _Token, owner: str, name: str, route: _Route, doc: str | None
    ) -> _Repo:
        repo = self._repos.get(f"{owner}/{name}".lower())
        if repo is None or not self._token_can_see(tok, repo):
            raise ApiError(404, "Not Found", documentation_url=doc)
        if route.permissions and not any(
            _LEVELS.get(tok.permissions.get(perm, ""), 0) >= _LEVELS[level]
            for perm, level in route.permissions
        ):
            wanted = ", ".join(f"{p}={lvl}" for p, lvl in route.permissions)
            raise ApiError(
                403,
                "Resource not accessible by integration",
                headers={"x-accepted-github-permissions": wanted},
                documentation_url=doc,
            )
        return repo

    # ------------------------------------------------------------------ validation

    def _validate_query(self, op: dict[str, Any], query: dict[str, str], doc: str | None) -> None:
        for p in op["parameters"]:
            if p["in"] != "query" or p["name"] not in query:
                continue
            enum = p.get("schema", {}).get("enum")
            value = query[p["name"]]
            if enum and value not in enum:
                msg = f"For '{p['name']}', {json.dumps(value)} is not a member of enum."
                raise ApiError(
                    422,
                    f"Invalid request.\n\n{msg}",
                    errors=[{"field": p["name"], "code": "invalid", "message": msg}],
                    documentation_url=doc,
                )

    def _validate_body(self, route: _Route, op: dict[str, Any], body: Any, doc: str | None) -> None:
        validator = self._validators[route.key]
        errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.path])
        if not errors:
            return
        messages: list[str] = []
        details: list[dict[str, Any]] = []
        for error in errors:
            msg, detail = _describe(error)
            if msg not in messages:
                messages.append(msg)
                details.append({"resource": route.resource, **detail, "message": msg})
        raise ApiError(
            422,
            "Invalid request.\n\n" + "\n".join(messages),
            errors=details,
            documentation_url=doc,
        )

    @staticmethod
    def _int_query(query: Mapping[str, str], name: str, default: int, maximum: int) -> int:
        try:
            value = int(query.get(name, default))
        except ValueError:
            value = default
        return max(1, min(value, maximum))

    def _paginate(
        self, ctx: _Ctx, items: list[Any], default_per_page: int = 30
    ) -> tuple[list[Any], dict[str, str]]:
        per_page = self._int_query(ctx.query, "per_page", default_per_page, 100)
        page = self._int_query(ctx.query, "page", 1, 10**6)
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(n: int, rel: str) -> str:
            q = dict(ctx.query, per_page=str(per_page), page=str(n))
            return f'<{self.url}{ctx.request.path}?{urlencode(q)}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return chunk, ({"link": ", ".join(links)} if links else {})

    # ------------------------------------------------------------------ handlers: app

    def _h_access_token(self, ctx: _Ctx) -> _Reply:
        inst = self._installations.get(int(ctx.params["installation_id"]))
        if inst is None:
            raise ApiError(404, "Not Found", documentation_url=ctx.op["documentation_url"])
        body = ctx.body or {}
        repos: frozenset[str] | None = None
        mine = {
            r.full_name.lower(): r for r in self._repos.values() if r.installation_id == inst.id
        }
        if "repositories" in body or "repository_ids" in body:
            by_name = {r.full_name.split("/", 1)[1].lower(): key for key, r in mine.items()}
            wanted = {by_name.get(n.lower(), f"?{n}") for n in body.get("repositories", [])}
            by_id = {r.id: key for key, r in mine.items()}
            for rid in body.get("repository_ids", []):
                wanted.add(by_id.get(rid, f"#{rid}"))
            if not wanted <= set(mine):
                raise ApiError(
                    422,
                    "There is at least one repository that does not exist or is not "
                    "accessible to the parent installation.",
                )
            repos = frozenset(wanted)
        permissions = dict(inst.permissions)
        if body.get("permissions"):
            for perm, level in body["permissions"].items():
                have = _LEVELS.get(inst.permissions.get(perm, ""), 0)
                if _LEVELS.get(level, 99) > have:
                    raise ApiError(
                        422, "The permissions requested are not granted to this installation."
                    )
            permissions = dict(body["permissions"])
        tok = self._mint_token(inst, permissions, repos, None)
        self.tokens_issued += 1
        out: dict[str, Any] = {
            "token": tok.token,
            "expires_at": _iso(tok.expires_at),
            "permissions": permissions,
            "repository_selection": "all" if repos is None else "selected",
        }
        if repos is not None:
            out["repositories"] = [self._repo_object(mine[k]) for k in sorted(repos)]
        return _Reply(201, out)

    def _h_get_repo(self, ctx: _Ctx) -> _Reply:
        return _Reply(200, self._repo_object(ctx.the_repo))

    def _h_repo_installation(self, ctx: _Ctx) -> _Reply:
        inst = self._installations[ctx.the_repo.installation_id]
        account_type = "Organization"
        return _Reply(
            200,
            {
                "id": inst.id,
                "account": self._user(inst.account, account_type),
                "access_tokens_url": f"{self.url}/app/installations/{inst.id}/access_tokens",
                "repositories_url": f"{self.url}/installation/repositories",
                "html_url": f"{self.url}/settings/installations/{inst.id}",
                "app_id": self.app_id,
                "app_slug": self.app_slug,
                "target_id": stable_id("account", inst.account),
                "target_type": account_type,
                "permissions": dict(inst.permissions),
                "events": ["check_run", "check_suite", "issue_comment", "pull_request"],
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
                "single_file_name": None,
                "repository_selection": "all",
                "suspended_at": None,
                "suspended_by": None,
            },
        )

    # ------------------------------------------------------------------ handlers: checks

    def _check_run_rules(self, body: dict[str, Any], *, doc: str | None) -> None:
        """What GitHub enforces beyond (or in case the fixture loses) the JSON schema."""

        def invalid(msg: str, field_name: str) -> ApiError:
            return ApiError(
                422,
                f"Invalid request.\n\n{msg}",
                errors=[
                    {"resource": "CheckRun", "field": field_name, "code": "invalid", "message": msg}
                ],
                documentation_url=doc,
            )

        if "conclusion" not in body and (
            body.get("status") == "completed" or "completed_at" in body
        ):
            raise ApiError(
                422,
                'Invalid request.\n\n"conclusion" wasn\'t supplied.',
                errors=[{"resource": "CheckRun", "field": "conclusion", "code": "missing_field"}],
                documentation_url=doc,
            )
        if body.get("conclusion") == "stale":
            raise invalid("You cannot set a check run conclusion to stale.", "conclusion")
        output = body.get("output")
        if output is None:
            return
        for key in ("title", "summary"):
            if key not in output:
                raise ApiError(
                    422,
                    f'Invalid request.\n\n"{key}" wasn\'t supplied.',
                    errors=[
                        {"resource": "CheckRun", "field": f"output.{key}", "code": "missing_field"}
                    ],
                    documentation_url=doc,
                )
        for key in ("summary", "text"):
            value = output.get(key)
            if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS:
                raise invalid(
                    f"For 'properties/output/properties/{key}', only {MAX_OUTPUT_CHARS} "
                    f"characters are allowed; {len(value)} were supplied.",
                    f"output.{key}",
                )
        annotations = output.get("annotations") or []
        if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
            raise invalid(
                f"For 'properties/output/properties/annotations', only "
                f"{MAX_ANNOTATIONS_PER_REQUEST} items are allowed; "
                f"{len(annotations)} were supplied.",
                "output.annotations",
            )
        for ann in annotations:
            if ("start_column" in ann or "end_column" in ann) and ann["start_line"] != ann[
                "end_line"
            ]:
                raise invalid(
                    "Annotations only support start_column and end_column on the same line.",
                    "output.annotations",
                )
            if ann["end_line"] < ann["start_line"] or ann["start_line"] < 1:
                raise invalid(
                    "Annotation lines start at 1 and end_line must not be before start_line.",
                    "output.annotations",
                )
            if len(ann["message"].encode()) > MAX_ANNOTATION_BYTES:
                raise invalid("Annotation message is larger than 64 KB.", "output.annotations")
            if len(ann.get("raw_details", "").encode()) > MAX_ANNOTATION_BYTES:
                raise invalid("Annotation raw_details is larger than 64 KB.", "output.annotations")
            if len(ann.get("title", "")) > MAX_ANNOTATION_TITLE_CHARS:
                raise invalid(
                    "Annotation title is longer than 255 characters.", "output.annotations"
                )

    def _apply_check_run(self, cr: dict[str, Any], body: dict[str, Any]) -> None:
        now = _iso(_now())
        for key in ("name", "details_url", "external_id", "started_at"):
            if key in body:
                cr[key] = body[key]
        if "status" in body:
            cr["status"] = body["status"]
            if body["status"] != "completed" and "conclusion" not in body:
                cr["conclusion"] = None
                cr["completed_at"] = None
        if "conclusion" in body:
            cr["conclusion"] = body["conclusion"]
            cr["status"] = "completed"
            cr["completed_at"] = body.get("completed_at") or cr.get("completed_at") or now
        elif "completed_at" in body:
            cr["completed_at"] = body["completed_at"]
        output = body.get("output")
        if output is not None:
            cr["output"]["title"] = output.get("title", cr["output"]["title"])
            cr["output"]["summary"] = output.get("summary", cr["output"]["summary"])
            if "text" in output:
                cr["output"]["text"] = output["text"]
            if "images" in output:
                cr["output"]["images"] = copy.deepcopy(output["images"])
            anns = self._annotations.setdefault(cr["id"], [])
            web = f"{self.url}/{cr['_repo']}/blob/{cr['head_sha']}"
            for ann in output.get("annotations") or []:
                anns.append(
                    {
                        "path": ann["path"],
                        "blob_href": f"{web}/{ann['path']}",
                        "start_line": ann["start_line"],
                        "end_line": ann["end_line"],
                        "start_column": ann.get("start_column"),
                        "end_column": ann.get("end_column"),
                        "annotation_level": ann["annotation_level"],
                        "title": ann.get("title"),
                        "message": ann["message"],
                        "raw_details": ann.get("raw_details"),
                    }
                )
        if "actions" in body:
            cr["actions"] = copy.deepcopy(body["actions"])
        cr["_updated"] = now

    def _render_check_run(self, cr: dict[str, Any], branches: dict[str, str]) -> dict[str, Any]:
        full = cr["_repo"]
        api = f"{self.url}/repos/{full}"
        repo = self._repo(full)
        prs = []
        for pr in self._pulls[full.lower()].values():
            if pr["state"] != "open":
                continue
            head_sha = branches.get(pr["head_ref"], pr["head_sha"])
            if head_sha != cr["head_sha"]:
                continue
            base_sha = branches.get(pr["base_ref"], pr["base_sha"])
            mini_repo = {"id": repo.id, "url": api, "name": full.split("/", 1)[1]}
            prs.append(
                {
                    "id": pr["id"],
                    "number": pr["number"],
                    "url": f"{api}/pulls/{pr['number']}",
                    "head": {"ref": pr["head_ref"], "sha": head_sha, "repo": mini_repo},
                    "base": {"ref": pr["base_ref"], "sha": base_sha, "repo": mini_repo},
                }
            )
        cid = cr["id"]
        return {
            "id": cid,
            "node_id": node_id("CR", cid),
            "head_sha": cr["head_sha"],
            "external_id": cr["external_id"],
            "url": f"{api}/check-runs/{cid}",
            "html_url": f"{self.url}/{full}/runs/{cid}",
            "details_url": cr["details_url"],
            "status": cr["status"],
            "conclusion": cr["conclusion"],
            "started_at": cr["started_at"],
            "completed_at": cr["completed_at"],
            "output": {
                "title": cr["output"]["title"],
                "summary": cr["output"]["summary"],
                "text": cr["output"]["text"],
                "annotations_count": len(self._annotations.get(cid, [])),
                "annotations_url": f"{api}/check-runs/{cid}/annotations",
            },
            "name": cr["name"],
            "check_suite": {"id": cr["_suite"]},
            "app": self._app_object(),
            "pull_requests": prs,
        }

    def _find_check_run(self, ctx: _Ctx) -> dict[str, Any]:
        cr = self._check_runs.get(int(ctx.params["check_run_id"]))
        if cr is None or cr["_repo"] != ctx.the_repo.full_name:
            raise ApiError(404, "Not Found", documentation_url=ctx.op["documentation_url"])
        return cr

    def _h_create_check_run(self, ctx: _Ctx) -> _Reply:
        repo = ctx.the_repo
        body = ctx.body
        doc = ctx.op["documentation_url"]
        self._check_run_rules(body, doc=doc)
        sha = body["head_sha"]
        if not _SHA_RE.fullmatch(sha) or self._resolve_commit(repo, sha) != sha:
            raise ApiError(422, f"No commit found for SHA: {sha}", documentation_url=doc)
        suite = self._suites.setdefault((repo.full_name, sha), self._next_id())
        now = _iso(_now())
        cr: dict[str, Any] = {
            "id": self._next_id(),
            "_repo": repo.full_name,
            "_suite": suite,
            "head_sha": sha,
            "name": body["name"],
            "external_id": "",
            "details_url": f"{self.url}/apps/{self.app_slug}",
            "status": "queued",
            "conclusion": None,
            "started_at": now,
            "completed_at": None,
            "output": {"title": None, "summary": None, "text": None},
        }
        self._check_runs[cr["id"]] = cr
        self._apply_check_run(cr, body)
        return _Reply(201, self._render_check_run(cr, self._branches(repo)))

    def _h_get_check_run(self, ctx: _Ctx) -> _Reply:
        cr = self._find_check_run(ctx)
        return _Reply(200, self._render_check_run(cr, self._branches(ctx.the_repo)))

    def _h_update_check_run(self, ctx: _Ctx) -> _Reply:
        cr = self._find_check_run(ctx)
        self._check_run_rules(ctx.body, doc=ctx.op["documentation_url"])
        self._apply_check_run(cr, ctx.body)
        body = ctx.body if isinstance(ctx.body, dict) else {}
        if self.on_check_run_completed is not None and (
            body.get("status") == "completed" or "conclusion" in body
        ):
            self.on_check_run_completed(str(cr["head_sha"]), ctx.arrived, str(body["conclusion"]))
        return _Reply(200, self._render_check_run(cr, self._branches(ctx.the_repo)))

    def _h_list_annotations(self, ctx: _Ctx) -> _Reply:
        cr = self._find_check_run(ctx)
        chunk, headers = self._paginate(ctx, self._annotations.get(cr["id"], []))
        return _Reply(200, copy.deepcopy(chunk), headers)

    def _h_list_check_runs_for_ref(self, ctx: _Ctx) -> _Reply:
        repo = ctx.the_repo
        ref = ctx.params["ref"]
        sha = self._resolve_commit(repo, ref)
        if sha is None:
            raise ApiError(
                422,
                f"No commit found for SHA: {ref}",
                documentation_url=ctx.op["documentation_url"],
            )
        runs = [
            cr
            for cr in self._check_runs.values()
            if cr["_repo"] == repo.full_name and cr["head_sha"] == sha
        ]
        q = ctx.query
        if "check_name" in q:
            runs = [cr for cr in runs if cr["name"] == q["check_name"]]
        if "status" in q:
            runs = [cr for cr in runs if cr["status"] == q["status"]]
        if "app_id" in q and q["app_id"] != str(self.app_id):
            runs = []
        runs.sort(key=lambda cr: cr["id"], reverse=True)
        if q.get("filter", "latest") == "latest":
            seen: set[str] = set()
            latest = []
            for cr in runs:
                if cr["name"] not in seen:
                    seen.add(cr["name"])
                    latest.append(cr)
            runs = latest
        branches = self._branches(repo)
        chunk, headers = self._paginate(ctx, runs)
        return _Reply(
            200,
            {
                "total_count": len(runs),
                "check_runs": [self._render_check_run(cr, branches) for cr in chunk],
            },
            headers,
        )

    # ------------------------------------------------------------------ handlers: contents

    def _content_entry(
        self, repo: _Repo, ref: str, path: str, kind: str, sha: str, size: int
    ) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        url = f"{api}/contents/{path}?ref={ref}"
        git_url = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}"
        html = f"{self.url}/{repo.full_name}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
        return {
            "type": kind,
            "size": size,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": url,
            "git_url": git_url,
            "html_url": html,
            "download_url": (
                None if kind == "dir" else f"{self.url}/raw/{repo.full_name}/{ref}/{path}"
            ),
            "_links": {"self": url, "git": git_url, "html": html},
        }

    def _ls_tree(self, repo: _Repo, treeish: str, path: str | None) -> list[list[str]]:
        args = ["ls-tree", "-l", "-z", treeish]
        if path is not None:
            args += ["--", path]
        out = self._git(repo.path, *args, check=False)
        if out.returncode != 0:
            return []
        rows = []
        for entry in out.stdout.decode(errors="surrogateescape").split("\0"):
            if entry:
                meta, name = entry.split("\t", 1)
                rows.append([*meta.split(), name])
        return rows

    def _h_get_contents(self, ctx: _Ctx) -> _Reply:
        repo = ctx.the_repo
        doc = ctx.op["documentation_url"]
        path = ctx.params["path"].strip("/")
        ref = ctx.query.get("ref") or repo.default_branch
        if any(part in ("", ".", "..") for part in path.split("/")) and path:
            raise ApiError(404, "Not Found", documentation_url=doc)
        commit = self._resolve_commit(repo, ref)
        if commit is None:
            raise ApiError(404, f"No commit found for the ref {ref}", documentation_url=doc)
        kinds = {"blob": "file", "tree": "dir", "commit": "submodule"}
        if path:
            rows = self._ls_tree(repo, commit, path)
            if len(rows) != 1 or rows[0][4] != path:
                raise ApiError(404, "Not Found", documentation_url=doc)
            mode, otype, osha, size, _ = rows[0]
        else:
            mode, otype, osha, size = "040000", "tree", "", "-"
        if otype == "tree":
            listing = []
            for m, t, s, sz, name in self._ls_tree(
                repo, f"{commit}:{path}" if path else commit, None
            ):
                kind = "symlink" if m == "120000" else kinds.get(t, "file")
                full = f"{path}/{name}" if path else name
                listing.append(
                    self._content_entry(repo, ref, full, kind, s, 0 if sz == "-" else int(sz))
                )
            return _Reply(200, listing)
        entry = self._content_entry(repo, ref, path, "file", osha, int(size))
        if otype == "commit":
            entry["type"] = "submodule"
            return _Reply(200, entry)
        data = self._git(repo.path, "cat-file", "blob", osha).stdout
        if mode == "120000":
            entry["type"] = "symlink"
            entry["target"] = data.decode(errors="replace")
            return _Reply(200, entry)
        if len(data) > MAX_CONTENTS_INLINE_BYTES:
            entry["content"] = ""
            entry["encoding"] = "none"
        else:
            entry["content"] = base64.encodebytes(data).decode()  # wrapped like GitHub's
            entry["encoding"] = "base64"
        return _Reply(200, entry)

    # ------------------------------------------------------------------ handlers: pulls

    def _render_pull(self, repo: _Repo, pr: dict[str, Any], *, full: bool) -> dict[str, Any]:
        if pr["state"] == "open":
            branches = self._branches(repo)
            pr["head_sha"] = branches.get(pr["head_ref"], pr["head_sha"])
            pr["base_sha"] = branches.get(pr["base_ref"], pr["base_sha"])
        n = pr["number"]
        api = f"{self.url}/repos/{repo.full_name}"
        html = f"{self.url}/{repo.full_name}/pull/{n}"
        repo_obj = self._repo_object(repo)
        owner = self._user(repo.owner)

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {
                "label": f"{repo.owner}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": owner,
                "repo": repo_obj,
            }

        out: dict[str, Any] = {
            "url": f"{api}/pulls/{n}",
            "id": pr["id"],
            "node_id": node_id("PR", pr["id"]),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{n}",
            "commits_url": f"{api}/pulls/{n}/commits",
            "review_comments_url": f"{api}/pulls/{n}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{n}/comments",
            "statuses_url": f"{api}/statuses/{pr['head_sha']}",
            "number": n,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "user": self._user(*pr["user"]),
            "body": pr["body"],
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": pr["created_at"],
            "updated_at": pr["updated_at"],
            "closed_at": pr["closed_at"],
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": side(pr["head_ref"], pr["head_sha"]),
            "base": side(pr["base_ref"], pr["base_sha"]),
            "_links": {
                "self": {"href": f"{api}/pulls/{n}"},
                "html": {"href": html},
                "issue": {"href": f"{api}/issues/{n}"},
                "comments": {"href": f"{api}/issues/{n}/comments"},
                "review_comments": {"href": f"{api}/pulls/{n}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/pulls/{n}/commits"},
                "statuses": {"href": f"{api}/statuses/{pr['head_sha']}"},
            },
            "author_association": "OWNER" if pr["user"][0] == repo.owner else "CONTRIBUTOR",
            "auto_merge": None,
            "draft": pr["draft"],
        }
        if full:
            numstat = self._git(
                repo.path, "diff", "--numstat", f"{pr['base_sha']}...{pr['head_sha']}", check=False
            ).stdout.decode()
            adds = dels = files = 0
            for line in numstat.splitlines():
                a, d, _ = line.split("\t", 2)
                files += 1
                adds += int(a) if a.isdigit() else 0
                dels += int(d) if d.isdigit() else 0
            commits = self._git(
                repo.path, "rev-list", "--count", f"{pr['base_sha']}..{pr['head_sha']}", check=False
            ).stdout.decode()
            out.update(
                {
                    "merged": False,
                    "mergeable": None,
                    "rebaseable": None,
                    "mergeable_state": "unknown",
                    "merged_by": None,
                    "comments": sum(
                        1
                        for c in self._comments.values()
                        if c["_repo"] == repo.full_name and c["_number"] == n
                    ),
                    "review_comments": 0,
                    "maintainer_can_modify": pr["maintainer_can_modify"],
                    "commits": int(commits.strip() or 0),
                    "additions": adds,
                    "deletions": dels,
                    "changed_files": files,
                }
            )
        return out

    def _create_pull(
        self,
        repo: _Repo,
        *,
        head: str,
        base: str,
        title: str | None,
        body: str | None,
        draft: bool,
        user: tuple[str, str],
        maintainer_can_modify: bool,
        issue: int | None = None,
    ) -> dict[str, Any]:
        head_owner, sep, head_ref = head.partition(":")
        if not sep:
            head_owner, head_ref = repo.owner, head
        if head_owner.lower() != repo.owner.lower():
            # Cross-repository (fork) pull requests are not modelled.
            raise _validation_failed("PullRequest", field="head", code="invalid")
        if issue is not None:
            existing = repo.issues.get(issue)
            if existing is None or existing["is_pull"]:
                raise _validation_failed("PullRequest", field="issue", code="invalid")
            title = existing["title"]
        if not title:
            raise _validation_failed("PullRequest", field="title", code="missing_field")
        branches = self._branches(repo)
        if head_ref not in branches:
            raise _validation_failed("PullRequest", field="head", code="invalid")
        if base not in branches:
            raise _validation_failed("PullRequest", field="base", code="invalid")
        for pr in self._pulls[repo.full_name.lower()].values():
            if pr["state"] == "open" and pr["head_ref"] == head_ref and pr["base_ref"] == base:
                raise _validation_failed(
                    "PullRequest",
                    code="custom",
                    message=f"A pull request already exists for {repo.owner}:{head_ref}.",
                )
        ahead = self._git(
            repo.path, "rev-list", "--count", f"{branches[base]}..{branches[head_ref]}"
        ).stdout.decode()
        if int(ahead.strip() or 0) == 0:
            raise _validation_failed(
                "PullRequest", code="custom", message=f"No commits between {base} and {head_ref}"
            )
        if issue is None:
            number = repo.next_number
            repo.next_number += 1
        else:
            number = issue
        repo.issues[number] = {"title": title, "user": user[0], "is_pull": True, "state": "open"}
        now = _iso(_now())
        pr = {
            "id": self._next_id(),
            "number": number,
            "state": "open",
            "title": title,
            "body": body,
            "draft": draft,
            "user": user,
            "head_ref": head_ref,
            "base_ref": base,
            "head_sha": branches[head_ref],
            "base_sha": branches[base],
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "maintainer_can_modify": maintainer_can_modify,
        }
        self._pulls[repo.full_name.lower()][number] = pr
        return pr

    def _find_pull(self, ctx: _Ctx) -> dict[str, Any]:
        pr = self._pulls[ctx.the_repo.full_name.lower()].get(int(ctx.params["pull_number"]))
        if pr is None:
            raise ApiError(404, "Not Found", documentation_url=ctx.op["documentation_url"])
        return pr

    def _h_create_pull(self, ctx: _Ctx) -> _Reply:
        body = ctx.body
        pr = self._create_pull(
            ctx.the_repo,
            head=body["head"],
            base=body["base"],
            title=body.get("title"),
            body=body.get("body"),
            draft=bool(body.get("draft", False)),
            user=(self._bot_login(), "Bot"),
            maintainer_can_modify=bool(body.get("maintainer_can_modify", False)),
            issue=body.get("issue"),
        )
        return _Reply(201, self._render_pull(ctx.the_repo, pr, full=True))

    def _h_get_pull(self, ctx: _Ctx) -> _Reply:
        return _Reply(200, self._render_pull(ctx.the_repo, self._find_pull(ctx), full=True))

    def _h_update_pull(self, ctx: _Ctx) -> _Reply:
        repo = ctx.the_repo
        pr = self._find_pull(ctx)
        body = ctx.body
        branches = self._branches(repo)
        if "base" in body and body["base"] not in branches:
            raise _validation_failed("PullRequest", field="base", code="invalid")
        if body.get("state") == "open" and pr["state"] == "closed":
            if pr["head_ref"] not in branches:
                raise _validation_failed("PullRequest", field="state", code="invalid")
            for other in self._pulls[repo.full_name.lower()].values():
                if (
                    other is not pr
                    and other["state"] == "open"
                    and other["head_ref"] == pr["head_ref"]
                    and other["base_ref"] == body.get("base", pr["base_ref"])
                ):
                    raise _validation_failed(
                        "PullRequest",
                        code="custom",
                        message=f"A pull request already exists for {repo.owner}:{pr['head_ref']}.",
                    )
        for key in ("title", "body", "maintainer_can_modify"):
            if key in body:
                pr[key] = body[key]
        if "base" in body:
            pr["base_ref"] = body["base"]
        if "state" in body and body["state"] != pr["state"]:
            pr["state"] = body["state"]
            pr["closed_at"] = _iso(_now()) if body["state"] == "closed" else None
            repo.issues[pr["number"]]["state"] = body["state"]
        pr["updated_at"] = _iso(_now())
        return _Reply(200, self._render_pull(repo, pr, full=True))

    def _h_list_pulls(self, ctx: _Ctx) -> _Reply:
        repo = ctx.the_repo
        q = ctx.query
        state = q.get("state", "open")
        pulls = list(self._pulls[repo.full_name.lower()].values())
        if state != "all":
            pulls = [p for p in pulls if p["state"] == state]
        if "head" in q:
            owner, sep, ref = q["head"].partition(":")
            if not sep:
                owner, ref = repo.owner, q["head"]
            pulls = [
                p for p in pulls if owner.lower() == repo.owner.lower() and p["head_ref"] == ref
            ]
        if "base" in q:
            pulls = [p for p in pulls if p["base_ref"] == q["base"]]
        sort_key = {"updated": "updated_at"}.get(q.get("sort", "created"), "created_at")
        default_dir = "desc" if q.get("sort", "created") in ("created", "updated") else "asc"
        reverse = q.get("direction", default_dir) == "desc"
        pulls.sort(key=lambda p: (p[sort_key], p["number"]), reverse=reverse)
        chunk, headers = self._paginate(ctx, pulls)
        return _Reply(200, [self._render_pull(repo, p, full=False) for p in chunk], headers)

    # ------------------------------------------------------------------ handlers: comments

    def _render_comment(self, c: dict[str, Any]) -> dict[str, Any]:
        full, number, cid = c["_repo"], c["_number"], c["id"]
        api = f"{self.url}/repos/{full}"
        repo = self._repo(full)
        kind = "pull" if repo.issues.get(number, {}).get("is_pull") else "issues"
        counts = {
            k: 0 for k in ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
        }
        for r in self._reactions:
            if r["_repo"] == full and r["_subject"] == ("comment", cid):
                counts[r["content"]] += 1
        login, type_ = c["_user"]
        return {
            "id": cid,
            "node_id": node_id("IC", cid),
            "url": f"{api}/issues/comments/{cid}",
            "html_url": f"{self.url}/{full}/{kind}/{number}#issuecomment-{cid}",
            "body": c["body"],
            "user": self._user(login, type_),
            "created_at": c["created_at"],
            "updated_at": c["updated_at"],
            "issue_url": f"{api}/issues/{number}",
            "author_association": c["author_association"],
            "performed_via_github_app": self._app_object() if type_ == "Bot" else None,
            "reactions": {
                "url": f"{api}/issues/comments/{cid}/reactions",
                "total_count": sum(counts.values()),
                **counts,
            },
        }

    def _check_comment_body(self, body: str, doc: str | None) -> None:
        if len(body) > MAX_COMMENT_CHARS:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "IssueComment",
                        "code": "custom",
                        "field": "body",
                        "message": f"body is too long (maximum is {MAX_COMMENT_CHARS} characters)",
                    }
                ],
                documentation_url=doc,
            )

    def _create_comment(
        self, repo: _Repo, number: int, body: str, user: tuple[str, str]
    ) -> dict[str, Any]:
        self._check_comment_body(body, None)
        now = _iso(_now())
        login = user[0]
        perm = self._permission_of(repo, login)
        association = (
            "OWNER"
            if login.lower() == repo.owner.lower()
            else "COLLABORATOR"
            if perm in ("admin", "maintain", "write")
            else "NONE"
        )
        c: dict[str, Any] = {
            "id": self._next_id(),
            "_repo": repo.full_name,
            "_number": number,
            "_user": user,
            "body": body,
            "created_at": now,
            "updated_at": now,
            "author_association": association,
        }
        self._comments[c["id"]] = c
        return self._render_comment(c)

    def _find_issue(self, ctx: _Ctx) -> int:
        number = int(ctx.params["issue_number"])
        if number not in ctx.the_repo.issues:
            raise ApiError(404, "Not Found", documentation_url=ctx.op["documentation_url"])
        return number

    def _find_comment(self, ctx: _Ctx) -> dict[str, Any]:
        c = self._comments.get(int(ctx.params["comment_id"]))
        if c is None or c["_repo"] != ctx.the_repo.full_name:
            raise ApiError(404, "Not Found", documentation_url=ctx.op["documentation_url"])
        return c

    def _h_create_comment(self, ctx: _Ctx) -> _Reply:
        number = self._find_issue(ctx)
        self._check_comment_body(ctx.body["body"], ctx.op["documentation_url"])
        out = self._create_comment(
            ctx.the_repo, number, ctx.body["body"], (self._bot_login(), "Bot")
        )
        return _Reply(201, out)

    def _h_list_comments(self, ctx: _Ctx) -> _Reply:
        number = self._find_issue(ctx)
        comments = [
            c
            for c in sorted(self._comments.values(), key=lambda c: c["id"])
            if c["_repo"] == ctx.the_repo.full_name and c["_number"] == number
        ]
        if "since" in ctx.query:
            try:
                since = _parse_time(ctx.query["since"])
            except ValueError:
                since = None
            if since is not None:
                comments = [c for c in comments if _parse_time(c["updated_at"]) >= since]
        chunk, headers = self._paginate(ctx, comments)
        return _Reply(200, [self._render_comment(c) for c in chunk], headers)

    def _h_get_comment(self, ctx: _Ctx) -> _Reply:
        return _Reply(200, self._render_comment(self._find_comment(ctx)))

    def _h_update_comment(self, ctx: _Ctx) -> _Reply:
        c = self._find_comment(ctx)
        self._check_comment_body(ctx.body["body"], ctx.op["documentation_url"])
        c["body"] = ctx.body["body"]
        c["updated_at"] = _iso(_now())
        return _Reply(200, self._render_comment(c))

    # ------------------------------------------------------------------ handlers: reviews

    def _diff_hunks(
        self, repo: _Repo, base_sha: str, head_sha: str, path: str
    ) -> list[tuple[str, range, range]]:
        """(hunk text, LEFT lines, RIGHT lines) of ``path`` in the PR diff (3 context lines)."""
        out = self._git(
            repo.path,
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--unified=3",
            f"{base_sha}...{head_sha}",
            "--",
            path,
            check=False,
        ).stdout.decode("utf-8", errors="replace")
        hunks: list[tuple[str, range, range]] = []
        current: list[str] = []
        ranges: tuple[range, range] | None = None
        for line in out.splitlines():
            m = re.match(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", line)
            if m:
                if ranges is not None:
                    hunks.append(("\n".join(current), *ranges))
                a, b = int(m.group(1)), int(m.group(2) or 1)
                c, d = int(m.group(3)), int(m.group(4) or 1)
                ranges = (range(a, a + b), range(c, c + d))
                current = [line]
            elif ranges is not None:
                current.append(line)
        if ranges is not None:
            hunks.append(("\n".join(current), *ranges))
        return hunks

    def _check_review_comment(
        self, repo: _Repo, pr: dict[str, Any], commit_id: str, comment: dict[str, Any]
    ) -> str:
        """GitHub's rules for one comment of a review; returns the diff hunk it sits in."""

        def unprocessable(message: str) -> ApiError:
            return ApiError(422, "Unprocessable Entity", errors=[message])

        self._check_comment_body(comment["body"], None)
        hunks = self._diff_hunks(repo, pr["base_sha"], commit_id, comment["path"])
        if not hunks:
            raise unprocessable("Path could not be resolved")
        if "position" in comment:
            total = sum(len(h[0].splitlines()) for h in hunks) - 1
            if not 1 <= comment["position"] <= total:
                raise unprocessable("Position could not be resolved")
            return hunks[0][0]
        if "line" not in comment:
            raise unprocessable("pull_request_review_thread.line must be present")
        side = comment.get("side", "RIGHT")
        if side not in ("LEFT", "RIGHT"):
            raise unprocessable("pull_request_review_thread.side is not a valid side")
        pick = 1 if side == "LEFT" else 2
        hunk = next((h for h in hunks if comment["line"] in h[pick]), None)
        if hunk is None:
            raise unprocessable("Line could not be resolved")
        if "start_line" in comment:
            start_side = comment.get("start_side", side)
            if start_side != side:
                raise unprocessable("pull_request_review_thread.start_side must match the side")
            if comment["start_line"] >= comment["line"]:
                raise unprocessable(
                    "pull_request_review_thread.start_line must precede the end line."
                )
            if comment["start_line"] not in hunk[pick]:
                raise unprocessable("Start line could not be resolved")
        return hunk[0]

    def _render_review(self, r: dict[str, Any]) -> dict[str, Any]:
        full, number, rid = r["_repo"], r["_number"], r["id"]
        html = f"{self.url}/{full}/pull/{number}#pullrequestreview-{rid}"
        return {
            "id": rid,
            "node_id": node_id("PRR", rid),
            "user": self._user(*r["_user"]),
            "body": r["body"],
            "state": r["state"],
            "html_url": html,
            "pull_request_url": f"{self.url}/repos/{full}/pulls/{number}",
            "_links": {
                "html": {"href": html},
                "pull_request": {"href": f"{self.url}/repos/{full}/pulls/{number}"},
            },
            "submitted_at": r["submitted_at"],
            "commit_id": r["commit_id"],
            "author_association": "NONE",
        }

    def _render_review_comment(self, c: dict[str, Any]) -> dict[str, Any]:
        full, number, cid = c["_repo"], c["_number"], c["id"]
        api = f"{self.url}/repos/{full}"
        html = f"{self.url}/{full}/pull/{number}#discussion_r{cid}"
        out: dict[str, Any] = {
            "url": f"{api}/pulls/comments/{cid}",
            "pull_request_review_id": c["review_id"],
            "id": cid,
            "node_id": node_id("PRRC", cid),
            "diff_hunk": c["diff_hunk"],
            "path": c["path"],
            "position": c.get("position"),
            "original_position": c.get("position"),
            "commit_id": c["commit_id"],
            "original_commit_id": c["commit_id"],
            "user": self._user(*c["_user"]),
            "body": c["body"],
            "created_at": c["created_at"],
            "updated_at": c["created_at"],
            "html_url": html,
            "pull_request_url": f"{api}/pulls/{number}",
            "author_association": "NONE",
            "_links": {
                "self": {"href": f"{api}/pulls/comments/{cid}"},
                "html": {"href": html},
                "pull_request": {"href": f"{api}/pulls/{number}"},
            },
            "line": c.get("line"),
            "original_line": c.get("line"),
            "side": c.get("side", "RIGHT"),
            "subject_type": "line",
        }
        if c.get("start_line") is not None:
            out["start_line"] = out["original_start_line"] = c["start_line"]
            out["start_side"] = c.get("start_side", out["side"])
        return out

    def _h_create_review(self, ctx: _Ctx) -> _Reply:
        repo = ctx.the_repo
        pr = self._find_pull(ctx)
        body = ctx.body
        doc = ctx.op["documentation_url"]
        self._render_pull(repo, pr, full=False)  # refreshes the head of an open PR
        commit_id = body.get("commit_id") or pr["head_sha"]
        resolved = self._resolve_commit(repo, commit_id)
        if resolved is None or not _SHA_RE.fullmatch(commit_id):
            raise _validation_failed("PullRequestReview", field="commit_id", code="invalid")
        event = body.get("event")
        comments = body.get("comments", [])
        if event == "REQUEST_CHANGES" and not body.get("body"):
            raise ApiError(
                422,
                "Unprocessable Entity",
                errors=["Review body is required"],
                documentation_url=doc,
            )
        if event == "COMMENT" and not body.get("body") and not comments:
            raise ApiError(
                422,
                "Unprocessable Entity",
                errors=["Review body is required"],
                documentation_url=doc,
            )
        if "body" in body:
            self._check_comment_body(body["body"], doc)
        hunks = [self._check_review_comment(repo, pr, resolved, c) for c in comments]
        now = _iso(_now())
        state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED"}.get(
            event or "", "COMMENTED" if event else "PENDING"
        )
        review: dict[str, Any] = {
            "id": self._next_id(),
            "_repo": repo.full_name,
            "_number": pr["number"],
            "_user": (self._bot_login(), "Bot"),
            "body": body.get("body", ""),
            "state": state,
            "commit_id": resolved,
            "submitted_at": None if state == "PENDING" else now,
        }
        self._reviews[review["id"]] = review
        for comment, hunk in zip(comments, hunks, strict=True):
            c = {
                "id": self._next_id(),
                "_repo": repo.full_name,
                "_number": pr["number"],
                "_user": (self._bot_login(), "Bot"),
                "review_id": review["id"],
                "commit_id": resolved,
                "diff_hunk": hunk,
                "created_at": now,
                **{k: v for k, v in comment.items() if k in _REVIEW_COMMENT_KEYS},
            }
            if "line" in c:
                c.setdefault("side", "RIGHT")
            self._review_comments[c["id"]] = c
        return _Reply(200, self._render_review(review))

    def _h_list_review_comments(self, ctx: _Ctx) -> _Reply:
        pr = self._find_pull(ctx)
        comments = [
            c
            for c in self._review_comments.values()
            if c["_repo"] == ctx.the_repo.full_name
            and c["_number"] == pr["number"]
            and self._reviews[c["review_id"]]["state"] != "PENDING"
        ]
        if "since" in ctx.query:
            try:
                since = _parse_time(ctx.query["since"])
            except ValueError:
                since = None
            if since is not None:
                comments = [c for c in comments if _parse_time(c["created_at"]) >= since]
        reverse = ctx.query.get("direction", "asc") == "desc"
        comments.sort(key=lambda c: (c["created_at"], c["id"]), reverse=reverse)
        chunk, headers = self._paginate(ctx, comments)
        return _Reply(200, [self._render_review_comment(c) for c in chunk], headers)

    # ------------------------------------------------------------------ handlers: people

    def _permission_of(self, repo: _Repo, user: str) -> str:
        explicit = self._permissions.get((repo.full_name.lower(), user.lower()))
        if explicit is not None:
            return explicit
        if user.lower() == repo.owner.lower():
            return "admin"
        return "none" if repo.private else "read"

    def _h_collaborator_permission(self, ctx: _Ctx) -> _Reply:
        repo = ctx.the_repo
        username = ctx.params["username"]
        role = self._permission_of(repo, username)
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        rank = COLLABORATOR_PERMISSIONS.index(role)
        flags = {
            "admin": rank <= 0,
            "maintain": rank <= 1,
            "push": rank <= 2,
            "triage": rank <= 3,
            "pull": rank <= 4,
        }
        user = {**self._user(username), "permissions": flags, "role_name": role}
        return _Reply(200, {"permission": legacy, "role_name": role, "user": user})

    def _react(self, ctx: _Ctx, subject: tuple[str, int]) -> _Reply:
        content = ctx.body["content"]
        login = self._bot_login()
        for r in self._reactions:
            if (
                r["_repo"] == ctx.the_repo.full_name
                and r["_subject"] == subject
                and r["content"] == content
                and r["user"]["login"] == login
            ):
                return _Reply(200, {k: v for k, v in r.items() if not k.startswith("_")})
        rid = self._next_id()
        reaction = {
            "_repo": ctx.the_repo.full_name,
            "_subject": subject,
            "id": rid,
            "node_id": node_id("REA", rid),
            "user": self._user(login, "Bot"),
            "content": content,
            "created_at": _iso(_now()),
        }
        self._reactions.append(reaction)
        return _Reply(201, {k: v for k, v in reaction.items() if not k.startswith("_")})

    def _h_react_comment(self, ctx: _Ctx) -> _Reply:
        return self._react(ctx, ("comment", self._find_comment(ctx)["id"]))

    def _h_react_issue(self, ctx: _Ctx) -> _Reply:
        return self._react(ctx, ("issue", self._find_issue(ctx)))

    # ------------------------------------------------------------------ smart HTTP git

    def _git_token(self, request: web.Request) -> _Token | None:
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        candidates: list[str] = []
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            candidates = [password, user]
        elif scheme.lower() in ("bearer", "token"):
            candidates = [value.strip()]
        for candidate in candidates:
            tok = self._tokens.get(candidate)
            if tok is not None and tok.expires_at > _now():
                return tok
        return None

    @staticmethod
    def _git_text(status: int, text: str, headers: Mapping[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status,
            text=text,
            headers={"content-type": "text/plain; charset=utf-8", **(headers or {})},
        )

    async def _git_http(self, request: web.Request) -> web.StreamResponse:
        response = await self._git_http_serve(request)
        with self._lock:
            self.git_requests.append(
                GitRequest(
                    request.method,
                    request.path,
                    request.query_string,
                    response.status,
                    request.headers.get("Content-Encoding"),
                )
            )
        return response

    async def _git_http_serve(self, request: web.Request) -> web.StreamResponse:
        fault = self._take_fault(request.method.upper(), request.path)
        if fault is not None:
            return web.Response(
                status=fault.status,
                body=json.dumps(
                    fault.body or {"message": HTTPStatus(fault.status).phrase}
                ).encode(),
                headers=fault.headers,
            )
        m = re.fullmatch(r"/git/([^/]+)/([^/]+?)(?:\.git)?(/.*)?", request.path)
        if m is None:
            return self._git_text(404, "Not Found\n")
        owner, name, tail = m.group(1), m.group(2), m.group(3) or "/"
        service = request.query.get("service") or tail.rsplit("/", 1)[-1]
        is_push = service == "git-receive-pack"
        with self._lock:
            tok = self._git_token(request)
            repo = self._repos.get(f"{owner}/{name}".lower())
            if tok is None:
                return self._git_text(
                    401,
                    "Invalid username or token. Password authentication is not supported "
                    "for Git operations.\n",
                    {"www-authenticate": 'Basic realm="GitHub"'},
                )
            if repo is None or not self._token_can_see(tok, repo):
                return self._git_text(404, "Repository not found.\n")
            assert repo is not None
            needed = 2 if is_push else 1
            if _LEVELS.get(tok.permissions.get("contents", ""), 0) < needed:
                return self._git_text(
                    403, f"Permission to {repo.full_name}.git denied to {self._bot_login()}.\n"
                )
            refs_before = self._refs(repo) if is_push and request.method == "POST" else None
        env = self._git_env(
            {
                "GIT_PROJECT_ROOT": str(self._git_root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": f"/{repo.full_name}.git{tail}",
                "REQUEST_METHOD": request.method,
                "QUERY_STRING": request.query_string,
                "CONTENT_TYPE": request.headers.get("Content-Type", ""),
                "REMOTE_USER": self._bot_login(),
                "REMOTE_ADDR": request.remote or "127.0.0.1",
                "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
                "GATEWAY_INTERFACE": "CGI/1.1",
            }
        )
        if "Content-Length" in request.headers:
            env["CONTENT_LENGTH"] = request.headers["Content-Length"]
        if "Content-Encoding" in request.headers:
            env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
        if "Git-Protocol" in request.headers:
            env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
            env["HTTP_GIT_PROTOCOL"] = request.headers["Git-Protocol"]
        proc = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr

        async def feed() -> None:
            try:
                async for chunk in request.content.iter_chunked(64 * 1024):
                    stdin.write(chunk)
                    await stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                stdin.close()

        feeder = asyncio.create_task(feed())
        errors = asyncio.create_task(stderr.read())
        buf = b""
        while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
            chunk = await stdout.read(64 * 1024)
            if not chunk:
                break
            buf += chunk
        crlf, lf = buf.find(b"\r\n\r\n"), buf.find(b"\n\n")
        if crlf != -1 and (lf == -1 or crlf < lf):
            head, rest = buf[:crlf], buf[crlf + 4 :]
        elif lf != -1:
            head, rest = buf[:lf], buf[lf + 2 :]
        else:
            head, rest = b"", buf
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                continue
            if key.strip().lower() == "status":
                status = int(value.split()[0])
            else:
                headers[key.strip()] = value.strip()
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        if rest:
            await response.write(rest)
        while chunk := await stdout.read(64 * 1024):
            await response.write(chunk)
        await feeder
        returncode = await proc.wait()
        err = await errors
        await response.write_eof()
        if returncode != 0 or status >= 400:
            print(
                f"fake GitHub: git http-backend {tail} -> {status}: {err.decode(errors='replace')}"
            )
        if refs_before is not None:
            with self._lock:
                after = self._refs(repo)
                updates: dict[str, tuple[str | None, str | None]] = {
                    ref: (refs_before.get(ref), after.get(ref))
                    for ref in sorted(set(refs_before) | set(after))
                    if refs_before.get(ref) != after.get(ref)
                }
                if updates:
                    self.pushes.append(Push(repo.full_name, updates))
                    self.calls.append(
                        Call(
                            "GIT-PUSH",
                            f"/git/{repo.full_name}.git",
                            {},
                            {"updates": {k: list(v) for k, v in updates.items()}},
                            status,
                        )
                    )
        return response


# ----------------------------------------------------------------------------- thread runner


class FakeGitHubThread:
    """Runs a ``FakeGitHub`` on its own event loop in a background thread.

    For end-to-end tests where Tandem runs as subprocesses::

        with FakeGitHubThread(tmp_path, app_id=1, public_key_pem=pub) as gh:
            gh.add_installation(7, "octo")
            gh.create_repo("octo/demo", installation_id=7)
            env["TANDEM_GITHUB_API_URL"] = gh.url
            ...
            assert gh.check_runs_for("octo/demo", sha)

    Attribute access falls through to the ``FakeGitHub`` (``gh.fake``). Its helpers take the
    fake's lock, so they are safe to call from the test thread.
    """

    def __init__(self, root: Path, *, app_id: int, public_key_pem: bytes, **kwargs: Any) -> None:
        self.fake = FakeGitHub(root, app_id=app_id, public_key_pem=public_key_pem, **kwargs)
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.fake.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.fake.close())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-github", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("fake GitHub did not start within 30 s")
        if failure:
            raise failure[0]
        self.url = self.fake.url
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop = None
            self._thread = None

    def __enter__(self) -> FakeGitHubThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __getattr__(self, name: str) -> Any:
        if name == "fake":
            raise AttributeError(name)
        return getattr(self.fake, name)


__all__ = [
    "Call",
    "FakeGitHub",
    "FakeGitHubThread",
    "GitRequest",
    "Push",
    "make_app_key",
]
