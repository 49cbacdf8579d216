"""Config inheritance (`_extends`, the organisation's `.github` repository), its errors located in
the right file, and `tandem config validate` / `tandem config show`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.repo_config import RepoConfig
from core.repo_config_file import InvalidConfig, merge_config_data
from core.settings import Settings
from jobs.config_loader import Fetch, resolve_config
from tandem.cli import config_show
from tests.fakegithub import FakeGitHub, make_app_key
from tests.harness import REPO, Harness, push_change
from tests.test_e2e import HEAD_SRC

# --- the resolver, with files in memory --------------------------------------------------------


Asked = list[tuple[str, str | None]]


def files(store: dict[str, str] | None = None) -> tuple[Fetch, Asked]:
    store = store or {}
    asked: Asked = []

    async def fetch(repo: str, ref: str | None) -> str | None:
        asked.append((repo, ref))
        return store.get(repo)

    return fetch, asked


async def test_no_file_anywhere_means_defaults() -> None:
    fetch, asked = files()
    loaded = await resolve_config(fetch, "octo/calc", "abc")
    assert loaded.config == RepoConfig() and loaded.sources == []
    assert asked == [("octo/calc", "abc"), ("octo/.github", None)]


async def test_org_default_is_used_without_a_file_of_its_own() -> None:
    fetch, _ = files({"octo/.github": "refactoring_review:\n  enabled: false\n"})
    loaded = await resolve_config(fetch, "octo/calc", "abc")
    assert loaded.config.refactoring_review.enabled is False
    assert loaded.sources == ["octo/.github:.github/tandem.yml"]


async def test_a_chain_merges_deeply_and_the_extending_file_wins() -> None:
    fetch, asked = files(
        {
            "octo/calc": "_extends: shared\ntest_generation:\n  budgets:\n    max_iterations: 7\n",
            "octo/shared": (
                "_extends: .github\ntest_generation:\n  budgets:\n    max_cost_usd: 2.5\n"
                "triggers:\n  skip_labels: [wip]\n"
            ),
            "octo/.github": (
                "test_generation:\n  budgets:\n    max_iterations: 3\n    max_wall_time_s: 60\n"
                "triggers:\n  skip_labels: [a, b]\n  drafts: true\n"
            ),
        }
    )
    loaded = await resolve_config(fetch, "octo/calc", "abc")
    budgets = loaded.config.test_generation.budgets
    assert (budgets.max_iterations, budgets.max_cost_usd, budgets.max_wall_time_s) == (7, 2.5, 60)
    assert loaded.config.triggers.skip_labels == ["wip"]  # lists replace
    assert loaded.config.triggers.drafts is True
    assert loaded.sources == [
        "octo/.github:.github/tandem.yml",
        "octo/shared:.github/tandem.yml",
        "octo/calc:.github/tandem.yml",
    ]
    # only this repository's file is read at the base commit; others at their default branch
    assert asked == [("octo/calc", "abc"), ("octo/shared", None), ("octo/.github", None)]


def test_merge_semantics() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1, "_extends": "x"}
    assert merge_config_data(base, {"a": {"c": [3]}, "_extends": "y"}) == {
        "a": {"b": 1, "c": [3]},
        "d": 1,
    }


async def test_a_cycle_is_an_error_at_the_extends_line() -> None:
    fetch, asked = files(
        {
            "octo/calc": "enabled: true\n_extends: octo/a\n",
            "octo/a": "_extends: b\n",
            "octo/b": "paths:\n  include: ['**']\n_extends: octo/calc\n",
        }
    )
    with pytest.raises(InvalidConfig) as caught:
        await resolve_config(fetch, "octo/calc", "abc")
    (error,) = caught.value.errors
    assert (error.line, error.column) == (2, 1)
    assert "in octo/a:.github/tandem.yml line 1, column 1:" in error.message
    assert "in octo/b:.github/tandem.yml line 3, column 1:" in error.message
    assert "_extends makes a cycle: octo/calc → octo/a → octo/b → octo/calc" in error.message
    assert len(asked) == 3  # no hang, no re-reading


async def test_a_long_chain_is_an_error() -> None:
    chain = {f"octo/r{i}": f"_extends: r{i + 1}\n" for i in range(10)}
    fetch, asked = files(chain)
    with pytest.raises(InvalidConfig) as caught:
        await resolve_config(fetch, "octo/r0", "abc")
    assert "chain is longer than 5 files" in caught.value.errors[0].message
    assert len(asked) == 5


async def test_an_error_in_an_inherited_file_is_located_at_the_extends_line() -> None:
    fetch, _ = files(
        {
            "octo/calc": "# ours\n\n_extends: octo/shared\n",
            "octo/shared": "test_generation:\n  enabeld: true\n",
        }
    )
    with pytest.raises(InvalidConfig) as caught:
        await resolve_config(fetch, "octo/calc", "abc")
    (error,) = caught.value.errors
    assert (error.line, error.column) == (3, 1)
    assert error.message == (
        "in octo/shared:.github/tandem.yml line 2, column 3: unknown key "
        "test_generation.enabeld (did you mean enabled?)"
    )


async def test_errors_in_this_file_stay_on_their_own_line() -> None:
    fetch, _ = files({"octo/calc": "_extends: shared\ntriggers:\n  drafts: maybe\n"})
    with pytest.raises(InvalidConfig) as caught:
        await resolve_config(fetch, "octo/calc", "abc")
    assert [(e.line, e.column) for e in caught.value.errors] == [(3, 3)]


async def test_a_missing_extends_target_and_a_bad_name_are_errors() -> None:
    fetch, _ = files({"octo/calc": "_extends: octo/nowhere\n"})
    with pytest.raises(InvalidConfig) as caught:
        await resolve_config(fetch, "octo/calc", "abc")
    assert "octo/nowhere has no .github/tandem.yml" in caught.value.errors[0].message
    fetch, _ = files({"octo/calc": "\n_extends: 'a/b/c'\n"})
    with pytest.raises(InvalidConfig) as caught:
        await resolve_config(fetch, "octo/calc", "abc")
    assert caught.value.errors[0].line == 2
    assert "is not a repository" in caught.value.errors[0].message


async def test_an_error_in_the_org_default_is_reported_at_line_one() -> None:
    fetch, _ = files({"octo/.github": "enabled: 3\n"})
    with pytest.raises(InvalidConfig) as caught:
        await resolve_config(fetch, "octo/calc", "abc")
    (error,) = caught.value.errors
    assert (error.line, error.column) == (1, 1)
    assert "organisation default octo/.github:.github/tandem.yml" in error.message
    assert "line 1, column 1: enabled: Input should be a valid boolean" in error.message


# --- end to end: the run reads the chain through the fake GitHub ------------------------------


@pytest.fixture
def org(harness: Harness) -> FakeGitHub:
    github = harness.github
    for name in ("octo/.github", "octo/shared"):
        github.create_repo(name, installation_id=9)
    return github


async def test_run_uses_the_org_default(harness: Harness, org: FakeGitHub) -> None:
    org.commit_files(
        "octo/.github", "main", {".github/tandem.yml": "test_generation:\n  enabled: false\n"}
    )
    base, head = push_change(org, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 11, head, base)
    run = await harness.completed(head)
    assert "Refactoring review" in run["output"]["summary"]
    assert "Test generation" not in run["output"]["summary"]
    assert harness.llm.requests == []


async def test_run_with_an_extends_cycle_is_annotated(harness: Harness, org: FakeGitHub) -> None:
    org.commit_files("octo/shared", "main", {".github/tandem.yml": "_extends: calc\n"})
    org.commit_files(
        REPO, "main", {".github/tandem.yml": "enabled: true\n\n_extends: octo/shared\n"}
    )
    base, head = push_change(org, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 12, head, base)
    run = await harness.completed(head)
    assert run["conclusion"] == "action_required"
    (annotation,) = org.annotations_for(run["id"])
    assert (annotation["path"], annotation["start_line"]) == (".github/tandem.yml", 3)
    assert "_extends makes a cycle: octo/calc → octo/shared → octo/calc" in annotation["message"]
    assert harness.llm.requests == []


async def test_run_with_an_error_in_an_extended_file(harness: Harness, org: FakeGitHub) -> None:
    org.commit_files(
        "octo/shared", "main", {".github/tandem.yml": "refactoring_review:\n  fail_on: [bugs]\n"}
    )
    org.commit_files(REPO, "main", {".github/tandem.yml": "_extends: shared\n"})
    base, head = push_change(org, "feature", {"calc.py": HEAD_SRC})
    await harness.start("opened", 13, head, base)
    run = await harness.completed(head)
    assert run["conclusion"] == "action_required"
    (annotation,) = org.annotations_for(run["id"])
    assert annotation["start_line"] == 1
    assert annotation["message"].startswith(
        "in octo/shared:.github/tandem.yml line 2, column 3: refactoring_review.fail_on.0:"
    )


# --- the command line -------------------------------------------------------------------------


def tandem(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tandem.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_config_validate(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("_extends: .github\nenabled: true\n")
    result = tandem("config", "validate", str(good))
    assert result.returncode == 0, result.stderr
    assert f"{good}: valid" in result.stdout and "_extends: .github" in result.stdout

    bad = tmp_path / "bad.yml"
    bad.write_text("enabled: true\ntest_generation:\n  engine: gpt\n  flaky: 2\n")
    result = tandem("config", "validate", str(bad))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{bad}:3:3: test_generation.engine:")
    assert lines[1] == f"{bad}:4:3: unknown key test_generation.flaky (did you mean flaky_runs?)"

    broken = tmp_path / "broken.yml"
    broken.write_text("enabled: [true\n")
    result = tandem("config", "validate", str(broken))
    assert result.returncode == 1 and result.stdout.startswith(f"{broken}:2:1: YAML syntax error")

    assert tandem("config", "validate", str(tmp_path / "none.yml")).returncode == 2


async def test_config_show_prints_the_merged_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = make_app_key()
    async with FakeGitHub(tmp_path / "gh", app_id=5, public_key_pem=public) as github:
        github.add_installation(41, "acme")
        github.create_repo("acme/app", installation_id=41)
        github.create_repo("acme/.github", installation_id=41)
        github.commit_files(
            "acme/.github", "main", {".github/tandem.yml": "triggers:\n  drafts: true\n"}
        )
        github.commit_files(
            "acme/app",
            "main",
            {".github/tandem.yml": "_extends: .github\ncommands:\n  reply_to_unauthorized: true\n"},
        )
        settings = Settings(
            github_app_id=5,
            github_private_key=SecretStr(private.decode()),
            github_api_url=github.url,
        )  # type: ignore[call-arg]
        assert await config_show(settings, "acme/app", None) == 0
        out = capsys.readouterr().out
        assert "# effective Tandem config of acme/app at main" in out
        assert "acme/.github:.github/tandem.yml, acme/app:.github/tandem.yml" in out
        assert "  drafts: true" in out and "  reply_to_unauthorized: true" in out
        assert "_extends" not in out.split("\n", 2)[2]
        assert github.calls_matching("GET", "/repos/acme/app/installation$")

        github.commit_files("acme/app", "main", {".github/tandem.yml": "commands: 3\n"})
        assert await config_show(settings, "acme/app", "main") == 1
        assert "acme/app:.github/tandem.yml:1:1: commands:" in capsys.readouterr().out
        assert await config_show(settings, "acme/missing", None) == 1
