"""The effective `.github/tandem.yml` of a repository: its own file at the base commit, the files it
`_extends` (merged first), or the organisation's `.github` repository when it has no file.

Rules (as Probot apps do):
- This repository's file is read at the pull request's **base** commit; the files it inherits
  from are read at their repositories' default branch.
- Without a file of its own, a repository uses `.github/tandem.yml` of its owner's `.github`
  repository, and without that the defaults. A missing file is never an error.
- `_extends: .github`, `_extends: name` (same owner) or `_extends: owner/name` merges that
  repository's file first (deep merge, see `core.repo_config_file.merge_config_data`). A chain
  may be `MAX_EXTENDS_DEPTH` files long; a cycle is an error, not a hang; a file that
  `_extends` names but that cannot be read is an error.
- Every error is located in this repository's `.github/tandem.yml` (where a check-run
  annotation can point): an error in an inherited file is reported on the `_extends` line that
  brought it in, and its message names the file, line and column where it really is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gidgethub.aiohttp import GitHubAPI

from core import github
from core.repo_config import CONFIG_PATH, RepoConfig
from core.repo_config_file import (
    MAX_EXTENDS_DEPTH,
    ORG_CONFIG_REPO,
    ConfigError,
    InvalidConfig,
    config_from_data,
    extends_target,
    merge_config_data,
    read_config_file,
)

# fetch(repo, ref) -> the file's text, or None when it does not exist. ref None: default branch.
Fetch = Callable[[str, str | None], Awaitable[str | None]]


@dataclass(frozen=True)
class LoadedConfig:
    config: RepoConfig
    # The files merged, inherited first, as "owner/name:.github/tandem.yml"; [] = defaults.
    sources: list[str] = field(default_factory=list)


def source_name(repo: str) -> str:
    return f"{repo}:{CONFIG_PATH}"


async def resolve_config(fetch: Fetch, repo: str, ref: str | None) -> LoadedConfig:
    """The effective config of `repo` at `ref`. Raises InvalidConfig (located in repo's file)."""
    text = await fetch(repo, ref)
    if text is not None:
        data, sources = await _chain(fetch, repo, text, [repo.lower()])
        return LoadedConfig(config_from_data(data), sources)
    owner = repo.split("/", 1)[0]
    org_repo = f"{owner}/{ORG_CONFIG_REPO}"
    if org_repo.lower() == repo.lower():
        return LoadedConfig(RepoConfig(), [])
    org_text = await fetch(org_repo, None)
    if org_text is None:
        return LoadedConfig(RepoConfig(), [])
    try:
        data, sources = await _chain(fetch, org_repo, org_text, [repo.lower(), org_repo.lower()])
    except InvalidConfig as exc:
        # This repository has no file to point at; line 1 of where its file would be.
        raise InvalidConfig(
            [
                ConfigError(
                    f"in the organisation default {source_name(org_repo)} "
                    f"(used because this repository has no {CONFIG_PATH}): {_where(e)}",
                    1,
                    1,
                )
                for e in exc.errors
            ]
        ) from None
    return LoadedConfig(config_from_data(data), sources)


def _where(error: ConfigError) -> str:
    return f"line {error.line}, column {error.column}: {error.message}"


async def _chain(
    fetch: Fetch, repo: str, text: str, visited: list[str]
) -> tuple[dict[str, object], list[str]]:
    """The merged raw data of `repo`'s file and everything it extends. Errors are located in
    `repo`'s file (the caller relocates them into its own file)."""
    file = read_config_file(text)
    if file.extends is None:
        return file.data, [source_name(repo)]
    line, column = file.extends_at

    def fail(message: str) -> InvalidConfig:
        return InvalidConfig([ConfigError(message, line, column)])

    target = extends_target(file.extends, repo)
    if target is None:
        raise fail(
            f"_extends: {file.extends[:100]!r} is not a repository; use .github, a repository "
            "name or owner/name"
        )
    if target.lower() in visited:
        cycle = " → ".join([*visited, target.lower()])
        raise fail(f"_extends makes a cycle: {cycle}")
    if len(visited) >= MAX_EXTENDS_DEPTH:
        raise fail(f"_extends chain is longer than {MAX_EXTENDS_DEPTH} files")
    try:
        parent_text = await fetch(target, None)
    except github.GitHubError as exc:
        if exc.status not in (403, 404):
            raise
        parent_text = None
    if parent_text is None:
        raise fail(
            f"_extends: {target} has no {CONFIG_PATH} that Tandem can read (is the App "
            "installed there?)"
        )
    try:
        parent, sources = await _chain(fetch, target, parent_text, [*visited, target.lower()])
    except InvalidConfig as exc:
        raise InvalidConfig(
            [ConfigError(f"in {source_name(target)} {_where(e)}", line, column) for e in exc.errors]
        ) from None
    return merge_config_data(parent, file.data), [*sources, source_name(repo)]


def github_fetch(gh: GitHubAPI) -> Fetch:
    async def fetch(repo: str, ref: str | None) -> str | None:
        return await github.get_file(gh, repo, CONFIG_PATH, ref)

    return fetch


async def load_repo_config(gh: GitHubAPI, repo: str, ref: str) -> LoadedConfig:
    """The effective config for a run: `repo`'s file at `ref` (the base commit), with
    inheritance. Raises InvalidConfig, or GitHubError when GitHub cannot be read."""
    return await resolve_config(github_fetch(gh), repo, ref)
