"""What the install reads back (pure but for reading the checkout's files): the checkout's
files for the planner (:class:`CheckoutFiles`), pip's output and log (the decisive line, what
was installed, what the tools already had) and the record of those for the launchers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jobs.dependencies.policy import UnreadableFile
from jobs.sandbox import decisive_line, sums_up, workdir

ENV_DIR = f"{workdir.WORK_DIR}/env"
TMP_DIR = f"{workdir.WORK_DIR}/pip-tmp"
PIP_LOG = f"{TMP_DIR}/pip.log"  # whole, where the output is a tail
MAX_FILE_BYTES = 1_000_000
MAX_PIP_LOG_BYTES = 20_000_000

_SUCCESS = re.compile(r"^Successfully installed (.+)$", re.M)
_SATISFIED = re.compile(r"Requirement already satisfied: ([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class CheckoutFiles:
    """A checkout's files for the planner: reads only regular files inside it (symlinks
    resolved), at most MAX_FILE_BYTES."""

    root: Path

    def _resolve(self, path: str) -> Path:
        return (self.root / path).resolve()

    def inside(self, path: str) -> bool:
        return self._resolve(path).is_relative_to(self.root.resolve())

    def listing(self, folder: str) -> list[str]:
        where = self.root / folder
        if where.is_symlink() or not where.is_dir() or not self.inside(folder):
            return []
        return sorted(p.name for p in where.iterdir() if p.is_file() and not p.is_symlink())

    def read(self, path: str) -> str | None:
        target = self.root / path
        if not target.exists() and not target.is_symlink():
            return None
        if not self.inside(path):
            raise UnreadableFile("points outside the repository")
        real = self._resolve(path)
        if not real.is_file():
            return None
        if real.stat().st_size > MAX_FILE_BYTES:
            raise UnreadableFile(f"larger than {MAX_FILE_BYTES} bytes")
        try:
            return real.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UnreadableFile(f"cannot be read ({type(e).__name__})") from None


def summary_line(output: str) -> str:
    """The line of pip's output that says what went wrong: its last ERROR line (also one that
    a build subprocess printed, indented), else the last line — never the closing "note: This
    error originates from a subprocess"."""
    return decisive_line(output)


# pip's frame of a failed build step ("× Getting requirements to build editable did not run
# successfully."), beside its summing-up after one (jobs.sandbox.sums_up: "ERROR: Failed to
# build 'file:///…' when getting requirements to build editable").
_BUILD_STEP_FAILED = re.compile(r"^× .*\bdid not run successfully\.?$")


def build_failed(output: str) -> bool:
    """Whether pip's output says a build failed (not a full disk, a conflict, a missing
    package or the index, which no build without the project would mend)."""
    lines = [line.strip() for line in output.splitlines()]
    return any(sums_up(line) or _BUILD_STEP_FAILED.match(line) for line in lines)


# pip's log prefixes each line with a timestamp; the decisive line is read without it.
_LOG_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:,.]+ ?", re.M)
MAX_LOG_TAIL_BYTES = 500_000


def failure_line(checkout: Path, output: str, since: int = 0) -> str:
    """What went wrong: pip's output's decisive line, unless that only sums up a failed build
    (or frames one: "× Encountered error while generating package metadata.").
    With ``--log``, pip sends a build subprocess's own output ("URLError: …", "RuntimeError: …")
    only to its log (it prints "No available output"): then the line comes from what the log
    got after byte ``since`` (this attempt); pip's own exceptions there sum up as well."""
    line = summary_line(output)
    if not (sums_up(line) or line.startswith("×") or "No available output" in output):
        return line
    try:
        with (checkout / PIP_LOG).open("rb") as f:
            f.seek(0, 2)
            f.seek(max(since, f.tell() - MAX_LOG_TAIL_BYTES))
            log = f.read().decode("utf-8", "replace")
    except OSError:
        return line
    return summary_line(_LOG_STAMP.sub("", log)) if log.strip() else line


def log_size(checkout: Path) -> int:
    try:
        return (checkout / PIP_LOG).stat().st_size
    except OSError:
        return 0


def installed_packages(output: str) -> list[str]:
    found = _SUCCESS.findall(output)
    return found[-1].split() if found else []


def already_satisfied(log_text: str) -> list[str]:
    """The distributions pip's log says the install resolved to but found installed (with the
    tools' site-packages on the venv's path: the tools' copies), sorted, each once."""
    return sorted(set(_SATISFIED.findall(log_text)))


def record_project_dists(checkout: Path) -> list[str]:
    """Tell the launchers (jobs.sandbox.scripts) which of the tools' distributions the project
    asked for, so their pytest plugins still load; returns them, for the view."""
    try:
        with (checkout / PIP_LOG).open(encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_PIP_LOG_BYTES)
    except OSError:
        text = ""
    asked = already_satisfied(text)
    (checkout / ENV_DIR / workdir.PROJECT_DISTS).write_text("".join(f"{name}\n" for name in asked))
    return asked
