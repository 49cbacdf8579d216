"""The `tandem` command line: its commands and options (:mod:`tandem.cli` runs them)."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
from pathlib import Path
from typing import Any

# What `tandem --help` says first.
DESCRIPTION = """The `tandem` command: run (both parts on a local git repository), serve (web),
worker (arq), up (both, with an embedded Redis), and `config validate` / `config show` for
`.github/tandem.yml`."""
DEFAULTS = argparse.ArgumentDefaultsHelpFormatter
DEFAULT_CONFIG = Path(".github/tandem.yml")
# `--patch` without a file: tandem-tests.patch in the repository (the demo's too), where the
# "file exists" fallback puts it as well.
PATCH_IN_REPO = Path("tandem-tests.patch")


def tandem_version() -> str:
    try:
        return importlib.metadata.version("tandem")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    defaults = DEFAULTS
    root = argparse.ArgumentParser(prog="tandem", description=DESCRIPTION, formatter_class=defaults)
    root.add_argument("--version", action="version", version=f"tandem {tandem_version()}")
    root.add_argument(
        "--log-level",
        default=os.environ.get("TANDEM_LOG_LEVEL", "info"),
        help="debug, info, warning or error (TANDEM_LOG_LEVEL)",
    )
    root.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("TANDEM_LOG_FORMAT", "text"),
        help="text lines, or one JSON object a line with the delivery, run key, repository, "
        "PR, head sha and part it concerns (TANDEM_LOG_FORMAT)",
    )
    commands = root.add_subparsers(
        dest="command", required=True, metavar="{serve,up,worker,run,config}"
    )
    for name, helptext in (
        ("serve", "run the web app that receives GitHub webhooks"),
        ("up", "web app + worker in one process; embedded Redis if TANDEM_REDIS_URL is unset"),
    ):
        description = helptext[0].upper() + helptext[1:] + "."
        command = commands.add_parser(
            name, help=helptext, description=description, formatter_class=defaults
        )
        command.add_argument("--host", default="127.0.0.1", help="the address to listen on")
        command.add_argument("--port", type=int, default=8000, help="the port to listen on")
    _add_worker(commands)
    _add_run(commands)
    _add_config(commands)
    return root


def _add_worker(commands: Any) -> None:
    defaults = DEFAULTS
    worker = commands.add_parser(
        "worker",
        help="run the arq worker that does the runs",
        description="Run the arq worker that does the runs (needs TANDEM_REDIS_URL; "
        "`tandem up` brings an embedded Redis and a worker in one process). It waits out a "
        "Redis outage and keeps its running jobs.",
        formatter_class=defaults,
    )
    worker.add_argument(
        "--health-port",
        type=int,
        default=None,
        help="serve GET /healthz on this port: 200 while Redis answers the worker, 503 while "
        "it does not (default: no health endpoint)",
    )
    worker.add_argument(
        "--health-host", default="127.0.0.1", help="the address the health endpoint listens on"
    )
    worker.add_argument(
        "--grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM or Ctrl-C, how long running jobs may take to finish before they are "
        "cancelled (their sandbox commands killed, their temp dirs removed; arq runs them "
        "again on a worker later)",
    )


def _add_run(commands: Any) -> None:
    defaults = DEFAULTS
    run = commands.add_parser(
        "run",
        formatter_class=defaults,
        help="generate tests for and review a change in a local git repository (no GitHub)",
        description="Generate tests for and review the change base...head of a local git "
        "repository, as the check run would. Kept tests are written into the working tree "
        "(never over existing files), or to a patch with --patch. Exits 1 when the check run "
        "would fail, 2 on bad input.",
    )
    run.add_argument("--repo", type=Path, default=Path("."), help="the repository (default .)")
    run.add_argument("--base", help="the branch or commit the change is against, e.g. main")
    run.add_argument("--head", default=None, help="the changed commit (default HEAD)")
    run.add_argument(
        "--patch",
        nargs="?",
        type=Path,
        const=PATCH_IN_REPO,
        default=None,
        metavar="FILE",
        help="write kept tests to this patch file instead (FILE defaults to "
        "tandem-tests.patch in the repository)",
    )
    run.add_argument(
        "--sandbox",
        choices=("local", "docker"),
        default=None,
        help="where the tests run (default: TANDEM_SANDBOX, else local)",
    )
    run.add_argument(
        "--config", type=Path, default=None, help="a tandem.yml to use instead of the repo's"
    )
    run.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    run.add_argument(
        "--demo",
        action="store_true",
        help="make a small demo repository (in the data dir) and run on it",
    )


def _add_config(commands: Any) -> None:
    defaults = DEFAULTS
    config = commands.add_parser(
        "config",
        help="check or show .github/tandem.yml",
        description="Check a tandem.yml file, or show a repository's effective config.",
    )
    config_commands = config.add_subparsers(
        dest="config_command", required=True, metavar="{validate,show}"
    )
    validate = config_commands.add_parser(
        "validate",
        help="check a tandem.yml file; exits non-zero on errors",
        description="Check a tandem.yml file with the messages a check run would show. Exits 1 "
        "on errors, 2 when the file cannot be read; without the file the defaults apply.",
        formatter_class=defaults,
    )
    validate.add_argument(
        "file", nargs="?", type=Path, default=DEFAULT_CONFIG, help="the file to check"
    )
    show = config_commands.add_parser(
        "show",
        help="print a repository's effective (merged) config, read through the GitHub App "
        "(needs TANDEM_GITHUB_APP_ID and TANDEM_GITHUB_PRIVATE_KEY_PATH)",
        description="Print a repository's effective (merged) config, read through the GitHub "
        "App (needs TANDEM_GITHUB_APP_ID and TANDEM_GITHUB_PRIVATE_KEY_PATH).",
        formatter_class=defaults,
    )
    show.add_argument("--repo", required=True, help="owner/name")
    show.add_argument("--ref", default=None, help="branch, tag or sha (default branch if unset)")
