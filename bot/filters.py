"""Which pull requests and which files Tandem looks at: pure functions over the repo config."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable

from pathspec import PathSpec

from bot.event_plan import PullRequestRef
from core.repo_config import RepoConfig


def skip_reason(config: RepoConfig, pr: PullRequestRef, action: str) -> str | None:
    """Why this pull request event does not start a run, or None when it does."""
    if not config.enabled:
        return "Tandem is disabled in .github/tandem.yml"
    triggers = config.triggers
    if action not in triggers.events:
        return f"pull_request.{action} is not in triggers.events"
    if pr.draft and not triggers.drafts:
        return "draft pull request (set triggers.drafts: true to run on drafts)"
    if pr.author in triggers.skip_authors:
        return f"author {pr.author} is in triggers.skip_authors"
    skipped = sorted(set(pr.labels) & set(triggers.skip_labels))
    if skipped:
        return f"label {skipped[0]} is in triggers.skip_labels"
    if not any(fnmatch.fnmatchcase(pr.base_ref, glob) for glob in triggers.branches):
        return f"base branch {pr.base_ref} matches none of triggers.branches"
    return None


def path_filter(config: RepoConfig) -> Callable[[str], bool]:
    """A predicate over repository paths: included by `paths.include` (gitignore-style globs)
    and not excluded by `paths.exclude`."""
    include = PathSpec.from_lines("gitwildmatch", config.paths.include)
    exclude = PathSpec.from_lines("gitwildmatch", config.paths.exclude)

    def selected(path: str) -> bool:
        return include.match_file(path) and not exclude.match_file(path)

    return selected


def select_paths(config: RepoConfig, paths: Iterable[str]) -> list[str]:
    selected = path_filter(config)
    return [path for path in paths if selected(path)]
