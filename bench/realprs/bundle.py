"""Each case stored small and offline: ``bundles/<case>.bundle`` is a ``git bundle`` of a
two-commit repository (``realpr-base`` = the upstream commit's parent tree, ``realpr-head`` =
the commit's tree without the author's test changes) and ``bundles/<case>.tests.patch`` is the
author's test changes (``git diff --binary``), which apply to the head.

    python -m bench.realprs.bundle --mirrors /work/.mirror [--case NAME] [--out DIR]

builds them from local mirrors of the upstream repositories. The commits carry fixed
identities and the upstream commits' dates, so a rebuild gives the same commit ids. The head's
message ends in trailers (``Upstream-Commit``, ``Upstream-Tree``, one ``Test`` per test file)
that say what the bundle was built from; the replay and the tests check them against
``cases.toml``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import tempfile
from dataclasses import dataclass

from bench.realprs.cases import Case, load_cases
from bench.realprs.gitrun import GIT_IDENTITY, ReplayError, git, git_bytes

BUNDLES = Path(__file__).with_name("bundles")
BASE_BRANCH, HEAD_BRANCH = "realpr-base", "realpr-head"
# One delta-search thread, so the pack inside the bundle comes out byte for byte the same.
PACK = ("-c", "pack.threads=1")


def bundle_file(case: Case, bundles: Path) -> Path:
    return bundles / f"{case.name}.bundle"


def patch_file(case: Case, bundles: Path) -> Path:
    return bundles / f"{case.name}.tests.patch"


@dataclass(frozen=True)
class Provenance:
    """What a bundle's head says it was built from (its message's trailers)."""

    commit: str  # the upstream commit
    tree: str  # the upstream commit's tree = the head with the test patch applied
    tests: tuple[str, ...]


def head_message(case: Case, parent: str, upstream_tree: str) -> str:
    tests = "".join(f"Test: {path}\n" for path in case.tests)
    return (
        f"{case.description} (without its tests)\n\n"
        f"The case {case.name} of bench/realprs: {case.repo} commit {case.commit}\n"
        f"(parent {parent}) with the author's test changes taken out;\n"
        f"{case.name}.tests.patch puts them back.\n\n"
        f"Upstream-Commit: {case.commit}\nUpstream-Tree: {upstream_tree}\n{tests}"
    )


def provenance(clone: Path, rev: str) -> Provenance:
    """The trailers of ``rev``'s message; a missing one is a ReplayError."""
    text = git(clone, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    trailers: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        trailers.setdefault(key, []).append(value)
    try:
        return Provenance(
            trailers["Upstream-Commit"][0], trailers["Upstream-Tree"][0], tuple(trailers["Test"])
        )
    except KeyError as exc:
        raise ReplayError(f"{rev} in {clone} has no {exc} trailer: not a realprs bundle") from None


def stale(case: Case, found: Provenance) -> str | None:
    """Why a bundle built from ``found`` does not fit ``case`` as cases.toml has it, if so."""
    if found.commit != case.commit:
        return f"built from commit {found.commit}, cases.toml says {case.commit}"
    if found.tests != case.tests:
        return f"built with tests {list(found.tests)}, cases.toml says {list(case.tests)}"
    return None


def dated(repo: Path, rev: str) -> dict[str, str]:
    """The fixed identity with ``rev``'s own author and committer dates."""
    author, committer = git(repo, "log", "-1", "--date=raw", "--format=%ad%n%cd", rev).split("\n")[
        :2
    ]
    return {**GIT_IDENTITY, "GIT_AUTHOR_DATE": author, "GIT_COMMITTER_DATE": committer}


def without_tests(repo: Path, case: Case, parent: str, index: Path) -> str:
    """The tree of the commit with each of its author's test files restored to the parent's
    version, or removed if the parent has none (a scratch index, no working tree)."""
    env = {"GIT_INDEX_FILE": str(index)}
    git(repo, "read-tree", case.commit, env=env)
    for path in case.tests:
        entry = git(repo, "ls-tree", "--full-tree", parent, "--", path).strip()
        if entry:
            mode, _kind, rest = entry.split(" ", 2)
            sha = rest.split("\t", 1)[0]
            git(repo, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)
        elif git(repo, "ls-tree", "--full-tree", case.commit, "--", path).strip():
            git(repo, "update-index", "--force-remove", "--", path, env=env)
        else:
            raise ReplayError(f"{case.name}: {path} is in neither {case.commit} nor its parent")
    return git(repo, "write-tree", env=env).strip()


def applied(repo: Path, tree: str, patch: Path, index: Path) -> str:
    """The tree of ``tree`` with ``patch`` applied (a scratch index, no working tree)."""
    env = {"GIT_INDEX_FILE": str(index)}
    git(repo, "read-tree", tree, env=env)
    git(repo, "apply", "--cached", str(patch), env=env)
    return git(repo, "write-tree", env=env).strip()


def build(case: Case, mirror: Path, out: Path) -> tuple[Path, Path]:
    """Write the case's bundle and test patch into ``out`` from the upstream mirror."""
    if not (mirror / "HEAD").exists():
        raise ReplayError(f"no mirror at {mirror}")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"realprs-{case.name}-") as scratch:
        repo, index = Path(scratch) / "repo.git", Path(scratch) / "index"
        git(None, "init", "-q", "--bare", str(repo))
        # The mirror's objects are borrowed, not copied; the bundle packs what it needs.
        (repo / "objects" / "info" / "alternates").write_text(f"{mirror / 'objects'}\n")
        parent = git(repo, "rev-parse", "--verify", f"{case.commit}^").strip()
        base_tree = git(repo, "rev-parse", f"{parent}^{{tree}}").strip()
        upstream_tree = git(repo, "rev-parse", f"{case.commit}^{{tree}}").strip()
        head_tree = without_tests(repo, case, parent, index)
        if head_tree == upstream_tree:
            raise ReplayError(f"the author's test files {list(case.tests)} are unchanged")
        base = git(
            repo, "commit-tree", base_tree, "-m",
            f"{case.repo} at {parent}, the parent of {case.commit}",
            env=dated(repo, parent),
        ).strip()  # fmt: skip
        head = git(
            repo, "commit-tree", head_tree, "-p", base, "-m",
            head_message(case, parent, upstream_tree), env=dated(repo, case.commit),
        ).strip()  # fmt: skip
        git(repo, "update-ref", f"refs/heads/{BASE_BRANCH}", base)
        git(repo, "update-ref", f"refs/heads/{HEAD_BRANCH}", head)
        git(repo, "symbolic-ref", "HEAD", f"refs/heads/{HEAD_BRANCH}")
        patch = patch_file(case, out)
        patch.write_bytes(
            git_bytes(repo, "diff", "--binary", "--no-renames", "--no-color", "--no-ext-diff",
                      "--no-textconv", head_tree, upstream_tree, "--", *case.tests)
        )  # fmt: skip
        if applied(repo, head_tree, patch, index) != upstream_tree:
            raise ReplayError(f"{case.name}: the head with {patch.name} is not {case.commit}")
        bundle = bundle_file(case, out)
        bundle.unlink(missing_ok=True)
        git(repo, *PACK, "bundle", "create", "-q", str(bundle), "HEAD", BASE_BRANCH, HEAD_BRANCH)
    return bundle, patch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realprs.bundle", description=__doc__)
    parser.add_argument("--mirrors", type=Path, required=True, help="<owner>+<name>/repo mirrors")
    parser.add_argument("--out", type=Path, default=BUNDLES, help=f"default {BUNDLES}")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    args = parser.parse_args(argv)
    cases = load_cases()
    unknown = set(args.case or ()) - {c.name for c in cases}
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    total, failed = 0, 0
    for case in cases:
        if args.case and case.name not in args.case:
            continue
        try:
            written = build(case, case.mirror(args.mirrors.resolve()), args.out)
        except ReplayError as exc:
            print(f"{case.name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        sizes = [p.stat().st_size for p in written]
        total += sum(sizes)
        print(f"{case.name}: bundle {sizes[0] / 1024:.0f} KiB, patch {sizes[1] / 1024:.1f} KiB")
    print(f"total {total / 1024:.0f} KiB in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
