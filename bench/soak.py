"""Soak: many PRs with several pushes each, a worker killed with -9 and Redis restarted meanwhile.

Everything is real except GitHub: `tandem serve` and `tandem worker` processes, a redis-server
with its append-only file (as compose.yaml runs it), real git, the offline test-generation
engines and the review; the in-repo fake GitHub (tests/fakegithub) is the network edge. The soak

1. opens `--prs` PRs on a small repository and pushes to each `--pushes` times (random gaps from
   `--seed`), each push a signed webhook to `tandem serve`; a webhook answered 503 (Redis away)
   is redelivered every 2 s, as an operator or a redelivery job would (GitHub does not retry);
2. runs 2 workers; at 40 % of the pushes it kills one with SIGKILL (its process group) while it
   runs a part, and starts a replacement;
3. at 70 % it kills redis-server (`--redis-signal`, SIGKILL by default: a crash) and starts it
   again on the same port and directory after `--redis-down-s`;
4. like compose's `restart: unless-stopped`, starts again any Tandem process that exits by
   itself, and says so;
5. waits until every PR's last head has a completed check run (at most `--settle-s`), then
   prints what happened.

Figures: the final heads' runs completed (and their conclusions), check runs left `in_progress`
(must be 0), duplicates (head shas with more than one check run, PRs with more than one
follow-up PR of tests), lost deliveries (webhooks never accepted; final runs whose kept tests
did not reach the follow-up PR on that head), the recovery times (the kill to each run the
killed worker was running completed; Redis back to the first job done), the processes that
exited on their own, and the parts that ran more than once. It asserts nothing.

    python -m bench.soak                           # 6 PRs x 3 pushes, seed 1 (a few minutes)
    python -m bench.soak --prs 2 --pushes 2        # a smoke run
    python -m bench.soak --redis-signal TERM       # a clean Redis restart instead of a crash
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import collections
import logging
import random
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from core.connections import EmbeddedRedis, free_port, start_embedded_redis
from core.part_registry import PART_NAMES
from tests.fakegithub import FakeGitHubThread, make_app_key
from tests.fakegithub.payloads import pull_request_event, webhook_request
from tests.harness import BASE_SRC, part_results_blocking
from tests.processes import kill_hard, start_tandem, stop, tandem_env

APP_ID = 6161
INSTALLATION = 61
REPO = "octo/soak"
SECRET = "soak-webhook-secret"
CONFIG = """test_generation:
  engine: offline
  flaky_runs: 2
