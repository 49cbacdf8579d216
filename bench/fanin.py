"""Fan-in benchmark: what running the two parts in parallel gains, and how fast the fan-in is.

Runs the same runs twice on real parts: a real redis-server, the real arq worker as
`jobs.worker.build_worker` builds it, the real `start_run`, `run_part` and `collect`, and the
fake GitHub (the network edge). Only the two parts' work is a stand-in that sleeps a controlled
time, so both modes do exactly the same jobs:

- parallel: the worker runs up to 10 jobs at once (Tandem's design);
- serial:   the same worker with max_jobs=1, so the parts run one after the other.

Per run it measures the wall time from enqueuing `start_run` (as the web app does) to the
completing check-run PATCH arriving at the fake GitHub, and the fan-in delay: from the moment
the last part's work returned to that PATCH. The blocking design Tandem replaces polled a status
every 2 s, so its delay is uniform on [0, 2) s. It prints figures and asserts nothing.

    python -m bench.fanin            # 10 runs per mode, test generation 1.5 s, review 0.6 s
    python -m bench.fanin --quick    # 3 runs per mode, shorter parts (a smoke run)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from aiohttp import web  # noqa: E402
from arq import Worker, create_pool  # noqa: E402
from arq.connections import ArqRedis  # noqa: E402
from arq.worker import func  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bot.connections import EmbeddedRedis, redis_settings, start_embedded_redis  # noqa: E402
from bot.plan import PullRequestRef, pull_request_ref  # noqa: E402
from bot.settings import Settings  # noqa: E402
from jobs.runs import PART_TITLES, run_part  # noqa: E402
from jobs.state import PARTS, PartName, PartResult, RunState, RunStore  # noqa: E402
from jobs.worker import build_worker, job_timeouts  # noqa: E402
from tests.fakegithub import (  # noqa: E402
    FakeGitHub,
    FakeGitHubThread,
    make_app_key,
    pull_request_event,
)
from tests.fakegithub.server import _Ctx, _Reply  # noqa: E402

APP_ID = 4242
INSTALLATION = 77
REPO = "octo/bench"
PARALLEL_MAX_JOBS = 10
SERIAL_MAX_JOBS = 1
POLLING_INTERVAL_S = 2.0  # the blocking design's status poll
GOAL_P95_S = 0.100
ARRIVED = "bench_arrived"

PartJob = Callable[[dict[str, Any], str], Awaitable[str]]
OnCompleted = Callable[[str, float, str], None]


# ----------------------------------------------------------------------------- the fake's clock


class TimedFakeGitHub(FakeGitHub):
    """The fake GitHub, plus: when a PATCH that completes a check run arrived (time.time())."""

    def __init__(
        self, root: Path, *, app_id: int, public_key_pem: bytes, on_completed: OnCompleted
    ) -> None:
        super().__init__(root, app_id=app_id, public_key_pem=public_key_pem)
        self.on_completed = on_completed

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        request[ARRIVED] = time.time()  # before the body is read: the request's arrival
        return await super()._dispatch(request)

    def _h_update_check_run(self, ctx: _Ctx) -> _Reply:
        reply = super()._h_update_check_run(ctx)
        body = ctx.body if isinstance(ctx.body, dict) else {}
        if body.get("status") == "completed" or "conclusion" in body:
            self.on_completed(
                str(reply.body["head_sha"]), float(ctx.request[ARRIVED]), str(body["conclusion"])
            )
        return reply


# ----------------------------------------------------------------------------- records


@dataclass
class Timeline:
    """One run's timestamps, all time.time() (seconds since the epoch) across threads."""

    mode: str
    pr: PullRequestRef
    enqueued: float = 0.0
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)  # work start, returned
    collect_enqueued: float | None = None  # arq's enqueue time (millisecond resolution)
    collect_started: float | None = None  # arq starts the collect job
    patch_arrived: float | None = None  # the completing PATCH arrives at the fake GitHub
    conclusion: str = ""
    final_status: str = ""

    @property
    def last_part_returned(self) -> float:
        return max(done for _, done in self.parts.values())

    @property
    def wall_s(self) -> float:
        assert self.patch_arrived is not None
        return self.patch_arrived - self.enqueued

    @property
    def fanin_s(self) -> float:
        assert self.patch_arrived is not None
        return self.patch_arrived - self.last_part_returned

    @property
    def parts_overlapped(self) -> bool:
        (s1, e1), (s2, e2) = self.parts.values()
        return s1 < e2 and s2 < e1


