"""Webhook intake against a real Redis: verify, de-duplicate, decide, enqueue."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import create_app
from core.connections import CONTROL_QUEUE
from core.settings import Settings
from tests.fakegithub.payloads import pull_request_event, webhook_request

SECRET = "s3cret-for-tests"
HEAD = "c" * 40
BASE = "d" * 40


def pr_payload(action: str = "opened", head: str = HEAD) -> dict[str, Any]:
    return pull_request_event(
        action=action,
        repo_full_name="octo/demo",
        number=3,
        head_sha=head,
        base_sha=BASE,
        clone_url="http://127.0.0.1:1/git/octo/demo.git",
        installation_id=5,
    )


async def make_client(redis_url: str, accept_runs: bool = True, **extra: Any) -> TestClient:
    settings = Settings(webhook_secret=SecretStr(SECRET), redis_url=redis_url, **extra)  # type: ignore[call-arg]
    client = TestClient(TestServer(create_app(settings, accept_runs=accept_runs)))
    await client.start_server()
    return client


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[TestClient]:
    client = await make_client(redis_url)
    yield client
    await client.close()


async def queued(redis: Redis) -> list[str]:
    return [job.decode() for job in await redis.zrange(CONTROL_QUEUE, 0, -1)]


async def post(client: TestClient, event: str, payload: Any, delivery: str | None = None) -> Any:
    body, headers = webhook_request(event, payload, SECRET, delivery)
    return await client.post("/webhook", data=body, headers=headers)


async def test_ping_answers_pong(client: TestClient, redis_client: Redis) -> None:
    response = await post(client, "ping", {"zen": "Keep it logically awesome."})
    assert response.status == 200
    assert (await response.json()) == {"msg": "pong"}
    assert await queued(redis_client) == []


async def test_opened_pr_enqueues_one_start(client: TestClient, redis_client: Redis) -> None:
    response = await post(client, "pull_request", pr_payload())
    assert response.status == 202
    assert await queued(redis_client) == [f"start_run:octo/demo#3@{HEAD}"]


async def test_same_delivery_three_times_starts_one_run(
    client: TestClient, redis_client: Redis
) -> None:
    statuses = [
        (await post(client, "pull_request", pr_payload(), delivery="d-1")).status for _ in range(3)
    ]
    assert statuses == [202, 200, 200]
    # a different delivery of the same head is absorbed by the deterministic job id
    assert (await post(client, "pull_request", pr_payload("synchronize"), "d-2")).status == 202
    assert await queued(redis_client) == [f"start_run:octo/demo#3@{HEAD}"]


async def test_closed_pr_enqueues_cancel(client: TestClient, redis_client: Redis) -> None:
    response = await post(client, "pull_request", pr_payload("closed"), delivery="d-9")
    assert response.status == 202
    assert await queued(redis_client) == ["cancel_pr_runs:octo/demo#3:d-9"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: h.update({"x-hub-signature-256": "sha256=" + "0" * 64}),
        lambda h: h.pop("x-hub-signature-256"),
        lambda h: h.update({"x-hub-signature-256": "sha1=abc"}),
    ],
)
async def test_bad_signature_is_401_and_enqueues_nothing(
    client: TestClient, redis_client: Redis, tamper: Any
) -> None:
    body, headers = webhook_request("pull_request", pr_payload(), SECRET)
    tamper(headers)
    response = await client.post("/webhook", data=body, headers=headers)
    assert response.status == 401
    assert await queued(redis_client) == []
    assert await redis_client.keys("tandem:delivery:*") == []


async def test_signed_with_other_secret_is_401(client: TestClient, redis_client: Redis) -> None:
    body, headers = webhook_request("pull_request", pr_payload(), "other-secret")
    assert (await client.post("/webhook", data=body, headers=headers)).status == 401
    assert await queued(redis_client) == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2, 3]", b"\xff\xfe\x00", b""])
async def test_malformed_body_is_400(client: TestClient, redis_client: Redis, raw: bytes) -> None:
    from tests.fakegithub.payloads import delivery_headers

    headers = delivery_headers("pull_request", raw, SECRET)
    response = await client.post("/webhook", data=raw, headers=headers)
    assert response.status == 400
    assert await queued(redis_client) == []


async def test_payload_missing_fields_is_400(client: TestClient, redis_client: Redis) -> None:
    payload = pr_payload()
    del payload["pull_request"]["head"]["sha"]
    response = await post(client, "pull_request", payload)
    assert response.status == 400
    assert "head.sha" in (await response.json())["error"]
    assert await queued(redis_client) == []


async def test_oversized_payload_is_413(client: TestClient, redis_client: Redis) -> None:
    payload = pr_payload()
    payload["pull_request"]["body"] = "x" * (25 * 1024 * 1024 + 10)
    response = await post(client, "pull_request", payload)
    assert response.status == 413
    assert await queued(redis_client) == []


async def test_wrong_content_type_is_415(client: TestClient) -> None:
    body, headers = webhook_request("pull_request", pr_payload(), SECRET)
    headers["content-type"] = "application/x-www-form-urlencoded"
    assert (await client.post("/webhook", data=body, headers=headers)).status == 415


async def test_unhandled_event_is_acknowledged(client: TestClient, redis_client: Redis) -> None:
    response = await post(client, "star", {"action": "created"})
    assert response.status == 202
    assert await queued(redis_client) == []


async def test_without_app_credentials_runs_are_refused_not_lost(
    redis_url: str, redis_client: Redis
) -> None:
    client = await make_client(redis_url, accept_runs=False)
    try:
        response = await post(client, "pull_request", pr_payload(), delivery="d-5")
        assert response.status == 503
        assert "TANDEM_GITHUB_APP_ID" in (await response.json())["error"]
        # not remembered as seen, so GitHub's redelivery will be processed later
        assert await redis_client.get("tandem:delivery:d-5") is None
    finally:
        await client.close()


async def test_healthz(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_metrics_count_deliveries(client: TestClient) -> None:
    await post(client, "ping", {"zen": "hi"})
    body, headers = webhook_request("pull_request", pr_payload(), "wrong-secret")
    await client.post("/webhook", data=body, headers=headers)
    text = await (await client.get("/metrics")).text()
    assert 'tandem_webhook_deliveries_total{event="ping",status="200"}' in text
    assert 'tandem_webhook_deliveries_total{event="rejected",status="401"}' in text
    assert "tandem_webhook_intake_seconds_bucket" in text


def _set(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    import copy

    mutated = copy.deepcopy(payload)
    target = mutated
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    target[last] = value
    return mutated


HOSTILE_VALUES: list[Any] = [None, "x", -1, 10**40, [], {}, True, "../../etc/passwd", "\x00"]
PR_FIELDS = [
    "pull_request",
    "pull_request.number",
    "pull_request.head",
    "pull_request.head.sha",
    "pull_request.base.sha",
    "repository",
    "repository.full_name",
    "installation",
    "installation.id",
]


def hostile_requests() -> list[tuple[str, str, bytes, dict[str, str]]]:
    """(category, event, body, headers): 200 requests that must all be refused."""
    import random

    from tests.fakegithub.payloads import delivery_headers, encode, issue_comment_event

    requests: list[tuple[str, str, bytes, dict[str, str]]] = []

    def signed(category: str, event: str, body: bytes) -> None:
        requests.append((category, event, body, delivery_headers(event, body, SECRET)))

    base = pr_payload()
    for field in PR_FIELDS:
        for value in HOSTILE_VALUES:
            payload = _set(base, field, value)
            if field == "pull_request.number" and value is True:
                continue  # bool is an int to JSON's readers; covered by "x" and []
            signed("wrong shape", "pull_request", encode(payload))
    for action in [None, 7, [], {"a": 1}, True]:  # an unknown *string* is only not handled
        signed("wrong shape", "pull_request", encode(_set(base, "action", action)))
    comment = issue_comment_event(
        repo_full_name="octo/demo",
        number=3,
        comment_body="/generate-tests",
        clone_url="http://127.0.0.1:1/git/octo/demo.git",
        installation_id=5,
    )
    for field in ["comment", "comment.body", "comment.user", "issue", "issue.number", "sender"]:
        for value in [None, 5 if field == "comment.body" else "5", [], {}]:
            if (field, value) != ("issue", {}):  # that is a plain issue: not handled, 202
                signed("wrong shape", "issue_comment", encode(_set(comment, field, value)))
    depth = 10_000
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        signed("deep nesting", "pull_request", (opener * depth + "1" + closer * depth).encode())
    deep_inside = encode(base)[:-1] + b',"extra":' + b"[" * depth + b"]" * depth + b"}"
    signed("deep nesting", "pull_request", deep_inside)  # a valid PR, plus 10,000 levels
    malformed = [
        b"{",
        b'{"a": }',
        b"\xef\xbb\xbf{}",
        b"NaN",
        b'{"action": "opened", "pull_request": 1e99999}',
        b"\x00" * 64,
        b'"just a string"',
        b"null",
        b"12345",
        b"[]",
        b'{"action": "opened", "pull_request": "\\ud800"}',
        '{"ä": "ö"'.encode(),
        b"{}" * 1000,
    ]
    for raw in malformed:
        signed("malformed", "pull_request", raw)
    body = encode(base)
    for bad in [
        "",
        "sha1=abc",
        "sha256=",
        "sha256=" + "0" * 64,
        "sha256=zz",
        "sha256=" + "a" * 9999,
    ]:
        headers = delivery_headers("pull_request", body, SECRET)
        headers["x-hub-signature-256"] = bad
        requests.append(("bad signature", "pull_request", body, headers))
    for header, value in [("x-github-event", ""), ("x-github-delivery", ""),
                          ("x-github-delivery", "d" * 101), ("content-type", "text/plain"),
                          ("content-type", "application/x-www-form-urlencoded")]:  # fmt: skip
        headers = delivery_headers("pull_request", body, SECRET)
        headers[header] = value
        requests.append(("bad headers", "pull_request", body, headers))
    big = encode(_set(base, "pull_request.body", "x" * (25 * 1024 * 1024 + 10)))
    signed("oversized", "pull_request", big)
    while len(requests) < 200:  # the rest: random bytes, signed, of varied lengths
        generator = random.Random(len(requests))
        raw = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 400)))
        signed("random bytes", "pull_request", raw)
    return requests[:200]


async def test_200_hostile_requests_get_4xx_and_enqueue_nothing(
    client: TestClient, redis_client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    requests = hostile_requests()
    assert len(requests) == 200
    categories = {category for category, *_ in requests}
    assert len(categories) >= 7
    caplog.set_level(logging.INFO)
    answers: dict[int, int] = {}
    for category, _event, body, headers in requests:
        response = await client.post("/webhook", data=body, headers=headers)
        answers[response.status] = answers.get(response.status, 0) + 1
        assert 400 <= response.status < 500, (category, body[:200], await response.text())
    assert sum(answers.values()) == 200
    assert await queued(redis_client) == []
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_a_job_enqueued_at_intake_is_the_one_arq_would_write(
    client: TestClient, redis_client: Redis, redis_url: str
) -> None:
    """Intake writes the job with one Lua script, not arq's enqueue_job (issue 17): the
    worker must read it exactly as one of arq's own, with the same expiry and score."""
    from arq import create_pool
    from arq.constants import expires_extra_ms
    from arq.jobs import Job

    from bot.event_plan import pull_request_ref
    from core.connections import redis_settings

    assert (await post(client, "pull_request", pr_payload(), delivery="d-arq")).status == 202
    arq_pool = await create_pool(redis_settings(redis_url))
    try:
        ours = await Job(f"start_run:octo/demo#3@{HEAD}", arq_pool, CONTROL_QUEUE).info()
        theirs_job = await arq_pool.enqueue_job(
            "start_run",
            pull_request_ref(pr_payload()).to_dict(),
            "d-arq",
            "opened",
            _job_id="by-arq",
            _queue_name=CONTROL_QUEUE,
        )
        assert theirs_job is not None
        theirs = await theirs_job.info()
        assert ours is not None and theirs is not None
        assert (ours.function, ours.args, ours.kwargs, ours.job_try) == (
            theirs.function,
            theirs.args,
            theirs.kwargs,
            theirs.job_try,
        )
        assert ours.score == int(ours.enqueue_time.timestamp() * 1000)
        for job_id in (f"start_run:octo/demo#3@{HEAD}", "by-arq"):
            ttl = await redis_client.pttl(f"arq:job:{job_id}")
            assert expires_extra_ms - 60_000 < ttl <= expires_extra_ms
    finally:
        await arq_pool.aclose()


