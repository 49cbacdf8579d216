"""Tests of the fake GitHub itself (tests/fakegithub).

The fake is only useful if it refuses what GitHub refuses, so most tests here are about
rejections: bad JWTs, missing tokens, schema violations and GitHub's documented limits.
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import hashlib
import hmac
import importlib.util
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gidgethub import BadRequest, GitHubBroken
from gidgethub.aiohttp import GitHubAPI
from gidgethub.apps import get_installation_access_token

from tests.fakegithub import (
    ApiError,
    FakeGitHub,
    FakeGitHubThread,
    delivery_headers,
    issue_comment_event,
    make_app_key,
    pull_request_event,
    sign,
)

APP_ID = 4242
INSTALLATION = 77
OTHER_INSTALLATION = 88
REPO = "octo/demo"
OPS = json.loads((Path(__file__).parent / "fakegithub" / "openapi_ops.json").read_text())


def assert_shape(op_key: str, status: int, body: Any) -> None:
    """The response carries every top-level key GitHub's response schema marks required."""
    spec = OPS["operations"][op_key]["responses"][str(status)]
    items = body if spec.get("array") else [body]
    for item in items:
        missing = set(spec["required"]) - set(item)
        assert not missing, f"{op_key} response lacks {sorted(missing)}"


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeGitHub]:
    _, public = make_app_key()
    gh = FakeGitHub(tmp_path / "gh", app_id=APP_ID, public_key_pem=public)
    await gh.start()
    gh.add_installation(INSTALLATION, "octo")
    gh.add_installation(OTHER_INSTALLATION, "other")
    gh.create_repo(REPO, installation_id=INSTALLATION)
    gh.create_repo("other/elsewhere", installation_id=OTHER_INSTALLATION)
    gh.commit_files(REPO, "main", {"README.md": "# demo\n", "src/app.py": "X = 1\n"})
    try:
        yield gh
    finally:
        await gh.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def gh(fake: FakeGitHub, session: aiohttp.ClientSession) -> GitHubAPI:
    return GitHubAPI(session, "tandem-tests", base_url=fake.url)


async def installation_token(gh: GitHubAPI, installation_id: int = INSTALLATION) -> str:
    private, _ = make_app_key()
    data = await get_installation_access_token(
        gh, installation_id=str(installation_id), app_id=str(APP_ID), private_key=private
    )
    return str(data["token"])


def encode_jwt(payload: dict[str, Any], key: bytes | None = None) -> str:
    """RS256 JWT built by hand (PyJWT refuses a non-string ``iss``; GitHub accepts an int)."""
    private = serialization.load_pem_private_key(key or make_app_key()[0], password=None)
    assert isinstance(private, rsa.RSAPrivateKey)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"RS256","typ":"JWT"}') + "." + b64(json.dumps(payload).encode())
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


# ----------------------------------------------------------------------------- app auth


