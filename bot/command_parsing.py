"""Comment commands (`/generate-tests …`, `/review-refactoring`, `/tandem help|cancel|retry`) and
the check run's buttons: pure functions, no I/O.

A command is the first thing on a line of a pull-request comment (up to three leading spaces, as
Markdown allows). Lines inside fenced code blocks, quoted lines (`> …`) and indented code are
never commands, so quoting someone's command or showing one in a code block does not run it.
A comment holds at most `MAX_COMMANDS` commands. Anything Tandem cannot read gives one short
`ParseError`, never an exception.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from core.engine_names import ENGINE_NAMES, EngineName
from core.part_registry import PART_NAMES, PARTS, PartName

CommandName = Literal["generate-tests", "review-refactoring", "help", "cancel", "retry"]
Delivery = Literal["pull_request", "commit", "comment", "none"]

ENGINES: tuple[str, ...] = ENGINE_NAMES
DELIVERIES: tuple[str, ...] = get_args(Delivery)
TANDEM_SUBCOMMANDS = ("help", "cancel", "retry")

MAX_COMMANDS = 3
MAX_BODY_CHARS = 65536  # GitHub's own limit for a comment
MAX_LINE_CHARS = 2000
MAX_PATHS = 20
MAX_PATH_CHARS = 256
MAX_INSTRUCTIONS_CHARS = 2000
MAX_ERROR_CHARS = 300

_COMMAND_LINE = re.compile(r"^ {0,3}/(generate-tests|review-refactoring|tandem)(?=\s|$)(.*)$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_QUOTE = re.compile(r"^ {0,3}>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Command:
    """One command read from a comment. Options other than `name` only apply to
    /generate-tests; empty means "as the repository's config says"."""

    name: CommandName
    paths: tuple[str, ...] = ()
    engine: EngineName | None = None
    delivery: Delivery | None = None
    instructions: str | None = None
    line: int = 1

    @property
    def parts(self) -> tuple[PartName, ...]:
        """The run parts this command starts; () for commands that start no run."""
        if self.name == "retry":
            return PART_NAMES
        return tuple(p.name for p in PARTS if p.command == self.name)

    @property
    def text(self) -> str:
        """The command as a user would write it (used in replies and check-run summaries)."""
        if self.name in TANDEM_SUBCOMMANDS:
            return f"/tandem {self.name}"
        words = [f"/{self.name}", *self.paths]
        if self.engine:
            words += ["--engine", self.engine]
        if self.delivery:
            words += ["--delivery", self.delivery]
        if self.instructions is not None:
            words += ["--instructions", self.instructions]
        return shlex.join(words)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["paths"] = list(self.paths)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Command:
        return cls(**{**data, "paths": tuple(data.get("paths", ()))})


@dataclass(frozen=True)
class ParseError:
    """Why a comment's commands could not be read: one short sentence for the reply."""

    message: str
    line: int | None = None


def command_lines(body: str) -> list[tuple[int, str, str]]:
    """(line number, command word, rest of line) for each line that starts with a command,
    skipping fenced code blocks and quoted lines."""
    found: list[tuple[int, str, str]] = []
    fence: str | None = None
    # Lines as GitHub's Markdown sees them: only \n (or \r\n) ends a line.
    for number, raw in enumerate(body.split("\n"), start=1):
        line = raw.removesuffix("\r")
        fence_match = _FENCE.match(line)
        if fence is not None:
            # A closing fence: the same character, at least as long, nothing after it.
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
                and not fence_match.group(2).strip()
            ):
                fence = None
            continue
        if fence_match and not (
            fence_match.group(1)[0] == "`" and "`" in fence_match.group(2)
        ):  # an info string of a backtick fence cannot hold a backtick
            fence = fence_match.group(1)
            continue
        if _QUOTE.match(line):
            continue
        match = _COMMAND_LINE.match(line)
        if match:
            found.append((number, match.group(1), match.group(2)))
    return found


