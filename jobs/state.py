"""Run state in Redis: begin, fan-in, supersede and cancel, each one atomic (Lua).

A run is keyed by (repo, PR number, head sha). Its hash holds the PR, the check run id, the
pending part count and each part's result. Status moves running -> collecting -> completed, or
to cancelled; nothing moves out of cancelled or completed, except that `begin` may start such a
run afresh: a reopened PR restarts a cancelled run, a re-run (a command, Re-run, a check-run
button) a cancelled or completed one. The hash's `options` field (JSON, `RunOptions`) says how
the run was asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from redis.asyncio import Redis

from bot.event_plan import PullRequestRef
from core.engine_names import EngineName
from core.github import Annotation
from core.part_registry import PartName

RUN_TTL_S = 7 * 24 * 3600


class PartResult(BaseModel):
    """What one part hands to collect. Plain data, stored as JSON in the run hash."""

    part: PartName
    # warning: the part did its work, but something kept it from doing it properly (an engine
    # crash, a baseline that did not run); its headline says what. Never shown as ✅.
    status: Literal["ok", "warning", "failed", "skipped"]
    headline: str
    summary: str = ""
    annotations: list[Annotation] = Field(default_factory=list)
    duration_s: float = 0.0
    # The part found something the repository's config says must fail the check run.
    fails_check: bool = False
    # Long material for the check run's text (not its summary), e.g. a patch of the tests.
    text: str = ""
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("annotations", mode="before")
    @classmethod
    def _stored_before_one_annotation_type(cls, value: Any) -> Any:
        # Results stored by an older worker (a run in flight across an upgrade) said `level`.
        if isinstance(value, list):
            return [
                {**a, "annotation_level": a.pop("level")}
                if isinstance(a, dict) and "level" in a
                else a
                for a in value
            ]
        return value


class RunOptions(BaseModel):
    """How a run was asked for, stored as JSON in the run hash's `options` field and exposed
    as `RunState.options`. A run started by a pull_request event has the defaults.

    Test generation reads the `/generate-tests` overrides; None or empty means "as the
    repository's config says":
    - `paths`: globs (or plain paths) of the changed files to write tests for;
    - `engine`: overrides `test_generation.engine`;
    - `delivery`: overrides `test_generation.delivery` (commit only if `allow_commit`);
    - `instructions`: extra instructions, in addition to `test_generation.instructions`.
    """

    trigger: Literal["pull_request", "command", "rerequest", "button"] = "pull_request"
    # The parts asked for; [] means every part the config enables.
    parts: list[PartName] = Field(default_factory=list)
    # Run again even if this head's run completed or was cancelled.
    rerun: bool = False
    paths: list[str] = Field(default_factory=list)
    engine: EngineName | None = None
    delivery: Literal["pull_request", "commit", "comment", "none"] | None = None
    instructions: str | None = None
    requested_by: str = ""
    # What asked: the comment id (commands) or the delivery id; a repeated job of the same
    # request continues the run, another request for a running head is told it is busy.
    request_id: str = ""
    # The command comment to react on (👀 → 🚀/😕) and to answer.
    comment_id: int | None = None
    command: str = ""


def run_hash(key: str) -> str:
    return f"tandem:run:{key}"


def pr_pointer(repo: str, number: int) -> str:
    return f"tandem:pr:{repo}#{number}"


# KEYS[1] run hash, KEYS[2] PR pointer.
# ARGV: key, pr json, pending, updated_at, parts json, ttl, config json, restart, options json.
# restart '1' lets a reopened PR run again on a head whose run was cancelled when it closed;
# '2' (a re-run: /tandem retry, a command, Re-run) also restarts a completed run. A running or
# collecting run is never restarted: it answers "exists".
# Returns {outcome, previous key}. outcome: "new", "exists", "cancelled" or "stale".
_BEGIN = """
local status = redis.call('HGET', KEYS[1], 'status')
if (status == 'cancelled' and (ARGV[8] == '1' or ARGV[8] == '2'))
   or (status == 'completed' and ARGV[8] == '2') then
  redis.call('DEL', KEYS[1])
  status = false
end
if status == 'cancelled' then return {'cancelled', ''} end
if status then return {'exists', ''} end
local previous = redis.call('HGET', KEYS[2], 'key') or ''
local previous_updated = redis.call('HGET', KEYS[2], 'updated_at') or ''
if previous ~= '' and previous ~= ARGV[1] and ARGV[4] ~= '' and ARGV[4] < previous_updated then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', 'superseded by a newer push')
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
  return {'stale', previous}
