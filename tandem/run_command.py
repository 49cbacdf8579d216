"""`tandem run`: both parts on a local git repository, no GitHub (:mod:`tandem.local_run` does
the run; this is the command around it: its input checked, SIGTERM handled, the report
printed and written)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from core.settings import Settings
from tandem.cli_parser import PATCH_IN_REPO


class Terminated(Exception):
    """SIGTERM arrived: the run was cancelled, so every sandbox command was killed with its
    process group and every temporary directory removed on the way out."""


async def until_terminated[T](work: Coroutine[Any, Any, T]) -> T:
    """Await `work`; SIGTERM cancels it as Ctrl-C does (asyncio.run cancels the main task on
    SIGINT), instead of ending the process with the sandbox's commands still running."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        return await task
    except asyncio.CancelledError:
        if terminated:
            raise Terminated() from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def patch_destination(option: Path | None, repo: Path) -> Path | None:
    """Where `--patch` writes: a given FILE as given, a bare `--patch` into the repository."""
    from tandem import local_run as local

    return repo / local.DEFAULT_PATCH if option is PATCH_IN_REPO else option


def unwritable(path: Path) -> str | None:
    """Why a report file could not be written there, checked before a run of minutes (the
    file itself is not created)."""
    target = path.resolve()
    if target.is_dir():
        return "it is a directory"
    if target.exists():
        return None if os.access(target, os.W_OK) else "permission denied"
    parent = target.parent
    if not parent.is_dir():
        return f"{parent} does not exist"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"{parent} is not writable"


def run_local_command(args: argparse.Namespace, settings: Settings) -> int:
    """`tandem run`: the parts on a local repository; exit 1 if the check run would fail."""
    from rich.console import Console

    from tandem import local_run as local
    from tandem.demo import make_demo_repo

    console = Console(stderr=False)
    # Your own repository on your own machine: its tests run here as they would for you.
    # TANDEM_SANDBOX or --sandbox docker isolates them.
    kind = args.sandbox or os.environ.get("TANDEM_SANDBOX") or "local"
    settings = settings.model_copy(update={"sandbox": kind})
    if args.demo:
        repo = make_demo_repo(settings.data_dir.resolve() / "demo")
        base, head = "main", "feature"
        console.print(f"Demo repository: {repo} (branch feature against main)", style="dim")
    else:
        if args.base is None:
            print("tandem run: --base is required (or --demo)", file=sys.stderr)
            return 2
        repo, base, head = args.repo, args.base, args.head
    try:
        run = local.prepare(repo, base, head, args.config)
    except local.LocalRunError as exc:
        print(f"tandem run: {exc}", file=sys.stderr)
        return 2
    dirty = local.dirty_paths(run.repo)
    if dirty and head in (None, "HEAD"):
        console.print(
            f"Note: {len(dirty)} file(s) have uncommitted changes; Tandem looks at commits only.",
            style="yellow",
        )
    if kind == "local":
        console.print(
            "Sandbox: local (the repository's tests run as subprocesses here, not isolated; "
            "--sandbox docker isolates them).",
            style="dim",
        )
    patch = patch_destination(args.patch, run.repo)
    for option, path in (("--json", args.json), ("--patch", patch)):
        if path is not None and (why := unwritable(path)) is not None:
            print(f"tandem run: cannot write {option} {path}: {why}", file=sys.stderr)
            return 2
    try:
        report = asyncio.run(
            until_terminated(local.run_with_progress(run, settings, console, patch))
        )
    except local.LocalRunError as exc:
        print(f"tandem run: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("tandem run: stopped (SIGTERM); nothing was written", file=sys.stderr)
        return 128 + signal.SIGTERM
    local.print_report(console, run, report)
    if args.json is not None:
        local.write_json(args.json, run, report)
    return 1 if report.conclusion == "failure" else 0
