"""Test generation end to end in one process, one scripted-LLM mode per test: the real arq
worker and jobs, real Redis, real git, the fake GitHub, the real OpenHands agent loop and the
local sandbox. Each test asserts what the check run says and what was (or was not) delivered."""

from __future__ import annotations

import re
from typing import Any

import pytest

from jobs import git
from tests.harness import (
    HEAD_SRC,
    ORDERS_SRC,
    REPO,
    Harness,
    HarnessFactory,
    first_user_text,
    push_change,
)
from tests.llmserver import ScriptFn, Step, finish, terminal, tool_call

GOOD = """from {module} import classify


def test_zero_and_small():
    assert classify(0) == "zero"
    assert classify(5) == "small"
    assert classify(-1) == "negative"
"""

FAILING = """from {module} import classify


def test_wrong_expectation():
    assert classify(0) == "nothing"
"""

# Passes every other run: the first run leaves a marker behind, the next one trips on it.
FLAKY = """from pathlib import Path

from {module} import classify

MARKER = Path(__file__).with_name(".tandem-flaky-marker")


def test_every_other_run():
    assert classify(0) == "zero"
    if MARKER.exists():
        MARKER.unlink()
        raise AssertionError("left-over state from the previous run")
    MARKER.write_text("ran")
"""


def scripted_agent(body: dict[str, Any]) -> Step | None:
    """Behaviour by the module named in the prompt: good_*, failing_*, flaky_*, nothing_* and
    fixable_* (fails first, fixed when told why)."""
    prompt = first_user_text(body)
    checkout = re.search(r"repository at (/\S+?)\.\n", prompt)
    module = re.search(r"`(\w+)\.py`", prompt)
    turns = sum(1 for m in body["messages"] if m.get("role") == "assistant")
    if checkout is None or module is None or turns > 0:
        return finish("done")
    name = module.group(1)
    fixing = "were discarded" in prompt
    if name.startswith("nothing"):
        return finish("nothing worth testing")
    if name.startswith("good") or (name.startswith("fixable") and fixing):
        content = GOOD
    elif name.startswith("flaky"):
        content = FLAKY
    else:
        content = FAILING
    path = f"{checkout.group(1)}/tests/test_{name}_tandem.py"
    if fixing:  # the file exists: overwrite it through the terminal
        return tool_call(
            "terminal", command=f"cat > {path} <<'EOF'\n{content.format(module=name)}EOF"
        )
    return tool_call(
        "file_editor", command="create", path=path, file_text=content.format(module=name)
    )


Factory = HarnessFactory


@pytest.fixture
def make_harness(make_harness: HarnessFactory) -> Factory:
    """The shared harness (tests/conftest.py) with this module's agent; `config` is the base
    branch's .github/tandem.yml, under `test_generation: {engine: ENGINE}`, by default openhands
    (the agent alone: most tests here are about what the agent's files go through)."""

    async def make(
        config: str | None = None,
        *,
        script: ScriptFn = scripted_agent,
        engine: str = "openhands",
        **settings_overrides: Any,
    ) -> Harness:
        options = {"test_timeout_s": 60, **settings_overrides}
        text = f"test_generation:\n  engine: {engine}\n"
        text += (config or "").removeprefix("test_generation:\n")
        return await make_harness(script=script, config=text, **options)

    return make


async def run_mode(harness: Harness, module: str, number: int = 1) -> tuple[dict[str, Any], str]:
    base, head = push_change(harness.github, f"feature-{module}", {f"{module}.py": HEAD_SRC})
    await harness.start("opened", number, head, base, head_ref=f"feature-{module}")
    run = await harness.completed(head)
    return run, part_section(run["output"]["summary"])


def part_section(summary: str) -> str:
    return summary.split("### Test generation", 1)[-1].split("### Refactoring review", 1)[0]


def delivered(harness: Harness, number: int = 1) -> list[str]:
    branch = f"tandem/tests-pr-{number}"
    return [p["title"] for p in harness.github.pulls_for(REPO) if p["head"]["ref"] == branch]


async def test_good_test_is_kept_with_coverage_evidence(make_harness: Factory) -> None:
    harness = await make_harness()
    run, section = await run_mode(harness, "good_calc")
    assert run["conclusion"] == "success", section
    assert "1 test file(s) generated" in run["output"]["summary"]
    # The existing tests do not import good_calc: nothing of the change was covered before.
    assert re.search(r"changed lines covered: 0% → \d+%.*; target 80%: (not )?reached", section)
    assert "`tests/test_good_calc_tandem.py`: kept (passed 5/5 runs; covers" in section
    assert "Existing tests: none found." in section
    assert re.search(r"\d+ prompt \+ \d+ completion tokens, \$0\.0000 of \$1\.00", section)
    assert delivered(harness) == ["Tests for #1"]