end
redis.call('HSET', KEYS[1], 'status', 'running', 'pr', ARGV[2], 'pending', ARGV[3],
           'parts', ARGV[5], 'config', ARGV[7], 'options', ARGV[9],
           'started_at', redis.call('TIME')[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('HSET', KEYS[2], 'key', ARGV[1], 'updated_at', ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
return {'new', previous}
"""

# KEYS[1] run hash. ARGV: part, result json. Returns pending after this part, -1 when the run
# is no longer running. A repeated part (at-least-once delivery) does not count twice.
_RECORD = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'running' then return -1 end
if redis.call('HSETNX', KEYS[1], 'result:' .. ARGV[1], ARGV[2]) == 1 then
  return redis.call('HINCRBY', KEYS[1], 'pending', -1)
end
return tonumber(redis.call('HGET', KEYS[1], 'pending'))
"""

# KEYS[1] run hash. Returns 1 when this caller won the right to collect.
_CLAIM_COLLECT = """
if redis.call('HGET', KEYS[1], 'status') == 'running'
   and tonumber(redis.call('HGET', KEYS[1], 'pending')) <= 0 then
  redis.call('HSET', KEYS[1], 'status', 'collecting')
  return 1
end
return 0
"""

# KEYS[1] run hash. ARGV: reason, ttl. Cancels a run that has not started collecting. Works on a
# run whose start_run has not happened yet, so a late start sees it is cancelled.
_CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'collecting' or status == 'completed' or status == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


@dataclass(frozen=True)
class Begin:
    outcome: Literal["new", "exists", "cancelled", "stale"]
    previous: str | None


@dataclass
class RunState:
    key: str
    status: str
    pr: PullRequestRef | None
    check_run_id: int | None
    pending: int
    parts: list[PartName]
    results: dict[str, PartResult]
    reason: str
    started_at: float | None
    config: str
    options: RunOptions = field(default_factory=RunOptions)


class RunStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def begin(
        self,
        pr: PullRequestRef,
        parts: list[PartName],
        config: str,
        *,
        restart: bool = False,
        rerun: bool = False,
        options: RunOptions | None = None,
    ) -> Begin:
        outcome, previous = await self.redis.eval(  # type: ignore[misc]
            _BEGIN,
            2,
            run_hash(pr.run_key),
            pr_pointer(pr.repo, pr.number),
            pr.run_key,
            json.dumps(pr.to_dict()),
            str(len(parts)),
            pr.updated_at,
            json.dumps(parts),
            str(RUN_TTL_S),
            config,
            "2" if rerun else "1" if restart else "0",
            (options or RunOptions()).model_dump_json(),
        )
        previous = _text(previous)
        return Begin(outcome=_text(outcome), previous=previous or None)  # type: ignore[arg-type]

    async def set_check_run(self, key: str, check_run_id: int) -> None:
        await self.redis.hset(run_hash(key), "check_run_id", str(check_run_id))  # type: ignore[misc]

    async def record(self, key: str, result: PartResult) -> int:
        pending = await self.redis.eval(  # type: ignore[misc]
            _RECORD, 1, run_hash(key), result.part, result.model_dump_json()
        )
        return int(pending)

    async def claim_collect(self, key: str) -> bool:
        return bool(await self.redis.eval(_CLAIM_COLLECT, 1, run_hash(key)))  # type: ignore[misc]

    async def cancel(self, key: str, reason: str) -> bool:
        changed = await self.redis.eval(_CANCEL, 1, run_hash(key), reason, str(RUN_TTL_S))  # type: ignore[misc]
        return bool(changed)

    async def release_collect(self, key: str) -> None:
        """Give the claim back after a failed attempt, so a retry can claim it again."""
        await self.redis.eval(  # type: ignore[misc]
            "if redis.call('HGET', KEYS[1], 'status') == 'collecting' then "
            "redis.call('HSET', KEYS[1], 'status', 'running') end",
            1,
            run_hash(key),
        )

    async def mark_completed(self, key: str, conclusion: str) -> None:
        await self.redis.hset(  # type: ignore[misc]
            run_hash(key), mapping={"status": "completed", "conclusion": conclusion}
        )

    async def current_key(self, repo: str, number: int) -> str | None:
        value = await self.redis.hget(pr_pointer(repo, number), "key")  # type: ignore[misc]
        return _text(value) or None

    async def load(self, key: str) -> RunState | None:
        raw: dict[bytes | str, bytes | str] = await self.redis.hgetall(run_hash(key))  # type: ignore[misc]
        if not raw:
            return None
        data = {_text(k): _text(v) for k, v in raw.items()}
        results = {
            name.removeprefix("result:"): PartResult.model_validate_json(value)
            for name, value in data.items()
            if name.startswith("result:")
        }
        return RunState(
            key=key,
            status=data.get("status", ""),
            pr=PullRequestRef.from_dict(json.loads(data["pr"])) if "pr" in data else None,
            check_run_id=int(data["check_run_id"]) if data.get("check_run_id") else None,
            pending=int(data.get("pending", "0")),
            parts=json.loads(data.get("parts", "[]")),
            results=results,
            reason=data.get("reason", ""),
            started_at=float(data["started_at"]) if data.get("started_at") else None,
            config=data.get("config", "{}"),
            options=(
                RunOptions.model_validate_json(data["options"])
                if data.get("options")
                else RunOptions()
            ),
        )


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)
