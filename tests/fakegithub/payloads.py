"""Builders for realistic GitHub webhook payloads and delivery headers.

Shapes follow GitHub's webhook documentation (``pull_request`` and ``issue_comment`` events
as delivered to a GitHub App). Only the keys that apps commonly read are filled with
meaningful values; the rest mirror GitHub's layout so handlers that reach for them find them.

IDs are stable functions of names (``stable_id``), so the fake GitHub server and these
builders agree on e.g. a repository's id without sharing state.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
import zlib
from typing import Any

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_WEB_URL = "https://github.com"
TIMESTAMP = "2024-05-01T12:00:00Z"


def stable_id(kind: str, name: str) -> int:
    """A deterministic positive id for ``name`` (a login, a repo full name, ...)."""
    return 1_000_000 + zlib.crc32(f"{kind}:{name}".encode()) % 900_000_000


def node_id(prefix: str, ident: int) -> str:
    return f"{prefix}_kgDO{ident:010d}"


def user_object(
    login: str,
    *,
    type: str = "User",
    api_url: str = DEFAULT_API_URL,
    web_url: str = DEFAULT_WEB_URL,
) -> dict[str, Any]:
    """A ``simple-user`` object as GitHub embeds it (user, sender, owner, ...)."""
    uid = stable_id("user", login)
    api = f"{api_url}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id("U" if type == "User" else "BOT", uid),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{web_url}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": type,
        "user_view_type": "public",
        "site_admin": False,
    }


def repository_object(
    full_name: str,
    *,
    clone_url: str,
    default_branch: str = "main",
    private: bool = False,
    fork: bool = False,
    api_url: str = DEFAULT_API_URL,
    web_url: str = DEFAULT_WEB_URL,
) -> dict[str, Any]:
    """A ``repository`` object (the full shape of ``GET /repos/{owner}/{repo}``)."""
    owner, name = full_name.split("/", 1)
    rid = stable_id("repo", full_name)
    api = f"{api_url}/repos/{full_name}"
    html = f"{web_url}/{full_name}"
    host = web_url.split("://", 1)[-1]
    urls = {
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{api}/assignees{{/user}}",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "comments_url": f"{api}/comments{{/number}}",
        "commits_url": f"{api}/commits{{/sha}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "contributors_url": f"{api}/contributors",
        "deployments_url": f"{api}/deployments",
        "downloads_url": f"{api}/downloads",
        "events_url": f"{api}/events",
        "forks_url": f"{api}/forks",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "hooks_url": f"{api}/hooks",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "issues_url": f"{api}/issues{{/number}}",
        "keys_url": f"{api}/keys{{/key_id}}",
        "labels_url": f"{api}/labels{{/name}}",
        "languages_url": f"{api}/languages",
        "merges_url": f"{api}/merges",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "releases_url": f"{api}/releases{{/id}}",
        "stargazers_url": f"{api}/stargazers",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "tags_url": f"{api}/tags",
        "teams_url": f"{api}/teams",
        "trees_url": f"{api}/git/trees{{/sha}}",
    }
    return {
        "id": rid,
        "node_id": node_id("R", rid),
        "name": name,
        "full_name": full_name,
        "private": private,
        "owner": user_object(owner, api_url=api_url, web_url=web_url),
        "html_url": html,
        "description": None,
        "fork": fork,
        "url": api,
        **urls,
        "git_url": f"git://{host}/{full_name}.git",
        "ssh_url": f"git@{host}:{full_name}.git",
        "clone_url": clone_url,
        "svn_url": html,
        "mirror_url": None,
        "homepage": None,
        "language": "Python",
        "size": 1,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "open_issues": 0,
        "open_issues_count": 0,
        "network_count": 0,
        "subscribers_count": 0,
        "default_branch": default_branch,
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "is_template": False,
        "license": None,
        "topics": [],
        "visibility": "private" if private else "public",
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "pushed_at": TIMESTAMP,
    }


def _installation(installation_id: int) -> dict[str, Any]:
    return {
        "id": installation_id,
        "node_id": node_id("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", installation_id),
    }


def _branch(
    *, ref: str, sha: str, repo: dict[str, Any], api_url: str, web_url: str
) -> dict[str, Any]:
    owner = repo["owner"]["login"]
    return {
        "label": f"{owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user_object(owner, api_url=api_url, web_url=web_url),
        "repo": repo,
    }


def pull_request_event(
    *,
    action: str,
    repo_full_name: str,
    number: int,
    head_sha: str,
    base_sha: str,
    head_ref: str = "feature",
    base_ref: str = "main",
    clone_url: str,
    installation_id: int,
    sender: str = "alice",
    draft: bool = False,
    fork: bool = False,
    head_repo_full_name: str | None = None,
    head_clone_url: str | None = None,
    title: str = "Add a feature",
    body: str | None = "",
    before: str | None = None,
    merged: bool = False,
    default_branch: str = "main",
    private: bool = False,
    api_url: str = DEFAULT_API_URL,
    web_url: str = DEFAULT_WEB_URL,
) -> dict[str, Any]:
    """A ``pull_request`` webhook payload.

    For ``fork=True`` the head repository defaults to ``<sender>/<repo name>`` and is marked as
    a fork. For ``action="synchronize"`` the payload carries ``before``/``after``.
    """
    repository = repository_object(
        repo_full_name,
        clone_url=clone_url,
        default_branch=default_branch,
        private=private,
        api_url=api_url,
        web_url=web_url,
    )
    if fork and head_repo_full_name is None:
        head_repo_full_name = f"{sender}/{repo_full_name.split('/', 1)[1]}"
    if head_repo_full_name is None or head_repo_full_name == repo_full_name:
        head_repo = repository
    else:
        head_repo = repository_object(
            head_repo_full_name,
            clone_url=head_clone_url
            or clone_url.replace(f"/{repo_full_name}.git", f"/{head_repo_full_name}.git"),
            default_branch=default_branch,
            private=private,
            fork=fork,
            api_url=api_url,
            web_url=web_url,
        )
    pid = stable_id("pull", f"{repo_full_name}#{number}")
    api = f"{api_url}/repos/{repo_full_name}"
    html = f"{web_url}/{repo_full_name}/pull/{number}"
    closed = action == "closed"
    pull_request: dict[str, Any] = {
        "url": f"{api}/pulls/{number}",
        "id": pid,
        "node_id": node_id("PR", pid),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{number}",
        "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{head_sha}",
        "number": number,
        "state": "closed" if closed else "open",
        "locked": False,
        "title": title,
        "user": user_object(sender, api_url=api_url, web_url=web_url),
        "body": body,
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "closed_at": TIMESTAMP if closed else None,
        "merged_at": TIMESTAMP if closed and merged else None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch(
            ref=head_ref, sha=head_sha, repo=head_repo, api_url=api_url, web_url=web_url
        ),
        "base": _branch(
            ref=base_ref, sha=base_sha, repo=repository, api_url=api_url, web_url=web_url
        ),
        "_links": {
            "self": {"href": f"{api}/pulls/{number}"},
            "html": {"href": html},
            "issue": {"href": f"{api}/issues/{number}"},
            "comments": {"href": f"{api}/issues/{number}/comments"},
            "review_comments": {"href": f"{api}/pulls/{number}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/pulls/{number}/commits"},
            "statuses": {"href": f"{api}/statuses/{head_sha}"},
        },
        "author_association": "CONTRIBUTOR" if fork else "MEMBER",
        "auto_merge": None,
        "draft": draft,
        "merged": closed and merged,
        "mergeable": None,
        "rebaseable": None,
        "mergeable_state": "unknown",
        "merged_by": None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    }
    payload: dict[str, Any] = {
        "action": action,
        "number": number,
        "pull_request": pull_request,
    }
    if action == "synchronize":
        payload["before"] = before or "0" * 40
        payload["after"] = head_sha
    payload["repository"] = repository
    payload["installation"] = _installation(installation_id)
    payload["sender"] = user_object(sender, api_url=api_url, web_url=web_url)
    return payload


def issue_comment_event(
    *,
    action: str = "created",
    repo_full_name: str,
    number: int,
    comment_body: str,
    clone_url: str,
    installation_id: int,
    sender: str = "alice",
    comment_id: int | None = None,
    is_pull_request: bool = True,
    author_association: str = "MEMBER",
    sender_type: str = "User",
    issue_title: str = "Add a feature",
    issue_user: str | None = None,
    issue_state: str = "open",
    default_branch: str = "main",
    private: bool = False,
    api_url: str = DEFAULT_API_URL,
    web_url: str = DEFAULT_WEB_URL,
) -> dict[str, Any]:
    """An ``issue_comment`` webhook payload (a comment on a PR when ``is_pull_request``).

    ``sender_type="Bot"`` builds a comment posted by an app (apps should ignore those).
    """
    repository = repository_object(
        repo_full_name,
        clone_url=clone_url,
        default_branch=default_branch,
        private=private,
        api_url=api_url,
        web_url=web_url,
    )
    api = f"{api_url}/repos/{repo_full_name}"
    kind = "pull" if is_pull_request else "issues"
    html = f"{web_url}/{repo_full_name}/{kind}/{number}"
    if comment_id is None:
        comment_id = stable_id("comment", f"{repo_full_name}#{number}:{comment_body}")
    iid = stable_id("issue", f"{repo_full_name}#{number}")
    author = user_object(sender, type=sender_type, api_url=api_url, web_url=web_url)
    issue: dict[str, Any] = {
        "url": f"{api}/issues/{number}",
        "repository_url": api,
        "labels_url": f"{api}/issues/{number}/labels{{/name}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "events_url": f"{api}/issues/{number}/events",
        "html_url": html,
        "id": iid,
        "node_id": node_id("I", iid),
        "number": number,
        "title": issue_title,
        "user": user_object(issue_user or sender, api_url=api_url, web_url=web_url),
        "labels": [],
        "state": issue_state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 1,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "closed_at": None,
        "author_association": author_association,
        "active_lock_reason": None,
        "body": "",
        "reactions": _reactions_summary(f"{api}/issues/{number}/reactions"),
    }
    if is_pull_request:
        issue["draft"] = False
        issue["pull_request"] = {
            "url": f"{api}/pulls/{number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": None,
        }
    comment = {
        "url": f"{api}/issues/comments/{comment_id}",
        "html_url": f"{html}#issuecomment-{comment_id}",
        "issue_url": f"{api}/issues/{number}",
        "id": comment_id,
        "node_id": node_id("IC", comment_id),
        "user": author,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "author_association": author_association,
        "body": comment_body,
        "reactions": _reactions_summary(f"{api}/issues/comments/{comment_id}/reactions"),
        "performed_via_github_app": None,
    }
    return {
        "action": action,
        "issue": issue,
        "comment": comment,
        "repository": repository,
        "installation": _installation(installation_id),
        "sender": author,
    }


def _reactions_summary(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }


def encode(payload: dict[str, Any]) -> bytes:
    """Serialize a payload the way it goes over the wire."""
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` header value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def delivery_headers(
    event: str, body: bytes, secret: str, delivery_id: str | None = None
) -> dict[str, str]:
    """Headers GitHub sends with a webhook delivery (lowercase keys)."""
    return {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/fake",
        "x-github-event": event,
        "x-github-delivery": delivery_id or str(uuid.uuid4()),
        "x-hub-signature-256": sign(body, secret),
    }


def webhook_request(
    event: str, payload: dict[str, Any], secret: str, delivery_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """``(body, headers)`` ready to POST to a webhook endpoint."""
    body = encode(payload)
    return body, delivery_headers(event, body, secret, delivery_id)