async def test_a_finished_job_with_a_result_is_not_enqueued_again(
    client: TestClient, redis_client: Redis
) -> None:
    """arq's rule, kept by the script: a job id with a result key stays refused."""
    await redis_client.set(f"arq:result:start_run:octo/demo#3@{HEAD}", b"x")
    response = await post(client, "pull_request", pr_payload(), delivery="d-r")
    assert response.status == 202
    assert "already queued" in (await response.json())["accepted"]
    assert await queued(redis_client) == []


async def test_a_delivery_that_enqueues_nothing_is_still_a_duplicate_the_second_time(
    client: TestClient, redis_client: Redis
) -> None:
    from tests.fakegithub.payloads import issue_comment_event

    comment = issue_comment_event(
        repo_full_name="octo/demo",
        number=3,
        comment_body="thanks, looks good",
        clone_url="http://127.0.0.1:1/git/octo/demo.git",
        installation_id=5,
    )
    first = await post(client, "issue_comment", comment, delivery="d-c")
    second = await post(client, "issue_comment", comment, delivery="d-c")
    assert (first.status, second.status) == (202, 200)
    assert await second.json() == {"duplicate": "d-c"}
    assert await queued(redis_client) == []


async def test_concurrent_deliveries_share_round_trips_and_keep_every_rule(
    client: TestClient, redis_client: Redis
) -> None:
    """Deliveries that arrive together go to Redis in one pipeline (issue 17): each is still
    claimed once, and a head delivered twice is still one job."""
    import asyncio

    heads = [f"{n:040x}" for n in range(20)]
    posts = [post(client, "pull_request", pr_payload(head=h), delivery=f"d-{h}") for h in heads]
    posts += [post(client, "pull_request", pr_payload(), delivery="d-same") for _ in range(5)]
    posts += [post(client, "pull_request", pr_payload("synchronize"), f"d-x{n}") for n in range(3)]
    statuses = [response.status for response in await asyncio.gather(*posts)]
    assert statuses[:20] == [202] * 20
    assert sorted(statuses[20:25]) == [200, 200, 200, 200, 202]
    assert statuses[25:] == [202] * 3
    expected = {f"start_run:octo/demo#3@{h}" for h in [*heads, HEAD]}
    assert set(await queued(redis_client)) == expected
    assert len(await queued(redis_client)) == 21


