"""Watching the Docker engine's sandbox containers from tests, race-free: a container the run
removes between two looks is never an error."""

from __future__ import annotations

import asyncio
from typing import Any


def container_names(engine: Any, label: str) -> set[str]:
    """The names of the containers (running or not) carrying `label`, from the engine's one
    list call. Nothing is inspected afterwards, so a container removed meanwhile cannot make
    this fail (docker's `containers.list` inspects each one and raises NotFound)."""
    listed = engine.api.containers(all=True, filters={"label": label})
    return {name.lstrip("/") for container in listed for name in container["Names"]}


async def watch_containers(engine: Any, label: str, seen: set[str]) -> None:
    """Add the name of every container carrying `label` to `seen` until cancelled."""
    while True:
        seen.update(await asyncio.to_thread(container_names, engine, label))
        await asyncio.sleep(0.2)
