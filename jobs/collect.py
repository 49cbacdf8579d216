"""The fan-in's last step: complete the run's one check run with the parts' results.

The last part to finish enqueues this job (`jobs.runs.run_part`). It claims the run (atomic,
`jobs.state`: a cancelled or already collected run is left alone), renders the check run
(`jobs.checkrun`), completes it, and answers the comment that asked for the run, if any
(`jobs.notices`). A GitHub error releases the claim and the job retries.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry

from core import github
from core.github import GitHubError
from jobs import checkrun
from jobs.installation import github_for
from jobs.notices import notify_run_end
from jobs.state import RunStore

log = logging.getLogger(__name__)

COLLECT_TRIES = 5


async def collect(ctx: dict[str, Any], key: str) -> str:
    store = RunStore(ctx["redis"])
    if not await store.claim_collect(key):
        return "not collectable (cancelled, already collected or parts pending)"
    state = await store.load(key)
    assert state is not None and state.pr is not None and state.check_run_id is not None
    conclusion, output = checkrun.render(state)
    try:
        gh, _ = await github_for(ctx, state.pr.installation_id)
        await github.complete_check_run(
            gh,
            state.pr.repo,
            state.check_run_id,
            conclusion,
            output,
            actions=checkrun.actions(state),
        )
    except GitHubError as exc:
        await store.release_collect(key)
        if ctx.get("job_try", 1) < COLLECT_TRIES:
            log.warning("completing the check run for %s failed (%s); retrying", key, exc)
            raise Retry(defer=10 * ctx.get("job_try", 1)) from None
        raise RuntimeError(f"could not complete check run for {key}: {exc}") from None
    await store.mark_completed(key, conclusion)
    await notify_run_end(ctx, state, conclusion)  # 🚀/😕 on the command's comment, if any
    return f"completed {key}: {conclusion}"