def parse_commands(body: str) -> list[Command] | ParseError:
    """The commands in a comment body, in order; [] when there are none (an ordinary
    comment); ParseError when there are commands Tandem cannot read."""
    lines = command_lines(body)
    if not lines:
        return []
    if len(body) > MAX_BODY_CHARS:
        return ParseError(f"this comment is longer than {MAX_BODY_CHARS} characters")
    if len(lines) > MAX_COMMANDS:
        return ParseError(
            f"please put at most {MAX_COMMANDS} commands in one comment (this one has {len(lines)})"
        )
    commands: list[Command] = []
    for number, word, rest in lines:
        result = _parse_line(number, word, rest)
        if isinstance(result, ParseError):
            return result
        if any(c.name == result.name for c in commands):
            return ParseError(
                f"`{_display(result)}` appears twice; use it once per comment", number
            )
        commands.append(result)
    return commands


def _display(command: Command) -> str:
    return f"/tandem {command.name}" if command.name in TANDEM_SUBCOMMANDS else f"/{command.name}"


def _parse_line(number: int, word: str, rest: str) -> Command | ParseError:
    if len(rest) > MAX_LINE_CHARS:
        return ParseError(f"`/{word}` line is longer than {MAX_LINE_CHARS} characters", number)
    try:
        args = shlex.split(rest, comments=False, posix=True)
    except ValueError:
        return ParseError(f"`/{word}` has an unbalanced quote", number)
    if word == "generate-tests":
        return _parse_generate_tests(number, args)
    if word == "review-refactoring":
        if args:
            return ParseError("`/review-refactoring` takes no arguments", number)
        return Command(name="review-refactoring", line=number)
    if not args:
        return ParseError("`/tandem` needs one of: help, cancel, retry", number)
    sub = args[0]
    if sub not in TANDEM_SUBCOMMANDS:
        close = difflib.get_close_matches(sub, TANDEM_SUBCOMMANDS, n=1)
        hint = f" (did you mean `/tandem {close[0]}`?)" if close else ""
        return ParseError(
            f"`/tandem {_short(sub)}` is not a command{hint}; try `/tandem help`", number
        )
    if len(args) > 1:
        return ParseError(f"`/tandem {sub}` takes no arguments", number)
    return Command(name=sub, line=number)  # type: ignore[arg-type]


_OPTIONS = ("--engine", "--delivery", "--instructions")


def _parse_generate_tests(number: int, args: list[str]) -> Command | ParseError:
    paths: list[str] = []
    values: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("-"):
            problem = _path_problem(arg)
            if problem:
                return ParseError(f"path `{_short(arg)}` {problem}", number)
            paths.append(arg.removeprefix("./"))
            continue
        flag, eq, value = arg.partition("=")
        if flag not in _OPTIONS:
            close = difflib.get_close_matches(flag, _OPTIONS, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            return ParseError(
                f"`/generate-tests` has no option `{_short(flag)}`{hint}; "
                "options are --engine, --delivery and --instructions",
                number,
            )
        if flag in values:
            return ParseError(f"`{flag}` is given twice", number)
        if not eq:
            if index >= len(args):
                return ParseError(f"`{flag}` needs a value", number)
            value = args[index]
            index += 1
        values[flag] = value
    if len(paths) > MAX_PATHS:
        return ParseError(f"please give at most {MAX_PATHS} paths", number)
    engine = values.get("--engine")
    if engine is not None and engine not in ENGINES:
        return ParseError(f"`--engine` must be one of: {', '.join(ENGINES)}", number)
    delivery = values.get("--delivery")
    if delivery is not None and delivery not in DELIVERIES:
        return ParseError(f"`--delivery` must be one of: {', '.join(DELIVERIES)}", number)
    instructions = values.get("--instructions")
    if instructions is not None:
        if len(instructions) > MAX_INSTRUCTIONS_CHARS:
            return ParseError(
                f"`--instructions` is longer than {MAX_INSTRUCTIONS_CHARS} characters", number
            )
        if not instructions.strip():
            return ParseError("`--instructions` is empty", number)
    return Command(
        name="generate-tests",
        paths=tuple(dict.fromkeys(paths)),
        engine=engine,  # type: ignore[arg-type]
        delivery=delivery,  # type: ignore[arg-type]
        instructions=instructions,
        line=number,
    )


def _path_problem(path: str) -> str | None:
    if len(path) > MAX_PATH_CHARS:
        return f"is longer than {MAX_PATH_CHARS} characters"
    if _CONTROL.search(path):
        return "contains control characters"
    if path.startswith("/"):
        return "must be relative to the repository root"
    if ".." in path.split("/") or "\\" in path:
        return "must stay inside the repository"
    if path in (".", "./"):
        return "is the whole repository; leave paths out instead"
    return None


def _short(text: str, limit: int = 40) -> str:
    text = _CONTROL.sub("?", text).replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_reply(error: ParseError) -> str:
    """The one short, polite reply to a comment whose commands could not be read."""
    where = f" (line {error.line})" if error.line else ""
    message = error.message[:MAX_ERROR_CHARS]
    return f"Sorry, I could not run that{where}: {message}. `/tandem help` lists the commands."


# --- permissions ---------------------------------------------------------------------------

# Collaborator roles from lowest to highest. GitHub's permission endpoint answers `role_name`
# (admin, maintain, write, triage, read, or a custom role's name) and the legacy `permission`
# (admin, write, read, none).
PERMISSION_RANKS = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}


