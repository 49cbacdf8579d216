"""What to do for an event: pure functions over webhook data, no I/O."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

START_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
REF_RE = re.compile(r"^(?!-)(?!.*\.\.)[^\x00-\x20~^:?*\[\\\x7f]{1,255}$")


class PayloadError(ValueError):
    """The webhook body lacks a field Tandem needs, or holds a value of the wrong shape."""


@dataclass(frozen=True)
class PullRequestRef:
    """Everything a run needs to know about the PR, taken from the webhook once."""

    installation_id: int
    repo: str
    number: int
    head_sha: str
    head_ref: str
    head_repo: str
    base_sha: str
    base_ref: str
    clone_url: str
    head_clone_url: str
    draft: bool
    fork: bool
    author: str
    updated_at: str = ""
    labels: tuple[str, ...] = ()

    @property
    def run_key(self) -> str:
        return run_key(self.repo, self.number, self.head_sha)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PullRequestRef:
        return cls(**{**data, "labels": tuple(data.get("labels", ()))})


@dataclass(frozen=True)
class StartRun:
    pr: PullRequestRef
    kind: Literal["start"] = "start"


@dataclass(frozen=True)
class CancelRuns:
    repo: str
    number: int
    reason: str
    kind: Literal["cancel"] = "cancel"


@dataclass(frozen=True)
class Ignore:
    reason: str
    kind: Literal["ignore"] = "ignore"


Decision = StartRun | CancelRuns | Ignore


def run_key(repo: str, number: int, head_sha: str) -> str:
    return f"{repo}#{number}@{head_sha}"


def _get(data: Any, *path: str) -> Any:
    node = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            raise PayloadError(f"missing field {'.'.join(path)}")
        node = node[part]
    return node


def _str(data: Any, *path: str, pattern: re.Pattern[str] | None = None) -> str:
    value = _get(data, *path)
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise PayloadError(f"field {'.'.join(path)} has an invalid value")
    return value


def _int(data: Any, *path: str) -> int:
    value = _get(data, *path)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise PayloadError(f"field {'.'.join(path)} must be a positive integer")
    return value


def pull_request_ref(payload: dict[str, Any]) -> PullRequestRef:
    repo = _str(payload, "repository", "full_name", pattern=REPO_RE)
    head_repo_node = _get(payload, "pull_request", "head", "repo")
    # A fork that was deleted arrives with head.repo == null; treat it as a fork we cannot push to.
    if head_repo_node is None:
        head_repo, head_clone_url = "", _str(payload, "repository", "clone_url")
    else:
        head_repo = _str(head_repo_node, "full_name", pattern=REPO_RE)
        head_clone_url = _str(head_repo_node, "clone_url")
    return PullRequestRef(
        installation_id=_int(payload, "installation", "id"),
        repo=repo,
        number=_int(payload, "pull_request", "number"),
        head_sha=_str(payload, "pull_request", "head", "sha", pattern=SHA_RE),
        head_ref=_str(payload, "pull_request", "head", "ref", pattern=REF_RE),
        head_repo=head_repo,
        base_sha=_str(payload, "pull_request", "base", "sha", pattern=SHA_RE),
        base_ref=_str(payload, "pull_request", "base", "ref", pattern=REF_RE),
        clone_url=_str(payload, "repository", "clone_url"),
        head_clone_url=head_clone_url,
        draft=bool(_get(payload, "pull_request").get("draft", False)),
        fork=head_repo != repo,
        author=_str(payload, "pull_request", "user", "login"),
        updated_at=_optional_str(payload["pull_request"].get("updated_at")),
        labels=_label_names(payload["pull_request"].get("labels")),
    )


def _label_names(labels: Any) -> tuple[str, ...]:
    if not isinstance(labels, list):
        return ()
    names = (label.get("name") for label in labels[:100] if isinstance(label, dict))
    return tuple(name for name in names if isinstance(name, str) and len(name) <= 100)


def _optional_str(value: Any) -> str:
    return value if isinstance(value, str) and len(value) <= 64 else ""


def decide_pull_request(action: str, payload: dict[str, Any]) -> Decision:
    """Map a pull_request event to a decision. Config-dependent choices (drafts, which parts)
    are made by the worker, which reads the config from the base branch."""
    if action in START_ACTIONS:
        return StartRun(pr=pull_request_ref(payload))
    if action == "closed":
        return CancelRuns(
            repo=_str(payload, "repository", "full_name", pattern=REPO_RE),
            number=_int(payload, "pull_request", "number"),
            reason="pull request closed",
        )
    return Ignore(reason=f"pull_request.{action} does not trigger Tandem")
