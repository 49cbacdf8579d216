"""bench/realprs's case builder, on a small upstream repository that the test makes: each case
is built from a mirror (or a clone from a forge) into a cache, checked against the tree id
cases.toml records, and replayed as base, head without the author's tests, and the author's
commit (git only, no Tandem run)."""

from __future__ import annotations

import io
import shutil
import subprocess
from contextlib import redirect_stdout
from dataclasses import replace
from pathlib import Path

import pytest

from bench.realprs.__main__ import main as bench_main
from bench.realprs.build import (
    AUTHORS_BRANCH,
    MissingMirror,
    case_repo,
    prepare,
)
from bench.realprs.cases import SPLITS, Case, load_cases
from bench.realprs.gitrun import ReplayError
from bench.realprs.replay import make_replay

IDENTITY = {
    "GIT_AUTHOR_NAME": "Upstream",
    "GIT_AUTHOR_EMAIL": "upstream@example.invalid",
    "GIT_COMMITTER_NAME": "Upstream",
    "GIT_COMMITTER_EMAIL": "upstream@example.invalid",
    "GIT_AUTHOR_DATE": "1700000000 +0000",
    "GIT_COMMITTER_DATE": "1700000000 +0000",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, env=IDENTITY
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str | None], message: str) -> str:
    for relative, text in files.items():
        if text is None:
            git(repo, "rm", "-q", relative)
            continue
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text(text, encoding="utf-8")
        git(repo, "add", relative)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


MOD_1 = "def f(x):\n    return x\n"
MOD_2 = "def f(x):\n    return -x if x < 0 else x\n"
MOD_3 = MOD_2 + "\n\ndef g(x):\n    return 2 * x\n"
TEST_1 = "from pkg.mod import f\n\n\ndef test_f():\n    assert f(1) == 1\n"
TEST_2 = TEST_1 + "\n\ndef test_negative():\n    assert f(-1) == 1\n"
TEST_NEW = "from pkg.mod import g\n\n\ndef test_g():\n    assert g(2) == 4\n"


