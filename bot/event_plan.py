"""What to do for an event: pure functions over webhook data, no I/O."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import simdjson

from bot.command_parsing import BUTTONS_BY_ID, ParseError, is_bot, parse_commands
from core.part_registry import PART_NAMES

START_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
REF_RE = re.compile(r"^(?!-)(?!.*\.\.)[^\x00-\x20~^:?*\[\\\x7f]{1,255}$")
# JSON objects and arrays as the web tier hands them over: decoded (dict, list), or simdjson's
# read-only proxies over the body, which bot.app uses for pull_request deliveries so that only
# the fields read here become Python objects (issue 17). Both are accepted wherever a payload
# is read; what a decision keeps is always plain str, int, bool and tuple.
JSON_OBJECT = (dict, simdjson.Object)
JSON_ARRAY = (list, simdjson.Array)
_MISSING = object()


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
        # Every field is immutable (str, int, bool, a tuple of str), so asdict's deep copy
        # buys nothing; this is on the intake path of every delivery.
        return {f.name: getattr(self, f.name) for f in fields(self)}

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


def _get(data: Any, *path: str, at: tuple[str, ...] = ()) -> Any:
    """The value at `path` under `data`, which is itself at `at` in the payload (for the
    message: a node read once serves the fields under it)."""
    node = data
    for part in path:
        # One lookup, not `in` and then `[]`: a simdjson object finds a key by a scan.
        node = node.get(part, _MISSING) if isinstance(node, JSON_OBJECT) else _MISSING
        if node is _MISSING:
            raise PayloadError(f"missing field {'.'.join((*at, *path))}")
    return node


def _str(
    data: Any,
    *path: str,
    pattern: re.Pattern[str] | None = None,
    at: tuple[str, ...] = (),
) -> str:
    value = _get(data, *path, at=at)
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise PayloadError(f"field {'.'.join((*at, *path))} has an invalid value")
    return value


# GitHub's ids and numbers are positive 64-bit integers; larger ones are not GitHub's.
MAX_ID = 2**63 - 1


def _int(data: Any, *path: str, at: tuple[str, ...] = ()) -> int:
    value = _get(data, *path, at=at)
    if not _id(value):
        raise PayloadError(f"field {'.'.join((*at, *path))} must be a positive integer")
    assert isinstance(value, int)
    return value


def _id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def pull_request_ref(payload: Any) -> PullRequestRef:
    """The PR of a pull_request payload (a dict, or simdjson's proxy over the body)."""
    repository = _get(payload, "repository")
    repo = _str(repository, "full_name", pattern=REPO_RE, at=("repository",))
    clone_url = _str(repository, "clone_url", at=("repository",))
    pull = _get(payload, "pull_request")
    head = _get(pull, "head", at=("pull_request",))
    base = _get(pull, "base", at=("pull_request",))
    head_repo_node = _get(head, "repo", at=("pull_request", "head"))
    # A fork that was deleted arrives with head.repo == null; treat it as a fork we cannot push to.
    if head_repo_node is None:
        head_repo, head_clone_url = "", clone_url
    else:
        head_repo = _str(head_repo_node, "full_name", pattern=REPO_RE)
        head_clone_url = _str(head_repo_node, "clone_url")
    return PullRequestRef(
        installation_id=_int(payload, "installation", "id"),
        repo=repo,
        number=_int(pull, "number", at=("pull_request",)),
        head_sha=_str(head, "sha", pattern=SHA_RE, at=("pull_request", "head")),
        head_ref=_str(head, "ref", pattern=REF_RE, at=("pull_request", "head")),
        head_repo=head_repo,
        base_sha=_str(base, "sha", pattern=SHA_RE, at=("pull_request", "base")),
        base_ref=_str(base, "ref", pattern=REF_RE, at=("pull_request", "base")),
        clone_url=clone_url,
        head_clone_url=head_clone_url,
        draft=bool(pull.get("draft", False)),
        fork=head_repo != repo,
        author=_str(pull, "user", "login", at=("pull_request",)),
        updated_at=_optional_str(pull.get("updated_at")),
        labels=_label_names(pull.get("labels")),
    )


def _label_names(labels: Any) -> tuple[str, ...]:
    if not isinstance(labels, JSON_ARRAY):
        return ()
    names = (label.get("name") for label in labels[:100] if isinstance(label, JSON_OBJECT))
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


# --- comment commands and re-runs --------------------------------------------------------------


@dataclass(frozen=True)
class RunCommands:
    """A PR comment with commands (or with an error to answer). The worker checks the author's
    permission, fetches the PR and reads the base branch's config; none of that happens here."""

    repo: str
    installation_id: int
    number: int
    comment_id: int
    author: str
    commands: tuple[dict[str, Any], ...]
    error: str | None = None
    error_line: int | None = None
    kind: Literal["commands"] = "commands"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["commands"] = list(self.commands)
        return data


@dataclass(frozen=True)
class RerunHead:
    """Run Tandem again for a head commit: the check run's Re-run (rerequested), the check
    suite's Re-run all, or one of the check run's buttons (requested_action)."""

    repo: str
    installation_id: int
    head_sha: str
    pr_numbers: tuple[int, ...]
    sender: str
    trigger: Literal["rerequest", "button"]
    parts: tuple[str, ...]
    kind: Literal["rerun"] = "rerun"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pr_numbers"] = list(self.pr_numbers)
        data["parts"] = list(self.parts)
        return data


def decide_issue_comment(payload: dict[str, Any]) -> RunCommands | Ignore:
    """issue_comment.created: commands on a pull request by a person. Edited and deleted
    comments never reach here (only `created` is routed), so an edit cannot re-run anything."""
    issue = _get(payload, "issue")
    if not isinstance(issue, dict):
        raise PayloadError("field issue must be an object")
    if not isinstance(issue.get("pull_request"), dict):
        return Ignore(reason="comment on an issue, not a pull request")
    # Who wrote it must be readable: a comment with no such person is not GitHub's.
    _str(payload, "comment", "user", "login")
    _str(payload, "sender", "login")
    if is_bot(payload.get("sender")) or is_bot(_get(payload, "comment", "user")):
        return Ignore(reason="comment by a bot")
    body = _str(payload, "comment", "body")
    parsed = parse_commands(body)
    if parsed == []:
        return Ignore(reason="no commands in the comment")
    return RunCommands(
        repo=_str(payload, "repository", "full_name", pattern=REPO_RE),
        installation_id=_int(payload, "installation", "id"),
        number=_int(payload, "issue", "number"),
        comment_id=_int(payload, "comment", "id"),
        author=_str(payload, "comment", "user", "login"),
        commands=() if isinstance(parsed, ParseError) else tuple(c.to_dict() for c in parsed),
        error=parsed.message if isinstance(parsed, ParseError) else None,
        error_line=parsed.line if isinstance(parsed, ParseError) else None,
    )


def decide_check_rerequest(event: str, action: str, payload: dict[str, Any]) -> RerunHead | Ignore:
    """check_run.rerequested / check_run.requested_action / check_suite.rerequested."""
    if is_bot(payload.get("sender")):
        return Ignore(reason="requested by a bot")
    node_name = "check_run" if event == "check_run" else "check_suite"
    node = _get(payload, node_name)
    if event == "check_run" and node.get("name") != "Tandem":
        return Ignore(reason=f"check run {node.get('name')!r} is not Tandem's")
    parts: tuple[str, ...] = PART_NAMES
    trigger: Literal["rerequest", "button"] = "rerequest"
    if action == "requested_action":
        identifier = _get(payload, "requested_action", "identifier")
        button = BUTTONS_BY_ID.get(identifier) if isinstance(identifier, str) else None
        if button is None:
            return Ignore(reason=f"unknown button {str(identifier)[:40]!r}")
        parts, trigger = button.parts, "button"
    numbers = []
    for pull in node.get("pull_requests") or []:
        if isinstance(pull, dict) and _id(pull.get("number")):
            numbers.append(pull["number"])
    return RerunHead(
        repo=_str(payload, "repository", "full_name", pattern=REPO_RE),
        installation_id=_int(payload, "installation", "id"),
        head_sha=_str(node, "head_sha", pattern=SHA_RE),
        pr_numbers=tuple(sorted(set(numbers))),
        sender=_str(payload, "sender", "login"),
        trigger=trigger,
        parts=parts,
    )


def pull_request_ref_from_api(pull: dict[str, Any], installation_id: int) -> PullRequestRef:
    """A PullRequestRef from `GET /repos/{owner}/{repo}/pulls/{n}` (the same pull request
    object a webhook carries; the base repository is the PR's repository)."""
    return pull_request_ref(
        {
            "repository": _get(pull, "base", "repo"),
            "installation": {"id": installation_id},
            "pull_request": pull,
        }
    )
