"""GitHub App auth (JWT -> installation token, cached in Redis), API helpers, check-run output."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
from gidgethub import BadRequest, GitHubBroken, HTTPException
from gidgethub.aiohttp import GitHubAPI
from gidgethub.apps import get_installation_access_token
from redis.asyncio import Redis

from core.settings import Settings

log = logging.getLogger(__name__)

CHECK_NAME = "Tandem"
USER_AGENT = "tandem-app"
TOKEN_REFRESH_MARGIN_S = 300
MAX_TEXT = 65535
ANNOTATIONS_PER_REQUEST = 50
RETRY_BASE_S = 1.0
Conclusion = Literal[
    "action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"
]


class GitHubError(RuntimeError):
    """A GitHub API failure in a form that is safe to pickle (arq stores job results) and to
    show to users: the status code and GitHub's message, never a token."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def describe(exc: HTTPException) -> GitHubError:
    status = int(exc.status_code)
    detail = " ".join(str(a) for a in exc.args if a) or status_phrase(status)
    return GitHubError(f"GitHub answered {status}: {detail}", status)


def status_phrase(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def retry_after(exc: HTTPException, attempt: int) -> float | None:
    """Seconds to wait before retrying, or None when the error is not worth retrying."""
    status = int(exc.status_code)
    headers = getattr(exc, "headers", None) or {}
    if isinstance(exc, GitHubBroken) or status >= 500:
        return min(RETRY_BASE_S * 2.0**attempt, 30.0)
    if isinstance(exc, BadRequest) and status in (403, 429):
        value = headers.get("retry-after") or headers.get("Retry-After")
        if value is not None:
            try:
                return min(float(value), 120.0)
            except ValueError:
                return None
        if headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset")
            if reset and reset.isdigit():
                return max(0.0, min(float(reset) - datetime.now(UTC).timestamp(), 120.0))
    return None


async def with_retries[T](call: Callable[[], Awaitable[T]], *, attempts: int = 4) -> T:
    """Run one GitHub call, retrying 5xx and rate limits; other errors become GitHubError."""
    for attempt in range(attempts):
        try:
            return await call()
        except HTTPException as exc:
            wait = retry_after(exc, attempt)
            if wait is None or attempt == attempts - 1:
                raise describe(exc) from None
            log.warning("GitHub answered %s; retrying in %.1fs", exc.status_code, wait)
            await asyncio.sleep(wait)
        except aiohttp.ClientError as exc:
            if attempt == attempts - 1:
                raise GitHubError(f"cannot reach GitHub: {type(exc).__name__}") from None
            await asyncio.sleep(min(RETRY_BASE_S * 2.0**attempt, 30.0))
    raise AssertionError("unreachable")


def client(session: aiohttp.ClientSession, settings: Settings, token: str | None) -> GitHubAPI:
    return GitHubAPI(
        session, USER_AGENT, oauth_token=token, base_url=settings.github_api_url, cache=None
    )


def _token_key(installation_id: int) -> str:
    return f"tandem:token:{installation_id}"


async def new_installation_token(
    session: aiohttp.ClientSession, settings: Settings, installation_id: int
) -> dict[str, Any]:
    """Exchange the App's JWT for a fresh installation token (`token`, `expires_at`)."""
    settings.require("github_app_id", "github_private_key")
    app = client(session, settings, None)
    response: dict[str, Any] = await with_retries(
        lambda: get_installation_access_token(
            app,
            installation_id=str(installation_id),
            app_id=str(settings.github_app_id),
            private_key=settings.private_key(),
        )
    )
    return response


async def installation_token(
    redis: Redis, session: aiohttp.ClientSession, settings: Settings, installation_id: int
) -> str:
    """An installation token shared by all workers through Redis, renewed 5 minutes early."""
    cached = await redis.get(_token_key(installation_id))
    if cached:
        return cached.decode() if isinstance(cached, bytes) else str(cached)
    response = await new_installation_token(session, settings, installation_id)
    token = str(response["token"])
    expires_at = datetime.fromisoformat(str(response["expires_at"]).replace("Z", "+00:00"))
    ttl = int((expires_at - datetime.now(UTC)).total_seconds()) - TOKEN_REFRESH_MARGIN_S
    if ttl > 0:
        await redis.set(_token_key(installation_id), token, ex=ttl)
    return token


async def installation_client(
    redis: Redis, session: aiohttp.ClientSession, settings: Settings, installation_id: int
) -> tuple[GitHubAPI, str]:
    token = await installation_token(redis, session, settings, installation_id)
    return client(session, settings, token), token


# --- check runs -------------------------------------------------------------------------------


@dataclass
class Annotation:
    path: str
    start_line: int
    end_line: int
    annotation_level: Literal["notice", "warning", "failure"]
    message: str
    title: str | None = None
    raw_details: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "annotation_level": self.annotation_level,
            "message": clip(self.message, 64 * 1024 - 1),
        }
        if self.title:
            data["title"] = clip(self.title, 255)
        if self.raw_details:
            data["raw_details"] = clip(self.raw_details, 64 * 1024 - 1)
        return data


