"""The worker's test-generation work: clone the pull request into a work directory, open
the part's sandbox, produce and report the tests, and deliver kept tests to the pull request
(as ``test_generation.delivery`` says) while the run is still current."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bot.event_plan import PullRequestRef
from core.part_registry import GENERATE_TESTS
from core.repo_config import RepoConfig, TestGeneration
from core.settings import Settings
from jobs.checkout import clone_pull_request, part_checkout
from jobs.diff import changed_lines
from jobs.installation import github_for
from jobs.sandbox import open_sandbox
from jobs.state import PartResult, RunOptions, RunState, RunStore
from jobs.testgen.deliver import Destination, deliver_tests
from jobs.testgen.pipeline import ChangeToTest, Delivered, produce_and_report

log = logging.getLogger(__name__)


def config_of(state: RunState) -> RepoConfig:
    """The repository's config with a `/generate-tests` command's overrides applied."""
    try:
        config = RepoConfig.model_validate_json(state.config) if state.config else RepoConfig()
    except ValueError:
        config = RepoConfig()
    return with_options(config, state.options)


def with_options(config: RepoConfig, options: RunOptions) -> RepoConfig:
    tg = config.test_generation
    tg_update: dict[str, Any] = {}
    if options.engine is not None:
        tg_update["engine"] = options.engine
    if options.delivery is not None:
        tg_update["delivery"] = options.delivery
    if options.instructions:
        tg_update["instructions"] = "\n".join(
            text for text in (tg.instructions.strip(), options.instructions.strip()) if text
        )
    update: dict[str, Any] = {"test_generation": tg.model_copy(update=tg_update)}
    if options.paths:
        # Only the paths the command named; the repository's excludes still apply.
        update["paths"] = config.paths.model_copy(update={"include": list(options.paths)})
    return config.model_copy(update=update)


@dataclass
class PullRequestDeliverer:
    """Delivers kept tests to the pull request, unless the run was superseded or cancelled
    meanwhile."""

    redis: Redis
    run_key: str
    gh: Any
    pr: PullRequestRef
    token: str
    tg: TestGeneration
    git_timeout_s: float

    async def __call__(
        self, checkout: Path, kept: dict[str, str], patch: str, evidence: str, /
    ) -> Delivered | PartResult:
        current = await RunStore(self.redis).load(self.run_key)
        if current is None or current.status != "running":
            return PartResult(
                part=GENERATE_TESTS, status="skipped", headline="run no longer current"
            )
        to = Destination(
            self.gh,
            self.pr,
            self.token,
            self.git_timeout_s,
            mode=self.tg.delivery,
            allow_commit=self.tg.allow_commit,
        )
        delivery = await deliver_tests(to, checkout, kept, evidence)
        where = f": {delivery.url}" if delivery.url and delivery.kind != "commit" else ""
        lines = [f"\nDelivered as {delivery.description}{where}."]
        if delivery.note:
            lines.append(f"Note: {delivery.note}.")
        return Delivered(lines, {"kind": delivery.kind, "url": delivery.url})


async def generate(ctx: dict[str, Any], state: RunState) -> PartResult:
    settings: Settings = ctx["settings"]
    pr = state.pr
    assert pr is not None
    config = config_of(state)
    timings: dict[str, float] = {}
    # The part's own folder, removed when the block ends: never the run's other part's.
    with part_checkout(settings, state.key, GENERATE_TESTS) as checkout:
        started = time.monotonic()
        # One sandbox (with docker: one container, started on first use) for the whole part.
        sandbox = open_sandbox(settings, run_key=state.key, mount=checkout)
        timings["sandbox_open"] = time.monotonic() - started
        try:
            started = time.monotonic()
            gh, token = await github_for(ctx, pr.installation_id)
            await clone_pull_request(pr, token, checkout, timeout_s=settings.git_timeout_s)
            changed = await asyncio.to_thread(changed_lines, checkout, pr.base_sha, pr.head_sha)
            timings["clone"] = time.monotonic() - started
            deliverer = PullRequestDeliverer(
                ctx["redis"],
                state.key,
                gh,
                pr,
                token,
                config.test_generation,
                git_timeout_s=settings.git_timeout_s,
            )
            change = ChangeToTest(changed, pr.base_sha, timings)
            return await produce_and_report(sandbox, checkout, change, config, settings, deliverer)
        finally:
            started = time.monotonic()
            # What the sandbox made is in the checkout (its scratch is `.tandem-work`), in its
            # own temporary home (local) or in its container (docker); close removes the last two.
            await sandbox.close()
            log.info("test generation sandbox close: %.2f s", time.monotonic() - started)
