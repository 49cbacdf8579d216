"""The comment-command parser: examples, and properties checked with hypothesis."""

from __future__ import annotations

import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.command_parsing import (
    BUTTONS,
    DELIVERIES,
    ENGINES,
    MAX_COMMANDS,
    MAX_ERROR_CHARS,
    Command,
    ParseError,
    buttons_for,
    effective_permission,
    error_reply,
    is_bot,
    parse_commands,
    permission_allows,
)
from bot.event_plan import decide_check_rerequest, decide_issue_comment
from tests.fakegithub.payloads import issue_comment_event

# --- examples -----------------------------------------------------------------------------------


def test_generate_tests_with_everything() -> None:
    body = (
        "Thanks!\n/generate-tests src/calc.py 'lib/**/*.py' --engine pynguin "
        '--delivery=comment --instructions "use hypothesis; no mocks"\n'
    )
    assert parse_commands(body) == [
        Command(
            name="generate-tests",
            paths=("src/calc.py", "lib/**/*.py"),
            engine="pynguin",
            delivery="comment",
            instructions="use hypothesis; no mocks",
            line=2,
        )
    ]


def test_each_command_and_line_numbers() -> None:
    body = "/review-refactoring\n  /tandem help\n/tandem retry"
    assert [(c.name, c.line) for c in parse_commands(body)] == [  # type: ignore[union-attr]
        ("review-refactoring", 1),
        ("help", 2),
        ("retry", 3),
    ]
    assert parse_commands("/tandem cancel") == [Command(name="cancel", line=1)]


def test_ordinary_comments_have_no_commands() -> None:
    for body in (
        "",
        "LGTM",
        "please run /generate-tests later",  # not at the start of a line
        "/generate-testsuite",  # another word
        "/tandemonium",
        "/other-bot do things",
        "    /generate-tests",  # indented code
        "\t/tandem help",
    ):
        assert parse_commands(body) == [], body


def test_code_blocks_and_quotes_are_ignored() -> None:
    body = (
        "```\n/generate-tests\n```\n"
        "~~~~python\n/tandem retry\n~~~\n/tandem cancel\n~~~~\n"
        "> /review-refactoring\n"
        "  > /tandem help\n"
    )
    assert parse_commands(body) == []
    # an unclosed fence hides everything after it
    assert parse_commands("```\n/tandem retry") == []
    # after a fence closes, commands count again
    assert parse_commands("```sh\nx\n```\n/tandem help") == [Command(name="help", line=4)]


def test_errors_are_short_and_polite() -> None:
    cases = {
        '/generate-tests --instructions "unbalanced': "unbalanced quote",
        "/generate-tests --frobnicate": "no option `--frobnicate`",
        "/generate-tests --engin pynguin": "did you mean `--engine`?",
        "/generate-tests --engine gpt": (
            "`--engine` must be one of: openhands, offline, pynguin, crosshair"
        ),
        "/generate-tests --delivery email": "`--delivery` must be one of",
        "/generate-tests --engine": "`--engine` needs a value",
        "/generate-tests --engine pynguin --engine openhands": "given twice",
        "/generate-tests ../etc/passwd": "must stay inside the repository",
        "/generate-tests /etc/passwd": "must be relative",
        "/review-refactoring now": "takes no arguments",
        "/tandem": "needs one of: help, cancel, retry",
        "/tandem retyr": "did you mean `/tandem retry`?",
        "/tandem help me": "takes no arguments",
        "/tandem help\n/tandem help": "appears twice",
        "\n".join(["/tandem help", "/tandem cancel", "/tandem retry", "/review-refactoring"]): (
            f"at most {MAX_COMMANDS} commands"
        ),
        "/tandem help\n" + "x" * 70000: "longer than 65536",
    }
    for body, expected in cases.items():
        result = parse_commands(body)
        assert isinstance(result, ParseError), body
        assert expected in result.message, (body, result.message)
        reply = error_reply(result)
        assert reply.startswith("Sorry, I could not run that") and len(reply) < 500


def test_a_long_ordinary_comment_is_not_an_error() -> None:
    assert parse_commands("x" * 200_000) == []


# --- properties ---------------------------------------------------------------------------------

WORDS = ["/generate-tests", "/review-refactoring", "/tandem", "```", "~~~", ">", "--engine", '"']
hostile_text = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(WORDS)), max_size=30).map(
    lambda parts: "".join(p + ("\n" if i % 3 == 0 else " ") for i, p in enumerate(parts))
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), hostile_text))
def test_any_text_gives_commands_or_one_short_error(body: str) -> None:
    result = parse_commands(body)
    if isinstance(result, ParseError):
        assert 0 < len(result.message) <= MAX_ERROR_CHARS
        assert len(error_reply(result)) < 500
    else:
        assert len(result) <= MAX_COMMANDS
        assert len({c.name for c in result}) == len(result)


safe_path = st.from_regex(r"[a-z][a-z0-9_]{0,8}(/[a-z0-9_*]{1,8}){0,3}(\.py)?", fullmatch=True)
instructions = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"),
    min_size=1,
    max_size=80,
).filter(lambda s: s.strip() != "")


