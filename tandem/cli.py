"""The `tandem` command: run (both parts on a local git repository), serve (web), worker (arq),
up (both, with an embedded Redis), and `config validate` / `config show` for
`.github/tandem.yml`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import create_app
from bot.connections import EmbeddedRedis, start_embedded_redis
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("tandem")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Third-party loggers that would echo request details at INFO.
    for noisy in ("LiteLLM", "litellm", "httpx", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def serve_web(
    settings: Settings, host: str, port: int, *, accept_runs: bool
) -> web.AppRunner:
    runner = web.AppRunner(create_app(settings, accept_runs=accept_runs), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
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


def run_worker(settings: Settings) -> None:
    from jobs.worker import build_workers, run_workers, warn_if_local

    async def work() -> None:
        # arq binds a Worker to the event loop that is current when it is built.
        workers = build_workers(settings)
        warn_if_local(settings)
        await run_workers(workers)

    asyncio.run(work())


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
    from bot.repo_config import InvalidConfig, read_config_file

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"tandem: cannot read {path}: {exc.__class__.__name__}", file=sys.stderr)
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

    from bot import github
    from bot.plan import REPO_RE
    from bot.repo_config import CONFIG_PATH, InvalidConfig, config_yaml
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


def run_local_command(args: argparse.Namespace) -> int:
    """`tandem run`: the parts on a local repository; exit 1 if the check run would fail."""
    from rich.console import Console

    from tandem import local
    from tandem.demo import make_demo_repo

    console = Console(stderr=False)
    settings = load_settings()
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
    patch = args.patch
    try:
        report = asyncio.run(local.run_with_progress(run, settings, console, patch))
    except local.LocalRunError as exc:
        print(f"tandem run: {exc}", file=sys.stderr)
        return 2
    local.print_report(console, run, report)
    if args.json is not None:
        local.write_json(args.json, run, report)
    return 1 if report.conclusion == "failure" else 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="tandem", description=__doc__)
    root.add_argument("--log-level", default=os.environ.get("TANDEM_LOG_LEVEL", "info"))
    commands = root.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("serve", "run the web app that receives GitHub webhooks"),
        ("up", "web app + worker in one process; embedded Redis if TANDEM_REDIS_URL is unset"),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8000)
    commands.add_parser("worker", help="run the arq worker that does the runs")
    run = commands.add_parser(
        "run",
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
        const=Path("tandem-tests.patch"),
        default=None,
        help="write kept tests to this patch file instead (default tandem-tests.patch)",
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
    config = commands.add_parser("config", help="check or show .github/tandem.yml")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    validate = config_commands.add_parser(
        "validate", help="check a tandem.yml file; exits non-zero on errors"
    )
    validate.add_argument("file", nargs="?", type=Path, default=Path(".github/tandem.yml"))
    show = config_commands.add_parser(
        "show",
        help="print a repository's effective (merged) config, read through the GitHub App "
        "(needs TANDEM_GITHUB_APP_ID and TANDEM_GITHUB_PRIVATE_KEY_PATH)",
    )
    show.add_argument("--repo", required=True, help="owner/name")
    show.add_argument("--ref", default=None, help="branch, tag or sha (default branch if unset)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(args.log_level)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if args.command == "config" and args.config_command == "validate":
        return config_validate(args.file)
    try:
        if args.command == "run":
            return run_local_command(args)
        settings = load_settings()
        if args.command == "config":
            return asyncio.run(config_show(settings, args.repo, args.ref))
        if args.command == "serve":
            settings.require("webhook_secret", "redis_url")
            asyncio.run(run_serve(settings, args.host, args.port))
        elif args.command == "worker":
            run_worker(settings)
        elif args.command == "up":
            asyncio.run(run_up(settings, args.host, args.port))
    except SettingsError as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
