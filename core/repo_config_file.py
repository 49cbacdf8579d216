"""Reading `.github/tandem.yml` into the model (:mod:`core.repo_config`): YAML with the line and
column of every key, so that each error is located for a check-run annotation (with a
suggestion for a misspelt key), and the `_extends` chain's files merged into one config.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from core.repo_config import RepoConfig


@dataclass(frozen=True)
class ConfigError:
    """A problem in tandem.yml, located so it can become a check-run annotation."""

    message: str
    line: int
    column: int


class InvalidConfig(Exception):
    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__("; ".join(f"line {e.line}: {e.message}" for e in errors))
        self.errors = errors


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers where each mapping key sits, for error locations."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    positions = {
        key_node.value: (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        for key_node, _ in node.value
        if isinstance(key_node, yaml.ScalarNode)
    }
    mapping["__positions__"] = positions
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_positions(value: Any, seen: dict[int, Any] | None = None) -> Any:
    # YAML aliases make shared objects; memoising by identity keeps an alias bomb linear.
    seen = {} if seen is None else seen
    if id(value) in seen:
        return seen[id(value)]
    if isinstance(value, dict):
        result: Any = {}
        seen[id(value)] = result
        for k, v in value.items():
            if k != "__positions__":
                result[k] = _strip_positions(v, seen)
        return result
    if isinstance(value, list):
        items: list[Any] = []
        seen[id(value)] = items
        items.extend(_strip_positions(v, seen) for v in value)
        return items
    return value


def _locate(data: Any, loc: tuple[int | str, ...]) -> tuple[int, int]:
    line, column = 1, 1
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node.get("__positions__", {}):
            line, column = node["__positions__"][part]
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
    return line, column


MAX_CONFIG_BYTES = 256 * 1024


def parse_config(text: str) -> RepoConfig:
    """Parse tandem.yml text. Raises InvalidConfig with located errors."""
    return _parse(text)[0]


def _parse(text: str) -> tuple[RepoConfig, Any]:
    """The model and the YAML data with key positions (None for an empty file)."""
    if len(text.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
        raise InvalidConfig([ConfigError(f"file is larger than {MAX_CONFIG_BYTES} bytes", 1, 1)])
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        raise InvalidConfig([ConfigError(f"YAML syntax error: {problem}", line, column)]) from None
    except yaml.YAMLError as exc:
        raise InvalidConfig([ConfigError(f"YAML error: {exc}", 1, 1)]) from None
    if data is None:
        return RepoConfig(), None
    if not isinstance(data, dict):
        raise InvalidConfig([ConfigError("the file must be a mapping of keys to values", 1, 1)])
    try:
        return RepoConfig.model_validate(_strip_positions(data)), data
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            location = tuple(error["loc"])
            line, column = _locate(data, location)
            where = ".".join(str(p) for p in location)
            if error["type"] == "extra_forbidden":
                message = f"unknown key {where}" + _suggestion(location)
            else:
                message = f"{where}: {error['msg']}"
            errors.append(ConfigError(message, line, column))
        raise InvalidConfig(errors) from None


def _suggestion(location: tuple[int | str, ...]) -> str:
    """ "did you mean …" from the keys allowed where an unknown key was found."""
    model: type[BaseModel] | None = RepoConfig
    for part in location[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        annotation = field.annotation if field else None
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    if model is None:
        return ""
    allowed = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(location[-1]), allowed, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# --- inheritance: `_extends` and the organisation's `.github` repository -----------------------
#
# Each file is validated on its own first (every key is optional, so a partial file is a valid
# file), which locates an error in the file that has it. The raw mappings are then merged, the
# file a repository extends first: mappings merge key by key, at any depth; lists and scalars
# in the extending file replace the inherited ones. `_extends` itself is not inherited.

MAX_EXTENDS_DEPTH = 5
ORG_CONFIG_REPO = ".github"
_REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True)
class ConfigFile:
    """One tandem.yml, validated on its own: its raw mapping and where `_extends` sits."""

    data: dict[str, Any]
    extends: str | None
    extends_at: tuple[int, int]


def read_config_file(text: str) -> ConfigFile:
    """Validate one file and keep its raw mapping for merging. Raises InvalidConfig."""
    config, data = _parse(text)
    if data is None:
        return ConfigFile(data={}, extends=None, extends_at=(1, 1))
    return ConfigFile(
        data=_strip_positions(data),
        extends=config.extends,
        extends_at=data["__positions__"].get("_extends", (1, 1)),
    )


def merge_config_data(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge (the extending file wins): mappings merge, everything else replaces."""
    merged = {k: v for k, v in base.items() if k != "_extends"}
    for key, value in override.items():
        if key == "_extends":
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config_data(merged[key], value)
        else:
            merged[key] = value
    return merged


def extends_target(value: str, repo: str) -> str | None:
    """The repository `_extends: value` names, seen from `repo` (owner/name): `.github` or
    `name` is a repository of the same owner, `owner/name` any repository. None if invalid."""
    owner = repo.split("/", 1)[0]
    value = value.strip()
    if "/" in value:
        other_owner, _, name = value.partition("/")
        if _REPO_NAME.match(other_owner) and _REPO_NAME.match(name):
            return f"{other_owner}/{name}"
        return None
    return f"{owner}/{value}" if _REPO_NAME.match(value) else None


def config_from_data(data: dict[str, Any]) -> RepoConfig:
    """The model from merged raw data (each piece was validated already)."""
    return RepoConfig.model_validate({k: v for k, v in data.items() if k != "_extends"})


def config_yaml(config: RepoConfig) -> str:
    """The effective config as YAML, in the model's key order."""
    data = config.model_dump(mode="json", by_alias=True, exclude={"extends"})
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