"""
REDELIVER_EVERY_S = 2.0
REDELIVER_ATTEMPTS = 30
KILL_AT, RESTART_AT = 0.4, 0.7
# arq's log lines: "  0.12s → <job id>:<function>(<args>) try=2", "← <ref> ● ...", "! <ref> failed"
# The line that says why a process ended: Tandem's one-line CLI error, or a traceback's last line.
LAST_WORDS = re.compile(r"^(tandem \w+: |[\w.]+(Error|Exception): )")
JOB_LINE = re.compile(r"\s(→|←|↻|!|⊘) (\S+?)(?:\(| |$)")
TRY = re.compile(r"\) try=(\d+)")


def source(pr: int, push: int) -> str:
    """The changed module of push `push` on PR `pr`: a new branch with new literals each time."""
    n = 10 * pr + push
    return (
        "def classify(n):\n"
        "    if n < 0:\n"
        '        return "negative"\n'
        f"    elif n == {n}:\n"
        f'        return "pr {pr} push {push}"\n'
        f"    elif n < {n + 100}:\n"
        '        return "small"\n'
        '    return "non-negative"\n'
    )


def now() -> float:
    return time.monotonic()


@dataclass
class Proc:
    """A Tandem process whose output is read line by line, each line stamped when it came."""

    name: str
    args: list[str]
    process: subprocess.Popen[bytes]
    log: Path
    started: float
    lines: list[tuple[float, str]] = field(default_factory=list)
    running: dict[str, float] = field(default_factory=dict)  # job id -> start
    finished: list[tuple[float, str, str]] = field(default_factory=list)  # (t, mark, job id)
    starts: list[tuple[float, str, int]] = field(default_factory=list)  # (t, job id, try)
    expected_exit: bool = False

    def read(self) -> None:
        assert self.process.stdout is not None
        with self.log.open("ab") as log:
            for raw in self.process.stdout:
                log.write(raw)
                log.flush()
                stamp, line = now(), raw.decode("utf-8", "replace")
                self.lines.append((stamp, line))
                match = JOB_LINE.search(line)
                if match is None:
                    continue
                mark, job_id = match.group(1), match.group(2).rsplit(":", 1)[0]
                if mark == "→":
                    self.running[job_id] = stamp
                    tried = TRY.search(line)
                    self.starts.append((stamp, job_id, int(tried.group(1)) if tried else 1))
                else:
                    self.running.pop(job_id, None)
                    self.finished.append((stamp, mark, job_id))


def run_key_of(job_id: str) -> str:
    return job_id.split(":", 1)[1]


@dataclass
class Delivery:
    id: str
    event: str
    payload: dict[str, Any]
    attempts: int = 0
    next_at: float = 0.0
    accepted: int | None = None  # the accepting status
    refusals: list[str] = field(default_factory=list)


@dataclass
class Push:
    at: float
    pr: int
    index: int


class Soak:
    def __init__(self, args: argparse.Namespace, root: Path, github: Any) -> None:
        self.args = args
        self.root = root
        self.github = github
        self.begin = now()
        self.procs: list[Proc] = []
        self.events: list[tuple[float, str]] = []
        self.deliveries: list[Delivery] = []
        self.pulls: dict[int, dict[str, Any]] = {}  # PR index -> the pull as the API gives it
        self.heads: dict[int, list[str]] = collections.defaultdict(list)
        self.completed_at: dict[str, float] = {}  # check run external id -> first seen completed
        self.redis: EmbeddedRedis | None = None
        self.redis_down: float | None = None
        self.redis_back: float | None = None
        self.killed: tuple[float, list[str]] | None = None  # (when, job ids it was running)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env: dict[str, str] = {}

    # -- processes -------------------------------------------------------------------

    def note(self, text: str) -> None:
        self.events.append((now(), text))
        print(f"{now() - self.begin:7.1f} s  {text}", flush=True)

    def spawn(self, name: str, args: list[str]) -> Proc:
        process = start_tandem(args, self.env, None)
        proc = Proc(name, args, process, log=self.root / f"{name}.log", started=now())
        threading.Thread(target=proc.read, name=name, daemon=True).start()
        self.procs.append(proc)
        return proc

    def workers(self) -> list[Proc]:
        return [p for p in self.procs if p.name.startswith("worker")]

    def supervise(self) -> None:
        """compose's `restart: unless-stopped`: a process that exited on its own is started
        again."""
        for proc in list(self.procs):
            code = proc.process.poll()
            if code is None or proc.expected_exit:
                continue
            proc.expected_exit = True
            tail = next(
                (line.strip() for _, line in reversed(proc.lines) if LAST_WORDS.match(line)),
                "(no error line)",
            )
            self.note(f"{proc.name} exited by itself (status {code}): {tail[:200]}; restarting it")
            self.spawn(f"{proc.name.split('.')[0]}.{len(self.procs) + 1}", proc.args)

    # -- GitHub's side ---------------------------------------------------------------

    def push(self, item: Push) -> None:
        branch = f"feature-{item.pr}"
        if item.index == 0:
            base = self.github.branch_sha(REPO, "main")
            self.github.create_branch(REPO, branch, base)
        head = self.github.commit_files(
            REPO, branch, {"calc.py": source(item.pr, item.index)}, message=f"push {item.index}"
        )
        if item.index == 0:
            self.pulls[item.pr] = self.github.open_pull_request(REPO, head=branch, base="main")
        self.heads[item.pr].append(head)
        pull = self.pulls[item.pr]
        payload = pull_request_event(
            action="opened" if item.index == 0 else "synchronize",
            repo_full_name=REPO,
            number=pull["number"],
            head_sha=head,
            base_sha=self.github.branch_sha(REPO, "main"),
            head_ref=branch,
            clone_url=self.github.clone_url(REPO),
            installation_id=INSTALLATION,
        )
        self.deliveries.append(
            Delivery(id=f"soak-{item.pr}-{item.index}", event="pull_request", payload=payload)
        )

    def deliver(self) -> None:
        for delivery in self.deliveries:
            if delivery.accepted is not None or delivery.attempts >= REDELIVER_ATTEMPTS:
                continue
            if delivery.next_at > now():
                continue
            delivery.attempts += 1
            body, headers = webhook_request(delivery.event, delivery.payload, SECRET, delivery.id)
            request = urllib.request.Request(
                f"{self.url}/webhook", data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    delivery.accepted = int(response.status)
            except urllib.error.HTTPError as exc:
                delivery.refusals.append(str(exc.code))
            except OSError as exc:
                delivery.refusals.append(type(exc).__name__)
            if delivery.accepted is None:
                delivery.next_at = now() + REDELIVER_EVERY_S

    def watch(self) -> None:
        for heads in self.heads.values():
            for sha in heads:
                for run in self.github.check_runs_for(REPO, sha):
                    if run["status"] == "completed":
                        self.completed_at.setdefault(run["external_id"], now())

    def final_runs_done(self) -> bool:
        if any(d.accepted is None and d.attempts < REDELIVER_ATTEMPTS for d in self.deliveries):
            return False
        for heads in self.heads.values():
            runs = self.github.check_runs_for(REPO, heads[-1])
            if not runs or any(r["status"] != "completed" for r in runs):
                return False
        return True

    # -- faults ----------------------------------------------------------------------

    def kill_a_worker(self, pending: set[int]) -> bool:
        """SIGKILL a worker while it runs a part of a PR's last head (no push to supersede it
        is `pending`), so the run can only finish through recovery; False while none does."""
        for proc in self.workers():
            if proc.expected_exit or proc.process.poll() is not None:
                continue
            parts = [
                j
                for j in proc.running
                if j.split(":", 1)[0] in PART_NAMES and self.is_last_head(run_key_of(j), pending)
            ]
            if not parts:
                continue
            proc.expected_exit = True
            kill_hard(proc.process)
            self.killed = (now(), sorted(proc.running))
            self.note(f"killed {proc.name} (-9) while it ran {', '.join(sorted(proc.running))}")
            self.spawn(f"worker.{len(self.procs) + 1}", ["worker"])
            self.note("started a replacement worker")
            return True
        return False

    def is_last_head(self, key: str, pending: set[int]) -> bool:
        """Whether run `key` is on its PR's newest head, with no push pending for that PR."""
        number, sha = key.split("#", 1)[1].split("@", 1)
        pr = next(i for i, pull in self.pulls.items() if pull["number"] == int(number))
        return pr not in pending and self.heads[pr][-1] == sha

    def stop_redis(self) -> None:
        assert self.redis is not None
        sig = signal.Signals[f"SIG{self.args.redis_signal}"]
        self.redis.process.send_signal(sig)
        self.redis.process.wait()
        self.redis_down = now()
        self.note(f"redis-server stopped with {sig.name}; down for {self.args.redis_down_s:g} s")

    def start_redis(self) -> None:
        assert self.redis is not None
        self.redis = start_embedded_redis(self.redis.data_dir, port=self.redis.port, persist=True)
        self.redis_back = now()
        self.note("redis-server is back (same port, same append-only file)")

    # -- the soak --------------------------------------------------------------------

    def schedule(self) -> list[Push]:
        rng = random.Random(self.args.seed)
        pushes: list[Push] = []
        for pr in range(1, self.args.prs + 1):
            at = rng.uniform(0, 2 * self.args.prs)
            for index in range(self.args.pushes):
                pushes.append(Push(at=at, pr=pr, index=index))
                at += rng.uniform(4, 16)
        return sorted(pushes, key=lambda p: p.at)

    def run(self) -> None:
        pushes = self.schedule()
        span = pushes[-1].at
        kill_from, restart_at = KILL_AT * span, RESTART_AT * span
        while pushes or self.redis_back is None or not self.final_runs_done():
            elapsed = now() - self.begin
            while pushes and pushes[0].at <= elapsed:
                self.push(pushes.pop(0))
            if self.killed is None and elapsed >= kill_from:
                self.kill_a_worker({p.pr for p in pushes})
            if self.redis_down is None and elapsed >= restart_at:
                self.stop_redis()
            elif (
                self.redis_back is None
                and self.redis_down is not None
                and now() >= self.redis_down + self.args.redis_down_s
            ):
                self.start_redis()
            self.deliver()
            self.watch()
            self.supervise()
            if not pushes and elapsed > span + self.args.settle_s:
                self.note(f"gave up waiting after {self.args.settle_s:g} s of settling")
                break
            time.sleep(0.1)
        self.watch()
        if self.killed is None:
            self.note("no worker was ever caught running a part: nothing was killed")

    # -- figures ---------------------------------------------------------------------

    def report(self) -> None:
        redis_url = self.env["TANDEM_REDIS_URL"]
        all_runs = {
            sha: self.github.check_runs_for(REPO, sha)
            for heads in self.heads.values()
            for sha in heads
        }
        finals = {pr: heads[-1] for pr, heads in self.heads.items()}
        conclusions: collections.Counter[str] = collections.Counter()
        final_done = 0
        for sha in finals.values():
            done = [r for r in all_runs[sha] if r["status"] == "completed"]
            if done:
                final_done += 1
                conclusions[str(done[-1]["conclusion"])] += 1
        in_progress = [
            f"{sha[:8]} ({r['external_id']})"
            for sha, runs in all_runs.items()
            for r in runs
            if r["status"] != "completed"
        ]
        duplicated = {sha[:8]: len(runs) for sha, runs in all_runs.items() if len(runs) > 1}
        superseded = [sha for pr, heads in self.heads.items() for sha in heads[:-1]]
        superseded_runs = collections.Counter(
            str(runs[-1]["conclusion"]) if runs else "no check run"
            for sha, runs in all_runs.items()
            if sha in superseded
        )
        follow_ups = collections.Counter(
            p["head"]["ref"]
            for p in self.github.pulls_for(REPO)
            if p["head"]["ref"].startswith("tandem/")
        )
        lost_tests = []
        kept_finals = 0
        for pr, sha in finals.items():
            number = self.pulls[pr]["number"]
            try:
                tests = part_results_blocking(redis_url, REPO, number, sha).get("generate_tests")
            except AssertionError:
                tests = None
            if tests is None or not tests.details.get("kept"):
                continue
            kept_finals += 1
            branch_sha = self.github.branch_sha(REPO, f"tandem/tests-pr-{number}")
            parent = git_parent(self.github.repo_path(REPO), branch_sha) if branch_sha else None
            if parent != sha:
                lost_tests.append(f"PR #{number} @ {sha[:8]}")
        webhooks_lost = [d.id for d in self.deliveries if d.accepted is None]
        redelivered = [d for d in self.deliveries if d.accepted is not None and d.refusals]

        print("\n== soak figures ==")
        print(
            f"{self.args.prs} PRs x {self.args.pushes} pushes, seed {self.args.seed}, "
            f"{now() - self.begin:.0f} s"
        )
        print(
            f"final-head runs completed: {final_done}/{len(finals)}  "
            f"({', '.join(f'{k} {v}' for k, v in sorted(conclusions.items())) or 'none'})"
        )
        print(
            f"superseded heads: {len(superseded)}  "
            f"({', '.join(f'{k} {v}' for k, v in sorted(superseded_runs.items())) or 'none'})"
        )
        print(f"check runs left in_progress: {len(in_progress)}  {' '.join(in_progress)}")
        print(f"head shas with more than one check run: {len(duplicated)}  {duplicated or ''}")
        print(
            "PRs with more than one follow-up PR of tests: "
            f"{sum(1 for n in follow_ups.values() if n > 1)}"
        )
        print(
            f"webhooks: {len(self.deliveries)} sent, {len(redelivered)} accepted only on "
            f"redelivery, {len(webhooks_lost)} never accepted {webhooks_lost or ''}"
        )
        for delivery in redelivered:
            print(f"  {delivery.id}: refused {', '.join(delivery.refusals)}, then accepted")
        print(
            f"final runs with kept tests: {kept_finals}; their tests not on the follow-up PR "
            f"at that head (lost): {len(lost_tests)} {lost_tests or ''}"
        )
        if self.killed is not None:
            killed_at, job_ids = self.killed
            print("worker kill -> each job it was running taken again; its run completed:")
            for job_id in job_ids:
                key = run_key_of(job_id)
                again = min(
                    (
                        t
                        for p in self.procs
                        for t, j, _ in p.starts
                        if j == job_id and t > killed_at
                    ),
                    default=None,
                )
                taken = f"{again - killed_at:.1f} s" if again else "not run again"
                done_at = self.completed_at.get(key)
                conclusion = next(
                    (
                        r["conclusion"]
                        for r in all_runs.get(key.rsplit("@", 1)[1], [])
                        if r["external_id"] == key
                    ),
                    None,
                )
                shown = (
                    f"{done_at - killed_at:.1f} s ({conclusion})" if done_at else "NOT completed"
                )
                print(f"  {job_id}: {taken}; {shown}")
        if self.redis_back is not None:
            back = self.redis_back
            first = min(
                (t for p in self.procs for t, mark, _ in p.finished if mark == "←" and t > back),
                default=None,
            )
            after = "no job finished after it" if first is None else f"{first - back:.1f} s"
            print(f"Redis back -> first job done: {after}")
        exits = [text for _, text in self.events if "exited by itself" in text]
        print(f"processes that exited by themselves: {len(exits)}")
        for text in exits:
            print(f"  {text}")
        retried = sorted({j for p in self.procs for _, j, tried in p.starts if tried > 1})
        print(f"jobs run more than once: {len(retried)}  {' '.join(retried)}")
        print(f"logs: {self.root}")