def effective_permission(role_name: Any, permission: Any) -> str:
    """The caller's role, as one of PERMISSION_RANKS (custom roles fall back to the legacy
    permission, which GitHub maps to their base role)."""
    if isinstance(role_name, str) and role_name in PERMISSION_RANKS:
        return role_name
    if isinstance(permission, str) and permission in PERMISSION_RANKS:
        return permission
    return "none"


def permission_allows(have: str, need: str) -> bool:
    return PERMISSION_RANKS.get(have, 0) >= PERMISSION_RANKS.get(need, len(PERMISSION_RANKS))


def is_bot(user: Any) -> bool:
    """Apps (Tandem included) and bot accounts: their comments and clicks are never acted on."""
    if not isinstance(user, dict):
        return True
    login = user.get("login")
    return (
        user.get("type") == "Bot" or not isinstance(login, str) or login.lower().endswith("[bot]")
    )


# --- check-run buttons ---------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    identifier: str  # GitHub: at most 20 characters
    label: str  # at most 20
    description: str  # at most 40
    parts: tuple[PartName, ...] = field(default=())

    def to_api(self) -> dict[str, str]:
        return {
            "identifier": self.identifier,
            "label": self.label,
            "description": self.description,
        }


BUTTONS: tuple[Button, ...] = (
    Button("rerun_all", "Re-run all", "Run test generation and review again", PART_NAMES),
    *(Button(*p.button, (p.name,)) for p in PARTS),
)
BUTTONS_BY_ID = {b.identifier: b for b in BUTTONS}


def buttons_for(enabled_parts: Sequence[str]) -> list[Button]:
    """The buttons (at most 3, GitHub's limit) that make sense when these parts are enabled."""
    return [b for b in BUTTONS if set(b.parts) <= set(enabled_parts)][:3]


# --- help ------------------------------------------------------------------------------------

_ENGINE_CHOICES = "\\|".join(ENGINES)

HELP_TEXT = f"""**Tandem commands.** Put a command at the start of a line in a pull-request \
comment (at most {MAX_COMMANDS} per comment; commands in code blocks and quotes are ignored). \
They need the repository's `commands.allowed_permission` (write access by default).

| Command | What it does |
| --- | --- |
| `/generate-tests [PATH_OR_GLOB ...] [--engine {_ENGINE_CHOICES}] \
[--delivery pull_request\\|commit\\|comment\\|none] [--instructions "..."]` | \
generate tests only, for the given paths if any |
| `/review-refactoring` | run the refactoring review only |
| `/tandem retry` | run everything again for the current head commit |
| `/tandem cancel` | stop the pull request's current run |
| `/tandem help` | this message |

The **Tandem** check run's *Re-run* and its buttons do the same as `/tandem retry`, \
`/generate-tests` and `/review-refactoring`."""
