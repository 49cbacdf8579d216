"""Fan-in benchmark: what running the two parts in parallel gains, and how fast the fan-in is.

Runs the same runs on real parts: a real redis-server, the real two arq workers as
`jobs.worker.build_workers` builds them (the control queue: start_run, collect; the parts queue:
the two parts), the real `start_run`, `run_part` and `collect`, and the fake GitHub (the network
edge). Only the two parts' work is a stand-in that sleeps a controlled time (plus a small jitter,
seeded per run, so that the parts' ends do not lock to the workers' poll cycle), so every mode
does exactly the same jobs:

- parallel: the parts worker runs up to 10 parts at once (Tandem's design);
- serial:   the same workers with max_parts=1, so the parts run one after the other;
- busy:     max_parts=2, and as soon as the measured run's parts have started, 2 other runs
            whose parts sleep much longer (5 s) are started, so when the measured run's last
            part returns, every part slot is taken by other runs' parts and more are queued;
- busy, one queue (before the split): the busy mode on the design Tandem had before, one arq
            queue and worker (max_jobs=2) for start_run, the parts and collect alike, so a
            finished run's collect queues behind the other runs' parts.

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

import argparse
import asyncio
import contextlib
import logging
import platform
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from arq import Worker, create_pool
from arq.connections import ArqRedis
from arq.jobs import Job
from arq.typing import WorkerCoroutine
from arq.worker import func
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from bot.event_plan import PullRequestRef, pull_request_ref
from core.connections import (
    CONTROL_QUEUE,
    PARTS_QUEUE,
    EmbeddedRedis,
    redis_settings,
    start_embedded_redis,
)
from core.part_registry import GENERATE_TESTS, REVIEW_REFACTORING, PartName, title
from core.part_registry import PART_NAMES as PARTS
from core.settings import Settings
from jobs.runs import GIVE_UP_AFTER_TRIES, run_part
from jobs.state import PartResult, RunState, RunStore
from jobs.worker import build_workers, control_functions, job_timeouts
from tests.fakegithub import (
    FakeGitHub,
    FakeGitHubThread,
    make_app_key,
    pull_request_event,
)

APP_ID = 4242
INSTALLATION = 77
REPO = "octo/bench"
PARALLEL_MAX_PARTS = 10
SERIAL_MAX_PARTS = 1
BUSY_MAX_PARTS = 2
POLLING_INTERVAL_S = 2.0  # the blocking design's status poll
GOAL_P95_S = 0.100

PartJob = Callable[[dict[str, Any], str], Awaitable[str]]


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Mode:
    name: str
    max_parts: int
    background: bool = False  # other runs' long parts fill the part slots at the fan-in
    one_queue: bool = False  # the design before the split: everything on one queue and worker

    @property
    def queue(self) -> str:
        """Where start_run (and so, here, everything) is enqueued."""
        return PARTS_QUEUE if self.one_queue else CONTROL_QUEUE


MODES = (
    Mode("parallel", PARALLEL_MAX_PARTS),
    Mode("serial", SERIAL_MAX_PARTS),
    Mode("busy", BUSY_MAX_PARTS, background=True),
    Mode("busy, one queue (before the split)", BUSY_MAX_PARTS, background=True, one_queue=True),
)


@dataclass
class Timeline:
    """One run's timestamps, all time.time() (seconds since the epoch) across threads."""

    mode: str
    pr: PullRequestRef
    planned: dict[str, float]  # part -> how long its work sleeps
    enqueued: float = 0.0
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)  # work start, returned
    collect_enqueued: float | None = None  # arq's enqueue time (millisecond resolution)
    collect_started: float | None = None  # arq starts the collect job
    patch_arrived: float | None = None  # the completing PATCH arrives at the fake GitHub
    conclusion: str = ""
    final_status: str = ""

    @property
    def ideal_s(self) -> float:
        """The parts' own time: their sum one after the other, else the longer one (in the busy
        modes the measured run's parts start together on the two free slots)."""
        values = self.planned.values()
        return sum(values) if self.mode == "serial" else max(values)

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


@dataclass
class PartSpan:
    """One part job as arq ran it: enqueued (arq, ms resolution), job started, job returned."""

    key: str
    part: str
    enqueued: float
    started: float
    ended: float | None = None


