"""The worker's health endpoint for an orchestrator's probe (`tandem worker --health-port`).

GET /healthz answers 200 while Redis answers every arq worker of this process (control and
parts); 503 before a worker's first poll and once one of them has had no answer for
`jobs.outage.STALL_S`: Redis is away, or a poll loop is stuck or ended. The worker itself goes
on either way (jobs.outage). The body says, per queue, how long Redis has been silent and how
many jobs are running.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from core.connections import PortUnavailable, listen
from jobs.outage import STALL_S, SteadyWorker

WORKERS: web.AppKey[Sequence[SteadyWorker]] = web.AppKey("workers", Sequence[SteadyWorker])


class HealthPortError(Exception):
    """The health endpoint's port cannot be listened on."""


def healthy(worker: SteadyWorker) -> bool:
    alive = worker.main_task is not None and not worker.main_task.done()
    silent = worker.silent_for()
    return alive and silent is not None and silent < STALL_S


async def health(request: web.Request) -> web.Response:
    workers = request.app[WORKERS]
    queues = {
        w.queue_name: {
            "healthy": healthy(w),
            "redis_silent_s": None if (silent := w.silent_for()) is None else round(silent, 2),
            "running_jobs": sum(1 for t in w.tasks.values() if not t.done()),
        }
        for w in workers
    }
    ok = all(healthy(w) for w in workers)
    return web.json_response(
        {"status": "ok" if ok else "unhealthy", "queues": queues},
        status=200 if ok else 503,
    )


async def serve_health(workers: Sequence[SteadyWorker], host: str, port: int) -> web.AppRunner:
    app = web.Application()
    app[WORKERS] = workers
    app.router.add_get("/healthz", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await listen(runner, host, port)
    except PortUnavailable as exc:
        raise HealthPortError(f"health {exc}") from exc
    return runner