async def test_failing_test_is_sent_back_then_discarded(make_harness: Factory) -> None:
    harness = await make_harness()
    run, section = await run_mode(harness, "failing_calc")
    assert run["conclusion"] == "success", section
    assert "no passing tests" in run["output"]["summary"]
    assert "`tests/test_failing_calc_tandem.py`: discarded (failed:" in section
    assert "test_wrong_expectation" in section
    assert "sent back to the agent 2 time(s)" in section
    fix_prompts = [r for r in harness.llm.requests if "were discarded" in first_user_text(r)]
    assert fix_prompts and "assert 'zero' == 'nothing'" in first_user_text(fix_prompts[0])
    assert delivered(harness) == []


async def test_failing_test_fixed_after_feedback_is_kept(make_harness: Factory) -> None:
    harness = await make_harness()
    run, section = await run_mode(harness, "fixable_calc")
    assert run["conclusion"] == "success", section
    assert "`tests/test_fixable_calc_tandem.py`: kept (passed 5/5 runs" in section
    assert "sent back to the agent 1 time(s)" in section
    assert delivered(harness) == ["Tests for #1"]


async def test_flaky_test_is_discarded(make_harness: Factory) -> None:
    harness = await make_harness("test_generation:\n  flaky_runs: 3\n")
    _run, section = await run_mode(harness, "flaky_calc")
    assert "flaky: passed 1 run(s), then run 2 of 3 failed" in section, section
    assert "left-over state from the previous run" in section
    assert delivered(harness) == []


async def test_agent_that_writes_nothing(make_harness: Factory) -> None:
    harness = await make_harness()
    run, section = await run_mode(harness, "nothing_calc")
    assert run["conclusion"] == "success", section
    assert "no tests written" in run["output"]["summary"]
    assert "The agent wrote no test files." in section
    assert "changed lines covered: 0% → 0%" in section
    assert delivered(harness) == []


async def test_llm_http_500_is_reported_and_nothing_delivered(make_harness: Factory) -> None:
    harness = await make_harness()
    harness.llm.mode = "http_500"
    run, section = await run_mode(harness, "good_calc")
    assert run["conclusion"] == "neutral"
    failure = "LLM unavailable (HTTP 500 from the provider)"
    assert f"| ⚠️ {failure}: no tests kept |" in run["output"]["summary"]
    assert f"**Problem:** {failure}; the agent stopped after 0 iteration(s)." in section
    assert "review finding(s)" in run["output"]["summary"]  # the other part still reports
    assert delivered(harness) == []


async def test_slow_llm_hits_the_wall_time_limit(make_harness: Factory) -> None:
    harness = await make_harness(agent_wall_time_s=4)
    harness.llm.mode = "slow"
    harness.llm.slow_s = 30
    run, section = await run_mode(harness, "good_calc")
    assert run["conclusion"] == "neutral"
    assert "no tests kept (wall-time budget reached)" in run["output"]["summary"]
    assert "Agent: timeout" in section
    assert delivered(harness) == []


async def test_cost_budget_ends_cleanly_with_what_was_written(make_harness: Factory) -> None:
    config = (
        "test_generation:\n"
        "  model_price:\n"
        "    input_per_million_tokens: 1000000\n"
        "    output_per_million_tokens: 1000000\n"
        "  budgets:\n"
        "    max_cost_usd: 0.5\n"
    )
    harness = await make_harness(config)
    run, section = await run_mode(harness, "good_calc")
    # One LLM call costs far more than the budget: the agent stops after it, and the test it
    # wrote in that step is still validated and delivered.
    assert "Agent: max_cost after 1 iterations" in section, section
    assert "Budget: cost budget reached" in section
    cost = re.search(r"\$(\d+\.\d+) of \$0\.50", section)
    assert cost and float(cost.group(1)) > 0.5
    assert "1 test file(s) generated (budget reached)" in run["output"]["summary"]
    assert delivered(harness) == ["Tests for #1"]


EMPTY_ORDER_TEST = """from orders import total


def test_total_of_an_empty_order():
    assert total({"items": []}) == 0
"""

FULL_ORDER_TEST = """from orders import total


def test_total_of_two_items():
    assert total({"items": [{"price": 2, "qty": 3}, {"price": 1, "qty": 1}]}) == 7
"""


