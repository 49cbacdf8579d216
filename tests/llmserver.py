"""A scripted OpenAI-compatible chat-completions server for tests.

The real LLM provider cannot be reached from the test machines, so this fake sits
at the network edge: the real OpenHands ``Agent``/``Conversation`` loop talks to it
over HTTP through litellm exactly as it would talk to OpenAI. It behaves like an
OpenAI-compatible server:

- ``POST /v1/chat/completions`` validates the request shape (JSON object, ``model``,
  a non-empty ``messages`` array whose assistant ``tool_calls`` are each answered by
  a ``tool`` message, well-formed ``tools``), answers 4xx with OpenAI's error body
  when it is malformed, and otherwise returns a ``chat.completion`` object with
  ``tool_calls``, ``usage`` token counts and a ``finish_reason``.
- ``GET /v1/models`` lists the models that were asked for.

What the assistant says comes from a *script*: a list of :class:`Step` (consumed
one per request) or a callable that receives the request body and returns a step.
When the script runs out, the server answers with a ``finish`` tool call ("nothing
more to do"), so an agent can never loop forever on it.

Modes simulate outages and refusals, each answered as OpenAI answers it (status and JSON error
body): ``http_500`` (every completion is a server error), ``http_401`` (the key is rejected; the
message shows it masked, as OpenAI's does), ``http_404`` (the model does not exist), ``http_429``
(out of quota), ``slow`` (sleeps ``slow_s`` before answering) and ``garbage`` (200 with a body
that is not JSON).

Tool names and argument schemas match what openhands-tools 1.58 advertises:
``file_editor`` (``command``, ``path``, ``file_text`` ...), ``terminal``
(``command`` ...), ``finish`` (``message``) and ``think`` (``thought``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

__all__ = [
    "ScriptedLLM",
    "ScriptedLLMThread",
    "Step",
    "finish",
    "terminal",
    "text",
    "tool_call",
    "write_file_then_finish",
]

Mode = Literal["script", "http_500", "http_401", "http_404", "http_429", "slow", "garbage"]

_TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
NOTHING_MORE = "nothing more to do"


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One scripted assistant turn: some text and/or tool calls."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    # Overrides for the usage block; computed from the payload sizes when None.
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def tool_call(name: str, /, **arguments: Any) -> Step:
    """An assistant turn that calls one tool with these JSON arguments."""
    return Step(tool_calls=(ToolCall(name, dict(arguments)),))


def text(content: str) -> Step:
    """An assistant turn with plain text and no tool call (the agent stops on it)."""
    return Step(content=content)


def finish(message: str = NOTHING_MORE) -> Step:
    """The built-in ``finish`` tool call."""
    return tool_call("finish", message=message)


def terminal(command: str) -> Step:
    """Run one shell command with the ``terminal`` tool."""
    return tool_call("terminal", command=command)


def write_file_then_finish(path: str, content: str) -> list[Step]:
    """``file_editor create`` of ``path`` (absolute) with ``content``, then ``finish``."""
    return [
        tool_call("file_editor", command="create", path=path, file_text=content),
        finish(f"Wrote {path}"),
    ]


ScriptFn = Callable[[dict[str, Any]], Step | None]


def _error(status: int, message: str, type_: str, code: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.json_response(body, status=status)


def _masked(key: str) -> str:
    """A key as OpenAI's 401 message shows it: its first and last characters only."""
    return f"{key[:3]}{'*' * 8}{key[-4:]}" if len(key) > 8 else "*" * len(key)


# What OpenAI answers (status, message, type, code) when it refuses every completion.
_REFUSALS: dict[str, Callable[[str, Any], web.Response]] = {
    "http_500": lambda key, model: _error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
    ),
    "http_401": lambda key, model: _error(
        401,
        f"Incorrect API key provided: {_masked(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    "http_404": lambda key, model: _error(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    "http_429": lambda key, model: _error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    ),
}


def _bad_request(message: str) -> web.Response:
    return _error(400, message, "invalid_request_error")


def _validate_messages(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array."
    pending: set[str] = set()
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            return f"Invalid type for '{where}': expected an object."
        role = msg.get("role")
        if role not in _ROLES:
            return f"Invalid value for '{where}.role': {role!r}."
        if pending and role != "tool":
            return (
                "An assistant message with 'tool_calls' must be followed by tool "
                "messages responding to each 'tool_call_id'. The following "
                f"tool_call_ids did not have response messages: {', '.join(sorted(pending))}"
            )
        content = msg.get("content")
        if content is not None and not isinstance(content, (str, list)):
            return f"Invalid type for '{where}.content': expected a string or array."
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    return f"Invalid content part '{where}.content[{j}]'."
        if role == "assistant":
            calls = msg.get("tool_calls")
            if calls is not None:
                if not isinstance(calls, list):
                    return f"Invalid type for '{where}.tool_calls': expected an array."
                for j, call in enumerate(calls):
                    fn = call.get("function") if isinstance(call, dict) else None
                    if (
                        not isinstance(call, dict)
                        or not isinstance(call.get("id"), str)
                        or not isinstance(fn, dict)
                        or not isinstance(fn.get("name"), str)
                        or not isinstance(fn.get("arguments"), str)
                    ):
                        return f"Invalid tool call '{where}.tool_calls[{j}]'."
                    pending.add(call["id"])
            elif content is None:
                return f"'{where}' must have 'content' or 'tool_calls'."
        elif role == "tool":
            call_id = msg.get("tool_call_id")
            if not isinstance(call_id, str):
                return f"Missing required parameter: '{where}.tool_call_id'."
            if call_id not in pending:
                return (
                    f"Invalid parameter: '{where}' with role 'tool' must be a response "
                    "to a preceeding message with 'tool_calls'."
                )
            pending.discard(call_id)
        elif content is None:
            return f"Missing required parameter: '{where}.content'."
    if pending:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages "
            f"responding to each 'tool_call_id': {', '.join(sorted(pending))}"
        )
    return None


