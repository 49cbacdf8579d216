"""Comment commands, Re-run and the check run's buttons, end to end: signed webhooks into the real
web app, the real arq worker and jobs, a real redis-server, real git, the fake GitHub and the
scripted LLM. Only the network edges are fakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from arq.connections import ArqRedis

from bot.event_plan import run_key
from jobs.notices import BUSY_MESSAGE
from jobs.state import RunStore
from tests.fakegithub import FakeGitHub
from tests.fakegithub.payloads import (
    issue_comment_event,
    repository_object,
    user_object,
    webhook_request,
)
from tests.harness import HEAD_SRC, HarnessFactory
from tests.llmserver import ScriptedLLM
from tests.waiting import EVENT_LIMIT_S, wait_quiescent, wait_until

APP_ID = 78
INSTALLATION = 10
REPO = "octo/calc"
SECRET = "commands-secret"
USERS = {"ada": "admin", "max": "maintain", "wes": "write", "tia": "triage", "rita": "read"}


@dataclass
class World:
    github: FakeGitHub
    web: TestClient[Any, Any]
    pool: ArqRedis
    llm: ScriptedLLM
    number: int
    head: str
    deliveries: int = 0

    async def deliver(
        self, event: str, payload: dict[str, Any], delivery: str | None = None
    ) -> Any:
        self.deliveries += 1
        body, headers = webhook_request(
            event, payload, SECRET, delivery or f"delivery-{self.deliveries}"
        )
        response = await self.web.post("/webhook", data=body, headers=headers)
        assert response.status in (200, 202), await response.text()
        return await response.json()

    async def comment(
        self, body: str, user: str = "wes", *, user_type: str = "User", action: str = "created"
    ) -> tuple[int, Any]:
        """Post a comment as `user` (in the fake, so it can be reacted to) and deliver its
        issue_comment event."""
        created = self.github.add_comment(REPO, self.number, body, user=user)
        payload = issue_comment_event(
            action=action,
            repo_full_name=REPO,
            number=self.number,
            comment_body=body,
            clone_url=self.github.clone_url(REPO),
            installation_id=INSTALLATION,
            sender=user,
            sender_type=user_type,
            comment_id=created["id"],
            api_url=self.github.url,
        )
        return created["id"], await self.deliver("issue_comment", payload)

    def reactions(self, comment_id: int) -> list[str]:
        return [r["content"] for r in self.github.reactions_for(REPO, comment_id=comment_id)]

    def replies(self) -> list[str]:
        return [
            c["body"]
            for c in self.github.comments_for(REPO, self.number)
            if c["user"]["login"] == "tandem[bot]"
        ]

    def completed_runs(self) -> list[dict[str, Any]]:
        return [
            r for r in self.github.check_runs_for(REPO, self.head) if r["status"] == "completed"
        ]

    async def wait(
        self, condition: Callable[[], Any], what: str, limit_s: float = EVENT_LIMIT_S
    ) -> Any:
        return await wait_until(condition, what, limit_s)

    async def settled(self, user: str) -> None:
        """The worker has looked up `user`'s permission and finished all it did after that."""
        await self.wait(
            lambda: self.github.calls_matching("GET", f"/collaborators/{user}/permission$"),
            f"the permission lookup of {user}",
        )
        await self.quiescent()

    async def quiescent(self) -> None:
        """Nothing is left queued or running (tests/waiting.py): what happened has happened."""
        await wait_quiescent(self.pool)

    async def completed(self, count: int) -> dict[str, Any]:
        runs = await self.wait(
            lambda: len(self.completed_runs()) >= count and self.completed_runs(),
            f"{count} completed check run(s)",
        )
        result: dict[str, Any] = runs[-1]
        return result


def check_run_event(
    world: World, action: str, sender: str = "wes", **extra: Any
) -> tuple[str, dict[str, Any]]:
    run = world.completed_runs()[-1]
    payload = {
        "action": action,
        "check_run": run,
        "repository": repository_object(REPO, clone_url=world.github.clone_url(REPO)),
        "installation": {"id": INSTALLATION, "node_id": "x"},
        "sender": user_object(sender),
        **extra,
    }
    return "check_run", payload


@pytest.fixture
async def world(make_harness: HarnessFactory) -> World:
    harness = await make_harness(
        app_id=APP_ID, installation=INSTALLATION, web=True, webhook_secret=SECRET
    )
    github = harness.github
    # The agent alone writes tests: these tests look at the commands, not at what the offline
    # engines write, which would add minutes to each run (a test's own config replaces this).
    base = github.commit_files(
        REPO, "main", {".github/tandem.yml": "test_generation:\n  engine: openhands\n"}
    )
    github.create_branch(REPO, "feature", base)
    head = github.commit_files(REPO, "feature", {"calc.py": HEAD_SRC})
    number = github.open_pull_request(REPO, head="feature")["number"]
    for user, permission in USERS.items():
        github.set_permission(REPO, user, permission)
    github.set_permission(REPO, "nobody", "none")
    assert harness.web is not None
    return World(
        github=github,
        web=harness.web,
        pool=harness.pool,
        llm=harness.llm,
        number=number,
        head=head,
    )


