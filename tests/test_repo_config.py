import pytest

from core.repo_config import RepoConfig
from core.repo_config_file import InvalidConfig, parse_config


def test_missing_or_empty_file_means_defaults() -> None:
    assert parse_config("") == RepoConfig()
    assert parse_config("# just a comment\n") == RepoConfig()
    config = RepoConfig()
    assert config.enabled and config.test_generation.enabled
    assert config.refactoring_review.enabled and not config.triggers.drafts


def test_values_are_read() -> None:
    config = parse_config(
        "enabled: true\ntriggers:\n  drafts: true\ntest_generation:\n  enabled: false\n"
        "refactoring_review:\n  thresholds:\n    complexity: 5\n"
    )
    assert config.triggers.drafts
    assert not config.test_generation.enabled
    assert config.refactoring_review.thresholds.complexity == 5


def test_yaml_syntax_error_has_line_and_column() -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_config("enabled: true\ntest_generation:\n  enabled: [unclosed\n")
    error = caught.value.errors[0]
    assert error.message.startswith("YAML syntax error")
    assert error.line >= 3


def test_wrong_type_points_at_the_key() -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_config("enabled: true\ntest_generation:\n  enabled: 'yes please'\n")
    error = caught.value.errors[0]
    assert error.line == 3
    assert error.column == 3
    assert "test_generation.enabled" in error.message


def test_not_a_mapping() -> None:
    with pytest.raises(InvalidConfig, match="mapping"):
        parse_config("- a\n- b\n")


def test_hostile_yaml_is_refused_cleanly() -> None:
    with pytest.raises(InvalidConfig):
        parse_config("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(InvalidConfig, match="larger than"):
        parse_config("a: " + "x" * 300_000)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    # Aliases expand to shared objects, not copies, so this neither hangs nor validates.
    with pytest.raises(InvalidConfig):
        parse_config(bomb + "enabled: [1]\n")


def test_alias_bomb_stays_fast() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 20):
        prev, name = f"l{i - 1}" if i > 1 else "a", f"l{i}"
        levels.append(f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    with pytest.raises(InvalidConfig) as caught:
        parse_config("\n".join(levels) + "\nenabled: false\n")
    assert caught.value.errors[0].message == "unknown key a"


def test_shipped_default_file_equals_the_model_defaults() -> None:
    from pathlib import Path

    text = (Path(__file__).parent.parent / "config" / "default.yml").read_text()
    assert parse_config(text) == RepoConfig()


def test_unknown_key_suggests_the_near_one() -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_config("test_generation:\n  enabled: true\n  flakey_runs: 3\n")
    error = caught.value.errors[0]
    assert error.message == "unknown key test_generation.flakey_runs (did you mean flaky_runs?)"
    assert (error.line, error.column) == (3, 3)


def test_enum_values_are_checked() -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_config("test_generation:\n  delivery: email\n")
    assert caught.value.errors[0].line == 2
    assert "delivery" in caught.value.errors[0].message


def test_extends_is_read_by_its_alias() -> None:
    assert parse_config("_extends: .github\n").extends == ".github"


def test_generated_documents_are_current() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parent.parent
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "generate_config_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
