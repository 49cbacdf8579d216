"""The `tandem` command: run (both parts on a local git repository), serve (web), worker (arq),
up (both, with an embedded Redis), and `config validate` / `config show` for
`.github/tandem.yml`."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import os
import secrets
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import redis.exceptions
from aiohttp import web

from bot.app import create_app
from core.connections import EmbeddedRedis, PortUnavailable, listen, start_embedded_redis
from core.redaction import redact_credentials
from core.settings import Settings, SettingsError, load_settings

log = logging.getLogger("tandem")
DEFAULT_CONFIG = Path(".github/tandem.yml")
# `--patch` without a file: tandem-tests.patch in the repository (the demo's too), where the
# "file exists" fallback puts it as well.
PATCH_IN_REPO = Path("tandem-tests.patch")


class CliError(Exception):
    """Bad input or a local problem, said in one line (exit 2)."""


def tandem_version() -> str:
    try:
        return importlib.metadata.version("tandem")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def configure_logging(args: argparse.Namespace, settings: Settings | None = None) -> None:
    """Text or JSON lines (--log-format / TANDEM_LOG_FORMAT), the settings' secrets masked."""
    from core import logs

    secrets = settings.secret_values() if settings is not None else ()
    try:
        logs.configure(args.log_level, args.log_format, secrets)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


async def serve_web(
    settings: Settings, host: str, port: int, *, accept_runs: bool
) -> web.AppRunner:
    runner = web.AppRunner(create_app(settings, accept_runs=accept_runs), access_log=None)
    await runner.setup()
    try:
        await listen(runner, host, port)
    except PortUnavailable as exc:
        raise CliError(f"{exc}; choose another with --port") from exc
    log.info("listening on http://%s:%d (POST /webhook, GET /healthz)", host, port)
    return runner


async def wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_serve(settings: Settings, host: str, port: int) -> None:
    runner = await serve_web(settings, host, port, accept_runs=True)
    try:
        await wait_for_stop()
    finally:
        await runner.cleanup()


def run_worker(
    settings: Settings, health_host: str, health_port: int | None, grace_s: float
) -> None:
    from jobs.health import HealthPortError, serve_health
    from jobs.worker import build_workers, run_workers, warn_if_local

    async def work() -> None:
        # arq binds a Worker to the event loop that is current when it is built.
        workers = build_workers(settings)
        warn_if_local(settings)
        if health_port is None:
            await run_workers(workers, grace_s=grace_s)
            return
        try:
            health = await serve_health(workers, health_host, health_port)
        except HealthPortError as exc:
            raise CliError(f"{exc}; choose another with --health-port") from exc
        log.info("worker health on http://%s:%d/healthz", health_host, health_port)
        try:
            await run_workers(workers, grace_s=grace_s)
        finally:
            await health.cleanup()

    try:
        asyncio.run(work())
    except (redis.exceptions.ConnectionError, ConnectionError) as exc:
        raise CliError(
            f"cannot reach Redis at {redact_credentials(str(settings.redis_url))} ({exc}); "
            "start one, or "
            "run `tandem up`, which brings an embedded Redis and a worker in one process"
        ) from exc


def dev_webhook_secret(data_dir: Path) -> str:
    """`tandem up` on a fresh machine: make a webhook secret once and keep it in the data dir."""
    path = data_dir / "webhook-secret"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


async def run_up(settings: Settings, host: str, port: int) -> None:
    embedded: EmbeddedRedis | None = None
    if settings.redis_url is None:
        embedded = start_embedded_redis(settings.data_dir / "redis")
        settings = settings.model_copy(update={"redis_url": embedded.url})
        log.info("embedded redis-server on %s (data in %s)", embedded.url, embedded.data_dir)
    if settings.webhook_secret is None:
        from pydantic import SecretStr

        secret = dev_webhook_secret(settings.data_dir)
        settings = settings.model_copy(update={"webhook_secret": SecretStr(secret)})
        log.info(
            "TANDEM_WEBHOOK_SECRET not set: using the generated secret in %s "
            "(paste it into your GitHub App's webhook settings)",
            settings.data_dir.resolve() / "webhook-secret",
        )
    workers: tuple[Any, ...] = ()
    try:
        if settings.github_configured:
            from jobs.worker import build_workers, run_workers, warn_if_local

            workers = build_workers(settings)
            warn_if_local(settings)
        else:
            log.warning(
                "TANDEM_GITHUB_APP_ID / TANDEM_GITHUB_PRIVATE_KEY_PATH not set: the web app "
                "answers pings and /healthz, and refuses pull-request deliveries with 503 "
                "until a GitHub App is configured (see README)"
            )
        runner = await serve_web(settings, host, port, accept_runs=bool(workers))
        try:
            if workers:
                await run_workers(workers)
            else:
                await wait_for_stop()
        finally:
            await runner.cleanup()
    finally:
        if embedded is not None:
            embedded.stop()