@pytest.fixture
def upstream(tmp_path: Path) -> dict[str, str]:
    """acme/widgets: a first commit, one that changes f and its test file, one that adds g
    with a new test file. Its commits and trees by name, and its path as ``path``."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    first = commit(
        repo, {"LICENSE": "MIT\n", "pkg/__init__.py": "", "pkg/mod.py": MOD_1,
               "tests/test_mod.py": TEST_1}, "first",
    )  # fmt: skip
    second = commit(repo, {"pkg/mod.py": MOD_2, "tests/test_mod.py": TEST_2}, "f: negatives")
    third = commit(repo, {"pkg/mod.py": MOD_3, "tests/test_new.py": TEST_NEW}, "g")
    named = {"first": first, "second": second, "third": third, "path": str(repo)}
    for name in ("first", "second", "third"):
        named[f"{name}_tree"] = git(repo, "rev-parse", f"{named[name]}^{{tree}}")
    return named


def case_of(up: dict[str, str], which: str, tests: tuple[str, ...]) -> Case:
    return Case(
        name="widgets-" + which,
        repo="acme/widgets",
        commit=up[which],
        tree=up[f"{which}_tree"],
        split="dev",
        description=f"widgets {which}",
        tests=tests,
    )


def mirror(up: dict[str, str], mirrors: Path, how: str = "--mirror") -> Path:
    """The upstream repository cloned where the bench looks for it (--mirror: bare)."""
    where = mirrors / "acme+widgets" / "repo"
    where.parent.mkdir(parents=True)
    git(where.parent, "clone", "-q", *([how] if how else []), up["path"], str(where))
    return where


def show(repo: Path, rev: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "show", f"{rev}:{path}"], capture_output=True, text=True
    )
    return done.stdout if done.returncode == 0 else None


@pytest.mark.parametrize("how", ["--mirror", ""], ids=["bare-mirror", "plain-clone"])
def test_a_case_is_built_from_its_mirror_into_the_cache_and_replayed(
    upstream: dict[str, str], tmp_path: Path, how: str
) -> None:
    changed = case_of(upstream, "second", ("tests/test_mod.py",))
    added = case_of(upstream, "third", ("tests/test_new.py",))
    mirrors, cache = tmp_path / "mirrors", tmp_path / "cache"
    mirror(upstream, mirrors, how)
    built = {case.name: prepare(case, cache, mirrors) for case in (changed, added)}
    assert built[changed.name] == case_repo(changed, cache)
    # The cache needs no mirror: its objects are its own.
    shutil.rmtree(mirrors)
    for case in (changed, added):
        assert not (built[case.name] / "objects" / "info" / "alternates").exists()
        assert prepare(case, cache, mirrors) == built[case.name]  # it fits: not built again

    replay = make_replay(changed, built[changed.name], tmp_path / "changed")
    clone = replay.clone
    assert git(clone, "rev-parse", f"{replay.base}^{{tree}}") == upstream["first_tree"]
    assert git(clone, "rev-parse", f"{replay.commit}^{{tree}}") == upstream["second_tree"]
    assert git(clone, "rev-parse", f"{replay.head}^") == replay.base
    assert git(clone, "rev-parse", f"{replay.commit}^") == replay.head
    # The head is the commit without its author's test changes: the library change only.
    assert git(clone, "diff", "--name-only", replay.base, replay.head) == "pkg/mod.py"
    assert show(clone, replay.head, "tests/test_mod.py") == TEST_1
    assert git(clone, "diff", "--name-only", replay.head, replay.commit) == "tests/test_mod.py"
    # Checked out: the head, clean, with the branches the measurement uses.
    assert git(clone, "rev-parse", "HEAD") == replay.head
    assert git(clone, "status", "--porcelain") == ""
    assert git(clone, "rev-parse", AUTHORS_BRANCH) == replay.commit

    # A test file the commit added is absent from the head.
    replay = make_replay(added, built[added.name], tmp_path / "added")
    assert show(replay.clone, replay.head, "tests/test_new.py") is None
    assert show(replay.clone, replay.head, "pkg/mod.py") == MOD_3
    assert show(replay.clone, replay.commit, "tests/test_new.py") == TEST_NEW


def test_a_rebuild_gives_the_same_commits(upstream: dict[str, str], tmp_path: Path) -> None:
    case = case_of(upstream, "second", ("tests/test_mod.py",))
    mirror(upstream, tmp_path / "mirrors")
    first = make_replay(case, prepare(case, tmp_path / "a", tmp_path / "mirrors"), tmp_path / "1")
    again = prepare(case, tmp_path / "b", tmp_path / "mirrors", rebuild=True)
    second = make_replay(case, again, tmp_path / "2")
    assert (second.base, second.head, second.commit) == (first.base, first.head, first.commit)


def test_a_commit_whose_tree_is_not_the_recorded_one_is_refused(
    upstream: dict[str, str], tmp_path: Path
) -> None:
    case = case_of(upstream, "second", ("tests/test_mod.py",))
    wrong = replace(case, tree=upstream["third_tree"])
    mirror(upstream, tmp_path / "mirrors")
    with pytest.raises(ReplayError, match=f"has tree {case.tree} .*says {wrong.tree}"):
        prepare(wrong, tmp_path / "cache", tmp_path / "mirrors")
    assert not case_repo(wrong, tmp_path / "cache").exists()


def test_a_cached_repository_that_no_longer_fits_is_refused_and_built_again(
    upstream: dict[str, str], tmp_path: Path
) -> None:
    case = case_of(upstream, "second", ("tests/test_mod.py",))
    moved = replace(case, commit=upstream["third"], tree=upstream["third_tree"])
    retested = replace(case, tests=("tests/test_mod.py", "LICENSE"))
    cache, mirrors = tmp_path / "cache", tmp_path / "mirrors"
    mirror(upstream, mirrors)
    built = prepare(case, cache, mirrors)
    with pytest.raises(ReplayError, match="does not fit.*built from commit"):
        make_replay(moved, built, tmp_path / "moved")
    with pytest.raises(ReplayError, match="does not fit.*built with tests"):
        make_replay(retested, built, tmp_path / "retested")
    moved = replace(moved, tests=("tests/test_new.py",))
    replay = make_replay(moved, prepare(moved, cache, mirrors), tmp_path / "rebuilt")
    assert git(replay.clone, "rev-parse", f"{replay.commit}^{{tree}}") == moved.tree


def test_test_files_the_commit_does_not_change_are_refused(
    upstream: dict[str, str], tmp_path: Path
) -> None:
    mirror(upstream, tmp_path / "mirrors")
    same = case_of(upstream, "second", ("LICENSE",))
    with pytest.raises(ReplayError, match="unchanged"):
        prepare(same, tmp_path / "cache", tmp_path / "mirrors")
    nowhere = case_of(upstream, "second", ("tests/test_new.py",))
    with pytest.raises(ReplayError, match="in neither"):
        prepare(nowhere, tmp_path / "cache", tmp_path / "mirrors")


def test_a_missing_mirror_or_commit_is_one_line_that_says_how_to_get_it(
    upstream: dict[str, str], tmp_path: Path
) -> None:
    case = case_of(upstream, "third", ("tests/test_new.py",))
    empty = tmp_path / "empty"
    with pytest.raises(MissingMirror) as missing:
        prepare(case, tmp_path / "cache", empty)
    where = empty / "acme+widgets" / "repo"
    assert str(missing.value) == (
        f"no mirror of acme/widgets at {where}: "
        f"get it with git clone --mirror https://github.com/acme/widgets {where}"
    )
    # A mirror from before the commit.
    old = mirror(upstream, tmp_path / "old")
    git(old, "update-ref", "refs/heads/main", upstream["second"])
    git(old, "reflog", "expire", "--expire=now", "--all")
    git(old, "gc", "-q", "--prune=now")
    with pytest.raises(MissingMirror, match=f"lacks commit {case.commit}: update it") as lacks:
        prepare(case, tmp_path / "cache", tmp_path / "old")
    assert "\n" not in str(lacks.value)


def test_without_mirrors_the_bench_clones_from_the_forge_into_its_cache(
    upstream: dict[str, str], tmp_path: Path
) -> None:
    case = case_of(upstream, "second", ("tests/test_mod.py",))
    forge = tmp_path / "forge"
    (forge / "acme").mkdir(parents=True)
    git(forge, "clone", "-q", "--bare", upstream["path"], str(forge / "acme" / "widgets"))
    cache = tmp_path / "cache"
    built = prepare(case, cache, None, forge=f"file://{forge}")
    assert (cache / "mirrors" / "acme+widgets" / "repo" / "HEAD").is_file()
    assert make_replay(case, built, tmp_path / "clone").commit
    shutil.rmtree(forge)
    other = replace(case, name="widgets-again")  # built from the cache's clone, not the forge
    assert prepare(other, cache, None, forge=f"file://{forge}") == case_repo(other, cache)
    with pytest.raises(MissingMirror, match="^no mirror of acme/widgets .*--mirrors DIR") as exc:
        prepare(other, tmp_path / "cold", None, forge=f"file://{forge}")
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "cold" / "mirrors" / "acme+widgets" / "repo").exists()


def test_the_bench_says_in_one_line_which_mirror_is_missing(tmp_path: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        code = bench_main(
            ["--work", str(tmp_path / "work"), "--cache", str(tmp_path / "cache"),
             "--mirrors", str(tmp_path / "none"), "--case", "tomli-loads-typeerror"]
        )  # fmt: skip
    assert code == 0
    where = tmp_path / "none" / "hukkin+tomli" / "repo"
    line = (
        f"  skipped: no mirror of hukkin/tomli at {where}: "
        f"get it with git clone --mirror https://github.com/hukkin/tomli {where}"
    )
    assert line in out.getvalue().splitlines()


def test_the_cases_are_data_split_by_project() -> None:
    cases = load_cases()
    assert {c.split for c in cases} == set(SPLITS)
    for repo in {c.repo for c in cases}:
        assert len({c.split for c in cases if c.repo == repo}) == 1, repo
    # The bench is a recipe: its own code and the cases as data, no other project's files.
    bench = Path(__file__).parents[1] / "bench" / "realprs"
    files = [p for p in bench.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files and all(p.suffix in (".py", ".md", ".toml") for p in files), files


def test_a_malformed_case_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "cases.toml"
    entry = (
        '[[case]]\nname = "x"\nrepo = "acme/widgets"\ncommit = "{commit}"\ntree = "{tree}"\n'
        'split = "{split}"\ndescription = "d"\ntests = ["t.py"]\n'
    )
    toml.write_text(entry.format(commit="a" * 40, tree="b" * 40, split="dev"), encoding="utf-8")
    assert load_cases(toml)[0].tree == "b" * 40
    for bad, message in (
        ({"commit": "a" * 40, "tree": "abc", "split": "dev"}, "tree 'abc' is not"),
        ({"commit": "a" * 40, "tree": "b" * 40, "split": "test"}, "split 'test' is not"),
    ):
        toml.write_text(entry.format(**bad), encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_cases(toml)
