"""`tandem run`: the same two parts on a local git repository, no GitHub and no Redis.

The change is ``merge-base(base, head)..head``, as on a pull request. Test generation works
in a throwaway clone of ``head`` (the working tree is never touched while it runs) through the
same ``produce_and_report`` as the worker, with a deliverer of its own; the review reads git
objects only, so it reads the repository itself. Both run at once. The report is the check
run's output, rendered by the same ``render_results`` that completes the check run on GitHub.

Kept tests go into the working tree (never over an existing file) or, with ``--patch``, into a
patch file. Redis is not needed at all: run state and fan-in exist to coordinate workers across
processes and webhooks, and a local run is one process that awaits both parts.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from core.github import CheckOutput, Conclusion
from core.part_registry import GENERATE_TESTS, REVIEW_REFACTORING, info, parts_for
from core.repo_config import CONFIG_PATH, RepoConfig
from core.repo_config_file import InvalidConfig, config_from_data, read_config_file
from core.settings import Settings
from jobs import diff, git
from jobs.agent import llm_settings_for
from jobs.checkrun import render_results
from jobs.diff import changed_lines, file_at, merge_base
from jobs.git import GitError
from jobs.review import CodeSuggestion, analyse, review_result
from jobs.sandbox import check_sandbox, open_sandbox
from jobs.state import PartResult
from jobs.testgen import ChangeToTest, Delivered, produce_and_report

DEFAULT_PATCH = "tandem-tests.patch"


class LocalRunError(Exception):
    """A local run cannot start (not a repository, unknown ref, bad config): one line."""


@dataclass
class LocalRun:
    repo: Path
    base: str  # as given, for the report
    head: str
    base_sha: str  # the merge base: what the change is measured against
    head_sha: str
    config: RepoConfig
    config_note: str = ""


@dataclass
class LocalReport:
    conclusion: Conclusion
    output: CheckOutput
    results: list[PartResult]
    written: list[str] = field(default_factory=list)
    patch_path: Path | None = None
    suggestions: list[CodeSuggestion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _git(repo: Path, *args: str) -> str:
    try:
        return git.output(repo, *args)
    except GitError as exc:
        lines = exc.stderr.splitlines()
        raise LocalRunError(lines[-1] if lines else "git failed") from None


def commit_of(repo: Path, ref: str, what: str) -> str:
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n"):
        raise LocalRunError(f"{what} {ref!r} is not a git ref")
    try:
        return diff.resolve_commit(repo, ref)
    except GitError:
        raise LocalRunError(f"{what} {ref!r}: no such commit in {repo}") from None


def config_at(repo: Path, sha: str, override: Path | None) -> tuple[RepoConfig, str]:
    """The repository's tandem.yml at the base commit, as the App reads it, or `override`.
    `_extends` names other repositories on GitHub; a local run cannot read them."""
    if override is not None:
        try:
            text: str | None = override.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LocalRunError(f"cannot read {override}: {exc.__class__.__name__}") from None
        where = str(override)
    else:
        text = file_at(repo, sha, CONFIG_PATH)
        where = f"{CONFIG_PATH} at the base commit"
    if text is None:
        return RepoConfig(), f"No {CONFIG_PATH} at the base commit: the defaults."
    try:
        file = read_config_file(text)
        config = config_from_data(file.data)
    except InvalidConfig as exc:
        first = exc.errors[0]
        more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
        raise LocalRunError(
            f"{where}:{first.line}:{first.column}: {first.message}{more}; "
            "`tandem config validate` lists them all"
        ) from None
    note = f"Config: {where}."
    if file.extends is not None:
        note += f" Its `_extends: {file.extends}` is not followed in a local run."
    return config, note


def prepare(repo: Path, base: str, head: str | None, config_path: Path | None = None) -> LocalRun:
    """Check the repository and refs and read the config, before anything runs."""
    if not repo.is_dir():
        raise LocalRunError(f"{repo} is not a directory")
    try:
        top = Path(_git(repo, "rev-parse", "--show-toplevel"))
    except LocalRunError:
        raise LocalRunError(f"{repo} is not a git repository") from None
    head = head or "HEAD"
    base_sha = commit_of(top, base, "--base")
    head_sha = commit_of(top, head, "--head")
    try:
        merge = merge_base(top, base_sha, head_sha)
    except GitError:
        raise LocalRunError(f"{base} and {head} have no common ancestor") from None
    if merge == head_sha:
        raise LocalRunError(f"{head} has no changes of its own since {base}: nothing to do")
    config, note = config_at(top, base_sha, config_path)
    return LocalRun(top, base, head, merge, head_sha, config, note)


def dirty_paths(repo: Path) -> list[str]:
    out = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return [line[3:] for line in out.splitlines() if line.strip()]


def write_tests(repo: Path, files: dict[str, str]) -> tuple[list[str], list[str]]:
    """Write kept test files into the working tree. A path that exists, or whose folder
    leads outside the repository (a symlink), is refused. Returns (written, refused)."""
    root = repo.resolve()
    written, refused = [], []
    for name, text in sorted(files.items()):
        target = root / name
        parent = target.parent.resolve()
        if not parent.is_relative_to(root) or ".." in Path(name).parts or Path(name).is_absolute():
            refused.append(f"{name} (outside the repository)")
            continue
        if target.exists() or target.is_symlink():
            refused.append(f"{name} (exists)")
            continue
        parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:  # "x": never over a file
            handle.write(text)
        written.append(name)
    return written, refused


def deliver_locally(
    run: LocalRun,
    kept: dict[str, str],
    patch: str,
    patch_path: Path | None,
    report: LocalReport,
) -> list[str]:
    """Write the kept tests (or their patch); the lines saying where they went."""
    if patch_path is not None:
        patch_path.write_text(patch, encoding="utf-8")
        report.patch_path = patch_path
        return [f"\nWritten as a patch: `{patch_path}` (apply with `git apply`)."]
    written, refused = write_tests(run.repo, kept)
    report.written = written
    delivered = []
    if written:
        delivered.append("\nWritten to the working tree: " + ", ".join(f"`{p}`" for p in written))
    if refused:
        fallback = run.repo / DEFAULT_PATCH
        fallback.write_text(patch, encoding="utf-8")
        report.patch_path = fallback
        delivered.append(
            "Not written: " + ", ".join(refused) + f"; all kept tests are in `{fallback}`."
        )
    return delivered


Progress_ = Callable[[str, str], None]  # (part, what it is doing now)


async def generate_part(
    run: LocalRun,
    settings: Settings,
    progress: Progress_,
    patch_path: Path | None,
    report: LocalReport,
) -> PartResult:
    started = time.monotonic()

    async def deliver(
        checkout: Path, kept: dict[str, str], patch: str, _evidence: str
    ) -> Delivered:
        delivered = await asyncio.to_thread(deliver_locally, run, kept, patch, patch_path, report)
        return Delivered(delivered, {"kind": "local", "url": ""})

    with tempfile.TemporaryDirectory(prefix="tandem-run-") as tmp:
        checkout = Path(tmp) / "checkout"
        progress(GENERATE_TESTS, "cloning the head commit")
        await git.run_async(None, "clone", "--quiet", "--no-checkout", str(run.repo), str(checkout))
        await git.run_async(checkout, "checkout", "--quiet", "--detach", run.head_sha)
        changed = await asyncio.to_thread(changed_lines, checkout, run.base_sha, run.head_sha)
        timings = {"clone": time.monotonic() - started}
        sandbox = open_sandbox(settings, run_key=f"local:{run.head_sha}", mount=checkout)
        try:
            result = await produce_and_report(
                sandbox,
                checkout,
                ChangeToTest(changed, run.base_sha, timings),
                run.config,
                settings,
                deliver,
                progress=lambda what: progress(GENERATE_TESTS, what),
            )
        finally:
            await sandbox.close()
    result.duration_s = time.monotonic() - started
    return result


async def review_part(
    run: LocalRun, settings: Settings, progress: Progress_, report: LocalReport
) -> PartResult:
    started = time.monotonic()
    config = run.config
    progress(REVIEW_REFACTORING, "reviewing the changed code")
    result, outcome, note = await asyncio.to_thread(
        analyse,
        run.repo,
        run.base_sha,
        run.head_sha,
        config,
        llm_settings_for(settings, config.test_generation),
    )
    if outcome is not None:
        report.suggestions = list(outcome.suggestions)
    part = review_result(result, outcome, note, config.refactoring_review)
    part.duration_s = time.monotonic() - started
    return part


async def run_local(
    run: LocalRun,
    settings: Settings,
    *,
    patch_path: Path | None = None,
    progress: Progress_ | None = None,
    finished: Callable[[PartResult], None] | None = None,
) -> LocalReport:
    """Run the parts the config enables and render the check run's output. `finished` is
    called with each part's result as soon as that part is done."""
    report = LocalReport("neutral", CheckOutput(title="", summary=""), [])
    say = progress or (lambda part, what: None)
    parts = parts_for(run.config)
    if not run.config.enabled:
        raise LocalRunError("Tandem is switched off in this repository's config (enabled: false)")
    if not parts:
        raise LocalRunError("every part is switched off in this repository's config")
    if GENERATE_TESTS in parts:
        check_sandbox(settings)  # one clear line, before anything starts
    local_parts: dict[str, Callable[[], Awaitable[PartResult]]] = {
        GENERATE_TESTS: lambda: generate_part(run, settings, say, patch_path, report),
        REVIEW_REFACTORING: lambda: review_part(run, settings, say, report),
    }

    async def run_part(name: str) -> PartResult:
        result = await local_parts[name]()
        if finished is not None:
            finished(result)
        return result

    report.results = list(await asyncio.gather(*(run_part(p) for p in parts)))
    report.conclusion, report.output = render_results(report.results)
    return report