def _validate_tools(tools: Any) -> str | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "Invalid type for 'tools': expected an array."
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
            return f"Invalid value for 'tools[{i}]': expected a function tool."
        name = fn.get("name")
        if not isinstance(name, str) or not _TOOL_NAME_RE.match(name):
            return f"Invalid 'tools[{i}].function.name': string does not match pattern."
        if name in seen:
            return f"Duplicate tool name {name!r}."
        seen.add(name)
        params = fn.get("parameters")
        if params is not None and (not isinstance(params, dict) or params.get("type") != "object"):
            return f"Invalid schema for function '{name}': parameters must be an object schema."
    return None


def tool_names(body: dict[str, Any]) -> list[str]:
    """Names of the tools a request advertises."""
    return [t["function"]["name"] for t in body.get("tools") or []]


def _approx_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, sort_keys=True)) // 4)


class ScriptedLLM:
    """aiohttp OpenAI-compatible server on 127.0.0.1 answering from a script."""

    def __init__(
        self,
        script: Sequence[Step] | ScriptFn = (),
        *,
        mode: Mode = "script",
        slow_s: float = 30,
    ) -> None:
        self._fn: ScriptFn | None = script if callable(script) else None
        self._steps: list[Step] = [] if callable(script) else list(script)
        self.mode: Mode = mode
        self.slow_s = slow_s
        self.requests: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # completions answered with 200
        self.headers: list[dict[str, str]] = []
        self.rejected: list[tuple[int, str]] = []  # (status, message) of 4xx answers
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_post("/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        # handler_cancellation: closing must not wait for a "slow" answer to finish.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ScriptedLLM:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- script ----------------------------------------------------------------------

    def add(self, steps: Step | Iterable[Step]) -> None:
        """Append steps to a list script (thread-safe)."""
        with self._lock:
            self._steps.extend([steps] if isinstance(steps, Step) else steps)

    def _next_step(self, body: dict[str, Any]) -> Step:
        step: Step | None
        if self._fn is not None:
            step = self._fn(body)
        else:
            with self._lock:
                step = self._steps.pop(0) if self._steps else None
        if step is None:
            step = finish() if "finish" in tool_names(body) else text(NOTHING_MORE)
        return step

    # -- handlers --------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        models = sorted({str(b.get("model")) for b in self.requests}) or ["scripted"]
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "tandem-tests"} for m in models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _completions(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            self.rejected.append((401, "missing key"))
            return _error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth.",
                "invalid_request_error",
            )
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            self.rejected.append((400, "body is not JSON"))
            return _bad_request(
                "We could not parse the JSON body of your request. (HINT: This likely "
                "means you aren't using your HTTP library correctly.)"
            )
        if not isinstance(body, dict):
            self.rejected.append((400, "body is not an object"))
            return _bad_request("The request body must be a JSON object.")
        self.requests.append(body)
        self.headers.append(dict(request.headers))

        problem: str | None = None
        model = body.get("model")
        if not isinstance(model, str) or not model:
            problem = "you must provide a model parameter"
        else:
            problem = _validate_messages(body.get("messages")) or _validate_tools(body.get("tools"))
        if problem is None and body.get("stream"):
            problem = "This scripted server does not implement 'stream': true."
        if problem is not None:
            self.rejected.append((400, problem))
            return _bad_request(problem)

        if self.mode in _REFUSALS:
            return _REFUSALS[self.mode](auth[7:].strip(), model)
        if self.mode == "slow":
            await asyncio.sleep(self.slow_s)
        if self.mode == "garbage":
            return web.Response(
                status=200,
                body=b"<html><body>502 upstream hiccup</body></html>\x00{not json",
                content_type="application/json",
            )

        step = self._next_step(body)
        completion = self._completion(body, step)
        self.responses.append(completion)
        return web.json_response(completion)

    def _completion(self, body: dict[str, Any], step: Step) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": step.content}
        if step.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{next(self._ids):06d}",
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in step.tool_calls
            ]
        prompt = step.prompt_tokens
        if prompt is None:
            prompt = _approx_tokens(body.get("messages"))
        completion = step.completion_tokens
        if completion is None:
            completion = _approx_tokens(message)
        return {
            "id": f"chatcmpl-scripted{next(self._ids):06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_scripted",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": step.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


@dataclass
class ScriptedLLMThread:
    """:class:`ScriptedLLM` on its own event loop in a background thread.

    For end-to-end tests where Tandem runs as subprocesses (or in threads that
    block): ``with ScriptedLLMThread(script) as llm: ... llm.url ...``.
    """

    script: Sequence[Step] | ScriptFn = ()
    mode: Mode = "script"
    slow_s: float = 30
    server: ScriptedLLM = field(init=False)
    url: str = field(init=False, default="")
    _loop: asyncio.AbstractEventLoop | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.server = ScriptedLLM(self.script, mode=self.mode, slow_s=self.slow_s)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.server.requests

    @property
    def responses(self) -> list[dict[str, Any]]:
        return self.server.responses

    @property
    def rejected(self) -> list[tuple[int, str]]:
        return self.server.rejected

    def start(self) -> str:
        started = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self.url = loop.run_until_complete(self.server.start())
            except BaseException as e:  # surfaced in start()
                failure.append(e)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.server.close())
            loop.close()

        self._thread = threading.Thread(target=main, name="scripted-llm", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        if not self.url:
            raise RuntimeError("scripted LLM server did not start")
        return self.url

    def close(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None
            self._thread = None

    def __enter__(self) -> ScriptedLLMThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
