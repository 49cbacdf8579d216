"""A fake GitHub for tests: REST API subset + smart-HTTP git, validated against GitHub's OpenAPI.

See ``server.py`` for what it enforces and ``payloads.py`` for webhook payload builders. Tests and
benchmarks use only the names exported here.
"""

from .payloads import (
    delivery_headers,
    encode,
    issue_comment_event,
    pull_request_event,
    repository_object,
    sign,
    stable_id,
    user_object,
    webhook_request,
)
from .server import (
    ApiError,
    Call,
    FakeGitHub,
    FakeGitHubThread,
    GitRequest,
    OnCheckRunCompleted,
    Push,
    make_app_key,
)

__all__ = [
    "ApiError",
    "Call",
    "FakeGitHub",
    "FakeGitHubThread",
    "GitRequest",
    "OnCheckRunCompleted",
    "Push",
    "delivery_headers",
    "encode",
    "issue_comment_event",
    "make_app_key",
    "pull_request_event",
    "repository_object",
    "sign",
    "stable_id",
    "user_object",
    "webhook_request",
]
