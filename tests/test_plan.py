import contextlib
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.event_plan import CancelRuns, Ignore, PayloadError, StartRun, decide_pull_request
from tests.fakegithub.payloads import pull_request_event

HEAD = "a" * 40
BASE = "b" * 40


def event(action: str = "opened", **kwargs: Any) -> dict[str, Any]:
    return pull_request_event(
        action=action,
        repo_full_name="octo/demo",
        number=12,
        head_sha=HEAD,
        base_sha=BASE,
        clone_url="http://127.0.0.1:1/git/octo/demo.git",
        installation_id=99,
        **kwargs,
    )


@pytest.mark.parametrize("action", ["opened", "reopened", "synchronize", "ready_for_review"])
def test_start_actions(action: str) -> None:
    decision = decide_pull_request(action, event(action))
    assert isinstance(decision, StartRun)
    pr = decision.pr
    assert (pr.repo, pr.number, pr.head_sha, pr.base_sha) == ("octo/demo", 12, HEAD, BASE)
    assert pr.installation_id == 99 and not pr.fork and not pr.draft
    assert pr.run_key == f"octo/demo#12@{HEAD}"


def test_closed_cancels_and_others_are_ignored() -> None:
    assert decide_pull_request("closed", event("closed")) == CancelRuns(
        repo="octo/demo", number=12, reason="pull request closed"
    )
    assert isinstance(decide_pull_request("labeled", event("labeled")), Ignore)


def test_fork_and_draft_are_recognised() -> None:
    decision = decide_pull_request(
        "opened", event(fork=True, head_repo_full_name="mallory/demo", draft=True)
    )
    assert isinstance(decision, StartRun)
    assert decision.pr.fork and decision.pr.draft and decision.pr.head_repo == "mallory/demo"


def test_deleted_fork_is_a_fork() -> None:
    data = event()
    data["pull_request"]["head"]["repo"] = None
    decision = decide_pull_request("opened", data)
    assert isinstance(decision, StartRun) and decision.pr.fork


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("pull_request", "head", "sha"), "not-a-sha"),
        (("pull_request", "head", "ref"), "--upload-pack=touch /tmp/pwned"),
        (("pull_request", "head", "ref"), "a..b"),
        (("pull_request", "base", "ref"), "main\nevil"),
        (("repository", "full_name"), "../../etc/passwd"),
        (("installation", "id"), "1; DROP"),
        (("pull_request", "number"), True),
        (("pull_request", "number"), -3),
    ],
)
def test_hostile_fields_are_refused(path: tuple[str, ...], value: Any) -> None:
    data = event()
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(PayloadError):
        decide_pull_request("opened", data)


def test_missing_field_is_named() -> None:
    data = event()
    del data["installation"]
    with pytest.raises(PayloadError, match="installation.id"):
        decide_pull_request("opened", data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(action=st.sampled_from(["opened", "closed", "synchronize", "edited"]), body=json_values)
def test_arbitrary_json_gives_a_decision_or_payload_error(action: str, body: Any) -> None:
    if not isinstance(body, dict):
        body = {"pull_request": body}
    with contextlib.suppress(PayloadError):
        decide_pull_request(action, body)


def _decide_or_error(action: str, body: Any) -> Any:
    try:
        return decide_pull_request(action, body)
    except PayloadError as exc:
        return ("PayloadError", str(exc))


json_values_64 = st.recursive(  # simdjson, as GitHub, has no integers past 64 bits
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from(["opened", "closed", "synchronize", "edited"]),
    body=json_values_64,
    field=st.sampled_from(["", "pull_request", "pull_request.head", "repository", "labels"]),
)
@example(
    action="opened", body=[{"name": "bug"}, {"name": 3}, "x", {"name": "y" * 101}], field="labels"
)
def test_a_decision_read_through_simdjson_is_the_decoded_one(
    action: str, body: Any, field: str
) -> None:
    """bot.app hands pull_request bodies over as simdjson proxies: every decision and every
    refusal must be the one the decoded dict gives."""
    import orjson
    import simdjson

    payload = event(action)
    if field == "labels":
        payload["pull_request"]["labels"] = body
    elif field:
        node = payload
        *parents, last = field.split(".")
        for part in parents:
            node = node[part]
        node[last] = body
    elif isinstance(body, dict):
        payload = body
    raw = orjson.dumps(payload)
    expected = _decide_or_error(action, orjson.loads(raw))
    assert _decide_or_error(action, simdjson.Parser().parse(raw)) == expected