class OneQueue:
    """The job context's ArqRedis as the design before the split used it: every job it enqueues
    (here: run_part's collect) goes on the one queue."""

    def __init__(self, redis: ArqRedis, queue: str) -> None:
        self._redis = redis
        self._queue = queue

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)

    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Job | None:
        kwargs["_queue_name"] = self._queue
        return await self._redis.enqueue_job(function, *args, **kwargs)


class Bench:
    """Holds the runs in flight; the workers' hooks and the fake GitHub report into it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.runs: dict[str, Timeline] = {}  # run key -> timeline (measured and background)
        self.waiting: dict[str, asyncio.Future[None]] = {}  # head sha -> completed
        self.spans: list[PartSpan] = []  # every part job, every mode
        self.parts_started: dict[str, asyncio.Event] = {}  # run key -> all its part jobs started

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

    def part_job(self, part: PartName, one_queue: str | None = None) -> PartJob:
        """The part's arq job: the real run_part around work that only sleeps. With
        `one_queue`, the collect it enqueues goes on that queue (the design before the split)."""

        async def work(ctx: dict[str, Any], state: RunState) -> PartResult:
            timeline = self.runs[state.key]
            duration_s = timeline.planned[part]
            started = time.time()
            await asyncio.sleep(duration_s)
            result = PartResult(
                part=part,
                status="ok",
                headline=f"{title(part)} (stand-in, {duration_s:.3f} s)",
                summary=f"Benchmark stand-in for {title(part)}: slept {duration_s:g} s.",
            )
            timeline.parts[part] = (started, time.time())
            return result

        async def job(ctx: dict[str, Any], key: str) -> str:
            span = PartSpan(key, part, ctx["enqueue_time"].timestamp(), time.time())
            self.spans.append(span)
            if sum(s.key == key for s in self.spans) == len(PARTS) and key in self.parts_started:
                self.parts_started[key].set()
            if one_queue is not None:
                ctx = {**ctx, "redis": OneQueue(ctx["redis"], one_queue)}
            try:
                return await run_part(ctx, part, key, work)
            finally:
                span.ended = time.time()

        job.__name__ = job.__qualname__ = part
        return job

    def at_fanin(self, timeline: Timeline) -> tuple[int, int]:
        """Other runs' part jobs running, and part jobs queued, when the run's last part's work
        returned: how busy the part slots were at its fan-in."""
        moment = timeline.last_part_returned
        running = queued = 0
        for span in self.spans:
            if span.key == timeline.pr.run_key:
                continue
            if span.started <= moment and (span.ended is None or span.ended > moment):
                running += 1
            elif span.enqueued <= moment < span.started:
                queued += 1
        return running, queued


# ----------------------------------------------------------------------------- running


def build_bench_workers(
    settings: Settings, bench: Bench, mode: Mode
) -> tuple[list[Worker], list[Worker]]:
    """jobs.worker.build_workers' two workers, with the two parts' work swapped for timed
    sleeps; returns (the workers to run, every worker built). The one-queue mode runs only the
    parts worker, with the control functions registered on it too."""
    timeouts = job_timeouts(settings)
    parts = [
        func(
            cast(WorkerCoroutine, bench.part_job(part, PARTS_QUEUE if mode.one_queue else None)),
            name=part,
            timeout=timeouts[part],
            max_tries=GIVE_UP_AFTER_TRIES + 1,
        )
        for part in PARTS
    ]
    if mode.one_queue:
        parts += control_functions(settings)
    control, parts_worker = build_workers(settings, max_parts=mode.max_parts, parts=parts)
    if mode.one_queue:
        parts_worker.on_job_start = bench.on_job_start
        return [parts_worker], [control, parts_worker]
    control.on_job_start = bench.on_job_start
    return [control, parts_worker], [control, parts_worker]


class Runner:
    """Starts runs the way the web app does, on one mode's running workers, and waits for them."""

    def __init__(
        self, bench: Bench, pool: ArqRedis, mode: Mode, tasks: list[asyncio.Task[None]]
    ) -> None:
        self.bench = bench
        self.pool = pool
        self.store = RunStore(pool)
        self.mode = mode
        self.tasks = tasks

    async def start(self, timeline: Timeline) -> asyncio.Future[None]:
        pr = timeline.pr
        self.bench.runs[pr.run_key] = timeline
        self.bench.parts_started[pr.run_key] = asyncio.Event()
        completed = self.bench.loop.create_future()
        self.bench.waiting[pr.head_sha] = completed
        delivery_id = f"bench-{timeline.mode}-{pr.number}"
        timeline.enqueued = time.time()
        # As the web app enqueues a run (bot/app.py); before the split, on the one queue.
        await self.pool.enqueue_job(
            "start_run",
            pr.to_dict(),
            delivery_id,
            "opened",
            _job_id=f"start_run:{pr.run_key}",
            _queue_name=self.mode.queue,
        )
        return completed

    async def wait(self, awaitable: Awaitable[Any], timeout_s: float, what: str) -> None:
        waiter = asyncio.ensure_future(awaitable)
        done, _ = await asyncio.wait(
            {waiter, *self.tasks}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        for task in self.tasks:
            if task in done:
                waiter.cancel()
                task.result()
                raise RuntimeError("a worker stopped")
        if waiter not in done:
            waiter.cancel()
            raise RuntimeError(f"{what} did not happen in {timeout_s:.0f} s")

    async def finish(
        self, timeline: Timeline, completed: asyncio.Future[None], timeout_s: float
    ) -> None:
        key = timeline.pr.run_key
        await self.wait(completed, timeout_s, f"run {key} completing its check run")
        # Let collect finish (mark_completed) before going on; harness-side polling.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = await self.store.load(key)
            timeline.final_status = state.status if state is not None else "missing"
            if timeline.final_status == "completed":
                break
            await asyncio.sleep(0.005)

    async def one_run(self, timeline: Timeline, background: list[Timeline]) -> None:
        """One measured run; with `background`, those runs are started as soon as the measured
        run's parts have started, and waited for too, so the next run starts on idle workers."""
        timeout_s = sum(timeline.planned.values()) + 60
        completed = await self.start(timeline)
        others: list[tuple[Timeline, asyncio.Future[None]]] = []
        if background:
            started = self.bench.parts_started[timeline.pr.run_key].wait()
            await self.wait(started, timeout_s, f"run {timeline.pr.run_key}'s parts starting")
            others = [(other, await self.start(other)) for other in background]
            timeout_s += sum(sum(o.planned.values()) for o in background)
        await self.finish(timeline, completed, timeout_s)
        for other, other_completed in others:
            await self.finish(other, other_completed, timeout_s)


async def run_mode(
    mode: Mode,
    timelines: list[Timeline],
    background: list[list[Timeline]],
    *,
    settings: Settings,
    bench: Bench,
    pool: ArqRedis,
) -> float:
    """Run the timelines one after the other on fresh workers; returns the workers' poll_delay."""
    running, built = build_bench_workers(settings, bench, mode)
    tasks = [asyncio.create_task(worker.async_run()) for worker in running]
    runner = Runner(bench, pool, mode, tasks)
    try:
        for index, timeline in enumerate(timelines):
            await runner.one_run(timeline, background[index] if background else [])
    finally:
        # arq's close() cancels jobs still running (and then raises CancelledError): let the
        # last collect finish its bookkeeping first, then stop them as jobs.worker.run_workers.
        jobs = [job for worker in running for job in worker.tasks.values() if not job.done()]
        if jobs:
            await asyncio.wait(jobs, timeout=10)
        for worker in built:
            await worker.close()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return running[0].poll_delay_s


@dataclass
class Params:
    runs: int
    warmup: int
    durations: dict[PartName, float]
    jitter: float
    busy_part: float  # how long the background runs' parts sleep, each
    busy_runs: int  # background runs per measured run in the busy modes

    def planned(self, index: int) -> dict[str, float]:
        """Run `index`'s part durations: the same in every mode. The jitter (seeded by the
        index) keeps the parts' ends from locking to the workers' poll cycle."""
        return {
            part: duration + random.Random(f"{index}:{part}").uniform(0, self.jitter)
            for part, duration in self.durations.items()
        }


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


async def bench_main(
    params: Params, tmp: Path
) -> tuple[dict[str, list[Timeline]], dict[str, Any], Bench]:
    loop = asyncio.get_running_loop()
    bench = Bench(loop)
    private_pem, public_pem = make_app_key()
    redis: EmbeddedRedis = start_embedded_redis(tmp / "redis", persist=False)
    # FakeGitHubThread runs the fake on its own thread and loop, like a server elsewhere; it
    # reports when each completing check-run PATCH arrived.
    github = FakeGitHubThread(
        tmp / "gh",
        app_id=APP_ID,
        public_key_pem=public_pem,
        on_check_run_completed=bench.on_completed,
    )
    github.start()
    pool: ArqRedis | None = None
    try:
        fake = github.fake
        fake.add_installation(INSTALLATION, "octo")
        fake.create_repo(REPO, installation_id=INSTALLATION)
        per_mode = params.warmup + params.runs
        busy_modes = sum(mode.background for mode in MODES)
        refs = iter(prepare(fake, per_mode * (len(MODES) + busy_modes * params.busy_runs)))
        settings = Settings(
            github_app_id=APP_ID,
            github_private_key=SecretStr(private_pem.decode()),
            github_api_url=fake.url,
            redis_url=redis.url,
            data_dir=tmp / "data",
            sandbox="local",  # the parts are stand-ins here; nothing untrusted runs
        )
        pool = await create_pool(redis_settings(redis.url))
        measured: dict[str, list[Timeline]] = {}
        poll_delay = 0.0
        for mode in MODES:
            timelines = [
                Timeline(mode=mode.name, pr=next(refs), planned=params.planned(i))
                for i in range(per_mode)
            ]
            background = [
                [
                    Timeline(
                        mode=f"{mode.name} (background)",
                        pr=next(refs),
                        planned=dict.fromkeys(PARTS, params.busy_part),
                    )
                    for _ in range(params.busy_runs)
                ]
                for _ in range(per_mode if mode.background else 0)
            ]
            poll_delay = await run_mode(
                mode, timelines, background, settings=settings, bench=bench, pool=pool
            )
            measured[mode.name] = timelines[params.warmup :]
        info: dict[str, Any] = {
            "poll_delay": poll_delay,
            "redis": redis.process.args[0] if isinstance(redis.process.args, list) else "",
            "redis_version": (await pool.info("server")).get("redis_version", "?"),
            "fake_url": fake.url,
            "check_patches": len(fake.calls_matching("PATCH", r"/check-runs/\d+$")),
            "check_creates": len(fake.calls_matching("POST", r"/check-runs$")),
        }
        return measured, info, bench
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


def report(
    params: Params, measured: dict[str, list[Timeline]], info: dict[str, Any], bench: Bench
) -> None:
    console = Console(width=120)
    tg = params.durations[GENERATE_TESTS]
    rv = params.durations[REVIEW_REFACTORING]
    busy, one_queue = (mode.name for mode in MODES if mode.background)

    table = Table(title="Fan-in benchmark: parameters", show_header=False)
    table.add_column("parameter")
    table.add_column("value")
    table.add_row("runs per mode (measured)", f"{params.runs} (+{params.warmup} warm-up, dropped)")
    jitter = f" + U[0, {params.jitter * 1000:g} ms) per run" if params.jitter else ""
    table.add_row("generate_tests stand-in", f"sleeps {tg:g} s{jitter}")
    table.add_row("review_refactoring stand-in", f"sleeps {rv:g} s{jitter}")
    table.add_row("same jobs in every mode", "yes: run i sleeps the same in each (seeded jitter)")
    table.add_row(
        "parallel mode",
        f"control worker (max_jobs 20) + parts worker, max_parts={PARALLEL_MAX_PARTS}",
    )
    table.add_row(
        "serial mode", f"same workers, max_parts={SERIAL_MAX_PARTS} (parts one after the other)"
    )
    table.add_row(
        "busy mode",
        f"same workers, max_parts={BUSY_MAX_PARTS}; once the measured run's parts have started, "
        f"{params.busy_runs} other runs start whose parts sleep {params.busy_part:g} s each",
    )
    table.add_row(
        "busy, one queue",
        f"the busy mode on the design before the split: one arq worker, max_jobs="
        f"{BUSY_MAX_PARTS}, runs start_run, the parts and collect from one queue",
    )
    table.add_row("arq poll_delay (queue pickup)", f"{info['poll_delay'] * 1000:g} ms")
    table.add_row(
        "real",
        "redis-server, arq control + parts workers (jobs.worker.build_workers), "
        "start_run, run_part, collect",
    )
    table.add_row("redis-server", f"{info['redis_version']} ({info['redis']})")
    table.add_row("GitHub", f"fake GitHub on its own thread at {info['fake_url']}")
    table.add_row("python", f"{platform.python_version()} on {platform.machine()}")
    console.print(table)

    wall = Table(title="Wall time: enqueue start_run → completing check-run PATCH at GitHub")
    for column in ("mode", "ideal (median)", "median", "p95", "min", "max", "parts overlapped"):
        wall.add_column(column, justify="right" if column != "mode" else "left")
    ideal = {mode: median([t.ideal_s for t in timelines]) for mode, timelines in measured.items()}
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
    overhead = {m: [t.wall_s - t.ideal_s for t in measured[m]] for m in measured}
    console.print(
        "overhead = wall - the parts' own time (median / max): "
        + ", ".join(f"{m} {ms(median(v))} / {ms(max(v))}" for m, v in overhead.items())
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

    slots = Table(
        title="Part slots when the measured run's last part returned (min / median / max)"
    )
    for column in (
        "mode",
        f"other runs' parts running (of {BUSY_MAX_PARTS - 1} other slot)",
        "parts queued",
        "fan-in median",
    ):
        slots.add_column(column, justify="right" if column != "mode" else "left")
    for mode in (busy, one_queue):
        snapshots = [bench.at_fanin(t) for t in measured[mode]]
        row = [mode]
        for counts in ([r for r, _ in snapshots], [q for _, q in snapshots]):
            row.append(f"{min(counts)} / {median([float(c) for c in counts]):g} / {max(counts)}")
        row.append(ms(median([t.fanin_s for t in measured[mode]])))
        slots.add_row(*row)
    console.print(slots)
    busy_fanin = median([t.fanin_s for t in measured[busy]])
    old_fanin = median([t.fanin_s for t in measured[one_queue]])
    console.print(
        f"every part slot busy: collect on the control queue completes the run "
        f"[bold]{ms(busy_fanin)}[/bold] after its last part (median); on one queue it waited "
        f"behind the other runs' queued parts: [bold]{ms(old_fanin)}[/bold]"
    )

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
    statuses = sorted({t.final_status for t in bench.runs.values()})
    console.print(
        f"check runs: {info['check_creates']} created, {info['check_patches']} PATCHes "
        f"({len(bench.runs)} runs, background and warm-up included); "
        f"measured conclusions {conclusions}; all runs' states {statuses}"
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
        "--jitter",
        type=float,
        default=0.05,
        help="add U[0, JITTER) s to each part, seeded per run, same in every mode (0.05)",
    )
    parser.add_argument(
        "--busy-part",
        type=float,
        default=None,
        help="busy modes: each background run's parts sleep this long, s (5)",
    )
    parser.add_argument(
        "--busy-runs",
        type=int,
        default=2,
        help="busy modes: background runs started with each measured run (2)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 runs, parts of 0.4 s and 0.15 s, background parts of 1 s",
    )
    args = parser.parse_args(argv)
    runs, testgen, review, busy_part = (3, 0.4, 0.15, 1.0) if args.quick else (10, 1.5, 0.6, 5.0)
    params = Params(
        runs=args.runs if args.runs is not None else runs,
        warmup=args.warmup,
        durations={
            GENERATE_TESTS: args.testgen if args.testgen is not None else testgen,
            REVIEW_REFACTORING: args.review if args.review is not None else review,
        },
        jitter=args.jitter,
        busy_part=args.busy_part if args.busy_part is not None else busy_part,
        busy_runs=args.busy_runs,
    )
    if (
        params.runs < 1
        or params.warmup < 0
        or params.busy_runs < 1
        or min(*params.durations.values(), params.jitter, params.busy_part) < 0
    ):
        parser.error("--runs and --busy-runs must be >= 1; --warmup, --jitter and durations >= 0")
    return params


def main(argv: list[str] | None = None) -> None:
    params = parse_args(argv)
    # This benchmark runs no PR code; the worker's "local sandbox is not isolated" warning
    # would only clutter the figures.
    logging.getLogger("jobs.worker").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        measured, info, bench = asyncio.run(bench_main(params, Path(tmp)))
    report(params, measured, info, bench)


if __name__ == "__main__":
    main()