@settings(max_examples=300, deadline=None)
@given(
    paths=st.lists(safe_path, max_size=5, unique=True),
    engine=st.none() | st.sampled_from(ENGINES),
    delivery=st.none() | st.sampled_from(DELIVERIES),
    text=st.none() | instructions,
    before=st.text(alphabet="abc \n", max_size=20),
)
def test_a_written_command_reads_back(
    paths: list[str], engine: str | None, delivery: str | None, text: str | None, before: str
) -> None:
    command = Command(
        name="generate-tests",
        paths=tuple(paths),
        engine=engine,  # type: ignore[arg-type]
        delivery=delivery,  # type: ignore[arg-type]
        instructions=text,
    )
    prefix = before if before.endswith("\n") or not before else before + "\n"
    body = prefix + command.text + "\nthanks"
    result = parse_commands(body)
    assert isinstance(result, list) and len(result) == 1, (body, result)
    read = result[0]
    assert (read.name, read.paths, read.engine, read.delivery, read.instructions) == (
        "generate-tests",
        tuple(paths),
        engine,
        delivery,
        text,
    )
    assert read.line == body.split("\n").index(command.text) + 1


@settings(max_examples=200, deadline=None)
@given(
    inner=st.lists(st.sampled_from(["/generate-tests", "/tandem retry", "/tandem cancel"])),
    fence=st.sampled_from(["```", "````", "~~~", "```python"]),
    noise=st.text(alphabet="ab /\n", max_size=30),
)
def test_commands_inside_fences_never_run(inner: list[str], fence: str, noise: str) -> None:
    closing = fence.rstrip("python")
    body = f"{noise}\n{fence}\n" + "\n".join(inner) + f"\n{closing}\n"
    lines_outside = [ln for ln in noise.splitlines() if ln.lstrip(" ").startswith("/")]
    result = parse_commands(body)
    if not lines_outside:
        assert result == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["/generate-tests", "/tandem retry", "/review-refactoring"])))
def test_quoted_commands_never_run(lines: list[str]) -> None:
    assert parse_commands("\n".join(f"> {line}" for line in lines)) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc '\"", max_size=30).filter(lambda s: s.count('"') % 2 == 1))
def test_an_unbalanced_double_quote_is_an_error(args: str) -> None:
    try:
        shlex.split(args)
    except ValueError:
        result = parse_commands(f"/generate-tests {args}")
        assert isinstance(result, ParseError)


# --- permissions, bots, buttons, the web tier's decisions ---------------------------------------


def test_permission_matrix() -> None:
    assert effective_permission("maintain", "write") == "maintain"
    assert effective_permission("custom-reviewer", "write") == "write"
    assert effective_permission(None, None) == "none"
    for have, allowed in {
        "admin": True,
        "maintain": True,
        "write": True,
        "triage": False,
        "read": False,
        "none": False,
    }.items():
        assert permission_allows(have, "write") is allowed, have
    assert permission_allows("read", "read")
    assert not permission_allows("write", "admin")


def test_bots() -> None:
    assert is_bot({"login": "tandem[bot]", "type": "Bot"})
    assert is_bot({"login": "renovate[bot]", "type": "User"})
    assert is_bot(None)
    assert not is_bot({"login": "alice", "type": "User"})


def test_buttons_fit_githubs_limits() -> None:
    for button in BUTTONS:
        assert len(button.identifier) <= 20
        assert len(button.label) <= 20
        assert len(button.description) <= 40
    assert len(buttons_for(["generate_tests", "review_refactoring"])) == 3
    assert [b.identifier for b in buttons_for(["review_refactoring"])] == ["rerun_review"]


def comment(body: str, **extra: object) -> dict[str, object]:
    return issue_comment_event(
        repo_full_name="octo/calc",
        number=3,
        comment_body=body,
        clone_url="http://x/octo/calc.git",
        installation_id=5,
        **extra,  # type: ignore[arg-type]
    )


def test_web_tier_decisions_for_comments() -> None:
    decision = decide_issue_comment(comment("/tandem help"))
    assert decision.kind == "commands"
    assert decision.to_dict()["commands"][0]["name"] == "help"  # type: ignore[union-attr]
    assert decide_issue_comment(comment("nice")).kind == "ignore"
    assert decide_issue_comment(comment("/tandem help", is_pull_request=False)).kind == "ignore"
    bot = comment("/tandem retry", sender="tandem[bot]", sender_type="Bot")
    assert decide_issue_comment(bot).kind == "ignore"
    bad = decide_issue_comment(comment("/tandem dance"))
    assert bad.kind == "commands" and bad.error  # type: ignore[union-attr]


def test_web_tier_decisions_for_rerequests() -> None:
    base = {
        "repository": {"full_name": "octo/calc"},
        "installation": {"id": 5},
        "sender": {"login": "alice", "type": "User"},
    }
    run = {"name": "Tandem", "head_sha": "a" * 40, "pull_requests": [{"number": 4}]}
    rerun = decide_check_rerequest("check_run", "rerequested", {**base, "check_run": run})
    assert rerun.kind == "rerun" and rerun.pr_numbers == (4,)  # type: ignore[union-attr]
    button = decide_check_rerequest(
        "check_run",
        "requested_action",
        {**base, "check_run": run, "requested_action": {"identifier": "rerun_review"}},
    )
    assert button.parts == ("review_refactoring",)  # type: ignore[union-attr]
    unknown = {**base, "check_run": run, "requested_action": {"identifier": "rm -rf"}}
    assert decide_check_rerequest("check_run", "requested_action", unknown).kind == "ignore"
    other = {**base, "check_run": {**run, "name": "CI"}}
    assert decide_check_rerequest("check_run", "rerequested", other).kind == "ignore"
    suite = {"head_sha": "b" * 40, "pull_requests": []}
    decided = decide_check_rerequest("check_suite", "rerequested", {**base, "check_suite": suite})
    assert decided.pr_numbers == ()  # type: ignore[union-attr]
    by_bot = {**base, "sender": {"login": "x[bot]", "type": "Bot"}, "check_suite": suite}
    assert decide_check_rerequest("check_suite", "rerequested", by_bot).kind == "ignore"
