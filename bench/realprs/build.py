"""The case builder: each case's repository, made at bench time from a mirror or clone of the
upstream repository into a cache outside the Tandem tree (the repository keeps only the case
as data, in ``cases.toml``).

A case's repository is bare and has three commits on three branches:

- ``realpr-base``: the upstream commit's parent tree, unchanged;
- ``realpr-head`` (``HEAD``): the commit's tree with the author's test files (``tests``)
  restored to the parent's version, or removed if the commit added them;
- ``realpr-authors``: the commit's tree, which must be the ``tree`` that cases.toml records.

The commits have a fixed identity and the upstream commits' dates, so a rebuild gives the same
commit ids. The head's message ends in trailers (``Upstream-Commit``, ``Upstream-Tree``, one
``Test`` per test file) that say what it was built from; a cached repository whose trailers
or tree do not fit cases.toml is built again.

    python -m bench.realprs.build [--mirrors DIR] [--cache DIR] [--case NAME]

builds (again) every case, or the named ones, and prints their tree ids."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import os
import shutil
import tempfile
from dataclasses import dataclass

from bench.realprs.cases import Case, load_cases
from bench.realprs.gitrun import GIT_IDENTITY, ReplayError, git

BASE_BRANCH, HEAD_BRANCH, AUTHORS_BRANCH = "realpr-base", "realpr-head", "realpr-authors"
FORGE = "https://github.com"
# A whole upstream history over the network; the default 300 s is meant for local git.
CLONE_TIMEOUT_S = 1800.0


class MissingMirror(ReplayError):
    """The case's upstream repository (or its commit) is not at hand; the message is one line
    that says which mirror and how to get it."""


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/tandem/realprs``, or ``~/.cache/tandem/realprs``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tandem" / "realprs"


def case_repo(case: Case, cache: Path) -> Path:
    return cache / "cases" / f"{case.name}.git"


def git_dir(path: Path) -> Path | None:
    """The git directory of a bare or a plain clone at ``path``, or None. Never the repository
    that merely encloses ``path``, as ``git -C path`` would find."""
    for candidate in (path, path / ".git"):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def get_it(case: Case, where: Path, forge: str) -> str:
    return f"git clone --mirror {forge}/{case.repo} {where}"


def find_mirror(case: Case, mirrors: Path | None, cache: Path, forge: str = FORGE) -> Path:
    """The git directory of the case's upstream repository. With ``mirrors``, it must be there
    (the network is not used). Without, it is the cache's own clone, made from ``forge`` the
    first time it is needed."""
    if mirrors is not None:
        where = case.mirror(mirrors)
        found = git_dir(where)
        if found is None:
            raise MissingMirror(
                f"no mirror of {case.repo} at {where}: get it with {get_it(case, where, forge)}"
            )
        return found
    where = case.mirror(cache / "mirrors")
    found = git_dir(where)
    if found is not None:
        return found
    url = f"{forge}/{case.repo}"
    where.parent.mkdir(parents=True, exist_ok=True)
    # Cloned beside it first, so an interrupted clone never passes for a mirror.
    with tempfile.TemporaryDirectory(prefix=".clone-", dir=where.parent) as scratch:
        partial = Path(scratch) / "repo"
        try:
            git(None, "clone", "-q", "--mirror", url, str(partial), timeout_s=CLONE_TIMEOUT_S)
        except ReplayError as exc:
            raise MissingMirror(
                f"no mirror of {case.repo} ({exc}): get it with {get_it(case, where, forge)}, "
                f"or pass --mirrors DIR with it at {case.mirror(Path('DIR'))}"
            ) from None
        partial.rename(where)
    return where


@dataclass(frozen=True)
class Provenance:
    """What a case repository's head says it was built from (its message's trailers)."""

    commit: str  # the upstream commit
    tree: str  # the upstream commit's tree = the head with the author's tests
    tests: tuple[str, ...]


def head_message(case: Case, parent: str, upstream_tree: str) -> str:
    tests = "".join(f"Test: {path}\n" for path in case.tests)
    return (
        f"{case.description} (without its tests)\n\n"
        f"The case {case.name} of bench/realprs: {case.repo} commit {case.commit}\n"
        f"(parent {parent}) with the author's test changes taken out;\n"
        f"{AUTHORS_BRANCH} puts them back.\n\n"
        f"Upstream-Commit: {case.commit}\nUpstream-Tree: {upstream_tree}\n{tests}"
    )


def provenance(repo: Path, rev: str) -> Provenance:
    """The trailers of ``rev``'s message; a missing one is a ReplayError."""
    text = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    trailers: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        trailers.setdefault(key, []).append(value)
    try:
        return Provenance(
            trailers["Upstream-Commit"][0], trailers["Upstream-Tree"][0], tuple(trailers["Test"])
        )
    except KeyError as exc:
        raise ReplayError(f"{rev} in {repo} has no {exc} trailer: not a realprs case") from None


