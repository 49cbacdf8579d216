"""Jobs for people steering Tandem: comment commands and re-runs (Re-run, the check run's buttons).

The web tier only parsed the comment (or the check_run/check_suite event) and queued one of
these on the control queue. Here, with GitHub at hand:

1. fetch the pull request (head and base come from the API, not from the event),
2. read the effective config from the PR's **base** commit (`jobs.config_loader`),
3. look up the sender's collaborator permission through the API and compare it with
   `commands.allowed_permission` (never `author_association`),
4. acknowledge a comment with 👀, then act. A run started by a command carries the comment in
   its `RunOptions`, and the run's end reacts 🚀 or 😕 on it (`jobs.notices.notify_run_end`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gidgethub.aiohttp import GitHubAPI

from bot.command_parsing import (
    HELP_TEXT,
    Command,
    ParseError,
    effective_permission,
    error_reply,
    permission_allows,
)
from bot.event_plan import PayloadError, PullRequestRef, pull_request_ref_from_api
from core import github
from core.connections import CONTROL_QUEUE
from core.github import GitHubError
from core.part_registry import PartName, parts_for, title
from core.repo_config import CONFIG_PATH, RepoConfig
from core.repo_config_file import InvalidConfig, config_yaml
from jobs import queue
from jobs.cancel import cancel_run
from jobs.config_loader import LoadedConfig, load_repo_config
from jobs.installation import github_for
from jobs.state import RunOptions, RunStore

log = logging.getLogger(__name__)


async def _pull_request(
    gh: GitHubAPI, repo: str, number: int, installation_id: int
) -> tuple[PullRequestRef, dict[str, Any]] | None:
    pull = await github.get_pull(gh, repo, number)
    if pull is None:
        return None
    try:
        return pull_request_ref_from_api(pull, installation_id), pull
    except PayloadError as exc:
        log.warning("pull request %s#%s has an unexpected shape: %s", repo, number, exc)
        return None


async def _config(gh: GitHubAPI, pr: PullRequestRef) -> tuple[LoadedConfig | None, Any]:
    """The base branch's config, or (None, the InvalidConfig) when it has errors."""
    try:
        return await load_repo_config(gh, pr.repo, pr.base_sha), None
    except InvalidConfig as exc:
        return None, exc


async def _allowed(gh: GitHubAPI, repo: str, user: str, config: RepoConfig) -> bool:
    role, legacy = await github.collaborator_permission(gh, repo, user)
    return permission_allows(effective_permission(role, legacy), config.commands.allowed_permission)


def help_reply(pr: PullRequestRef, loaded: LoadedConfig | None, error: Any) -> str:
    where = f"`{CONFIG_PATH}` at the base commit {pr.base_sha[:12]} (`{pr.base_ref}`)"
    if loaded is None:
        problems = "\n".join(
            f"- line {e.line}, column {e.column}: {e.message}" for e in error.errors
        )
        config_part = f"**The configuration has errors** ({where}):\n\n{problems}"
    else:
        sources = ", ".join(f"`{s}`" for s in loaded.sources) or "none (defaults)"
        config_part = (
            f"<details><summary>Effective configuration ({where}; files merged: {sources})"
            f"</summary>\n\n```yaml\n{config_yaml(loaded.config)}```\n</details>"
        )
    return f"{HELP_TEXT}\n\n{config_part}"


async def run_command(ctx: dict[str, Any], request: dict[str, Any], delivery_id: str) -> str:
    """The commands of one PR comment (`bot.event_plan.RunCommands`)."""
    repo: str = request["repo"]
    number: int = request["number"]
    author: str = request["author"]
    comment_id: int = request["comment_id"]
    try:
        gh, _ = await github_for(ctx, request["installation_id"])
        found = await _pull_request(gh, repo, number, request["installation_id"])
        if found is None:
            return f"{repo}#{number} is not a pull request Tandem can read"
        pr, pull = found
        loaded, config_error = await _config(gh, pr)
        # An invalid config still has a permission rule: the default one.
        config = loaded.config if loaded is not None else RepoConfig()
        if not await _allowed(gh, repo, author, config):
            if config.commands.reply_to_unauthorized:
                await github.post_comment(
                    gh,
                    repo,
                    number,
                    f"Sorry @{author}, Tandem commands need "
                    f"`{config.commands.allowed_permission}` access to this repository.",
                )
            return f"@{author} may not run commands"
        await github.react_to_comment(gh, repo, comment_id, "eyes")
        target = Target(pr, pull, loaded, config_error)
        return await _execute(ctx, gh, request, delivery_id, target)
    except GitHubError as exc:
        raise RuntimeError(f"commands of comment {comment_id} on {repo}: {exc}") from None


@dataclass(frozen=True)
class Target:
    """The pull request a comment's commands act on, as the API gives it, and its base
    commit's config (`loaded` is None when it has errors: `config_error`)."""

    pr: PullRequestRef
    pull: dict[str, Any]
    loaded: LoadedConfig | None
    config_error: Any