@dataclass
class CheckOutput:
    title: str
    summary: str
    text: str | None = None
    annotations: list[Annotation] = field(default_factory=list)

    def to_api(self, annotations: list[Annotation]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "title": clip(self.title, 255),
            "summary": clip(self.summary, MAX_TEXT),
        }
        if self.text:
            data["text"] = clip(self.text, MAX_TEXT)
        if annotations:
            data["annotations"] = [a.to_api() for a in annotations]
        return data


def clip(text: str, limit: int) -> str:
    """Fit text into GitHub's limit, saying so when something was cut."""
    if len(text) <= limit:
        return text
    note = "\n\n… (truncated)"
    return text[: limit - len(note)] + note


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def find_check_run(gh: GitHubAPI, repo: str, head_sha: str, external_id: str) -> int | None:
    url = (
        f"/repos/{repo}/commits/{head_sha}/check-runs"
        f"?check_name={CHECK_NAME}&filter=all&per_page=100"
    )
    found: dict[str, Any] = await with_retries(lambda: gh.getitem(url))
    for run in found.get("check_runs", []):
        # A completed one belongs to an earlier attempt (a reopen); a new attempt gets its own.
        if run.get("external_id") == external_id and run.get("status") != "completed":
            return int(run["id"])
    return None


async def create_check_run(
    gh: GitHubAPI, repo: str, head_sha: str, external_id: str, output: CheckOutput
) -> int:
    body = {
        "name": CHECK_NAME,
        "head_sha": head_sha,
        "external_id": external_id,
        "status": "in_progress",
        "started_at": now_iso(),
        "output": output.to_api([]),
    }
    created: dict[str, Any] = await with_retries(
        lambda: gh.post(f"/repos/{repo}/check-runs", data=body)
    )
    return int(created["id"])


async def complete_check_run(
    gh: GitHubAPI,
    repo: str,
    check_run_id: int,
    conclusion: Conclusion,
    output: CheckOutput,
    *,
    actions: list[dict[str, str]] | None = None,
) -> None:
    """Complete a check run, sending annotations in GitHub's batches of 50 (they accumulate)."""
    url = f"/repos/{repo}/check-runs/{check_run_id}"
    batches = [
        output.annotations[i : i + ANNOTATIONS_PER_REQUEST]
        for i in range(0, len(output.annotations), ANNOTATIONS_PER_REQUEST)
    ] or [[]]
    for batch in batches[:-1]:
        body = {"output": output.to_api(batch)}
        await with_retries(lambda body=body: gh.patch(url, data=body))  # type: ignore[misc]
    final: dict[str, Any] = {
        "status": "completed",
        "conclusion": conclusion,
        "completed_at": now_iso(),
        "output": output.to_api(batches[-1]),
    }
    if actions:
        final["actions"] = actions[:3]  # GitHub allows three buttons
    await with_retries(lambda: gh.patch(url, data=final))


# --- contents, pulls, comments ----------------------------------------------------------------


async def get_file(gh: GitHubAPI, repo: str, path: str, ref: str | None) -> str | None:
    """A file's text at a ref (None: the default branch), or None when it does not exist."""
    url = f"/repos/{repo}/contents/{path}" + (f"?ref={ref}" if ref is not None else "")
    try:
        data: dict[str, Any] = await with_retries(lambda: gh.getitem(url))
    except GitHubError as exc:
        if exc.status == 404:
            return None
        raise
    if data.get("type") != "file" or data.get("encoding") != "base64":
        raise GitHubError(f"{path} at {ref or 'the default branch'} is not a regular file")
    return base64.b64decode(data.get("content", "")).decode("utf-8", errors="replace")


async def find_open_pull(gh: GitHubAPI, repo: str, head: str, base: str) -> dict[str, Any] | None:
    owner = repo.split("/")[0]
    url = f"/repos/{repo}/pulls?state=open&head={owner}:{head}&base={base}"
    pulls: list[dict[str, Any]] = await with_retries(lambda: gh.getitem(url))
    return pulls[0] if pulls else None