def unfit(case: Case, repo: Path) -> str | None:
    """Why the built repository ``repo`` does not fit ``case`` as cases.toml has it, if so:
    built from another commit or other test files, or its authors' tree is not ``case.tree``."""
    found = provenance(repo, HEAD_BRANCH)
    if found.commit != case.commit:
        return f"built from commit {found.commit}, cases.toml says {case.commit}"
    if found.tests != case.tests:
        return f"built with tests {list(found.tests)}, cases.toml says {list(case.tests)}"
    chain = [git(repo, "rev-parse", "--verify", f"{AUTHORS_BRANCH}~{n}").strip() for n in (1, 2)]
    if chain != [git(repo, "rev-parse", "--verify", b).strip() for b in (HEAD_BRANCH, BASE_BRANCH)]:
        return f"{AUTHORS_BRANCH} is not on {HEAD_BRANCH}, and that on {BASE_BRANCH}"
    authors = git(repo, "rev-parse", "--verify", f"{AUTHORS_BRANCH}^{{tree}}").strip()
    if authors != case.tree or found.tree != case.tree:
        return f"its tree with the author's tests is {authors}, cases.toml says {case.tree}"
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
            # git wants a work tree to remove an entry; an empty one leaves the index alone
            # otherwise, and the repository stays bare.
            empty = index.with_name("empty-worktree")
            empty.mkdir(exist_ok=True)
            git(repo, f"--work-tree={empty}", "update-index", "--force-remove", "--", path, env=env)
        else:
            raise ReplayError(f"{case.name}: {path} is in neither {case.commit} nor its parent")
    return git(repo, "write-tree", env=env).strip()


def build(case: Case, mirror: Path, dest: Path) -> Path:
    """Build the case's repository at ``dest`` (replacing what is there) from the upstream
    repository whose git directory is ``mirror``; it needs no mirror afterwards."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{case.name}-", dir=dest.parent) as scratch:
        repo, index = Path(scratch) / "repo.git", Path(scratch) / "index"
        git(None, "init", "-q", "--bare", str(repo))
        # The mirror's objects are borrowed while the commits are made.
        alternates = repo / "objects" / "info" / "alternates"
        alternates.write_text(f"{(mirror / 'objects').resolve()}\n")
        try:
            git(repo, "rev-parse", "--verify", "-q", f"{case.commit}^{{commit}}")
        except ReplayError:
            raise MissingMirror(
                f"the mirror of {case.repo} at {mirror} lacks commit {case.commit}: update it "
                f"(git --git-dir {mirror} fetch origin) or clone it again"
            ) from None
        parent = git(repo, "rev-parse", "--verify", f"{case.commit}^").strip()
        base_tree = git(repo, "rev-parse", f"{parent}^{{tree}}").strip()
        upstream_tree = git(repo, "rev-parse", f"{case.commit}^{{tree}}").strip()
        if upstream_tree != case.tree:
            raise ReplayError(
                f"{case.name}: commit {case.commit} has tree {upstream_tree} in {mirror}, "
                f"cases.toml says {case.tree}"
            )
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
        authors = git(
            repo, "commit-tree", upstream_tree, "-p", head, "-m",
            f"{case.description} (with its tests)", env=dated(repo, case.commit),
        ).strip()  # fmt: skip
        for branch, rev in ((BASE_BRANCH, base), (HEAD_BRANCH, head), (AUTHORS_BRANCH, authors)):
            git(repo, "update-ref", f"refs/heads/{branch}", rev)
        # The case's repository gets only the objects its branches reach, copied (a fetch
        # packs just those; a repack would also copy a partial clone's promisor packs whole).
        case_git = Path(scratch) / "case.git"
        git(None, "init", "-q", "--bare", str(case_git))
        git(
            case_git,
            "fetch",
            "-q",
            "--no-tags",
            str(repo),
            "refs/heads/realpr-*:refs/heads/realpr-*",
        )
        git(case_git, "symbolic-ref", "HEAD", f"refs/heads/{HEAD_BRANCH}")
        git(case_git, "fsck", "--connectivity-only", "--no-dangling")
        why = unfit(case, case_git)
        if why:
            raise ReplayError(f"{case.name}: the repository just built does not fit: {why}")
        shutil.rmtree(dest, ignore_errors=True)
        case_git.rename(dest)
    return dest


def prepare(
    case: Case, cache: Path, mirrors: Path | None, forge: str = FORGE, rebuild: bool = False
) -> Path:
    """The case's repository in ``cache``: the one there if it fits cases.toml (and not
    ``rebuild``), else built afresh from its mirror (see find_mirror)."""
    dest = case_repo(case, cache)
    if not rebuild and git_dir(dest) is not None:
        try:
            if unfit(case, dest) is None:
                return dest
        except ReplayError:
            pass  # a broken cache entry is built again
    return build(case, find_mirror(case, mirrors, cache, forge), dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realprs.build", description=__doc__)
    parser.add_argument("--mirrors", type=Path, help="<owner>+<name>/repo mirrors (no network)")
    parser.add_argument(
        "--cache", type=Path, default=default_cache(), help=f"default {default_cache()}"
    )
    parser.add_argument(
        "--forge", default=FORGE, help=f"clone from here without --mirrors ({FORGE})"
    )
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    args = parser.parse_args(argv)
    cases = load_cases()
    unknown = set(args.case or ()) - {c.name for c in cases}
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    mirrors = args.mirrors.resolve() if args.mirrors else None
    failed = 0
    for case in cases:
        if args.case and case.name not in args.case:
            continue
        try:
            repo = prepare(case, args.cache.resolve(), mirrors, args.forge, rebuild=True)
        except ReplayError as exc:
            print(f"{case.name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        trees = [
            git(repo, "rev-parse", f"{branch}^{{tree}}").strip()
            for branch in (BASE_BRANCH, HEAD_BRANCH, AUTHORS_BRANCH)
        ]
        print(f"{case.name}: base {trees[0]} head {trees[1]} authors {trees[2]} = cases.toml")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