# --- the terminal --------------------------------------------------------------------------

CONCLUSION_STYLE = {"success": "green", "neutral": "yellow", "failure": "red"}


async def run_with_progress(
    run: LocalRun, settings: Settings, console: Console, patch_path: Path | None
) -> LocalReport:
    parts = parts_for(run.config)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[part]}[/bold]"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {
            p: bar.add_task("waiting", part=info(p).heading, total=1) for p in parts
        }

        def progress(part: str, what: str) -> None:
            bar.update(tasks[part], description=what)

        def finished(result: PartResult) -> None:
            bar.update(tasks[result.part], description=result.headline, completed=1)

        async def tracked() -> LocalReport:
            return await run_local(
                run, settings, patch_path=patch_path, progress=progress, finished=finished
            )

        return await tracked()


def print_report(console: Console, run: LocalRun, report: LocalReport) -> None:
    output = report.output
    style = CONCLUSION_STYLE.get(report.conclusion, "white")
    console.rule(f"[bold]Tandem[/bold] · {run.head} against {run.base}")
    console.print(f"[bold {style}]{report.conclusion}[/bold {style}]: {output.title}")
    if run.config_note:
        console.print(run.config_note, style="dim")
    console.print(Markdown(output.summary))
    if output.annotations:
        console.rule("Annotations")
        for a in output.annotations:
            lines = (
                f"{a.start_line}" if a.end_line == a.start_line else f"{a.start_line}-{a.end_line}"
            )
            console.print(
                f"{a.path}:{lines}: [bold]{a.annotation_level}[/bold]: {a.title}",
                highlight=False,
            )
            console.print(f"    {a.message}", highlight=False, markup=False)
    if report.suggestions:
        console.rule("Suggested changes (the App posts these as a review)")
        for s in report.suggestions:
            console.print(f"{s.path}:{s.start_line}-{s.end_line}: {s.message}", markup=False)
            console.print(s.code, markup=False, highlight=False)


def report_json(run: LocalRun, report: LocalReport) -> dict[str, Any]:
    output = report.output
    return {
        "repo": str(run.repo),
        "base": run.base_sha,
        "head": run.head_sha,
        "conclusion": report.conclusion,
        "title": output.title,
        "summary": output.summary,
        "text": output.text,
        "annotations": [a.to_api() for a in output.annotations],
        "parts": [r.model_dump() for r in report.results],
        "written": report.written,
        "patch": str(report.patch_path) if report.patch_path else None,
    }


def write_json(path: Path, run: LocalRun, report: LocalReport) -> None:
    path.write_text(json.dumps(report_json(run, report), indent=2, default=str), encoding="utf-8")
