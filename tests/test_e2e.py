"""End to end: `tandem serve` and `tandem worker` as processes, a real redis-server, the fake
GitHub (real git over smart HTTP) and a scripted OpenAI-compatible LLM driving the real agent."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.connections import EmbeddedRedis, free_port
from jobs.state import PartResult
from tests.fakegithub import FakeGitHubThread, make_app_key
from tests.fakegithub.payloads import pull_request_event, webhook_request
from tests.harness import (
    BASE_SRC,
    GOOD_TEST,
    HEAD_SRC,
    ORDERS_SRC,
    first_user_text,
    part_results_blocking,
)
from tests.llmserver import ScriptedLLMThread, Step, finish, terminal, tool_call
from tests.waiting import wait_quiescent_blocking

# The module's tests share one set of processes (the module-scoped `world`), in order: one xdist
# worker runs them all.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-processes")]

APP_ID = 4242
INSTALLATION = 777
REPO = "octo/calc"
# engine auto (the default): characterization first, then the agent for what it left.
AUTO_REPO = "octo/orders"
SECRET = "e2e-webhook-secret"

FAILING_TEST = """from calc import classify


def test_wrong_expectation():
    assert classify(0) == "nothing"
"""


def agent_script(body: dict[str, Any]) -> Step | None:
    """Writes a test into the checkout named in the prompt; a `slow_` file makes it wait first,
    so a run can be caught in progress."""
    prompt = first_user_text(body)
    match = re.search(r"repository at (/\S+?)\.\n", prompt)
    if match is None:
        return finish("no repository in the prompt")
    checkout = match.group(1)
    turns = sum(1 for m in body["messages"] if m.get("role") == "assistant")
    steps: list[Step] = []
    if "slow_calc.py" in prompt:
        steps.append(terminal("sleep 8"))
    content = FAILING_TEST if "failing" in prompt else GOOD_TEST
    steps.append(
        tool_call(
            "file_editor",
            command="create",
            path=f"{checkout}/tests/test_calc_tandem.py",
            file_text=content,
        )
    )
    steps.append(finish("wrote tests/test_calc_tandem.py"))
    return steps[turns] if turns < len(steps) else finish()


@dataclass
class World:
    github: Any  # FakeGitHubThread, attributes fall through to the FakeGitHub
    llm: ScriptedLLMThread
    url: str
    logs: Path
    redis_url: str  # the processes' Redis database

    def post(self, event: str, payload: dict[str, Any], delivery: str | None = None) -> int:
        body, headers = webhook_request(event, payload, SECRET, delivery)
        return self.post_raw(body, headers)

    def post_raw(self, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(
            f"{self.url}/webhook", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def open_pr(
        self, branch: str, files: dict[str, str], repo: str = REPO
    ) -> tuple[dict[str, Any], str, str]:
        base = self.github.branch_sha(repo, "main")
        self.github.create_branch(repo, branch, base)
        head = self.github.commit_files(repo, branch, files, message=f"change on {branch}")
        pull = self.github.open_pull_request(repo, head=branch, base="main")
        return pull, base, head

    def payload(
        self,
        action: str,
        pull: dict[str, Any],
        base: str,
        head: str,
        branch: str,
        repo: str = REPO,
    ) -> dict[str, Any]:
        return pull_request_event(
            action=action,
            repo_full_name=repo,
            number=pull["number"],
            head_sha=head,
            base_sha=base,
            head_ref=branch,
            clone_url=self.github.clone_url(repo),
            installation_id=INSTALLATION,
        )

    def results(self, number: int, head: str, repo: str = REPO) -> dict[str, PartResult]:
        """The parts' structured results of a run, from the processes' Redis."""
        return part_results_blocking(self.redis_url, repo, number, head)

    def completed_run(self, sha: str, timeout: float = 120, repo: str = REPO) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            runs = [r for r in self.github.check_runs_for(repo, sha) if r["status"] == "completed"]
            return runs[-1] if runs else None

        return wait_for(done, timeout, f"check run on {sha[:8]} to complete", self.logs)


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, logs: Path | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    detail = ""
    if logs is not None:
        for log in sorted(logs.glob("*.log")):
            detail += f"\n--- {log.name} ---\n" + log.read_text()[-4000:]
    raise AssertionError(f"timed out waiting for {what}{detail}")


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "tandem.cli", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[World]:
    root = tmp_path_factory.mktemp("e2e")
    private_pem, public_pem = make_app_key()
    key_path = root / "app.pem"
    key_path.write_bytes(private_pem)
    with (
        FakeGitHubThread(root / "github", app_id=APP_ID, public_key_pem=public_pem) as github,
        ScriptedLLMThread(agent_script) as llm,
    ):
        github.add_installation(INSTALLATION, "octo")
        github.create_repo(REPO, installation_id=INSTALLATION)
        # The agent alone: these tests follow the agent's files to delivery (engine auto would
        # run characterization first; tests/test_testgen_modes.py covers that).
        github.commit_files(
            REPO,
            "main",
            {
                "calc.py": BASE_SRC,
                "tests/__init__.py": "",
                ".github/tandem.yml": "test_generation:\n  engine: openhands\n",
            },
        )
        github.create_repo(AUTO_REPO, installation_id=INSTALLATION)
        github.commit_files(AUTO_REPO, "main", {"tests/__init__.py": ""})
        port = free_port()
        redis_url = redis_server.url.replace("/0", "/3")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")},
            "TANDEM_GITHUB_APP_ID": str(APP_ID),
            "TANDEM_GITHUB_PRIVATE_KEY_PATH": str(key_path),
            "TANDEM_WEBHOOK_SECRET": SECRET,
            "TANDEM_GITHUB_API_URL": github.url,
            "TANDEM_REDIS_URL": redis_url,
            "TANDEM_LLM_MODEL": "openai/scripted",
            "TANDEM_LLM_BASE_URL": llm.url,
            "TANDEM_LLM_API_KEY": "sk-e2e-test-key",
            "TANDEM_DATA_DIR": str(root / "data"),
            "TANDEM_AGENT_WALL_TIME_S": "60",
            "TANDEM_SANDBOX": "local",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        logs = root / "logs"
        logs.mkdir()
        processes = [
            start_process(["serve", "--port", str(port)], env, logs / "serve.log"),
            start_process(["worker"], env, logs / "worker.log"),
        ]
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: healthy(url), 30, "tandem serve to answer /healthz", logs)
            yield World(github=github, llm=llm, url=url, logs=logs, redis_url=redis_url)
        finally:
            for process in processes:
                os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_opened_pr_gets_one_check_run_with_review_and_delivered_tests(world: World) -> None:
    pull, base, head = world.open_pr("feature-1", {"calc.py": HEAD_SRC})
    payload = world.payload("opened", pull, base, head, "feature-1")
    statuses = [world.post("pull_request", payload, delivery="e2e-opened-1") for _ in range(3)]
    assert statuses == [202, 200, 200]

    run = world.completed_run(head)
    assert run["conclusion"] == "success", run["output"]
    assert run["external_id"] == f"{REPO}#{pull['number']}@{head}"
    results = world.results(pull["number"], head)
    assert results["generate_tests"].details["kept"] == ["tests/test_calc_tandem.py"]
    assert results["review_refactoring"].details["findings"] >= 1
    assert len(world.github.check_runs_for(REPO, head)) == 1  # three deliveries, one run

    annotations = world.github.annotations_for(run["id"])
    complexity = [a for a in annotations if a["path"] == "calc.py"]
    assert complexity and complexity[0]["title"] == "Complexity 11 in classify (was 2)"
    assert complexity[0]["annotation_level"] == "warning"

    follow_ups = [
        p for p in world.github.pulls_for(REPO) if p["head"]["ref"] == "tandem/tests-pr-1"
    ]
    assert len(follow_ups) == 1
    assert follow_ups[0]["base"]["ref"] == "feature-1"
    branch_sha = world.github.branch_sha(REPO, "tandem/tests-pr-1")
    shown = subprocess.run(
        [
            "git",
            "--git-dir",
            str(world.github.repo_path(REPO)),
            "show",
            f"{branch_sha}:tests/test_calc_tandem.py",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == GOOD_TEST
    parent = subprocess.run(
        ["git", "--git-dir", str(world.github.repo_path(REPO)), "rev-parse", f"{branch_sha}^"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert parent.stdout.strip() == head

    # the key never reached the LLM's transcript, and the agent's requests carried our model
    assert all("sk-e2e-test-key" not in json.dumps(r) for r in world.llm.requests)


def test_failing_generated_test_is_not_delivered(world: World) -> None:
    pull, base, head = world.open_pr("feature-failing", {"calc_failing.py": HEAD_SRC})
    world.post("pull_request", world.payload("opened", pull, base, head, "feature-failing"))
    world.completed_run(head)
    tests = world.results(pull["number"], head)["generate_tests"]
    assert tests.details["discarded"] == ["tests/test_calc_tandem.py"]
    assert tests.details["kept"] == []
    assert tests.headline == "no passing tests"
    branch = f"tandem/tests-pr-{pull['number']}"
    assert world.github.branch_sha(REPO, branch) is None
    assert not [p for p in world.github.pulls_for(REPO) if p["head"]["ref"] == branch]


def test_synchronize_cancels_the_old_run(world: World) -> None:
    pull, base, old_head = world.open_pr("feature-sync", {"slow_calc.py": HEAD_SRC})
    world.post("pull_request", world.payload("opened", pull, base, old_head, "feature-sync"))
    wait_for(
        lambda: world.github.check_runs_for(REPO, old_head), 60, "the first check run", world.logs
    )
    new_head = world.github.commit_files(
        REPO, "feature-sync", {"slow_calc.py": HEAD_SRC + "\n# v2\n"}, message="second push"
    )
    sent = time.monotonic()
    world.post("pull_request", world.payload("synchronize", pull, base, new_head, "feature-sync"))
    old = world.completed_run(old_head, timeout=30)
    cancelled_after = time.monotonic() - sent
    assert old["conclusion"] == "cancelled"
    assert f"superseded by {new_head[:12]}" in old["output"]["title"]
    new = world.completed_run(new_head)
    assert new["conclusion"] == "success"
    print(f"old run cancelled {cancelled_after:.2f} s after the synchronize delivery")


def test_bad_signature_is_refused_and_nothing_runs(world: World) -> None:
    pull, base, head = world.open_pr("feature-forged", {"calc.py": HEAD_SRC})
    body, headers = webhook_request(
        "pull_request", world.payload("opened", pull, base, head, "feature-forged"), "wrong"
    )
    assert world.post_raw(body, headers) == 401
    wait_quiescent_blocking(world.redis_url)  # a wrongly enqueued run would show up by now
    assert world.github.check_runs_for(REPO, head) == []


def test_llm_down_still_reports_the_review(world: World) -> None:
    world.llm.server.mode = "http_500"
    try:
        pull, base, head = world.open_pr("feature-llm-down", {"calc.py": HEAD_SRC})
        world.post("pull_request", world.payload("opened", pull, base, head, "feature-llm-down"))
        run = world.completed_run(head)
    finally:
        world.llm.server.mode = "script"
    assert run["conclusion"] == "neutral"
    results = world.results(pull["number"], head)
    assert results["review_refactoring"].details["findings"] >= 1
    assert results["generate_tests"].details["agent_status"] == "llm_error"
    assert (
        "| ⚠️ LLM unavailable (HTTP 500 from the provider): no tests kept |"
        in (run["output"]["summary"])
    )
    assert world.github.annotations_for(run["id"])


@pytest.mark.parametrize(
    ("mode", "failure"),
    [
        ("http_500", "LLM unavailable (HTTP 500 from the provider)"),
        ("http_401", "LLM key rejected (HTTP 401 from the provider)"),
    ],
)
def test_llm_down_or_key_rejected_is_a_warning_and_the_offline_tests_are_delivered(
    world: World, mode: str, failure: str
) -> None:
    """engine auto against an LLM that fails every request: the check is neutral, the test
    part's ⚠️ headline names the failure, and characterization's test is still delivered."""
    branch = f"orders-{mode}"
    asked = len(world.llm.requests)
    world.llm.server.mode = mode  # type: ignore[assignment]
    try:
        pull, base, head = world.open_pr(branch, {"orders.py": ORDERS_SRC}, repo=AUTO_REPO)
        world.post(
            "pull_request", world.payload("opened", pull, base, head, branch, repo=AUTO_REPO)
        )
        run = world.completed_run(head, repo=AUTO_REPO)
    finally:
        world.llm.server.mode = "script"
    summary = run["output"]["summary"]
    assert run["conclusion"] == "neutral", summary
    headline = f"{failure}: offline tests only, 1 test file(s) generated"
    assert f"| Test generation | ⚠️ {headline} |" in summary
    assert headline in run["output"]["title"]
    assert len(world.llm.requests) > asked  # the real agent loop asked the failing server
    tests = world.results(pull["number"], head, repo=AUTO_REPO)["generate_tests"]
    assert (tests.status, tests.details["llm_failure"]) == ("warning", failure)
    (kept,) = tests.details["kept"]
    delivery = f"tandem/tests-pr-{pull['number']}"
    follow_ups = [p for p in world.github.pulls_for(AUTO_REPO) if p["head"]["ref"] == delivery]
    assert len(follow_ups) == 1
    shown = subprocess.run(
        [
            "git",
            "--git-dir",
            str(world.github.repo_path(AUTO_REPO)),
            "show",
            f"{world.github.branch_sha(AUTO_REPO, delivery)}:{kept}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "from orders import" in shown.stdout and "def test_" in shown.stdout
    assert "sk-e2e-test-key" not in json.dumps(run["output"])


def test_no_secret_reaches_the_logs_or_github(world: World) -> None:
    key_text = (world.logs.parent / "app.pem").read_text()
    key_body = key_text.splitlines()[1]  # a line of the PEM's base64 body
    logs = "".join(log.read_text() for log in world.logs.glob("*.log"))
    assert logs, "the processes wrote logs"
    for secret in (SECRET, "sk-e2e-test-key", key_body, "ghs_"):
        assert secret not in logs
    shown = json.dumps([c.json for c in world.github.calls if c.json is not None])
    for secret in (SECRET, "sk-e2e-test-key", key_body, "ghs_"):
        assert secret not in shown
    # every run that was started shares one installation token through Redis
    assert world.github.tokens_issued == 1