class Bench:
    """Holds the runs in flight; the worker's hooks and the fake GitHub report into it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.runs: dict[str, Timeline] = {}  # run key -> timeline
        self.waiting: dict[str, asyncio.Future[None]] = {}  # head sha -> completed

    # Called on the fake GitHub's thread.
    def on_completed(self, head_sha: str, arrived: float, conclusion: str) -> None:
        self.loop.call_soon_threadsafe(self._completed, head_sha, arrived, conclusion)

    def _completed(self, head_sha: str, arrived: float, conclusion: str) -> None:
        for timeline in self.runs.values():
            if timeline.pr.head_sha == head_sha and timeline.patch_arrived is None:
                timeline.patch_arrived = arrived
                timeline.conclusion = conclusion
        future = self.waiting.get(head_sha)
        if future is not None and not future.done():
            future.set_result(None)

    async def on_job_start(self, ctx: dict[str, Any]) -> None:
        job_id = str(ctx.get("job_id", ""))
        if job_id.startswith("collect:"):
            timeline = self.runs.get(job_id.removeprefix("collect:"))
            if timeline is not None:
                timeline.collect_started = time.time()
                timeline.collect_enqueued = ctx["enqueue_time"].timestamp()

    def part_job(self, part: PartName, duration_s: float) -> PartJob:
        """The part's arq job: the real run_part around work that only sleeps."""

        async def work(ctx: dict[str, Any], state: RunState) -> PartResult:
            started = time.time()
            await asyncio.sleep(duration_s)
            result = PartResult(
                part=part,
                status="ok",
                headline=f"{PART_TITLES[part]} (stand-in, {duration_s:g} s)",
                summary=f"Benchmark stand-in for {PART_TITLES[part]}: slept {duration_s:g} s.",
            )
            returned = time.time()
            timeline = self.runs.get(state.key)
            if timeline is not None:
                timeline.parts[part] = (started, returned)
            return result

        async def job(ctx: dict[str, Any], key: str) -> str:
            return await run_part(ctx, part, key, work)

        job.__name__ = job.__qualname__ = part
        return job


# ----------------------------------------------------------------------------- running


def build_bench_worker(
    settings: Settings, bench: Bench, max_jobs: int, durations: dict[PartName, float]
) -> Worker:
    """jobs.worker.build_worker's worker, with the two parts' work swapped for timed sleeps."""
    worker = build_worker(settings, max_jobs=max_jobs)
    timeouts = job_timeouts(settings)
    for part in PARTS:
        worker.functions[part] = func(
            bench.part_job(part, durations[part]),
            name=part,
            timeout=timeouts[part],
            max_tries=2,
        )
    worker.on_job_start = bench.on_job_start
    return worker