def building_agent(body: dict[str, Any]) -> Step | None:
    """Writes the empty-order test when first asked, the full-order one in a coverage round."""
    prompt = first_user_text(body)
    checkout = re.search(r"repository at (/\S+?)\.\n", prompt)
    if checkout is None or any(m.get("role") == "assistant" for m in body["messages"]):
        return finish("done")
    root = checkout.group(1)
    if "still not run" in prompt:
        return tool_call(
            "file_editor",
            command="create",
            path=f"{root}/tests/test_orders_full_tandem.py",
            file_text=FULL_ORDER_TEST,
        )
    # Its test, and an edit of the kept file it was told not to touch.
    kept = re.search(r"kept already .*?: `([^`]+)`", prompt, re.S)
    edit = f" && echo 'assert False' >> {root}/{kept.group(1)}" if kept else ""
    return terminal(
        f"cat > {root}/tests/test_orders_tandem.py <<'EOF'\n{EMPTY_ORDER_TEST}EOF\n true{edit}"
    )


async def test_with_an_llm_the_agent_builds_on_characterization_round_after_round(
    make_harness: Factory,
) -> None:
    """engine auto with an LLM: characterization first (the docstring's example reaches
    grade's changed branch), the agent is asked only for what it left, and once its file passes
    it is told exactly which changed lines are still not run."""
    harness = await make_harness(script=building_agent, engine="auto")
    base, head = push_change(harness.github, "feature-orders", {"orders.py": ORDERS_SRC})
    await harness.start("opened", 1, head, base, head_ref="feature-orders")
    run = await harness.completed(head)
    section = part_section(run["output"]["summary"])
    tests = (await harness.results(1, head))["generate_tests"]

    prompts = [first_user_text(r) for r in harness.llm.requests if len(r["messages"]) <= 2]
    first, follow_up = prompts[0], prompts[1]
    kept_first = [p for p in tests.details["kept"] if "characteriz" in p or "tandem" not in p]
    assert kept_first, tests.details  # characterization kept a test before the agent started
    assert f"`{kept_first[0]}`" in first and "kept already" in first
    assert "Cover these lines" in first and 'return "A"' not in first  # covered already
    assert 'return sum(item["price"]' in first
    assert "still not run" in follow_up and 'return sum(item["price"]' in follow_up
    assert 'if not order["items"]' not in follow_up.split("still not run", 1)[1]
    assert len(prompts) == 2  # everything covered after the coverage round: no third one

    assert sorted(tests.details["kept"]) == sorted(
        [*kept_first, "tests/test_orders_full_tandem.py", "tests/test_orders_tandem.py"]
    )
    assert tests.details["coverage_rounds"] == 1 and tests.details["fix_rounds"] == 0
    assert f"The agent changed kept test files; restored: `{kept_first[0]}`" in section
    bare = harness.github.repo_path(REPO)
    delivered_kept = await git.run_async(bare, "show", f"tandem/tests-pr-1:{kept_first[0]}")
    assert "def test_" in delivered_kept and "assert False" not in delivered_kept
    assert "still uncovered were sent back to the agent 1 time(s)" in section
    assert re.search(r"changed lines covered: 0% → 100%", section), section
    assert run["conclusion"] == "success"


async def test_with_an_llm_nothing_left_after_characterization_needs_no_agent(
    make_harness: Factory,
) -> None:
    harness = await make_harness(script=building_agent, engine="auto")
    grade_only = ORDERS_SRC.split("\n\n\ndef total", 1)[0] + "\n"
    base, head = push_change(harness.github, "feature-grade", {"orders.py": grade_only})
    await harness.start("opened", 1, head, base, head_ref="feature-grade")
    run = await harness.completed(head)
    section = part_section(run["output"]["summary"])
    assert "cover every changed statement; the agent was not needed" in section
    assert harness.llm.requests == []  # no LLM call at all
    assert re.search(r"changed lines covered: 0% → 100%", section), section
    assert delivered(harness) == ["Tests for #1"]