async def test_a_script_error_in_a_shared_round_trip_is_that_delivery_s_alone(
    redis_client: Redis, redis_url: str
) -> None:
    """The batch's replies are read one by one (bot.enqueue packs and sends them itself): an
    error reply goes to its own caller, the others are queued, and the connection stays in
    step for the next batch."""
    import asyncio

    import redis.exceptions
    from arq import create_pool

    from bot.enqueue import ClaimAndEnqueue, Enqueued
    from core.connections import redis_settings

    await redis_client.set("not-a-queue", b"x")  # ZADD to it fails inside the script
    pool = await create_pool(redis_settings(redis_url))
    try:
        claim = ClaimAndEnqueue(pool)

        def call(n: int, queue: str = CONTROL_QUEUE, delivery: str = "") -> Any:
            key = f"tandem:delivery:{delivery or n}"
            return claim("f", n, job_id=f"j{n}", queue_name=queue, delivery_key=key,
                         delivery_ttl_s=60)  # fmt: skip

        results = await asyncio.gather(
            call(0), call(1, queue="not-a-queue"), call(2), return_exceptions=True
        )
        assert results[0] is Enqueued.QUEUED and results[2] is Enqueued.QUEUED
        assert isinstance(results[1], redis.exceptions.ResponseError), results[1]
        assert await call(3, delivery="0") is Enqueued.DUPLICATE_DELIVERY
        assert await call(4) is Enqueued.QUEUED
        assert sorted(await queued(redis_client)) == ["j0", "j2", "j4"]
    finally:
        await pool.aclose()