async def one_run(
    bench: Bench,
    pool: ArqRedis,
    store: RunStore,
    worker_task: asyncio.Task[None],
    timeline: Timeline,
    timeout_s: float,
) -> None:
    pr = timeline.pr
    bench.runs[pr.run_key] = timeline
    completed = bench.loop.create_future()
    bench.waiting[pr.head_sha] = completed
    delivery_id = f"bench-{timeline.mode}-{pr.number}"
    timeline.enqueued = time.time()
    # Exactly as the web app enqueues a run (bot/webhooks.py).
    await pool.enqueue_job(
        "start_run", pr.to_dict(), delivery_id, "opened", _job_id=f"start_run:{pr.run_key}"
    )
    done, _ = await asyncio.wait(
        {completed, worker_task}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
    )
    if worker_task in done:
        worker_task.result()
        raise RuntimeError("the worker stopped")
    if completed not in done:
        raise RuntimeError(f"run {pr.run_key} did not complete its check run in {timeout_s:.0f} s")
    # Let collect finish (mark_completed) before the next run starts; harness-side polling.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = await store.load(pr.run_key)
        timeline.final_status = state.status if state is not None else "missing"
        if timeline.final_status == "completed":
            break
        await asyncio.sleep(0.005)


async def run_mode(
    mode: str,
    max_jobs: int,
    timelines: list[Timeline],
    *,
    settings: Settings,
    bench: Bench,
    pool: ArqRedis,
    durations: dict[PartName, float],
) -> float:
    """Run the timelines one after the other on a fresh worker; returns the worker's poll_delay."""
    worker = build_bench_worker(settings, bench, max_jobs, durations)
    worker_task = asyncio.create_task(worker.async_run())
    store = RunStore(pool)
    timeout_s = sum(durations.values()) + 60
    try:
        for timeline in timelines:
            await one_run(bench, pool, store, worker_task, timeline, timeout_s)
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
        await worker.close()
    return worker.poll_delay_s


@dataclass
class Params:
    runs: int
    warmup: int
    durations: dict[PartName, float]


def prepare(fake: FakeGitHub, count: int) -> list[PullRequestRef]:
    """A base commit and `count` PRs, each with its own head commit (so no run supersedes one)."""
    base = fake.commit_files(REPO, "main", {"README.md": "# bench\n", "src/app.py": "X = 1\n"})
    refs = []
    for number in range(1, count + 1):
        branch = f"bench-{number}"
        head = fake.commit_files(
            REPO, branch, {f"src/bench_{number}.py": f"N = {number}\n"}, parent=base
        )
        payload = pull_request_event(
            action="opened",
            repo_full_name=REPO,
            number=number,
            head_sha=head,
            base_sha=base,
            head_ref=branch,
            clone_url=fake.clone_url(REPO),
            installation_id=INSTALLATION,
            api_url=fake.url,
        )
        refs.append(pull_request_ref(payload))
    return refs


async def bench_main(params: Params, tmp: Path) -> tuple[dict[str, list[Timeline]], dict[str, Any]]:
    loop = asyncio.get_running_loop()
    bench = Bench(loop)
    private_pem, public_pem = make_app_key()
    redis: EmbeddedRedis = start_embedded_redis(tmp / "redis", persist=False)
    # FakeGitHubThread runs the fake on its own thread and loop, like a server elsewhere;
    # its fake is swapped for the timed one before it starts.
    github = FakeGitHubThread(tmp / "gh", app_id=APP_ID, public_key_pem=public_pem)
    github.fake = TimedFakeGitHub(
        tmp / "gh", app_id=APP_ID, public_key_pem=public_pem, on_completed=bench.on_completed
    )
    github.start()
    pool: ArqRedis | None = None
    try:
        fake = github.fake
        fake.add_installation(INSTALLATION, "octo")
        fake.create_repo(REPO, installation_id=INSTALLATION)
        per_mode = params.warmup + params.runs
        refs = prepare(fake, 2 * per_mode)
        settings = Settings(
            github_app_id=APP_ID,
            github_private_key=SecretStr(private_pem.decode()),
            github_api_url=fake.url,
            redis_url=redis.url,
            data_dir=tmp / "data",
        )
        pool = await create_pool(redis_settings(redis.url))
        modes = {"parallel": PARALLEL_MAX_JOBS, "serial": SERIAL_MAX_JOBS}
        measured: dict[str, list[Timeline]] = {}
        poll_delay = 0.0
        for index, (mode, max_jobs) in enumerate(modes.items()):
            timelines = [
                Timeline(mode=mode, pr=pr) for pr in refs[index * per_mode : (index + 1) * per_mode]
            ]
            poll_delay = await run_mode(
                mode,
                max_jobs,
                timelines,
                settings=settings,
                bench=bench,
                pool=pool,
                durations=params.durations,
            )
            measured[mode] = timelines[params.warmup :]
        info: dict[str, Any] = {
            "poll_delay": poll_delay,
            "redis": redis.process.args[0] if isinstance(redis.process.args, list) else "",
            "redis_version": (await pool.info("server")).get("redis_version", "?"),
            "fake_url": fake.url,
            "check_patches": len(fake.calls_matching("PATCH", r"/check-runs/\d+$")),
            "check_creates": len(fake.calls_matching("POST", r"/check-runs$")),
        }
        return measured, info
    finally:
        if pool is not None:
            await pool.aclose()
        github.stop()
        redis.stop()


