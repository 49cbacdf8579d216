"""bench/realprs's stored cases: every case in cases.toml has a bundle and a test patch that fit
it (git only, no Tandem run)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from bench.realprs.bundle import BUNDLES, bundle_file, patch_file
from bench.realprs.cases import Case, load_cases
from bench.realprs.gitrun import ReplayError
from bench.realprs.replay import make_replay

CASES = load_cases()


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_has_a_fitting_bundle_and_test_patch(case: Case, tmp_path: Path) -> None:
    bundle, patch = bundle_file(case, BUNDLES), patch_file(case, BUNDLES)
    rebuild = "python -m bench.realprs.bundle --mirrors DIR --case " + case.name
    assert bundle.is_file(), f"no {bundle}: {rebuild}"
    assert patch.is_file(), f"no {patch}: {rebuild}"
    git(tmp_path, "init", "-q")
    git(tmp_path, "bundle", "verify", "-q", str(bundle))

    # The replay clones the bundle and refuses a stale one: built from another commit or other
    # test files than cases.toml names, or a patch that does not give the upstream tree.
    replay = make_replay(case, BUNDLES, tmp_path / "clone")
    clone = replay.clone
    assert git(clone, "rev-list", "--count", replay.head) == "2"
    assert git(clone, "rev-parse", f"{replay.head}^") == replay.base
    assert git(clone, "rev-parse", f"{replay.head}^{{tree}}") != git(
        clone, "rev-parse", f"{replay.base}^{{tree}}"
    )
    assert git(clone, "diff", "--name-only", replay.base, replay.head), "head changes nothing"

    # The clone's working tree is the head: the author's patch applies there, and only to
    # the case's test files.
    assert git(clone, "status", "--porcelain") == ""
    git(clone, "apply", "--check", str(patch))
    touched = {
        line.split("\t", 2)[2] for line in git(clone, "apply", "--numstat", str(patch)).splitlines()
    }
    assert touched, f"{patch} changes nothing"
    assert touched <= set(case.tests), f"{patch} touches {sorted(touched - set(case.tests))}"

    # The projects' licences travel with their code.
    top = git(clone, "ls-tree", "--name-only", replay.head).splitlines()
    assert any(re.match(r"(LICEN[CS]E|COPYING)", name) for name in top), top
    readme = (BUNDLES / "README.md").read_text(encoding="utf-8")
    assert case.name in readme and case.commit in readme, "bundles/README.md lacks the case"


def test_a_stale_bundle_is_refused(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "tomli-loads-typeerror")
    moved = replace(case, commit="794c8e50d676f1e8e081914eb77e4a48a4f6a20b")
    with pytest.raises(ReplayError, match="stale.*built from commit"):
        make_replay(moved, BUNDLES, tmp_path / "moved")
    retested = replace(case, tests=(*case.tests, "tests/test_misc.py"))
    with pytest.raises(ReplayError, match="stale.*built with tests"):
        make_replay(retested, BUNDLES, tmp_path / "retested")


def test_a_patch_out_of_step_with_its_bundle_is_refused(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "tomli-loads-typeerror")
    other = next(c for c in CASES if c.name == "tomli-parse-float")
    shutil.copy(bundle_file(case, BUNDLES), bundle_file(case, tmp_path))
    # Another commit's patch of the same test file does not apply to this head.
    shutil.copy(patch_file(other, BUNDLES), patch_file(case, tmp_path))
    with pytest.raises(ReplayError, match="patch does not apply"):
        make_replay(case, tmp_path, tmp_path / "other")
    # A patch that applies but does not give the upstream commit's tree.
    clone = tmp_path / "edit"
    git(tmp_path, "clone", "-q", str(bundle_file(case, BUNDLES)), str(clone))
    with (clone / case.tests[0]).open("a", encoding="utf-8") as handle:
        handle.write("\n# not the author's change\n")
    patch_file(case, tmp_path).write_text(git(clone, "diff") + "\n", encoding="utf-8")
    with pytest.raises(ReplayError, match="is not .*'s tree"):
        make_replay(case, tmp_path, tmp_path / "edited")


def test_a_missing_bundle_is_an_error_that_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match=r"no .*\.bundle: build it with"):
        make_replay(CASES[0], tmp_path, tmp_path / "clone")
