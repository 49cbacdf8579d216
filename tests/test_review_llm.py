"""The review's LLM pass against the scripted OpenAI-compatible server (real SDK ``LLM``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jobs.agent import LLMSettings
from jobs.diff import changed_lines, file_at
from jobs.review import review_checkout
from jobs.review.review_llm import (
    CodeSuggestion,
    SuggestionItem,
    parse_suggestions,
    run_llm_pass,
    suggestion_marker,
)
from tests.llmserver import ScriptedLLMThread, Step, text
from tests.test_diff import commit, git
from tests.test_review import T, branchy

# f: lines 1..30 in head; branches 10..13 (lines 22..29) are new
BASE = branchy("f", 10) + "\n\n" + branchy("g", 1)
HEAD = branchy("f", 14) + "\n\n" + branchy("g", 1)


def user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content)
    return str(content)


def answer(*items: dict[str, Any]) -> Step:
    return text(json.dumps({"suggestions": list(items)}))


@pytest.fixture
def pr_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"m.py": BASE}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"m.py": HEAD}, "head")
    return repo


def run_pass(
    repo: Path, url: str, **kwargs: Any
) -> tuple[Any, dict[str, str], dict[str, set[int]]]:
    result = review_checkout(repo, "main", "feature", T)
    changed = changed_lines(repo, "main", "feature")
    sources = {"m.py": file_at(repo, "feature", "m.py") or ""}
    settings = LLMSettings(model="openai/scripted", base_url=url, api_key="sk-test", timeout_s=20)
    options: dict[str, Any] = {"max_functions": 5, "max_cost_usd": 1.0, **kwargs}
    return run_llm_pass(result.touched, sources, changed, settings, **options), sources, changed


def test_the_static_review_hands_back_the_merge_base_and_changed_lines(pr_repo: Path) -> None:
    # analyse() gives these to the LLM pass instead of asking git a second time
    commit(pr_repo, {"notes.txt": "not reviewed, still changed\n"}, "a file of no language")
    result = review_checkout(pr_repo, "main", "feature", T)

    assert result.merge_base == git(pr_repo, "merge-base", "main", "feature")
    assert result.changed_lines == changed_lines(pr_repo, "main", "feature")
    assert result.changed_lines["m.py"] == set(range(22, 30))
    assert result.changed_lines["notes.txt"] == {1}


def test_invalid_and_off_diff_items_are_dropped(pr_repo: Path) -> None:
    clean = {
        "path": "m.py",
        "line": 22,
        "end_line": 23,
        "message": "Use a lookup table\ninstead of branches.",
        "suggested_code": "    if x in TABLE:\n        return TABLE[x]",
    }
    script = [
        answer(
            clean,
            {"path": "m.py", "line": 3, "message": "off the diff: line 3 is unchanged"},
            {"path": "other.py", "line": 22, "message": "wrong file"},
            {"path": "m.py", "line": 99, "message": "past the function"},
            {"path": "m.py", "line": "22", "message": "line is not an integer"},
            {"path": "m.py", "line": 26, "message": ""},
            {"path": "m.py", "line": 26, "message": "Name the magic numbers."},
        )
    ]
    with ScriptedLLMThread(script) as llm:
        outcome, _, _ = run_pass(pr_repo, llm.url)
        (request,) = llm.requests

    prompt = user_text(request)
    assert "File: m.py" in prompt and "Function: f (lines 1-30)" in prompt
    assert "+    22 |     if x == 10:" in prompt and "     3 |" in prompt
    assert outcome.functions_sent == 1
    assert outcome.invalid == 2  # "21" as a string, the empty message
    assert outcome.off_diff == 3  # unchanged line, other file, outside the function
    assert [(f.start_line, f.end_line, f.kind) for f in outcome.findings] == [
        (22, 23, "llm"),
        (26, 26, "llm"),
    ]
    assert outcome.findings[0].message == "Use a lookup table instead of branches."
    (suggestion,) = outcome.suggestions
    assert (suggestion.start_line, suggestion.end_line) == (22, 23)
    assert suggestion.original == "    if x == 10:\n        return 10"
    comment = suggestion.comment()
    assert (comment["start_line"], comment["line"], comment["side"]) == (22, 23, "RIGHT")
    assert "```suggestion\n    if x in TABLE:\n        return TABLE[x]\n```" in comment["body"]
    assert f"<!-- tandem-suggestion:{suggestion.marker} -->" in comment["body"]


def test_an_answer_that_is_not_json_is_counted_and_the_pass_goes_on(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"m.py": "A = 1\n"}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"m.py": branchy("f", 12) + "\n\n" + branchy("h", 3)}, "head")
    script = [
        text("Sure! Here are my thoughts: {not json at all"),
        text('```json\n{"suggestions": [{"path": "m.py", "line": 29, "message": "ok"}]}\n```'),
    ]
    with ScriptedLLMThread(script) as llm:
        outcome, _, _ = run_pass(repo, llm.url)
        assert len(llm.requests) == 2

    assert outcome.functions_sent == 2
    assert outcome.invalid == 1
    assert [(f.function, f.start_line) for f in outcome.findings] == [("h", 29)]
    assert outcome.suggestions == []


def test_budgets_cap_what_is_sent(pr_repo: Path) -> None:
    with ScriptedLLMThread([answer(), answer()]) as llm:
        outcome, _, _ = run_pass(pr_repo, llm.url, max_functions=1)
        assert len(llm.requests) == 1
        # the worst-scoring function goes first: f (complexity 15), not g
        assert "Function: f " in user_text(llm.requests[0])
    assert (outcome.functions_sent, outcome.functions_skipped) == (1, 0)

    with ScriptedLLMThread([answer()]) as llm:
        outcome, _, _ = run_pass(pr_repo, llm.url, max_cost_usd=0.0)
        assert llm.requests == []
    assert outcome.functions_sent == 0 and "budget" in outcome.stopped


def test_cost_budget_stops_after_the_spend_is_reached(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"m.py": "A = 1\n"}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"m.py": "\n\n".join(branchy(n, 4) for n in "abcd")}, "head")
    steps = [Step(content='{"suggestions": []}', prompt_tokens=1000, completion_tokens=10)] * 4
    with ScriptedLLMThread(steps) as llm:
        result = review_checkout(repo, "main", "feature", T)
        settings = LLMSettings(
            model="openai/scripted",
            base_url=llm.url,
            api_key="sk-test",
            input_cost_per_token=0.00001,  # $0.01 per request
            output_cost_per_token=0.00001,
        )
        outcome = run_llm_pass(
            result.touched,
            {"m.py": file_at(repo, "feature", "m.py") or ""},
            changed_lines(repo, "main", "feature"),
            settings,
            max_functions=4,
            max_cost_usd=0.015,
        )
        assert len(llm.requests) == 2
    assert outcome.functions_sent == 2 and outcome.functions_skipped == 2
    assert outcome.cost_usd == pytest.approx(0.0202)
    assert "budget of $0.015 was reached" in outcome.stopped


def test_llm_outage_ends_the_pass_with_a_reason(pr_repo: Path) -> None:
    with ScriptedLLMThread(mode="http_500") as llm:
        outcome, _, _ = run_pass(pr_repo, llm.url)
    assert outcome.findings == [] and outcome.functions_sent == 0
    assert outcome.failure == "LLM unavailable (HTTP 500 from the provider)"
    assert outcome.stopped.startswith(outcome.failure + ": ")
    assert "sk-test" not in outcome.stopped


def test_a_rejected_key_is_named_and_the_budget_is_no_failure(pr_repo: Path) -> None:
    with ScriptedLLMThread(mode="http_401") as llm:
        outcome, _, _ = run_pass(pr_repo, llm.url)
    assert outcome.failure == "LLM key rejected (HTTP 401 from the provider)"
    assert "sk-test" not in outcome.stopped
    with ScriptedLLMThread() as llm:
        spent, _, _ = run_pass(pr_repo, llm.url, max_cost_usd=0.0)
    assert "budget" in spent.stopped and spent.failure is None


def test_parse_and_marker_helpers() -> None:
    items, invalid = parse_suggestions(
        '{"suggestions": [{"path": "a", "line": 1, "message": "m"}]}'
    )
    assert items == [SuggestionItem(path="a", line=1, message="m")] and invalid == 0
    assert parse_suggestions('{"suggestions": "none"}') == ([], 1)
    assert parse_suggestions("[]") == ([], 1)
    # the marker ignores where the lines are, so a rerun on a later push finds it again
    a = CodeSuggestion("m.py", 3, 4, "msg", "new", "old")
    b = CodeSuggestion("m.py", 30, 31, "other words", "new", "old")
    assert a.marker == b.marker == suggestion_marker("m.py", "old\n", "new")
    assert "````suggestion" in CodeSuggestion("m.py", 1, 1, "m", "x = '```'", "x").comment()["body"]


def test_review_llm_is_priced_by_the_repository_config() -> None:
    from core.repo_config_file import parse_config
    from core.settings import Settings
    from jobs.agent import llm_settings_for

    settings = Settings(llm_model="openai/app-model")  # type: ignore[call-arg]
    default = parse_config("").test_generation
    assert llm_settings_for(Settings(), default) is None  # type: ignore[call-arg]
    config = parse_config(
        "test_generation:\n  model: openai/repo-model\n  model_price:\n"
        "    input_per_million_tokens: 2.0\n    output_per_million_tokens: 8.0\n"
    )
    llm = llm_settings_for(settings, config.test_generation)
    assert llm is not None
    assert llm.model == "openai/repo-model"
    assert (llm.input_cost_per_token, llm.output_cost_per_token) == (2e-6, 8e-6)
