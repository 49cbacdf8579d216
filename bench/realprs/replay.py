"""Replaying a real commit as a pull request: a working clone whose ``base`` is the commit's
parent and whose ``head`` is the commit without its author's test changes, then ``tandem run``
on it (offline engine: no LLM settings in its environment), with a timeout."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.realprs.cases import Case
from jobs import git as jobs_git

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "realprs",
    "GIT_AUTHOR_EMAIL": "realprs@example.invalid",
    "GIT_COMMITTER_NAME": "realprs",
    "GIT_COMMITTER_EMAIL": "realprs@example.invalid",
}


class ReplayError(Exception):
    """The case could not be set up (a git step failed); the message says which."""


def git(repo: Path | None, *args: str) -> str:
    """Run git in ``repo`` (a clone of our own, never the Tandem checkout) with Tandem's one
    hardened runner; its stdout."""
    try:
        done = jobs_git.run(repo, *args, env=GIT_IDENTITY)
    except jobs_git.GitError as exc:
        raise ReplayError(f"git {' '.join(args[:3])}: {exc.stderr.splitlines()[-1:]}") from None
    return done.stdout.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Replay:
    """The clone and the two commits of the replayed pull request."""

    clone: Path
    base: str  # the commit's parent
    head: str  # the commit's tree without the author's test changes
    commit: str  # the real commit (= head + the author's tests)


def make_replay(case: Case, mirror: Path, into: Path) -> Replay:
    """Clone the mirror into ``into`` and commit the pull request's head there."""
    git(None, "clone", "-q", "--no-checkout", str(mirror), str(into))
    base = git(into, "rev-parse", f"{case.commit}^").strip()
    git(into, "checkout", "-q", "--detach", case.commit)
    for path in case.tests:
        if git(into, "ls-tree", "--name-only", base, "--", path).strip():
            git(into, "checkout", "-q", base, "--", path)
        else:
            git(into, "rm", "-q", "--", path)
    if not git(into, "diff", "--cached", "--name-only").strip():
        raise ReplayError(f"the author's test files {list(case.tests)} are unchanged by the commit")
    git(into, "commit", "-q", "--no-verify", "-m", f"{case.description} (without its tests)")
    head = git(into, "rev-parse", "HEAD").strip()
    git(into, "branch", "-f", "realpr-base", base)
    git(into, "branch", "-f", "realpr-head", head)
    return Replay(clone=into, base=base, head=head, commit=case.commit)


@dataclass
class TandemRun:
    """What ``tandem run`` did: its exit, its JSON report and the patch of kept tests."""

    returncode: int | None  # None: killed at the timeout
    seconds: float
    report: dict[str, Any] | None
    patch: str
    log_tail: list[str] = field(default_factory=list)

    @property
    def crashed(self) -> bool:
        """Exit 0 (pass) and 1 (check would fail) are normal; anything else, or no report."""
        return self.returncode not in (0, 1) or self.report is None


def tandem_environment() -> dict[str, str]:
    """The caller's environment without any LLM settings, so the offline engine runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_LLM", "LLM_"))}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env


def run_tandem(tandem: Path, replay: Replay, outdir: Path, timeout: float) -> TandemRun:
    """``tandem run`` on the replayed pull request; killed (its whole group) at the timeout."""
    report_file, patch_file, log_file = (
        outdir / "tandem.json",
        outdir / "tandem.patch",
        outdir / "tandem.log",
    )
    command = [
        str(tandem), "run", "--repo", str(replay.clone), "--base", replay.base,
        "--head", replay.head, "--json", str(report_file), "--patch", str(patch_file),
        "--sandbox", "local",
    ]  # fmt: skip
    started = time.monotonic()
    with log_file.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=tandem_environment(),
            cwd=outdir,
            start_new_session=True,
        )
        returncode: int | None
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            returncode = None
        except BaseException:  # interrupted: its own session would outlive us
            os.killpg(process.pid, signal.SIGKILL)
            raise
    seconds = time.monotonic() - started
    report: dict[str, Any] | None = None
    if report_file.exists():
        try:
            report = json.loads(report_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            report = None
    patch = patch_file.read_text(encoding="utf-8") if patch_file.exists() else ""
    tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
    return TandemRun(returncode, seconds, report, patch, tail)


def generate_part(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The generate-tests part's result in Tandem's JSON report, if it has one."""
    for part in (report or {}).get("parts", []):
        if str(part.get("part", "")).startswith("generate"):
            return dict(part)
    return None


# An engine that broke is reported by Tandem in the summary's notes ("`x.py`: Pynguin failed:
# got negative size") while the part may still say "ok".
ENGINE_FAILURE = re.compile(r"\b(Pynguin|CrossHair|engine)\b[^\n]*?\bfailed\b[^\n]*", re.I)


def engine_failure(part: dict[str, Any]) -> str | None:
    """The decisive line if the generate-tests part failed or an engine broke, else None."""
    found = ENGINE_FAILURE.search(str(part.get("summary", "")))
    if found:
        return found.group(0).strip()[:200]
    if part.get("status") == "failed":
        return str(part.get("headline", "failed"))
    return None