@pytest.mark.parametrize(
    ("mode", "failure"),
    [
        ("http_500", "LLM unavailable (HTTP 500 from the provider)"),
        ("http_401", "LLM key rejected (HTTP 401 from the provider)"),
    ],
)
async def test_with_the_llm_down_the_offline_tests_are_delivered_under_a_warning(
    make_harness: Factory, mode: str, failure: str
) -> None:
    """engine auto, the configured LLM failing every request (an outage, a rejected key):
    characterization's test is still validated and delivered, but the part is ⚠️, its headline
    names the failure and the check is neutral, never success."""
    harness = await make_harness(script=building_agent, engine="auto")
    harness.llm.mode = mode  # type: ignore[assignment]
    base, head = push_change(harness.github, "feature-orders", {"orders.py": ORDERS_SRC})
    await harness.start("opened", 1, head, base, head_ref="feature-orders")
    run = await harness.completed(head)
    section = part_section(run["output"]["summary"])
    tests = (await harness.results(1, head))["generate_tests"]

    assert harness.llm.requests and harness.llm.responses == []  # the agent was asked, in vain
    assert run["conclusion"] == "neutral", section
    assert tests.status == "warning"
    assert tests.headline == f"{failure}: offline tests only, 1 test file(s) generated"
    assert (
        f"| ⚠️ {failure}: offline tests only, 1 test file(s) generated |"
        in (run["output"]["summary"])
    )
    assert f"**Problem:** {failure}; the agent stopped after 0 iteration(s), so 1 kept" in section
    assert tests.details["llm_failure"] == failure
    (kept,) = tests.details["kept"]
    assert "tandem" not in kept or "characteriz" in kept  # the offline engine's, not the agent's
    assert delivered(harness) == ["Tests for #1"]
    delivered_test = await git.run_async(
        harness.github.repo_path(REPO), "show", f"tandem/tests-pr-1:{kept}"
    )
    assert "def test_" in delivered_test
    assert "sk-test" not in run["output"]["summary"] + run["output"]["title"]


# Issue 19, item 4: a tiny project whose existing test runs `n > 10` but never at 10.
SIZES_SRC = """def size(n):
    if n < 0:
        raise ValueError("negative")
    if n > 10:
        return "big"
    return "small"
"""

SIZES_EXISTING_TEST = """from sizes import size


def test_big_and_small():
    assert size(20) == "big"
    assert size(3) == "small"
"""

NEGATIVE_TEST = """import pytest

from sizes import size


def test_negative_is_refused():
    with pytest.raises(ValueError):
        size(-1)
"""

BOUNDARY_TEST = """from sizes import size


def test_ten_is_small():
    assert size(10) == "small"
"""

# Passes, but only runs again what the existing test runs: it kills nothing.
AGAIN_TEST = """from sizes import size


def test_twenty_is_big():
    assert size(20) == "big"
"""

OFF_BY_ONE = "no test notices if `n > 10` becomes `n >= 10`"


def proving_agent(proof_test: str) -> ScriptFn:
    """Covers the uncovered `raise` when first asked; writes ``proof_test`` in the first proof
    round, nothing in a later one."""

    def script(body: dict[str, Any]) -> Step | None:
        prompt = first_user_text(body)
        checkout = re.search(r"repository at (/\S+?)\.\n", prompt)
        if checkout is None or any(m.get("role") == "assistant" for m in body["messages"]):
            return finish("done")
        root = checkout.group(1)
        if "Cover these lines" in prompt:
            path, text = f"{root}/tests/test_sizes_tandem.py", NEGATIVE_TEST
        elif OFF_BY_ONE in prompt:
            path, text = f"{root}/tests/test_sizes_proof_tandem.py", proof_test
        else:
            return finish("nothing more")
        return tool_call("file_editor", command="create", path=path, file_text=text)

    return script


async def run_sizes(harness: Harness) -> tuple[dict[str, Any], str, dict[str, Any], list[str]]:
    """The change adds sizes.py and its existing test: (run, section, details, proof prompts)."""
    files = {"sizes.py": SIZES_SRC, "tests/test_sizes.py": SIZES_EXISTING_TEST}
    base, head = push_change(harness.github, "feature-sizes", files)
    await harness.start("opened", 1, head, base, head_ref="feature-sizes")
    run = await harness.completed(head)
    details = (await harness.results(1, head))["generate_tests"].details
    prompts = [first_user_text(r) for r in harness.llm.requests if len(r["messages"]) <= 2]
    proof = [p for p in prompts if "fails on these mutants, so no test would notice" in p]
    return run, part_section(run["output"]["summary"]), details, proof