async def _execute(
    ctx: dict[str, Any],
    gh: GitHubAPI,
    request: dict[str, Any],
    delivery_id: str,
    target: Target,
) -> str:
    pr, loaded = target.pr, target.loaded
    repo, number, author = pr.repo, pr.number, request["author"]
    comment_id: int = request["comment_id"]

    async def finish(ok: bool, reply: str | None, outcome: str) -> str:
        if reply:
            await github.post_comment(gh, repo, number, reply)
        await github.react_to_comment(gh, repo, comment_id, "rocket" if ok else "confused")
        return outcome

    if request.get("error"):
        error = ParseError(request["error"], request.get("error_line"))
        return await finish(False, f"@{author} {error_reply(error)}", "unreadable command")

    commands = [Command.from_dict(c) for c in request["commands"]]
    ok, outcomes = True, []
    for command in commands:
        if command.name == "help":
            await github.post_comment(gh, repo, number, help_reply(pr, loaded, target.config_error))
            outcomes.append("help")
        elif command.name == "cancel":
            key = await RunStore(ctx["redis"]).current_key(repo, number)
            if key is not None and await cancel_run(ctx, key, f"cancelled by @{author}"):
                outcomes.append(f"cancelled {key}")
            else:
                ok = False
                await github.post_comment(
                    gh, repo, number, f"@{author} There is no Tandem run in progress to cancel."
                )
                outcomes.append("nothing to cancel")

    run_commands = [c for c in commands if c.parts]
    if not run_commands:
        return await finish(ok, None, "; ".join(outcomes))

    parts: list[PartName] = []
    for command in run_commands:
        parts += [p for p in command.parts if p not in parts]
    generate = next((c for c in run_commands if c.name == "generate-tests"), None)
    refusal = _refusal(target.pull, loaded, parts, generate)
    if refusal:
        return await finish(False, f"@{author} {refusal}", "refused")
    options = RunOptions(
        trigger="command",
        parts=parts,
        rerun=True,
        paths=list(generate.paths) if generate else [],
        engine=generate.engine if generate else None,
        delivery=generate.delivery if generate else None,
        instructions=generate.instructions if generate else None,
        requested_by=author,
        request_id=f"comment:{comment_id}",
        comment_id=comment_id,
        command=" + ".join(c.text for c in run_commands)[:500],
    )
    await queue.enqueue(
        ctx["redis"],
        "start_run",
        pr.to_dict(),
        delivery_id,
        "command",
        options.model_dump(mode="json"),
        job_id=queue.start_job_id(pr.run_key, options.request_id),
        queue=CONTROL_QUEUE,
    )
    # The run's end reacts 🚀/😕 on the comment.
    return "; ".join([*outcomes, f"run of {', '.join(parts)} queued for {pr.run_key}"])


def _refusal(
    pull: dict[str, Any],
    loaded: LoadedConfig | None,
    parts: list[PartName],
    generate: Command | None,
) -> str | None:
    """Why a run command cannot run, in one sentence; None when it can. An invalid config is
    not refused here: the run reports it on the check run, with annotations."""
    if pull.get("state") != "open":
        return "This pull request is closed; reopen it to run Tandem."
    if loaded is None:
        return None
    config = loaded.config
    if not config.enabled:
        return f"Tandem is switched off for this repository (`enabled: false` in `{CONFIG_PATH}`)."
    off = [p for p in parts if p not in parts_for(config)]
    if off:
        what = " and ".join(title(p) for p in off)
        return f"{what.capitalize()} is switched off in `{CONFIG_PATH}`."
    if generate and generate.delivery == "commit" and not config.test_generation.allow_commit:
        return (
            "`--delivery commit` needs `test_generation.allow_commit: true` in "
            f"`{CONFIG_PATH}` on the base branch."
        )
    return None


async def rerun_head(ctx: dict[str, Any], request: dict[str, Any], delivery_id: str) -> str:
    """Re-run (check_run/check_suite rerequested) or a check-run button (requested_action) for
    a head commit (`bot.event_plan.RerunHead`): a new run of that head for each open PR whose
    head it still is, when the sender has the permission commands need."""
    repo: str = request["repo"]
    head_sha: str = request["head_sha"]
    sender: str = request["sender"]
    try:
        gh, _ = await github_for(ctx, request["installation_id"])
        numbers: list[int] = list(request["pr_numbers"]) or await github.open_pulls_for_head(
            gh, repo, head_sha
        )
        outcomes = []
        for number in numbers:
            found = await _pull_request(gh, repo, number, request["installation_id"])
            if found is None or found[1].get("state") != "open":
                outcomes.append(f"#{number} not open")
                continue
            pr = found[0]
            if pr.head_sha != head_sha:
                # Re-running an old head would supersede the run of the PR's current head.
                outcomes.append(f"#{number} has moved on to {pr.head_sha[:12]}")
                continue
            loaded, _ = await _config(gh, pr)
            config = loaded.config if loaded is not None else RepoConfig()
            if not await _allowed(gh, repo, sender, config):
                outcomes.append(f"@{sender} may not re-run #{number}")
                continue
            options = RunOptions(
                trigger=request["trigger"],
                parts=list(request["parts"]),
                rerun=True,
                requested_by=sender,
                request_id=f"delivery:{delivery_id}",
            )
            await queue.enqueue(
                ctx["redis"],
                "start_run",
                pr.to_dict(),
                delivery_id,
                request["trigger"],
                options.model_dump(mode="json"),
                job_id=queue.start_job_id(pr.run_key, options.request_id),
                queue=CONTROL_QUEUE,
            )
            outcomes.append(f"re-run of {pr.run_key} queued")
    except GitHubError as exc:
        raise RuntimeError(f"re-run of {repo}@{head_sha[:12]}: {exc}") from None
    return "; ".join(outcomes) or "no open pull request has this head"
