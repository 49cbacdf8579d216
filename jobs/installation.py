"""The worker's GitHub client for an App installation, from a job's arq context.

Every job that talks to GitHub (the run's lifecycle, the parts, collect, the commands) gets its
client here. Each token it hands out is remembered in the context, so that error text shown to
users can be scrubbed of it (`secrets_of`).
"""

from __future__ import annotations

from typing import Any

import aiohttp
from arq.connections import ArqRedis
from gidgethub.aiohttp import GitHubAPI

from core import github
from core.settings import Settings


async def github_for(ctx: dict[str, Any], installation_id: int) -> tuple[GitHubAPI, str]:
    redis: ArqRedis = ctx["redis"]
    session: aiohttp.ClientSession = ctx["session"]
    settings: Settings = ctx["settings"]
    gh, token = await github.installation_client(redis, session, settings, installation_id)
    ctx.setdefault("tokens", set()).add(token)
    return gh, token


def secrets_of(ctx: dict[str, Any]) -> list[str | None]:
    """Every secret this worker holds: the App's private key, the LLM key, the webhook secret
    and the installation tokens it used."""
    settings: Settings = ctx["settings"]
    return [
        settings.github_private_key.get_secret_value() if settings.github_private_key else None,
        settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
        *ctx.get("tokens", ()),
    ]
