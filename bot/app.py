"""The web tier: verify, decide, de-duplicate and enqueue (one Redis round trip, shared by the
deliveries that arrive together: bot.enqueue), answer in milliseconds."""

from __future__ import annotations

import codecs
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis.exceptions
import simdjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from arq import create_pool
from arq.connections import ArqRedis
from gidgethub import ValidationFailure, sansio
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from bot import event_plan as plan
from bot import webhooks
from bot.enqueue import ClaimAndEnqueue, Enqueued
from core import logs
from core.connections import CONTROL_QUEUE, redis_settings
from core.settings import Settings

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "tandem_webhook_deliveries_total",
    "Webhook deliveries by event and how they were answered",
    ["event", "status"],
)
INTAKE_SECONDS = Histogram(
    "tandem_webhook_intake_seconds",
    "Time to answer a webhook delivery",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
POOL: web.AppKey[ArqRedis] = web.AppKey("pool", ArqRedis)
ACCEPT_RUNS: web.AppKey[bool] = web.AppKey("accept_runs", bool)
CLAIM_AND_ENQUEUE: web.AppKey[ClaimAndEnqueue] = web.AppKey("claim_and_enqueue", ClaimAndEnqueue)


class DuplicateDelivery(Exception):
    """This delivery id was seen within the de-duplication window."""


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@functools.lru_cache(maxsize=256)
def _deliveries(event: str, status: int) -> Any:
    """The counter for one event and answer: prometheus-client's `labels` takes a lock and
    checks its arguments on every call; the few combinations that occur are looked up once."""
    return DELIVERIES.labels(event=event, status=str(status))


async def webhook(request: web.Request) -> web.Response:
    """POST /webhook, counted and timed. Here rather than in a middleware, which aiohttp would
    wrap around every route's every request."""
    started = time.perf_counter()
    response = await receive_webhook(request)
    event = request.headers.get("X-GitHub-Event", "")[:40] or "none"
    _deliveries(event if response.status < 400 else "rejected", response.status).inc()
    INTAKE_SECONDS.observe(time.perf_counter() - started)
    return response


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def receive_webhook(request: web.Request) -> web.Response:
    """Verify, decide, de-duplicate and enqueue, in that order: each step answers the delivery
    itself (an HTTP status and one line) where it stops it."""
    started = time.perf_counter()
    settings = request.app[SETTINGS]
    delivery = await _read_delivery(request, settings)
    if isinstance(delivery, web.Response):
        return delivery
    event = _verified_event(delivery, settings)
    if isinstance(event, web.Response):
        return event
    if (answered := _answer_without_enqueueing(request, event)) is not None:
        return answered
    return await _dispatch(request, event, started)


@dataclass(frozen=True)
class _Delivery:
    body: bytes
    signature: str
    event_name: str
    delivery_id: str


async def _read_delivery(request: web.Request, settings: Settings) -> _Delivery | web.Response:
    """The body and the headers that identify the delivery, or why they do not."""
    if request.content_length is not None and request.content_length > settings.max_payload_bytes:
        return error(413, "payload too large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(413, "payload too large")

    signature = request.headers.get("X-Hub-Signature-256", "")
    if not signature.startswith("sha256="):
        return error(401, "missing or malformed X-Hub-Signature-256")
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return error(415, "expected Content-Type: application/json")
    event_name = request.headers.get("X-GitHub-Event", "")
    delivery_id = request.headers.get("X-GitHub-Delivery", "")
    if not event_name or not delivery_id or len(delivery_id) > 100:
        return error(400, "missing X-GitHub-Event or X-GitHub-Delivery header")
    # Each request is its own task: every later line of this delivery carries its id.
    logs.bind_for_task(delivery=delivery_id[:100], event=event_name[:100])
    return _Delivery(body, signature, event_name, delivery_id)


def _verified_event(delivery: _Delivery, settings: Settings) -> sansio.Event | web.Response:
    """The signed event, decoded, or why it is refused."""
    assert settings.webhook_secret is not None
    try:
        sansio.validate_event(
            delivery.body,
            signature=delivery.signature,
            secret=settings.webhook_secret.get_secret_value(),
        )
    except ValidationFailure:
        return error(401, "signature does not match")
    try:
        data = _decode(delivery.event_name, delivery.body)
    except ValueError:
        return error(400, "body is not valid JSON")
    event = sansio.Event(data, event=delivery.event_name, delivery_id=delivery.delivery_id)
    if not isinstance(event.data, plan.JSON_OBJECT):
        return error(400, "body must be a JSON object")
    if not isinstance(event.data.get("action", ""), str):
        return error(400, "field action must be a string")
    return event


def _answer_without_enqueueing(request: web.Request, event: sansio.Event) -> web.Response | None:
    """The answer to a ping, an event no handler takes, or any event while Tandem has no App
    credentials; None: dispatch it."""
    if event.event == "ping":
        return web.json_response({"msg": "pong"})
    if not webhooks.router.fetch(event):
        return web.json_response({"ignored": f"{event.event} is not handled"}, status=202)
    if not request.app[ACCEPT_RUNS]:
        return error(
            503,
            "Tandem has no GitHub App credentials: set TANDEM_GITHUB_APP_ID and "
            "TANDEM_GITHUB_PRIVATE_KEY_PATH, then redeliver",
        )
    return None


async def _dispatch(request: web.Request, event: sansio.Event, started: float) -> web.Response:
    """Run the handlers; the delivery is claimed with its first job (or alone if they enqueue
    nothing), so a redelivery is answered as a duplicate."""
    settings, pool = request.app[SETTINGS], request.app[POOL]
    claim_and_enqueue = request.app[CLAIM_AND_ENQUEUE]
    delivery_id = event.delivery_id
    delivery_key = f"tandem:delivery:{delivery_id}"
    claimed = False

    async def enqueue(function: str, *args: Any, job_id: str) -> bool:
        # The delivery is claimed (SET NX) in the same round trip as its first job.
        nonlocal claimed
        outcome = await claim_and_enqueue(
            function,
            *args,
            job_id=job_id,
            queue_name=CONTROL_QUEUE,
            delivery_key=None if claimed else delivery_key,
            delivery_ttl_s=settings.delivery_ttl_s,
        )
        claimed = True
        if outcome is Enqueued.DUPLICATE_DELIVERY:
            raise DuplicateDelivery
        return outcome is Enqueued.QUEUED

    intake = webhooks.Intake(enqueue=enqueue)
    try:
        await webhooks.router.dispatch(event, intake)
        if not claimed:
            # A handler that enqueued nothing (an ignored comment, say): claim the delivery
            # all the same, so that its redelivery is answered as a duplicate as any other.
            claimed = True
            if not await pool.set(delivery_key, "1", nx=True, ex=settings.delivery_ttl_s):
                raise DuplicateDelivery
    except DuplicateDelivery:
        return web.json_response({"duplicate": delivery_id}, status=200)
    except plan.PayloadError as exc:
        return error(400, str(exc))
    except redis.exceptions.RedisError:
        # Forget the delivery so GitHub's redelivery is not dropped as a duplicate (the
        # script is atomic, but a reply lost on the way back leaves its claim behind).
        await _forget(pool, delivery_key)
        log.exception("redis unavailable while receiving delivery %s", delivery_id)
        return error(503, "queue unavailable, please redeliver")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        # A signed body of a shape the handlers did not expect (the parsers check what they
        # use; this is what slips past them): the sender's problem, one line, no traceback.
        if claimed:
            await _forget(pool, delivery_key)
        log.warning(
            "delivery %s %s: payload not understood (%s)",
            delivery_id,
            event.event,
            type(exc).__name__,
        )
        return error(422, f"payload not understood ({type(exc).__name__})")
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("delivery %s %s: %s (%.1f ms)", delivery_id, event.event, intake.outcome, elapsed_ms)
    return web.json_response({"accepted": intake.outcome}, status=202)


def _decode(event_name: str, body: bytes) -> Any:
    """The body's JSON, refused whole (ValueError) if any of it is malformed: NaN, a lone
    surrogate, invalid UTF-8, more than 1024 levels of nesting, trailing bytes.

    A `pull_request` body (most deliveries, about 20 KB of which Tandem reads 15 fields) is
    validated by simdjson and read through its proxies, so only the fields that the decision
    reads become Python objects; building all of it was the largest single cost of an intake
    (issue 17). Other events are decoded whole by orjson, as their handlers expect dicts.
    """
    if event_name != "pull_request":
        return orjson.loads(body)  # orjson.JSONDecodeError is a ValueError
    if body.startswith(codecs.BOM_UTF8):  # simdjson skips one; orjson, and so Tandem, refuse it
        raise ValueError("a byte order mark before the JSON")
    try:
        # A parser of its own: the document's proxies borrow the parser until they are gone.
        return simdjson.Parser().parse(body)
    except RuntimeError as exc:  # simdjson's depth error, and an integer past 64 bits (which
        # orjson would read, and which no GitHub payload has: plan refuses such ids anyway)
        raise ValueError(str(exc)) from exc


async def _forget(pool: ArqRedis, key: str) -> None:
    try:
        await pool.delete(key)
    except redis.exceptions.RedisError:
        log.warning("could not forget %s", key)


async def health(request: web.Request) -> web.Response:
    try:
        await request.app[POOL].ping()
    except redis.exceptions.RedisError:
        return web.json_response({"status": "redis unavailable"}, status=503)
    return web.json_response(
        {"status": "ok", "github_app_configured": request.app[ACCEPT_RUNS]}, status=200
    )


class MalformedHttpInOneLine(logging.Filter):
    """aiohttp answers a malformed HTTP request (a header line over 8 KiB, a broken request
    line) with 400 itself and logs the parser's traceback as an ERROR. That is the sender's
    fault: one warning line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = (
                "malformed HTTP request refused: %s",
                (str(error).splitlines()[0][:200],),
            )
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def create_app(settings: Settings, *, accept_runs: bool = True) -> web.Application:
    settings.require("webhook_secret", "redis_url")
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedHttpInOneLine) for f in server_log.filters):
        server_log.addFilter(MalformedHttpInOneLine())
    app = web.Application(client_max_size=settings.max_payload_bytes)
    app[SETTINGS] = settings
    app[ACCEPT_RUNS] = accept_runs
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/healthz", health)
    app.router.add_get("/metrics", metrics)

    async def connect(app: web.Application) -> Any:
        assert settings.redis_url is not None
        app[POOL] = await create_pool(redis_settings(settings.redis_url))
        app[CLAIM_AND_ENQUEUE] = ClaimAndEnqueue(app[POOL])
        yield
        await app[POOL].aclose()

    app.cleanup_ctx.append(connect)
    return app