async def test_a_proof_round_keeps_the_test_that_kills_a_surviving_mutant(
    make_harness: Factory,
) -> None:
    """Once every changed line runs, the agent is told which mutants survive (with the code
    and the mutated line); its boundary test kills `n >= 10`, so it is kept for that alone
    and the mutant score counts it."""
    harness = await make_harness(script=proving_agent(BOUNDARY_TEST))
    run, section, details, proof = await run_sizes(harness)

    assert len(proof) == 2, section  # the second one after the first round killed something
    assert OFF_BY_ONE in proof[0] and "    if n > 10:" in proof[0]
    assert OFF_BY_ONE not in proof[1]  # told what survives the kept proof test too
    assert "no test notices if `raise" not in proof[0]  # the agent's first test kills it
    assert "tests/test_sizes_proof_tandem.py" in details["kept"], section
    verdict = next(v for v in details["verdicts"] if v["path"].endswith("proof_tandem.py"))
    assert re.search(r"written in a proof round; kills \d+ mutant", verdict["reason"]), verdict
    survivors = [s["mutant"] for s in details["mutants"]["survivors"]]
    assert "`n > 10` becomes `n >= 10`" not in survivors, survivors
    assert details["mutants"]["killed_with_kept"] > details["mutants"]["killed_by_existing"]
    assert "sent back to the agent 2 time(s) (proof rounds): its kept files" in section
    assert run["conclusion"] == "success", section
    bare = harness.github.repo_path(REPO)
    shown = await git.run_async(bare, "show", "tandem/tests-pr-1:tests/test_sizes_proof_tandem.py")
    assert 'size(10) == "small"' in shown


async def test_a_proof_round_that_kills_nothing_ends_the_rounds(make_harness: Factory) -> None:
    """A passing test that only runs lines already run, killing no mutant, is not kept, and
    no second proof round follows."""
    harness = await make_harness(script=proving_agent(AGAIN_TEST))
    run, section, details, proof = await run_sizes(harness)

    assert len(proof) == 1, section
    assert "tests/test_sizes_proof_tandem.py" not in details["kept"], section
    assert "tests/test_sizes_tandem.py" in details["kept"]
    verdict = next(v for v in details["verdicts"] if v["path"].endswith("proof_tandem.py"))
    assert not verdict["kept"] and "kills no mutant" in verdict["reason"], verdict
    assert "1 time(s) (proof rounds): its new tests killed no mutant" in section
    survivors = [s["mutant"] for s in details["mutants"]["survivors"]]
    assert "`n > 10` becomes `n >= 10`" in survivors
    assert run["conclusion"] == "success", section


# Every changed line runs already: the existing test never tries three words.
LABEL_SRC = """def label(words):
    if len(words) > 3:
        return "long"
    return "short"
"""

LABEL_EXISTING_TEST = """from labels import label


def test_long_and_short():
    assert label(["a", "b", "c", "d", "e"]) == "long"
    assert label(["a"]) == "short"
"""

THREE_WORDS_TEST = """from labels import label


def test_three_words_are_short():
    assert label(["a", "b", "c"]) == "short"
"""


def three_words_agent(body: dict[str, Any]) -> Step | None:
    """Writes the three-word test when told that `len(words) > 3` may become `>= 3`."""
    prompt = first_user_text(body)
    checkout = re.search(r"repository at (/\S+?)\.\n", prompt)
    told = "no test notices if `len(words) > 3` becomes `len(words) >= 3`" in prompt
    if checkout is None or not told or any(m.get("role") == "assistant" for m in body["messages"]):
        return finish("done")
    path = f"{checkout.group(1)}/tests/test_labels_proof_tandem.py"
    return tool_call("file_editor", command="create", path=path, file_text=THREE_WORDS_TEST)


async def test_where_every_line_ran_the_agent_is_asked_only_for_the_surviving_mutants(
    make_harness: Factory,
) -> None:
    """engine auto with an LLM, every changed line run by the existing test: no coverage
    prompt, but the agent is told which mutants the existing and offline tests leave alive,
    and its test that kills one is kept and scored."""
    harness = await make_harness(script=three_words_agent, engine="auto")
    files = {"labels.py": LABEL_SRC, "tests/test_labels.py": LABEL_EXISTING_TEST}
    base, head = push_change(harness.github, "feature-labels", files)
    await harness.start("opened", 1, head, base, head_ref="feature-labels")
    run = await harness.completed(head)
    section = part_section(run["output"]["summary"])
    details = (await harness.results(1, head))["generate_tests"].details

    prompts = [first_user_text(r) for r in harness.llm.requests if len(r["messages"]) <= 2]
    assert prompts and not any("Cover these lines" in p for p in prompts), section
    assert "tests/test_labels_proof_tandem.py" in details["kept"], section
    survivors = [s["mutant"] for s in details["mutants"]["survivors"]]
    assert "`len(words) > 3` becomes `len(words) >= 3`" not in survivors, survivors
    assert "(proof rounds): its kept files `tests/test_labels_proof_tandem.py`" in section