def set_base_config(world: World, text: str) -> None:
    """Commit tandem.yml on main, and move the PR's base with it (as a merge of main would)."""
    world.github.commit_files(REPO, "main", {".github/tandem.yml": text})


# --- help and the permission matrix -------------------------------------------------------------


async def test_help_answers_with_the_commands_and_the_effective_config(world: World) -> None:
    set_base_config(world, "refactoring_review:\n  thresholds:\n    complexity: 7\n")
    comment_id, answer = await world.comment("Hi!\n/tandem help")
    assert "queued" in answer["accepted"]
    (reply,) = await world.wait(world.replies, "the help reply")
    assert "/generate-tests [PATH_OR_GLOB ...]" in reply and "/tandem cancel" in reply
    assert "```yaml" in reply and "complexity: 7" in reply
    assert "allowed_permission: write" in reply
    assert f"{REPO}:.github/tandem.yml" in reply  # the file it came from
    await world.wait(lambda: "rocket" in world.reactions(comment_id), "🚀")
    assert world.reactions(comment_id) == ["eyes", "rocket"]


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        ("ada", True),
        ("max", True),
        ("wes", True),
        ("tia", False),
        ("rita", False),
        ("nobody", False),
    ],
)
async def test_permission_matrix(world: World, user: str, allowed: bool) -> None:
    comment_id, _ = await world.comment("/tandem help", user=user)
    await world.settled(user)
    if allowed:
        await world.wait(world.replies, "the help reply")
        await world.wait(lambda: "rocket" in world.reactions(comment_id), "🚀")
    else:
        assert world.replies() == []
        assert world.reactions(comment_id) == []


async def test_unauthorized_run_commands_do_nothing(world: World) -> None:
    comment_id, _ = await world.comment(
        "/generate-tests\n/review-refactoring\n/tandem cancel", user="rita"
    )
    await world.settled("rita")
    assert world.github.check_runs_for(REPO, world.head) == []
    assert world.replies() == [] and world.reactions(comment_id) == []
    assert world.llm.requests == []


async def test_unauthorized_get_a_short_reply_when_configured(world: World) -> None:
    set_base_config(world, "commands:\n  reply_to_unauthorized: true\n")
    comment_id, _ = await world.comment("/tandem retry", user="rita")
    (reply,) = await world.wait(world.replies, "the reply to rita")
    assert reply == "Sorry @rita, Tandem commands need `write` access to this repository."
    assert world.reactions(comment_id) == []
    assert world.github.check_runs_for(REPO, world.head) == []


async def test_permission_comes_from_the_base_branch_config(world: World) -> None:
    # The PR's head lowers the bar to read; the base's config (defaults) still says write.
    world.github.commit_files(
        REPO, "feature", {".github/tandem.yml": "commands:\n  allowed_permission: read\n"}
    )
    comment_id, _ = await world.comment("/tandem help", user="rita")
    await world.settled("rita")
    assert world.replies() == [] and world.reactions(comment_id) == []
    # ... and the base's config can lower it
    set_base_config(world, "commands:\n  allowed_permission: read\n")
    comment_id, _ = await world.comment("/tandem help", user="rita")
    await world.wait(lambda: "rocket" in world.reactions(comment_id), "🚀 for rita")


async def test_bots_and_tandem_itself_are_ignored(world: World) -> None:
    for login in ("tandem[bot]", "helper[bot]"):
        _, answer = await world.comment("/tandem retry", user=login, user_type="Bot")
        assert answer["accepted"] == "comment by a bot"
    await world.quiescent()
    assert world.github.calls_matching("GET", "/permission$") == []
    assert world.github.check_runs_for(REPO, world.head) == []


async def test_an_edited_comment_does_not_run_again(world: World) -> None:
    comment_id, _ = await world.comment("/review-refactoring")
    await world.completed(1)
    await world.wait(lambda: "rocket" in world.reactions(comment_id), "🚀")
    _, answer = await world.comment("/review-refactoring", action="edited")
    assert answer == {"ignored": "issue_comment is not handled"}
    await world.quiescent()
    assert len(world.github.check_runs_for(REPO, world.head)) == 1