async def test_jwt_exchange_issues_installation_token(fake: FakeGitHub, gh: GitHubAPI) -> None:
    private, _ = make_app_key()
    data = await get_installation_access_token(
        gh, installation_id=str(INSTALLATION), app_id=str(APP_ID), private_key=private
    )
    assert data["token"].startswith("ghs_") and len(data["token"]) == 40
    expires = calendar.timegm(time.strptime(data["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert 3500 < expires - time.time() <= 3600
    assert data["permissions"]["checks"] == "write"
    assert_shape("POST /app/installations/{installation_id}/access_tokens", 201, data)
    assert fake.tokens_issued == 1
    await installation_token(gh)
    assert fake.tokens_issued == 2
    assert [c.status for c in fake.calls_matching("POST", r"/access_tokens$")] == [201, 201]
    # gidgethub read the rate-limit headers
    assert gh.rate_limit is not None and gh.rate_limit.limit == 5000


def _other_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    "case",
    ["wrong_key", "expired", "too_long", "future_iat", "wrong_iss", "garbage", "missing", "hs256"],
)
async def test_jwt_rejections(fake: FakeGitHub, session: aiohttp.ClientSession, case: str) -> None:
    now = int(time.time())
    good = {"iat": now - 60, "exp": now + 540, "iss": str(APP_ID)}
    header: str | None
    if case == "wrong_key":
        header = "Bearer " + encode_jwt(good, _other_key())
    elif case == "expired":
        header = "Bearer " + encode_jwt({**good, "iat": now - 1300, "exp": now - 700})
    elif case == "too_long":
        header = "Bearer " + encode_jwt({**good, "exp": now + 3600})
    elif case == "future_iat":
        header = "Bearer " + encode_jwt({**good, "iat": now + 300, "exp": now + 600})
    elif case == "wrong_iss":
        header = "Bearer " + encode_jwt({**good, "iss": "999"})
    elif case == "garbage":
        header = "Bearer not.a.jwt"
    elif case == "hs256":
        header = "Bearer " + jwt.encode(good, "secret-secret-secret-secret-1234", algorithm="HS256")
    else:
        header = None
    headers = {"Authorization": header} if header else {}
    url = f"{fake.url}/app/installations/{INSTALLATION}/access_tokens"
    async with session.post(url, headers=headers) as resp:
        body = await resp.json()
        assert resp.status == 401, body
        assert resp.headers["content-type"] == "application/json; charset=utf-8"
    assert body["message"] and body["documentation_url"].startswith("https://docs.github.com")
    assert fake.tokens_issued == 0


async def test_jwt_accepts_int_iss_and_rejects_unknown_installation(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    now = int(time.time())
    token = encode_jwt({"iat": now - 60, "exp": now + 600, "iss": APP_ID})
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(
        f"{fake.url}/app/installations/{INSTALLATION}/access_tokens", headers=headers
    ) as resp:
        assert resp.status == 201
    async with session.post(f"{fake.url}/app/installations/5/access_tokens", headers=headers) as r:
        assert r.status == 404


async def test_token_can_be_narrowed_to_repositories_and_permissions(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.create_repo("octo/second", installation_id=INSTALLATION)
    now = int(time.time())
    headers = {
        "Authorization": "Bearer " + encode_jwt({"iat": now, "exp": now + 300, "iss": APP_ID})
    }
    url = f"{fake.url}/app/installations/{INSTALLATION}/access_tokens"
    body = {"repositories": ["second"], "permissions": {"contents": "read"}}
    async with session.post(url, headers=headers, json=body) as resp:
        data = await resp.json()
        assert resp.status == 201, data
    assert data["repository_selection"] == "selected"
    auth = {"Authorization": f"token {data['token']}"}
    async with session.get(f"{fake.url}/repos/octo/second/contents/x", headers=auth) as resp:
        assert resp.status == 404  # repo visible, file missing
    async with session.get(f"{fake.url}/repos/{REPO}/contents/README.md", headers=auth) as resp:
        assert resp.status == 404  # repo not in the token
    async with session.get(f"{fake.url}/repos/octo/second/pulls", headers=auth) as resp:
        assert resp.status == 403
        assert (await resp.json())["message"] == "Resource not accessible by integration"
    async with session.post(url, headers=headers, json={"repositories": ["nope"]}) as resp:
        assert resp.status == 422
    async with session.post(url, headers=headers, json={"permissions": {"checks": "bogus"}}) as r:
        assert r.status == 422  # schema: enum read/write


# ----------------------------------------------------------------------------- repo auth


async def test_repo_endpoints_require_a_live_installation_token(
    fake: FakeGitHub, session: aiohttp.ClientSession, gh: GitHubAPI
) -> None:
    url = f"{fake.url}/repos/{REPO}/contents/README.md"
    async with session.get(url) as resp:
        assert resp.status == 401
    async with session.get(url, headers={"Authorization": "token ghs_nope"}) as resp:
        assert resp.status == 401
        assert (await resp.json())["message"] == "Bad credentials"
    token = await installation_token(gh)
    async with session.get(url, headers={"Authorization": f"token {token}"}) as resp:
        assert resp.status == 200
    async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
    other = await installation_token(gh, OTHER_INSTALLATION)
    async with session.get(url, headers={"Authorization": f"token {other}"}) as resp:
        assert resp.status == 404
    async with session.get(
        f"{fake.url}/repos/octo/missing/pulls", headers={"Authorization": f"token {token}"}
    ) as resp:
        assert resp.status == 404
    fake.expire_tokens()
    with pytest.raises(BadRequest) as exc:
        await gh.getitem(f"/repos/{REPO}/contents/README.md", oauth_token=token)
    assert exc.value.status_code == 401


# ----------------------------------------------------------------------------- check runs


def _annotations(n: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "path": "src/app.py",
            "start_line": i,
            "end_line": i,
            "annotation_level": "warning",
            "message": f"finding {i}",
        }
        for i in range(start, start + n)
    ]


async def test_check_run_lifecycle(fake: FakeGitHub, gh: GitHubAPI) -> None:
    token = await installation_token(gh)
    sha = fake.branch_sha(REPO, "main")
    assert sha is not None
    created = await gh.post(
        f"/repos/{REPO}/check-runs",
        data={
            "name": "Tandem",
            "head_sha": sha,
            "status": "in_progress",
            "external_id": "run:1",
            "output": {"title": "Working", "summary": "Generating tests"},
        },
        oauth_token=token,
    )
    assert_shape("POST /repos/{owner}/{repo}/check-runs", 201, created)
    assert created["status"] == "in_progress" and created["conclusion"] is None
    assert created["head_sha"] == sha and created["external_id"] == "run:1"
    assert created["app"]["id"] == APP_ID
    run_id = created["id"]

    for start in (1, 51):
        updated = await gh.patch(
            f"/repos/{REPO}/check-runs/{run_id}",
            data={
                "output": {
                    "title": "Working",
                    "summary": "more",
                    "annotations": _annotations(50, start),
                }
            },
            oauth_token=token,
        )
    assert updated["output"]["annotations_count"] == 100  # appended, like GitHub
    assert len(fake.annotations_for(run_id)) == 100
    assert fake.annotations_for(run_id)[99]["message"] == "finding 100"
    listed = [
        a
        async for a in gh.getiter(
            f"/repos/{REPO}/check-runs/{run_id}/annotations", oauth_token=token
        )
    ]
    assert len(listed) == 100  # followed Link: rel="next" pages

    done = await gh.patch(
        f"/repos/{REPO}/check-runs/{run_id}",
        data={
            "conclusion": "success",
            "output": {"title": "Done", "summary": "All good", "text": "t"},
        },
        oauth_token=token,
    )
    assert done["status"] == "completed" and done["conclusion"] == "success"
    assert done["completed_at"] and done["output"]["title"] == "Done"
    got = await gh.getitem(f"/repos/{REPO}/check-runs/{run_id}", oauth_token=token)
    assert_shape("GET /repos/{owner}/{repo}/check-runs/{check_run_id}", 200, got)
    assert got["output"]["text"] == "t"

    # A second run with the same name: "latest" (the default filter) shows only the newest.
    second = await gh.post(
        f"/repos/{REPO}/check-runs", data={"name": "Tandem", "head_sha": sha}, oauth_token=token
    )
    await gh.post(
        f"/repos/{REPO}/check-runs", data={"name": "Other", "head_sha": sha}, oauth_token=token
    )
    listing = await gh.getitem(
        f"/repos/{REPO}/commits/{sha}/check-runs?check_name=Tandem", oauth_token=token
    )
    assert_shape("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", 200, listing)
    assert listing["total_count"] == 1 and listing["check_runs"][0]["id"] == second["id"]
    everything = await gh.getitem(
        f"/repos/{REPO}/commits/main/check-runs?filter=all", oauth_token=token
    )
    assert everything["total_count"] == 3
    completed = await gh.getitem(
        f"/repos/{REPO}/commits/{sha}/check-runs?filter=all&status=completed", oauth_token=token
    )
    assert [r["id"] for r in completed["check_runs"]] == [run_id]
    assert len(fake.check_runs_for(REPO, sha)) == 3


async def test_check_run_limits_are_enforced(fake: FakeGitHub, gh: GitHubAPI) -> None:
    token = await installation_token(gh)
    sha = fake.branch_sha(REPO, "main")
    run = await gh.post(
        f"/repos/{REPO}/check-runs", data={"name": "Tandem", "head_sha": sha}, oauth_token=token
    )
    url = f"/repos/{REPO}/check-runs/{run['id']}"

    async def rejected(method: str, path: str, data: dict[str, Any]) -> BadRequest:
        with pytest.raises(BadRequest) as exc:
            await getattr(gh, method)(path, data=data, oauth_token=token)
        assert exc.value.status_code == 422
        return exc.value

    err = await rejected(
        "patch", url, {"output": {"title": "t", "summary": "s", "annotations": _annotations(51)}}
    )
    assert "50" in str(err)
    assert fake.annotations_for(run["id"]) == []
    await rejected("patch", url, {"output": {"title": "t", "summary": "x" * 65536}})
    await rejected("patch", url, {"output": {"title": "t", "summary": "s", "text": "x" * 65536}})
    await gh.patch(url, data={"output": {"title": "t", "summary": "x" * 65535}}, oauth_token=token)
    await rejected("patch", url, {"status": "completed"})
    await rejected("patch", url, {"completed_at": "2024-05-01T12:00:00Z"})
    await rejected("patch", url, {"output": {"summary": "no title"}})
    await rejected("patch", url, {"output": {"title": "no summary"}})
    await rejected("patch", url, {"started_at": "yesterday"})
    await rejected(
        "post", f"/repos/{REPO}/check-runs", {"name": "x", "head_sha": sha, "status": "completed"}
    )
    err = await rejected("post", f"/repos/{REPO}/check-runs", {"name": "x", "head_sha": "a" * 40})
    assert "No commit found for SHA" in str(err)
    await rejected("post", f"/repos/{REPO}/check-runs", {"name": "x"})
    ann = _annotations(1)[0] | {"end_line": 3, "start_column": 1}
    await rejected("patch", url, {"output": {"title": "t", "summary": "s", "annotations": [ann]}})
    assert fake.check_run(run["id"])["status"] == "queued"


async def test_schema_validation_rejects_bad_enum_like_github(
    fake: FakeGitHub, gh: GitHubAPI, session: aiohttp.ClientSession
) -> None:
    token = await installation_token(gh)
    sha = fake.branch_sha(REPO, "main")
    async with session.post(
        f"{fake.url}/repos/{REPO}/check-runs",
        json={"name": "Tandem", "head_sha": sha, "status": "bogus"},
        headers={"Authorization": f"token {token}"},
    ) as resp:
        body = await resp.json()
        assert resp.status == 422
    assert body["message"].startswith("Invalid request.\n\n")
    assert '"bogus" is not a member of enum' in body["message"]
    assert body["errors"][0]["field"] == "status"
    assert "checks" in body["documentation_url"]
    with pytest.raises(BadRequest) as exc:
        await gh.post(
            f"/repos/{REPO}/check-runs",
            data={"name": "Tandem", "head_sha": sha, "conclusion": "great"},
            oauth_token=token,
        )
    assert exc.value.status_code == 422
    assert fake.check_runs_for(REPO, sha or "") == []
    assert [c.status for c in fake.calls_matching("POST", "/check-runs$")] == [422, 422]


async def test_malformed_json_and_unknown_routes(
    fake: FakeGitHub, gh: GitHubAPI, session: aiohttp.ClientSession
) -> None:
    token = await installation_token(gh)
    auth = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    async with session.post(f"{fake.url}/repos/{REPO}/check-runs", data=b"{no", headers=auth) as r:
        assert r.status == 400
        assert (await r.json())["message"] == "Problems parsing JSON"
    async with session.get(f"{fake.url}/repos/{REPO}/teleport", headers=auth) as r:
        assert r.status == 404
    async with session.delete(f"{fake.url}/repos/{REPO}/check-runs/1", headers=auth) as r:
        assert r.status == 404
    async with session.get(f"{fake.url}/repos/{REPO}/check-runs/abc", headers=auth) as r:
        assert r.status == 404
    async with session.get(f"{fake.url}/repos/{REPO}/pulls?state=weird", headers=auth) as r:
        assert r.status == 422


# ----------------------------------------------------------------------------- contents


async def test_contents_reads_committed_file_from_branch(fake: FakeGitHub, gh: GitHubAPI) -> None:
    token = await installation_token(gh)
    fake.create_branch(REPO, "feature", "main")
    fake.commit_files(REPO, "feature", {".github/tandem.yml": "tests:\n  enabled: true\n"})
    got = await gh.getitem(
        f"/repos/{REPO}/contents/.github/tandem.yml?ref=feature", oauth_token=token
    )
    assert got["type"] == "file" and got["encoding"] == "base64"
    assert got["path"] == ".github/tandem.yml" and got["name"] == "tandem.yml"
    assert base64.b64decode(got["content"]) == b"tests:\n  enabled: true\n"
    assert got["size"] == len(b"tests:\n  enabled: true\n")
    expected_sha = hashlib.sha1(b"blob 23\0tests:\n  enabled: true\n").hexdigest()
    assert got["sha"] == expected_sha
    with pytest.raises(BadRequest) as exc:  # not on the default branch
        await gh.getitem(f"/repos/{REPO}/contents/.github/tandem.yml", oauth_token=token)
    assert exc.value.status_code == 404
    with pytest.raises(BadRequest) as exc:
        await gh.getitem(f"/repos/{REPO}/contents/README.md?ref=nope", oauth_token=token)
    assert exc.value.status_code == 404
    feature_sha = fake.branch_sha(REPO, "feature")
    by_sha = await gh.getitem(
        f"/repos/{REPO}/contents/README.md?ref={feature_sha}", oauth_token=token
    )
    assert base64.b64decode(by_sha["content"]) == b"# demo\n"
    listing = await gh.getitem(f"/repos/{REPO}/contents/src", oauth_token=token)
    assert [(e["name"], e["type"]) for e in listing] == [("app.py", "file")]


# ----------------------------------------------------------------------------- git


def _git_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Bob",
        "GIT_AUTHOR_EMAIL": "bob@example.com",
        "GIT_COMMITTER_NAME": "Bob",
        "GIT_COMMITTER_EMAIL": "bob@example.com",
    }


async def git(home: Path, *args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run git without blocking the event loop the fake is serving on."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=_git_env(home),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


def _with_creds(url: str, token: str) -> str:
    return url.replace("http://", f"http://x-access-token:{token}@")


async def test_git_clone_over_smart_http_needs_a_token(
    fake: FakeGitHub, gh: GitHubAPI, tmp_path: Path
) -> None:
    token = await installation_token(gh)
    home = tmp_path / "home"
    url = fake.clone_url(REPO)
    assert url == f"{fake.url}/git/{REPO}.git"

    rc, out = await git(home, "clone", "--quiet", _with_creds(url, token), str(tmp_path / "a"))
    assert rc == 0, out
    assert (tmp_path / "a" / "src" / "app.py").read_text() == "X = 1\n"

    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    rc, out = await git(
        home,
        "-c",
        f"http.extraHeader=Authorization: Basic {basic}",
        "clone",
        url,
        str(tmp_path / "b"),
    )
    assert rc == 0, out

    rc, out = await git(home, "clone", url, str(tmp_path / "c"))
    assert rc != 0 and not (tmp_path / "c").exists()
    assert "Username" in out or "Authentication failed" in out, out
    assert any(r.status == 401 for r in fake.git_requests)

    other = await installation_token(gh, OTHER_INSTALLATION)
    rc, out = await git(home, "clone", _with_creds(url, other), str(tmp_path / "d"))
    assert rc != 0 and "not found" in out.lower(), out


async def test_fetch_with_gzip_request_body(
    fake: FakeGitHub, gh: GitHubAPI, tmp_path: Path
) -> None:
    """git gzips upload-pack requests over 1 KiB; http-backend must get them intact."""
    token = await installation_token(gh)
    repo_path = fake.repo_path(REPO)
    stream = []
    for i in range(40):
        data = f"v{i}\n".encode()
        stream.append(
            f"commit refs/heads/b{i}\ncommitter A <a@x> 1700000000 +0000\ndata 2\nc{i % 10}\n"
            f"M 100644 inline f.txt\ndata {len(data)}\n".encode()
            + data
            + b"\n"
        )
    proc = await asyncio.create_subprocess_exec(
        "git",
        "--git-dir",
        str(repo_path),
        "fast-import",
        "--quiet",
        stdin=asyncio.subprocess.PIPE,
    )
    await proc.communicate(b"".join(stream))
    assert proc.returncode == 0
    rc, out = await git(
        tmp_path / "home",
        "clone",
        "--quiet",
        _with_creds(fake.clone_url(REPO), token),
        str(tmp_path / "g"),
    )
    assert rc == 0, out
    assert any(r.content_encoding == "gzip" for r in fake.git_requests)


async def test_push_creates_branch_then_pull_request(
    fake: FakeGitHub, gh: GitHubAPI, tmp_path: Path
) -> None:
    token = await installation_token(gh)
    home = tmp_path / "home"
    work = tmp_path / "work"
    rc, out = await git(
        home, "clone", "--quiet", _with_creds(fake.clone_url(REPO), token), str(work)
    )
    assert rc == 0, out
    (work / "tests").mkdir()
    (work / "tests" / "test_app.py").write_text("def test_x():\n    assert True\n")
    await git(home, "checkout", "--quiet", "-b", "tandem/tests-1", cwd=work)
    await git(home, "add", ".", cwd=work)
    rc, out = await git(home, "commit", "--quiet", "-m", "Add tests", cwd=work)
    assert rc == 0, out

    # Before the push the branch does not exist, so GitHub refuses the PR.
    with pytest.raises(BadRequest) as exc:
        await gh.post(
            f"/repos/{REPO}/pulls",
            data={"title": "Tests", "head": "tandem/tests-1", "base": "main"},
            oauth_token=token,
        )
    assert exc.value.status_code == 422

    rc, out = await git(home, "push", "--quiet", "origin", "tandem/tests-1", cwd=work)
    assert rc == 0, out
    _, local_sha = await git(home, "rev-parse", "HEAD", cwd=work)
    assert fake.branch_sha(REPO, "tandem/tests-1") == local_sha.strip()
    assert fake.pushes[-1].updates == {"refs/heads/tandem/tests-1": (None, local_sha.strip())}

    pr = await gh.post(
        f"/repos/{REPO}/pulls",
        data={"title": "Tests", "head": "octo:tandem/tests-1", "base": "main", "body": "b"},
        oauth_token=token,
    )
    assert_shape("POST /repos/{owner}/{repo}/pulls", 201, pr)
    assert pr["number"] == 1 and pr["state"] == "open"
    assert pr["head"]["sha"] == local_sha.strip() and pr["head"]["ref"] == "tandem/tests-1"
    assert pr["user"]["login"] == "tandem[bot]" and pr["commits"] == 1 and pr["additions"] == 2
    with pytest.raises(BadRequest) as exc:
        await gh.post(
            f"/repos/{REPO}/pulls",
            data={"title": "Again", "head": "tandem/tests-1", "base": "main"},
            oauth_token=token,
        )
    assert "A pull request already exists for octo:tandem/tests-1" in str(exc.value)

    listed = await gh.getitem(
        f"/repos/{REPO}/pulls?head=octo:tandem/tests-1&state=open", oauth_token=token
    )
    assert [p["number"] for p in listed] == [1]
    assert await gh.getitem(f"/repos/{REPO}/pulls?head=octo:other", oauth_token=token) == []
    closed = await gh.patch(f"/repos/{REPO}/pulls/1", data={"state": "closed"}, oauth_token=token)
    assert closed["state"] == "closed" and closed["closed_at"]
    assert await gh.getitem(f"/repos/{REPO}/pulls", oauth_token=token) == []
    assert fake.pulls_for(REPO)[0]["state"] == "closed"

    # A push without a token is refused.
    rc, out = await git(
        home, "push", "--quiet", fake.clone_url(REPO), "HEAD:refs/heads/x", cwd=work
    )
    assert rc != 0
    assert fake.branch_sha(REPO, "x") is None


async def test_pull_request_head_follows_pushes(fake: FakeGitHub, gh: GitHubAPI) -> None:
    token = await installation_token(gh)
    fake.create_branch(REPO, "feature", "main")
    fake.commit_files(REPO, "feature", {"a.py": "A = 1\n"})
    pr = fake.open_pull_request(REPO, head="feature", title="Feature")
    new_sha = fake.commit_files(REPO, "feature", {"a.py": "A = 2\n"})
    got = await gh.getitem(f"/repos/{REPO}/pulls/{pr['number']}", oauth_token=token)
    assert_shape("GET /repos/{owner}/{repo}/pulls/{pull_number}", 200, got)
    assert got["head"]["sha"] == new_sha and got["commits"] == 2
    run = await gh.post(
        f"/repos/{REPO}/check-runs", data={"name": "T", "head_sha": new_sha}, oauth_token=token
    )
    assert [p["number"] for p in run["pull_requests"]] == [pr["number"]]
    with pytest.raises(ApiError, match="Validation Failed"):  # no commits between main and main
        fake.open_pull_request(REPO, head="main", base="main")


# ----------------------------------------------------------------------------- comments etc.


async def test_comments_reactions_and_permissions(fake: FakeGitHub, gh: GitHubAPI) -> None:
    token = await installation_token(gh)
    fake.create_branch(REPO, "feature", "main")
    fake.commit_files(REPO, "feature", {"a.py": "A = 1\n"})
    number = fake.open_pull_request(REPO, head="feature")["number"]
    human = fake.add_comment(REPO, number, "/generate-tests", user="carol")

    comment = await gh.post(
        f"/repos/{REPO}/issues/{number}/comments", data={"body": "On it"}, oauth_token=token
    )
    assert_shape("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", 201, comment)
    assert comment["user"]["type"] == "Bot"
    with pytest.raises(BadRequest) as exc:
        await gh.post(
            f"/repos/{REPO}/issues/{number}/comments", data={"body": "x" * 65537}, oauth_token=token
        )
    assert exc.value.status_code == 422
    await gh.post(
        f"/repos/{REPO}/issues/{number}/comments", data={"body": "x" * 65536}, oauth_token=token
    )
    with pytest.raises(BadRequest) as exc:
        await gh.post(f"/repos/{REPO}/issues/99/comments", data={"body": "x"}, oauth_token=token)
    assert exc.value.status_code == 404
    edited = await gh.patch(
        f"/repos/{REPO}/issues/comments/{comment['id']}", data={"body": "Done"}, oauth_token=token
    )
    assert edited["body"] == "Done"
    bodies = [c["body"] for c in fake.comments_for(REPO, number)]
    assert bodies[:2] == ["/generate-tests", "Done"]
    listed = [
        c async for c in gh.getiter(f"/repos/{REPO}/issues/{number}/comments", oauth_token=token)
    ]
    assert len(listed) == 3

    reaction = await gh.post(
        f"/repos/{REPO}/issues/comments/{human['id']}/reactions",
        data={"content": "eyes"},
        oauth_token=token,
    )
    assert_shape("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", 201, reaction)
    await gh.post(
        f"/repos/{REPO}/issues/{number}/reactions", data={"content": "+1"}, oauth_token=token
    )
    with pytest.raises(BadRequest) as exc:
        await gh.post(
            f"/repos/{REPO}/issues/comments/{human['id']}/reactions",
            data={"content": "thumbsup"},
            oauth_token=token,
        )
    assert exc.value.status_code == 422
    assert [r["content"] for r in fake.reactions_for(REPO, comment_id=human["id"])] == ["eyes"]
    assert [r["content"] for r in fake.reactions_for(REPO, issue_number=number)] == ["+1"]

    perm_url = f"/repos/{REPO}/collaborators/carol/permission"
    got = await gh.getitem(perm_url, oauth_token=token)
    assert_shape("GET /repos/{owner}/{repo}/collaborators/{username}/permission", 200, got)
    assert got["permission"] == "read"
    fake.set_permission(REPO, "carol", "maintain")
    got = await gh.getitem(perm_url, oauth_token=token)
    assert (got["permission"], got["role_name"]) == ("write", "maintain")
    owner = await gh.getitem(f"/repos/{REPO}/collaborators/octo/permission", oauth_token=token)
    assert owner["permission"] == "admin"


# ----------------------------------------------------------------------------- faults


async def test_review_with_suggestions_must_sit_on_the_diff(
    fake: FakeGitHub, gh: GitHubAPI
) -> None:
    token = await installation_token(gh)
    base = "".join(f"line{i} = {i}\n" for i in range(1, 31))
    fake.commit_files(REPO, "main", {"m.py": base})
    fake.create_branch(REPO, "feature", "main")
    head = fake.commit_files(REPO, "feature", {"m.py": base.replace("line20 = 20", "line20 = 0")})
    number = fake.open_pull_request(REPO, head="feature")["number"]
    url = f"/repos/{REPO}/pulls/{number}"

    def comment(**kw: Any) -> dict[str, Any]:
        return {"path": "m.py", "body": "```suggestion\nline20 = 20\n```", "side": "RIGHT", **kw}

    review = await gh.post(
        f"{url}/reviews",
        data={"commit_id": head, "event": "COMMENT", "comments": [comment(line=20)]},
        oauth_token=token,
    )
    assert_shape("POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews", 200, review)
    assert (review["state"], review["commit_id"]) == ("COMMENTED", head)
    # a multi-line comment inside the hunk (lines 17..23 with 3 lines of context)
    await gh.post(
        f"{url}/reviews",
        data={"event": "COMMENT", "comments": [comment(start_line=18, line=21)]},
        oauth_token=token,
    )
    rejected = [
        {"commit_id": head, "event": "COMMENT", "comments": [comment(line=5)]},  # off the diff
        {"event": "COMMENT", "comments": [comment(line=20, path="nope.py")]},
        {"event": "COMMENT", "comments": [comment(start_line=21, line=20)]},
        {"event": "COMMENT", "comments": [comment(start_line=2, line=20)]},
        {"commit_id": "0" * 40, "event": "COMMENT", "comments": [comment(line=20)]},
        {"event": "COMMENT"},  # no body, no comments
        {"event": "COMMENT", "comments": [{"path": "m.py", "line": "20", "body": "x"}]},  # schema
        {"event": "SHOUT", "body": "x"},  # schema: enum
    ]
    for data in rejected:
        with pytest.raises(BadRequest) as exc:
            await gh.post(f"{url}/reviews", data=data, oauth_token=token)
        assert exc.value.status_code == 422, data

    listed = await gh.getitem(f"{url}/comments", oauth_token=token)
    assert_shape("GET /repos/{owner}/{repo}/pulls/{pull_number}/comments", 200, listed)
    assert [(c["line"], c.get("start_line")) for c in listed] == [(20, None), (21, 18)]
    assert listed[0]["pull_request_review_id"] == review["id"]
    assert "@@ " in listed[0]["diff_hunk"] and listed[0]["user"]["type"] == "Bot"
    assert fake.review_comments_for(REPO, number) == listed
    assert len(fake.reviews_for(REPO, number)) == 2
    with pytest.raises(BadRequest) as exc:
        await gh.getitem(f"/repos/{REPO}/pulls/999/comments", oauth_token=token)
    assert exc.value.status_code == 404


async def test_fail_next_injects_errors(fake: FakeGitHub, gh: GitHubAPI) -> None:
    token = await installation_token(gh)
    sha = fake.branch_sha(REPO, "main")
    fake.fail_next("POST", r"/check-runs$", 502)
    with pytest.raises(GitHubBroken) as broken:
        await gh.post(
            f"/repos/{REPO}/check-runs", data={"name": "T", "head_sha": sha}, oauth_token=token
        )
    assert broken.value.status_code == 502
    created = await gh.post(
        f"/repos/{REPO}/check-runs", data={"name": "T", "head_sha": sha}, oauth_token=token
    )
    assert [c.status for c in fake.calls_matching("POST", "/check-runs$")] == [502, 201]

    fake.fail_next(
        "PATCH",
        r"/check-runs/\d+$",
        403,
        times=2,
        headers={"retry-after": "1"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    for _ in range(2):
        with pytest.raises(BadRequest) as exc:
            await gh.patch(
                f"/repos/{REPO}/check-runs/{created['id']}",
                data={"status": "in_progress"},
                oauth_token=token,
            )
        assert exc.value.status_code == 403
        assert exc.value.headers is not None and exc.value.headers["retry-after"] == "1"
        assert "secondary rate limit" in str(exc.value)
    await gh.patch(
        f"/repos/{REPO}/check-runs/{created['id']}",
        data={"status": "in_progress"},
        oauth_token=token,
    )
    assert fake.check_run(created["id"])["status"] == "in_progress"


# ----------------------------------------------------------------------------- thread mode


def test_thread_runner_serves_from_background_thread(tmp_path: Path) -> None:
    _, public = make_app_key()
    with FakeGitHubThread(tmp_path, app_id=APP_ID, public_key_pem=public) as fake:
        fake.add_installation(INSTALLATION, "octo")
        fake.create_repo(REPO, installation_id=INSTALLATION)
        fake.commit_files(REPO, "main", {"README.md": "hi\n"})
        token = fake.create_installation_token(INSTALLATION)
        request = urllib.request.Request(
            f"{fake.url}/repos/{REPO}/contents/README.md",
            headers={"Authorization": f"token {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            data = json.loads(resp.read())
            assert resp.headers["x-ratelimit-resource"] == "core"
            assert resp.headers["x-ratelimit-limit"] == "5000"
            assert resp.headers["x-github-request-id"]
        assert base64.b64decode(data["content"]) == b"hi\n"
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"{fake.url}/repos/{REPO}/pulls", timeout=10)
        assert exc.value.code == 401
        assert [(c.method, c.status) for c in fake.calls] == [("GET", 200), ("GET", 401)]
        assert fake.tokens_issued == 0


# ----------------------------------------------------------------------------- payloads


def test_payload_builders_and_signature() -> None:
    payload = pull_request_event(
        action="synchronize",
        repo_full_name=REPO,
        number=3,
        head_sha="b" * 40,
        base_sha="a" * 40,
        clone_url="http://127.0.0.1:1/git/octo/demo.git",
        installation_id=INSTALLATION,
        before="c" * 40,
    )
    pr = payload["pull_request"]
    assert payload["installation"]["id"] == INSTALLATION
    assert payload["after"] == "b" * 40 and payload["before"] == "c" * 40
    assert pr["head"]["sha"] == "b" * 40 and pr["base"]["ref"] == "main"
    assert pr["head"]["repo"]["full_name"] == REPO and not pr["head"]["repo"]["fork"]
    assert payload["repository"]["owner"]["login"] == "octo"
    assert payload["sender"] == {**payload["sender"], "login": "alice", "type": "User"}
    forked = pull_request_event(
        action="opened",
        repo_full_name=REPO,
        number=4,
        head_sha="b" * 40,
        base_sha="a" * 40,
        clone_url="http://h/git/octo/demo.git",
        installation_id=1,
        sender="mallory",
        fork=True,
    )
    head_repo = forked["pull_request"]["head"]["repo"]
    assert head_repo["full_name"] == "mallory/demo" and head_repo["fork"] is True
    assert head_repo["clone_url"] == "http://h/git/mallory/demo.git"
    comment = issue_comment_event(
        repo_full_name=REPO,
        number=3,
        comment_body="/generate-tests",
        clone_url="http://h/git/octo/demo.git",
        installation_id=1,
    )
    assert comment["issue"]["pull_request"]["url"].endswith("/pulls/3")
    assert comment["comment"]["body"] == "/generate-tests"

    body = json.dumps(payload).encode()
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign(body, "s3cret") == expected
    headers = delivery_headers("pull_request", body, "s3cret", delivery_id="d-1")
    assert headers["x-github-event"] == "pull_request"
    assert headers["x-github-delivery"] == "d-1"
    assert headers["x-hub-signature-256"] == expected
    assert headers["content-type"] == "application/json"
    assert delivery_headers("ping", body, "s")["x-github-delivery"]


# ----------------------------------------------------------------------------- the fixture


def test_openapi_fixture_is_pinned_and_resolved() -> None:
    assert OPS["source"]["package"] == "@octokit/openapi"
    assert OPS["source"]["version"] == "23.0.2"
    text = json.dumps(OPS)
    assert "$ref" not in text
    schema = OPS["operations"]["POST /repos/{owner}/{repo}/check-runs"]["requestBody"]["schema"]
    assert schema["properties"]["output"]["properties"]["annotations"]["maxItems"] == 50
    assert schema["properties"]["output"]["properties"]["summary"]["maxLength"] == 65535


def test_extract_script_inlines_refs(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "extract_github_openapi.py"
    spec_obj = importlib.util.spec_from_file_location("extract_github_openapi", script)
    assert spec_obj is not None and spec_obj.loader is not None
    module = importlib.util.module_from_spec(spec_obj)
    sys.modules["extract_github_openapi"] = module
    spec_obj.loader.exec_module(module)
    spec = {
        "components": {
            "schemas": {
                "level": {"type": "string", "enum": ["a", "b"], "description": "doc"},
                "thing": {
                    "type": "object",
                    "properties": {
                        "level": {"$ref": "#/components/schemas/level"},
                        "description": {"type": "string"},
                    },
                },
            }
        }
    }
    out = module.inline(spec, {"$ref": "#/components/schemas/thing"})
    assert out == {
        "type": "object",
        "properties": {
            "level": {"type": "string", "enum": ["a", "b"]},
            "description": {"type": "string"},
        },
    }
