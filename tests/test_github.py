"""GitHub helpers against the fake GitHub: token cache in Redis, check-run limits, retries."""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from core import github
from core.github import Annotation, CheckOutput, GitHubError
from core.settings import Settings
from tests.fakegithub import FakeGitHub, make_app_key

APP_ID = 31
INSTALLATION = 501
REPO = "octo/lib"


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeGitHub]:
    _, public = make_app_key()
    server = FakeGitHub(tmp_path / "gh", app_id=APP_ID, public_key_pem=public)
    await server.start()
    server.add_installation(INSTALLATION, "octo")
    server.add_installation(INSTALLATION + 1, "other")
    server.create_repo(REPO, installation_id=INSTALLATION)
    yield server
    await server.close()


@pytest.fixture
def settings(fake: FakeGitHub, redis_url: str) -> Settings:
    private, _ = make_app_key()
    return Settings(
        github_app_id=APP_ID,
        github_private_key=SecretStr(private.decode()),
        github_api_url=fake.url,
        redis_url=redis_url,
    )  # type: ignore[call-arg]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_installation_token_is_shared_through_redis(
    fake: FakeGitHub, settings: Settings, redis_client: Redis, session: aiohttp.ClientSession
) -> None:
    first = await github.installation_token(redis_client, session, settings, INSTALLATION)
    # a second worker (another Redis connection) reuses it
    other = Redis.from_url(settings.redis_url or "")
    try:
        again = await github.installation_token(other, session, settings, INSTALLATION)
    finally:
        await other.aclose()
    assert first == again and first.startswith("ghs_")
    assert fake.tokens_issued == 1
    ttl = await redis_client.ttl(f"tandem:token:{INSTALLATION}")
    assert 3000 < ttl <= 3600 - 300  # renewed five minutes before GitHub's one-hour expiry
    await github.installation_token(redis_client, session, settings, INSTALLATION + 1)
    assert fake.tokens_issued == 2


async def test_wrong_app_key_is_a_clear_picklable_error(
    fake: FakeGitHub, settings: Settings, redis_client: Redis, session: aiohttp.ClientSession
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    wrong = settings.model_copy(update={"github_private_key": SecretStr(pem)})
    with pytest.raises(GitHubError) as caught:
        await github.installation_token(redis_client, session, wrong, INSTALLATION)
    assert caught.value.status == 401
    assert "401" in str(caught.value)
    restored = pickle.loads(pickle.dumps(caught.value))  # arq pickles job errors
    assert str(restored) == str(caught.value)


async def test_check_run_lifecycle_with_annotations_in_batches(
    fake: FakeGitHub, settings: Settings, redis_client: Redis, session: aiohttp.ClientSession
) -> None:
    sha = fake.commit_files(REPO, "main", {"a.py": "x = 1\n" * 200})
    gh, _ = await github.installation_client(redis_client, session, settings, INSTALLATION)
    key = f"{REPO}#1@{sha}"
    assert await github.find_check_run(gh, REPO, sha, key) is None
    created = await github.create_check_run(gh, REPO, sha, key, CheckOutput("Working", "..."))
    assert await github.find_check_run(gh, REPO, sha, key) == created

    annotations = [
        Annotation("a.py", n, n, "notice", f"finding {n}", title=f"T{n}") for n in range(1, 121)
    ]
    output = CheckOutput("Done", "s" * 70_000, annotations=annotations)
    await github.complete_check_run(gh, REPO, created, "success", output)

    patches = fake.calls_matching("PATCH", rf"/check-runs/{created}$")
    assert [len((c.json.get("output") or {}).get("annotations", [])) for c in patches] == [
        50,
        50,
        20,
    ]
    assert all(c.status == 200 for c in patches)
    run = fake.check_run(created)
    assert run["status"] == "completed" and run["conclusion"] == "success"
    assert len(run["output"]["summary"]) == 65535
    assert run["output"]["summary"].endswith("(truncated)")
    assert len(fake.annotations_for(created)) == 120
    # a completed run belongs to an earlier attempt: not reused
    assert await github.find_check_run(gh, REPO, sha, key) is None


async def test_server_errors_are_retried_then_reported(
    fake: FakeGitHub,
    settings: Settings,
    redis_client: Redis,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(github, "RETRY_BASE_S", 0.01)
    gh, _ = await github.installation_client(redis_client, session, settings, INSTALLATION)
    fake.commit_files(REPO, "main", {".github/tandem.yml": "enabled: false\n"})
    fake.fail_next("GET", r"/contents/", 502)
    assert await github.get_file(gh, REPO, ".github/tandem.yml", "main") == "enabled: false\n"
    assert await github.get_file(gh, REPO, "missing.yml", "main") is None

    fake.fail_next("GET", r"/contents/", 403, headers={"retry-after": "0"})
    assert await github.get_file(gh, REPO, ".github/tandem.yml", "main") is not None

    fake.fail_next("GET", r"/contents/", 503, times=10)
    with pytest.raises(GitHubError, match="503"):
        await github.get_file(gh, REPO, ".github/tandem.yml", "main")


def test_clip() -> None:
    assert github.clip("abc", 5) == "abc"
    clipped = github.clip("x" * 100, 50)
    assert len(clipped) == 50 and clipped.endswith("(truncated)")