def git_parent(repo: Path, sha: str) -> str | None:
    shown = subprocess.run(
        ["git", "--git-dir", str(repo), "rev-parse", f"{sha}^"],
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout.strip() or None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--prs", type=int, default=6, help="pull requests (default 6)")
    parser.add_argument("--pushes", type=int, default=3, help="pushes per PR (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the push times (default 1)")
    parser.add_argument(
        "--redis-signal", choices=["KILL", "TERM"], default="KILL", help="how Redis is stopped"
    )
    parser.add_argument("--redis-down-s", type=float, default=3.0, help="Redis down time")
    parser.add_argument(
        "--settle-s", type=float, default=300.0, help="wait at most this for the last runs"
    )
    args = parser.parse_args(argv)

    # A killed worker's git fetch ends mid-transfer; the fake GitHub's server would print a
    # traceback about the closed connection.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    root = Path(tempfile.mkdtemp(prefix="tandem-soak-"))
    private, public = make_app_key()
    with FakeGitHubThread(root / "github", app_id=APP_ID, public_key_pem=public) as github:
        github.add_installation(INSTALLATION, "octo")
        github.create_repo(REPO, installation_id=INSTALLATION)
        github.commit_files(
            REPO,
            "main",
            {"calc.py": BASE_SRC, "tests/__init__.py": "", ".github/tandem.yml": CONFIG},
        )
        soak = Soak(args, root, github)
        soak.redis = start_embedded_redis(root / "redis", persist=True)
        soak.env = tandem_env(
            root,
            app_id=APP_ID,
            private_key=private,
            github_url=github.url,
            redis_url=soak.redis.url,
            TANDEM_WEBHOOK_SECRET=SECRET,
        )
        soak.spawn("serve", ["serve", "--port", str(soak.port)])
        for n in (1, 2):
            soak.spawn(f"worker.{n}", ["worker"])
        try:
            wait_healthy(soak.url)
            soak.note("serve and 2 workers started")
            soak.run()
            soak.report()
        finally:
            for proc in soak.procs:
                proc.expected_exit = True
                stop(proc.process, timeout_s=20)
            if soak.redis is not None:
                soak.redis.stop()


def wait_healthy(url: str, limit_s: float = 60) -> None:
    deadline = now() + limit_s
    while now() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"tandem serve did not answer {url}/healthz within {limit_s:g} s")


if __name__ == "__main__":
    main()