def config_validate(path: Path) -> int:
    """Check one tandem.yml with the messages a check run would show; 1 on errors."""
    from core.repo_config import InvalidConfig, read_config_file

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path != DEFAULT_CONFIG:
            print(f"tandem config validate: {path} does not exist", file=sys.stderr)
            return 2
        print(f"{path}: no such file; the defaults apply")
        return 0
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.__class__.__name__
        print(f"tandem config validate: cannot read {path}: {why}", file=sys.stderr)
        return 2
    try:
        file = read_config_file(text)
    except InvalidConfig as exc:
        for error in exc.errors:
            print(f"{path}:{error.line}:{error.column}: {error.message}")
        print(f"{path}: {len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    print(f"{path}: valid")
    if file.extends is not None:
        print(
            f"{path}: _extends: {file.extends} is merged when Tandem reads the file; "
            "`tandem config show --repo OWNER/NAME` shows the result"
        )
    return 0


async def config_show(settings: Settings, repo: str, ref: str | None) -> int:
    """Print a repository's effective config as a running installation reads it."""
    import aiohttp

    from bot.event_plan import REPO_RE
    from core import github
    from core.repo_config import CONFIG_PATH, InvalidConfig, config_yaml
    from jobs.config_loader import load_repo_config

    if not REPO_RE.match(repo):
        print(f"tandem: --repo must be owner/name, got {repo!r}", file=sys.stderr)
        return 2
    settings.require("github_app_id", "github_private_key")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        try:
            installation_id = await github.repo_installation_id(session, settings, repo)
            gh = await github.fresh_installation_client(session, settings, installation_id)
            if ref is None:
                info: dict[str, Any] = await github.with_retries(
                    lambda: gh.getitem(f"/repos/{repo}")
                )
                ref = str(info["default_branch"])
            loaded = await load_repo_config(gh, repo, ref)
        except github.GitHubError as exc:
            print(f"tandem: {repo}: {exc}", file=sys.stderr)
            return 1
        except InvalidConfig as exc:
            for error in exc.errors:
                print(f"{repo}:{CONFIG_PATH}:{error.line}:{error.column}: {error.message}")
            print(f"{repo}@{ref}: {len(exc.errors)} error(s)", file=sys.stderr)
            return 1
    sources = ", ".join(loaded.sources) or "none: the defaults"
    print(f"# effective Tandem config of {repo} at {ref}")
    print(f"# files merged (inherited first): {sources}")
    print(config_yaml(loaded.config), end="")
    return 0


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


def run_local_command(args: argparse.Namespace) -> int:
    """`tandem run`: the parts on a local repository; exit 1 if the check run would fail."""
    from rich.console import Console

    from tandem import local_run as local
    from tandem.demo import make_demo_repo

    console = Console(stderr=False)
    settings = load_settings()
    configure_logging(args, settings)
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


def parser() -> argparse.ArgumentParser:
    defaults = argparse.ArgumentDefaultsHelpFormatter
    root = argparse.ArgumentParser(prog="tandem", description=__doc__, formatter_class=defaults)
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
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        configure_logging(args)
        if args.command == "config" and args.config_command == "validate":
            return config_validate(args.file)
        if args.command == "run":
            return run_local_command(args)
        settings = load_settings()
        configure_logging(args, settings)
        if args.command == "config":
            return asyncio.run(config_show(settings, args.repo, args.ref))
        if args.command == "serve":
            settings.require("webhook_secret", "redis_url")
            asyncio.run(run_serve(settings, args.host, args.port))
        elif args.command == "worker":
            run_worker(settings, args.health_host, args.health_port, args.grace)
        elif args.command == "up":
            asyncio.run(run_up(settings, args.host, args.port))
    except SettingsError as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return 2
    except CliError as exc:
        print(f"tandem {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