async def test_an_unreadable_command_gets_one_polite_reply(world: World) -> None:
    comment_id, _ = await world.comment("/generate-tests --engine gpt-9")
    (reply,) = await world.wait(world.replies, "the error reply")
    assert reply.startswith("@wes Sorry, I could not run that (line 1): `--engine` must be one")
    await world.wait(lambda: "confused" in world.reactions(comment_id), "😕")
    assert world.reactions(comment_id) == ["eyes", "confused"]
    hostile = "\n".join(["/tandem help"] * 2 + ["/review-refactoring"] * 3)
    await world.comment(hostile)
    replies = await world.wait(lambda: len(world.replies()) == 2 and world.replies(), "reply 2")
    assert "at most 3 commands" in replies[1]
    assert world.github.check_runs_for(REPO, world.head) == []


# --- commands that run ----------------------------------------------------------------------------


@pytest.mark.slow
async def test_generate_tests_runs_only_test_generation_with_its_options(world: World) -> None:
    comment_id, _ = await world.comment(
        "/generate-tests calc.py 'lib/**' --engine openhands --delivery comment "
        '--instructions "prefer small tests"'
    )
    await world.wait(lambda: "eyes" in world.reactions(comment_id), "👀")
    run = await world.completed(1)
    assert "Test generation" in run["output"]["summary"]
    assert "Refactoring review" not in run["output"]["summary"]
    state = await RunStore(world.pool).load(run_key(REPO, world.number, world.head))
    assert state is not None and state.parts == ["generate_tests"]
    options = state.options
    assert (options.paths, options.engine, options.delivery, options.instructions) == (
        ["calc.py", "lib/**"],
        "openhands",
        "comment",
        "prefer small tests",
    )
    assert (options.trigger, options.requested_by, options.comment_id) == (
        "command",
        "wes",
        comment_id,
    )
    await world.wait(lambda: "rocket" in world.reactions(comment_id), "🚀")
    assert world.reactions(comment_id) == ["eyes", "rocket"]


async def test_review_refactoring_runs_only_the_review(world: World) -> None:
    comment_id, _ = await world.comment("/review-refactoring")
    run = await world.completed(1)
    assert "Refactoring review" in run["output"]["summary"]
    assert "Test generation" not in run["output"]["summary"]
    assert world.llm.requests == []
    assert (
        "Asked for by @wes with `/review-refactoring`"
        in world.github.calls_matching("POST", "/check-runs$")[0].json["output"]["summary"]
    )
    await world.wait(lambda: "rocket" in world.reactions(comment_id), "🚀")


@pytest.mark.slow
async def test_retry_runs_a_completed_head_again(world: World) -> None:
    await world.comment("/review-refactoring")
    first = await world.completed(1)
    comment_id, _ = await world.comment("/tandem retry")
    second = await world.completed(2)
    assert second["id"] != first["id"]  # a completed check run is not reused
    assert "Test generation" in second["output"]["summary"]
    assert "Refactoring review" in second["output"]["summary"]
    await world.wait(lambda: "rocket" in world.reactions(comment_id), "🚀")


@pytest.mark.slow
async def test_cancel_stops_the_run_and_retry_starts_it_again(world: World) -> None:
    world.llm.mode = "slow"
    world.llm.slow_s = 30
    generate_id, _ = await world.comment("/generate-tests")
    await world.wait(lambda: world.llm.requests, "the agent to call the LLM")
    cancel_id, _ = await world.comment("/tandem cancel", user="ada")
    run = await world.completed(1)
    assert run["conclusion"] == "cancelled"
    assert "cancelled by @ada" in run["output"]["title"]
    await world.wait(lambda: "confused" in world.reactions(generate_id), "😕 on the run")
    await world.wait(lambda: "rocket" in world.reactions(cancel_id), "🚀 on the cancel")
    # at once: the aborted part may still be stopping; the re-run waits for it, not fails
    world.llm.mode = "script"
    retry_id, _ = await world.comment("/tandem retry")
    again = await world.completed(2)
    assert again["conclusion"] == "success", again["output"]
    await world.wait(lambda: "rocket" in world.reactions(retry_id), "🚀 on the retry")


async def test_cancel_without_a_run_says_so(world: World) -> None:
    comment_id, _ = await world.comment("/tandem cancel")
    (reply,) = await world.wait(world.replies, "the reply")
    assert reply == "@wes There is no Tandem run in progress to cancel."
    await world.wait(lambda: "confused" in world.reactions(comment_id), "😕")


@pytest.mark.slow
async def test_a_second_run_while_one_is_running_is_refused(world: World) -> None:
    world.llm.mode = "slow"
    world.llm.slow_s = 30
    await world.comment("/generate-tests")
    await world.wait(lambda: world.llm.requests, "the agent to call the LLM")
    comment_id, _ = await world.comment("/review-refactoring")
    (reply,) = await world.wait(world.replies, "the busy reply")
    assert reply == f"@wes {BUSY_MESSAGE}"
    await world.wait(lambda: "confused" in world.reactions(comment_id), "😕")
    world.llm.mode = "script"
    await world.comment("/tandem cancel")
    await world.completed(1)


