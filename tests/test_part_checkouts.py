"""Each part of a run works in a checkout of its own and removes only that (issue 17).

Whole runs on the in-process harness (tests/harness.py): the real arq worker and jobs, real
Redis and git, the fake GitHub and the scripted LLM. The review is held, with its checkout
cloned, until test generation has finished and stored its result; only then does it analyse.
Test generation, for its part, finishes only once the review has its checkout, so the order is
the same on every run: the one that lost the review's findings when test generation removed the
run's whole folder on its way out."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import jobs.review.review_job as review_job
import jobs.testgen.testgen_job as testgen_job
from bot.event_plan import run_key
from core.part_registry import GENERATE_TESTS, REVIEW_REFACTORING
from core.settings import Settings
from jobs.checkout import checkout_dir, part_checkout
from jobs.state import PartResult, RunStore
from tests.harness import HEAD_SRC, REPO, Harness, HarnessFactory, push_change
from tests.test_review import js_branchy
from tests.waiting import EVENT_LIMIT_S

HELD_LIMIT_S = EVENT_LIMIT_S  # how long either held part waits for the other before the test fails


@dataclass
class Order:
    """The order the test imposes: the review has cloned, then test generation finishes,
    then the review analyses its checkout."""

    review_cloned: threading.Event = field(default_factory=threading.Event)
    release_review: threading.Event = field(default_factory=threading.Event)
    review_checkouts: list[Path] = field(default_factory=list)


@pytest.fixture
async def ordered(
    make_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Harness, Order]]:
    """The harness with both parts' own work wrapped, unchanged, in the test's order."""
    order = Order()
    real_analyse = review_job.analyse
    real_produce = testgen_job.produce_and_report

    def analyse(repo: Path, *args: Any) -> Any:
        # In the review's worker thread, after its clone: hold until the test releases it.
        order.review_checkouts.append(repo)
        order.review_cloned.set()
        if not order.release_review.wait(HELD_LIMIT_S):
            raise AssertionError("the test never released the review")
        return real_analyse(repo, *args)

    async def produce_and_report(*args: Any, **kwargs: Any) -> PartResult:
        if not await asyncio.to_thread(order.review_cloned.wait, HELD_LIMIT_S):
            raise AssertionError("the review never reached its analysis")
        return await real_produce(*args, **kwargs)

    monkeypatch.setattr(review_job, "analyse", analyse)
    monkeypatch.setattr(testgen_job, "produce_and_report", produce_and_report)
    harness = await make_harness()
    try:
        yield harness, order
    finally:
        order.release_review.set()  # never leave a worker thread waiting for the test


async def generation_done(harness: Harness, number: int, head: str) -> PartResult:
    """Test generation's result, once the part has stored it (after its own clean-up)."""
    store = RunStore(harness.pool)
    key = run_key(REPO, number, head)
    deadline = asyncio.get_running_loop().time() + HELD_LIMIT_S
    while (state := await store.load(key)) is None or GENERATE_TESTS not in state.results:
        assert asyncio.get_running_loop().time() < deadline, "test generation never finished"
        await asyncio.sleep(0.05)
    return state.results[GENERATE_TESTS]


async def run_with_generation_first(
    harness: Harness, order: Order, number: int, base: str, head: str
) -> tuple[PartResult, dict[str, Any]]:
    """Start the run, let test generation finish while the review holds its checkout, then let
    the review go on. Returns test generation's result and the completed check run."""
    await harness.start("opened", number, head, base)
    generated = await generation_done(harness, number, head)
    (checkout,) = order.review_checkouts
    # Test generation has cleaned up after itself; the review's checkout is untouched.
    assert (checkout / ".git").is_dir(), "test generation removed the review's checkout"
    order.release_review.set()
    return generated, await harness.completed(head, limit_s=HELD_LIMIT_S)


def work_left(harness: Harness) -> list[str]:
    work = harness.settings.data_dir.resolve() / "work"
    return sorted(str(p.relative_to(work)) for p in work.iterdir()) if work.exists() else []


async def test_review_findings_arrive_when_generation_of_a_typescript_pr_finishes_first(
    ordered: tuple[Harness, Order],
) -> None:
    harness, order = ordered
    harness.github.commit_files(REPO, "main", {"src/pick.ts": js_branchy("pick", 3)})
    base, head = push_change(harness.github, "feature", {"src/pick.ts": js_branchy("pick", 14)})

    generated, run = await run_with_generation_first(harness, order, 1, base, head)

    assert generated.status == "skipped"  # no Python changed: done at once
    review = (await harness.results(1, head))[REVIEW_REFACTORING]
    assert review.status == "ok", review.summary
    assert review.details["findings"] >= 1
    titles = {a["title"] for a in harness.github.annotations_for(run["id"])}
    assert "Complexity 15 in pick (was 4)" in titles
    assert "| `src/pick.ts`:1 | pick | complexity | 4 → 15 |" in run["output"]["summary"]
    assert work_left(harness) == []  # each part removed its own checkout


@pytest.mark.slow
async def test_review_findings_arrive_when_generation_delivers_tests_first(
    ordered: tuple[Harness, Order],
) -> None:
    harness, order = ordered
    base, head = push_change(harness.github, "feature", {"calc.py": HEAD_SRC})

    generated, run = await run_with_generation_first(harness, order, 2, base, head)

    assert generated.status == "ok", generated.summary
    review = (await harness.results(2, head))[REVIEW_REFACTORING]
    assert review.status == "ok", review.summary
    titles = {a["title"] for a in harness.github.annotations_for(run["id"])}
    assert "Complexity 11 in classify (was 2)" in titles
    assert work_left(harness) == []


def test_a_parts_folder_holds_nothing_of_the_other_part_and_goes_alone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    key = run_key(REPO, 3, "a" * 40)
    review = checkout_dir(settings, key, REVIEW_REFACTORING)
    review.mkdir(parents=True)
    (review / "f.ts").write_text("x\n")
    with part_checkout(settings, key, GENERATE_TESTS) as generation:
        assert not generation.is_relative_to(review) and not review.is_relative_to(generation)
        (generation / "sub").mkdir(parents=True)
    assert not generation.exists()
    assert (review / "f.ts").read_text() == "x\n"  # the other part's checkout is untouched
    with part_checkout(settings, key, REVIEW_REFACTORING) as again:
        assert again == review and not again.exists()  # a leftover of its own earlier try
