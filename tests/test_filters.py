from dataclasses import replace

from bot.filters import path_filter, select_paths, skip_reason
from core.repo_config import RepoConfig
from core.repo_config_file import parse_config
from tests.test_state import make_pr


def test_defaults_run_an_ordinary_pull_request() -> None:
    assert skip_reason(RepoConfig(), make_pr(), "opened") is None


def test_each_trigger_rule_gives_its_reason() -> None:
    pr = make_pr()
    config = RepoConfig()
    assert "disabled" in (skip_reason(parse_config("enabled: false"), pr, "opened") or "")
    only_opened = parse_config("triggers:\n  events: [opened]\n")
    assert skip_reason(only_opened, pr, "synchronize") == (
        "pull_request.synchronize is not in triggers.events"
    )
    assert "draft" in (skip_reason(config, replace(pr, draft=True), "opened") or "")
    assert (
        skip_reason(parse_config("triggers:\n  drafts: true\n"), replace(pr, draft=True), "opened")
        is None
    )
    assert skip_reason(config, replace(pr, author="dependabot[bot]"), "opened") == (
        "author dependabot[bot] is in triggers.skip_authors"
    )
    assert skip_reason(config, replace(pr, labels=("bug", "skip-tandem")), "opened") == (
        "label skip-tandem is in triggers.skip_labels"
    )
    release_only = parse_config("triggers:\n  branches: ['release/*']\n")
    assert skip_reason(release_only, pr, "opened") == (
        "base branch main matches none of triggers.branches"
    )
    assert skip_reason(release_only, replace(pr, base_ref="release/2.0"), "opened") is None


def test_paths_include_and_exclude_like_gitignore() -> None:
    config = parse_config(
        "paths:\n  include: ['src/**', '*.py']\n  exclude: ['**/generated/**', 'setup.py']\n"
    )
    selected = path_filter(config)
    assert selected("src/app/core.py")
    assert selected("tool.py")
    assert not selected("setup.py")
    assert not selected("src/generated/models.py")
    assert not selected("docs/index.md")
    assert select_paths(RepoConfig(), ["a.py", "vendor/x.py", "app/migrations/0001.py"]) == ["a.py"]


def test_labels_survive_the_round_trip_through_redis_json() -> None:
    pr = replace(make_pr(), labels=("a", "b"))
    assert type(pr).from_dict(pr.to_dict()) == pr