# ----------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    position = (len(data) - 1) * q
    low = int(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(params: Params, measured: dict[str, list[Timeline]], info: dict[str, Any]) -> None:
    console = Console(width=120)
    tg = params.durations["generate_tests"]
    rv = params.durations["review_refactoring"]

    table = Table(title="Fan-in benchmark: parameters", show_header=False)
    table.add_column("parameter")
    table.add_column("value")
    table.add_row("runs per mode (measured)", f"{params.runs} (+{params.warmup} warm-up, dropped)")
    table.add_row("generate_tests stand-in", f"sleeps {tg:g} s")
    table.add_row("review_refactoring stand-in", f"sleeps {rv:g} s")
    table.add_row("parallel mode", f"real arq worker, max_jobs={PARALLEL_MAX_JOBS}")
    table.add_row("serial mode", f"same worker, max_jobs={SERIAL_MAX_JOBS} (parts one after other)")
    table.add_row("arq poll_delay (queue pickup)", f"{info['poll_delay'] * 1000:g} ms")
    table.add_row("real", "redis-server, arq Worker, start_run, run_part, collect")
    table.add_row("redis-server", f"{info['redis_version']} ({info['redis']})")
    table.add_row("GitHub", f"fake GitHub on its own thread at {info['fake_url']}")
    table.add_row("python", f"{platform.python_version()} on {platform.machine()}")
    console.print(table)

    wall = Table(title="Wall time: enqueue start_run → completing check-run PATCH at GitHub")
    for column in ("mode", "ideal", "median", "p95", "min", "max", "parts overlapped"):
        wall.add_column(column, justify="right" if column != "mode" else "left")
    ideal = {"parallel": max(tg, rv), "serial": tg + rv}
    for mode, timelines in measured.items():
        values = [t.wall_s for t in timelines]
        overlapped = sum(t.parts_overlapped for t in timelines)
        wall.add_row(
            mode,
            f"{ideal[mode]:.3f} s",
            f"{median(values):.3f} s",
            f"{percentile(values, 0.95):.3f} s",
            f"{min(values):.3f} s",
            f"{max(values):.3f} s",
            f"{overlapped}/{len(timelines)}",
        )
    console.print(wall)
    par = median([t.wall_s for t in measured["parallel"]])
    ser = median([t.wall_s for t in measured["serial"]])
    console.print(
        f"ratio parallel/serial (median wall): [bold]{par / ser:.3f}[/bold]  "
        f"(ideal {ideal['parallel'] / ideal['serial']:.3f}); "
        f"parallel saves {ser - par:.3f} s per run ({(1 - par / ser) * 100:.1f} %)"
    )
    overhead = {m: median([t.wall_s for t in measured[m]]) - ideal[m] for m in measured}
    console.print(
        "overhead over the parts' own time (median): "
        + ", ".join(f"{m} {ms(v)}" for m, v in overhead.items())
    )

    fanin = Table(title="Fan-in delay: last part's work returned → completing PATCH at GitHub")
    for column in ("mode", "median", "p95", "max", "goal p95 < 100 ms"):
        fanin.add_column(column, justify="right" if column != "mode" else "left")
    for mode, timelines in measured.items():
        values = [t.fanin_s for t in timelines]
        p95 = percentile(values, 0.95)
        fanin.add_row(
            mode,
            ms(median(values)),
            ms(p95),
            ms(max(values)),
            "met" if p95 < GOAL_P95_S else "NOT met",
        )
    # A status poll every T s finds the finish uniformly late on [0, T): mean T/2, p95 0.95 T.
    fanin.add_row(
        f"blocking design, polls every {POLLING_INTERVAL_S:g} s (expected)",
        ms(POLLING_INTERVAL_S / 2),
        ms(POLLING_INTERVAL_S * 0.95),
        ms(POLLING_INTERVAL_S),
        "NOT met",
    )
    console.print(fanin)

    split = Table(title="Fan-in delay, where it goes (median / max)")
    for column in (
        "mode",
        "part returned → collect enqueued",
        "collect enqueued → started",
        "collect started → PATCH",
    ):
        split.add_column(column, justify="right" if column != "mode" else "left")
    for mode, timelines in measured.items():
        complete = [
            t for t in timelines if t.collect_started is not None and t.collect_enqueued is not None
        ]
        if not complete:
            split.add_row(mode, "?", "?", "?")
            continue
        a = [t.collect_enqueued - t.last_part_returned for t in complete]  # type: ignore[operator]
        b = [t.collect_started - t.collect_enqueued for t in complete]  # type: ignore[operator]
        c = [t.patch_arrived - t.collect_started for t in complete]  # type: ignore[operator]
        split.add_row(*[mode] + [f"{ms(median(x))} / {ms(max(x))}" for x in (a, b, c)])
    console.print(split)
    console.print(
        f"(collect enqueued is arq's millisecond enqueue time; its pickup is bounded by the "
        f"worker's poll_delay of {info['poll_delay'] * 1000:g} ms plus one poll iteration)"
    )
    every = [t for ts in measured.values() for t in ts]
    conclusions = sorted({t.conclusion for t in every})
    statuses = sorted({t.final_status for t in every})
    console.print(
        f"check runs: {info['check_creates']} created, {info['check_patches']} PATCHes; "
        f"measured conclusions {conclusions}; run states {statuses}"
    )


def parse_args(argv: list[str] | None) -> Params:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanin", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--runs", type=int, default=None, help="measured runs per mode (10)")
    parser.add_argument("--testgen", type=float, default=None, help="generate_tests s (1.5)")
    parser.add_argument("--review", type=float, default=None, help="review_refactoring s (0.6)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per mode (1)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 3 runs, parts of 0.4 s and 0.15 s"
    )
    args = parser.parse_args(argv)
    runs, testgen, review = (3, 0.4, 0.15) if args.quick else (10, 1.5, 0.6)
    params = Params(
        runs=args.runs if args.runs is not None else runs,
        warmup=args.warmup,
        durations={
            "generate_tests": args.testgen if args.testgen is not None else testgen,
            "review_refactoring": args.review if args.review is not None else review,
        },
    )
    if params.runs < 1 or params.warmup < 0 or min(params.durations.values()) < 0:
        parser.error("--runs must be >= 1, --warmup and durations >= 0")
    return params


def main(argv: list[str] | None = None) -> None:
    params = parse_args(argv)
    # This benchmark runs no PR code; the worker's "local sandbox is not isolated" warning
    # would only clutter the figures.
    logging.getLogger("jobs.worker").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        measured, info = asyncio.run(bench_main(params, Path(tmp)))
    report(params, measured, info)


if __name__ == "__main__":
    main()
