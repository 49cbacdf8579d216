"""`.github/tandem.yml`: the model, its defaults and parse errors with line numbers.

This is the first cut: only the keys the pipeline reads today. Unknown keys are kept out of the
way (ignored) until the full schema lands; wrong types are errors with a line number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

CONFIG_PATH = ".github/tandem.yml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class Triggers(_Section):
    drafts: bool = False


class TestGeneration(_Section):
    __test__ = False  # not a pytest class
    enabled: bool = True


class Thresholds(_Section):
    complexity: int = Field(default=10, ge=1)
    function_length: int = Field(default=60, ge=1)
    nesting: int = Field(default=4, ge=1)
    parameters: int = Field(default=6, ge=1)


class RefactoringReview(_Section):
    enabled: bool = True
    thresholds: Thresholds = Field(default_factory=Thresholds)


class RepoConfig(_Section):
    enabled: bool = True
    triggers: Triggers = Field(default_factory=Triggers)
    test_generation: TestGeneration = Field(default_factory=TestGeneration)
    refactoring_review: RefactoringReview = Field(default_factory=RefactoringReview)


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
        return RepoConfig()
    if not isinstance(data, dict):
        raise InvalidConfig([ConfigError("the file must be a mapping of keys to values", 1, 1)])
    try:
        return RepoConfig.model_validate(_strip_positions(data))
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            line, column = _locate(data, tuple(error["loc"]))
            where = ".".join(str(p) for p in error["loc"])
            errors.append(ConfigError(f"{where}: {error['msg']}", line, column))
        raise InvalidConfig(errors) from None
