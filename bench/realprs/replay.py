"""Replaying a real commit as a pull request: a clone of the case's repository (built by
bench.realprs.build), whose ``base`` is the commit's parent and whose ``head`` is the commit
without its author's test changes, then ``tandem run`` on it (offline engine: no LLM settings
in its environment), with a timeout."""

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

from bench.realprs.build import AUTHORS_BRANCH, BASE_BRANCH, HEAD_BRANCH, git_dir, unfit
from bench.realprs.cases import Case
from bench.realprs.gitrun import ReplayError, git


@dataclass(frozen=True)
class Replay:
    """The clone and the commits of the replayed pull request."""

    clone: Path
    base: str  # the upstream commit's parent tree
    head: str  # the upstream commit's tree without the author's test changes
    commit: str  # head + the author's tests (the upstream commit's tree)


def make_replay(case: Case, source: Path, into: Path) -> Replay:
    """Check that the case's repository ``source`` is the one cases.toml names (its commit,
    its test files, its tree), then clone it into ``into`` with the branches ``realpr-base``,
    ``realpr-head`` (checked out) and ``realpr-authors``."""
    if git_dir(source) is None:
        raise ReplayError(
            f"no case repository at {source}: build it with python -m bench.realprs.build"
        )
    why = unfit(case, source)
    if why:
        raise ReplayError(f"{source} does not fit cases.toml ({why}): rebuild it")
    git(None, "clone", "-q", str(source), str(into))  # checks out realpr-head, its HEAD
    revs = {
        branch: git(into, "rev-parse", "--verify", f"origin/{branch}").strip()
        for branch in (BASE_BRANCH, AUTHORS_BRANCH)
    }
    for branch, rev in revs.items():
        git(into, "branch", "-f", branch, rev)
    head = git(into, "rev-parse", HEAD_BRANCH).strip()
    return Replay(clone=into, base=revs[BASE_BRANCH], head=head, commit=revs[AUTHORS_BRANCH])


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


def run_tandem(
    tandem: Path, replay: Replay, outdir: Path, timeout: float, sandbox: str = "local"
) -> TandemRun:
    """``tandem run`` on the replayed pull request; killed (its whole group) at the timeout.
    ``sandbox`` docker takes its image from TANDEM_SANDBOX_IMAGE, as ``tandem run`` does."""
    report_file, patch_file, log_file = (
        outdir / "tandem.json",
        outdir / "tandem.patch",
        outdir / "tandem.log",
    )
    command = [
        str(tandem), "run", "--repo", str(replay.clone), "--base", replay.base,
        "--head", replay.head, "--json", str(report_file), "--patch", str(patch_file),
        "--sandbox", sandbox,
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