async def test_commit_delivery_needs_allow_commit(world: World) -> None:
    comment_id, _ = await world.comment("/generate-tests --delivery commit")
    (reply,) = await world.wait(world.replies, "the refusal")
    assert "`--delivery commit` needs `test_generation.allow_commit: true`" in reply
    await world.wait(lambda: "confused" in world.reactions(comment_id), "😕")
    assert world.github.check_runs_for(REPO, world.head) == []


async def test_a_switched_off_part_is_refused(world: World) -> None:
    set_base_config(world, "test_generation:\n  enabled: false\n")
    comment_id, _ = await world.comment("/generate-tests")
    (reply,) = await world.wait(world.replies, "the refusal")
    assert reply == "@wes Test generation is switched off in `.github/tandem.yml`."
    await world.wait(lambda: "confused" in world.reactions(comment_id), "😕")


async def test_an_invalid_config_is_annotated_and_the_command_gets_confused(world: World) -> None:
    set_base_config(world, "enabled: true\ncommands:\n  allowed_permision: read\n")
    comment_id, _ = await world.comment("/review-refactoring")
    run = await world.completed(1)
    assert run["conclusion"] == "action_required"
    (annotation,) = world.github.annotations_for(run["id"])
    assert (annotation["path"], annotation["start_line"]) == (".github/tandem.yml", 3)
    assert "did you mean allowed_permission?" in annotation["message"]
    await world.wait(lambda: "confused" in world.reactions(comment_id), "😕")


# --- Re-run and the check run's buttons -----------------------------------------------------------


async def test_completed_check_run_offers_buttons(world: World) -> None:
    await world.comment("/review-refactoring")
    run = await world.completed(1)
    final = [c for c in world.github.calls_matching("PATCH", f"/check-runs/{run['id']}$")][-1]
    assert final.status == 200  # the fake validated `actions` against GitHub's OpenAPI
    assert [a["identifier"] for a in final.json["actions"]] == [
        "rerun_all",
        "generate_tests",
        "rerun_review",
    ]


@pytest.mark.slow
async def test_check_run_rerequested_runs_the_head_again(world: World) -> None:
    await world.comment("/review-refactoring")
    await world.completed(1)
    event, payload = check_run_event(world, "rerequested")
    answer = await world.deliver(event, payload)
    assert "queued" in answer["accepted"]
    again = await world.completed(2)
    assert "Test generation" in again["output"]["summary"]
    assert "Refactoring review" in again["output"]["summary"]


@pytest.mark.slow
async def test_check_suite_rerequested_finds_the_pull_request(world: World) -> None:
    await world.comment("/review-refactoring")
    run = await world.completed(1)
    payload = {
        "action": "rerequested",
        # GitHub leaves pull_requests empty for forks; Tandem looks the PR up by head.
        "check_suite": {
            "id": run["check_suite"]["id"],
            "head_sha": world.head,
            "pull_requests": [],
        },
        "repository": repository_object(REPO, clone_url=world.github.clone_url(REPO)),
        "installation": {"id": INSTALLATION},
        "sender": user_object("ada"),
    }
    await world.deliver("check_suite", payload)
    await world.completed(2)


@pytest.mark.slow
async def test_buttons_run_their_part_with_the_same_permission_rule(world: World) -> None:
    await world.comment("/tandem retry")
    await world.completed(1)
    event, payload = check_run_event(
        world, "requested_action", sender="rita", requested_action={"identifier": "rerun_review"}
    )
    await world.deliver(event, payload)
    await world.settled("rita")
    assert len(world.github.check_runs_for(REPO, world.head)) == 1  # a reader may not
    requests_before = len(world.llm.requests)
    event, payload = check_run_event(
        world, "requested_action", sender="wes", requested_action={"identifier": "rerun_review"}
    )
    await world.deliver(event, payload)
    again = await world.completed(2)
    assert "Refactoring review" in again["output"]["summary"]
    assert "Test generation" not in again["output"]["summary"]
    assert len(world.llm.requests) == requests_before


async def test_rerequest_of_an_old_head_does_not_run(world: World) -> None:
    await world.comment("/review-refactoring")
    await world.completed(1)
    event, payload = check_run_event(world, "rerequested")
    world.github.commit_files(REPO, "feature", {"calc.py": HEAD_SRC + "\n# newer\n"})
    await world.deliver(event, payload)
    await world.wait(
        lambda: world.github.calls_matching("GET", f"/pulls/{world.number}$"), "the PR lookup"
    )
    await world.quiescent()
    assert len(world.github.check_runs_for(REPO, world.head)) == 1