async def open_or_update_pull(
    gh: GitHubAPI, repo: str, *, head: str, base: str, title: str, body: str
) -> dict[str, Any]:
    existing = await find_open_pull(gh, repo, head, base)
    if existing is not None:
        number = existing["number"]
        patch = {"title": title, "body": clip(body, MAX_TEXT)}
        updated: dict[str, Any] = await with_retries(
            lambda: gh.patch(f"/repos/{repo}/pulls/{number}", data=patch)
        )
        return updated
    new = {"title": title, "head": head, "base": base, "body": clip(body, MAX_TEXT)}
    created: dict[str, Any] = await with_retries(lambda: gh.post(f"/repos/{repo}/pulls", data=new))
    return created


async def upsert_comment(
    gh: GitHubAPI, repo: str, number: int, body: str, marker: str
) -> dict[str, Any]:
    """Edit Tandem's earlier comment that carries `marker` in place, or post a new one, so
    reruns do not pile up comments."""
    url = f"/repos/{repo}/issues/{number}/comments?per_page=100"
    comments: list[dict[str, Any]] = await with_retries(lambda: gh.getitem(url))
    ours = [
        comment
        for comment in comments
        if marker in str(comment.get("body", ""))
        and (comment.get("user") or {}).get("type") == "Bot"
    ]
    if not ours:
        return await post_comment(gh, repo, number, body)
    edit_url = f"/repos/{repo}/issues/comments/{ours[0]['id']}"
    data = {"body": clip(body, MAX_TEXT)}
    updated: dict[str, Any] = await with_retries(lambda: gh.patch(edit_url, data=data))
    return updated


async def post_comment(gh: GitHubAPI, repo: str, number: int, body: str) -> dict[str, Any]:
    data = {"body": clip(body, MAX_TEXT)}
    created: dict[str, Any] = await with_retries(
        lambda: gh.post(f"/repos/{repo}/issues/{number}/comments", data=data)
    )
    return created


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


# --- commands: pull requests, permissions, reactions, the App's installation -------------------

Reaction = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]


async def get_pull(gh: GitHubAPI, repo: str, number: int) -> dict[str, Any] | None:
    try:
        pull: dict[str, Any] = await with_retries(
            lambda: gh.getitem(f"/repos/{repo}/pulls/{number}")
        )
    except GitHubError as exc:
        if exc.status == 404:
            return None
        raise
    return pull


async def open_pulls_for_head(gh: GitHubAPI, repo: str, head_sha: str) -> list[int]:
    """Numbers of the open pull requests of `repo` whose head is `head_sha` (first 300)."""
    numbers: list[int] = []
    for page in (1, 2, 3):
        url = f"/repos/{repo}/pulls?state=open&per_page=100&page={page}"
        pulls: list[dict[str, Any]] = await with_retries(lambda url=url: gh.getitem(url))  # type: ignore[misc]
        numbers += [int(p["number"]) for p in pulls if p.get("head", {}).get("sha") == head_sha]
        if len(pulls) < 100:
            break
    return numbers


async def collaborator_permission(gh: GitHubAPI, repo: str, user: str) -> tuple[Any, Any]:
    """(role_name, permission) of `user` on `repo`; ("none", "none") for an unknown user."""
    try:
        data: dict[str, Any] = await with_retries(
            lambda: gh.getitem(f"/repos/{repo}/collaborators/{user}/permission")
        )
    except GitHubError as exc:
        if exc.status == 404:
            return "none", "none"
        raise
    return data.get("role_name"), data.get("permission")


async def react_to_comment(gh: GitHubAPI, repo: str, comment_id: int, content: Reaction) -> None:
    await with_retries(
        lambda: gh.post(
            f"/repos/{repo}/issues/comments/{comment_id}/reactions", data={"content": content}
        )
    )


async def repo_installation_id(
    session: aiohttp.ClientSession, settings: Settings, repo: str
) -> int:
    """The App's installation on `repo` (authenticated as the App, with its JWT)."""
    from gidgethub.apps import get_jwt

    settings.require("github_app_id", "github_private_key")
    app = client(session, settings, None)
    jwt = get_jwt(app_id=str(settings.github_app_id), private_key=settings.private_key())
    data: dict[str, Any] = await with_retries(
        lambda: app.getitem(f"/repos/{repo}/installation", jwt=jwt)
    )
    return int(data["id"])


async def fresh_installation_client(
    session: aiohttp.ClientSession, settings: Settings, installation_id: int
) -> GitHubAPI:
    """An installation client without the Redis token cache (for one-off CLI use)."""
    response = await new_installation_token(session, settings, installation_id)
    return client(session, settings, str(response["token"]))
