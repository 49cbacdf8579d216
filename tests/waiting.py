"""Test-side observation of the fakes' recorded state. The product itself never polls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def wait_until(condition: Callable[[], Any], what: str, limit_s: float = 60) -> Any:
    """The first truthy value of `condition()`, checked every 50 ms for up to `limit_s`."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while not (value := condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value
