"""The `tandem` command: :func:`main` runs what the command line (:mod:`tandem.cli_parser`) asks
for: serve (web), worker (arq), up (both, with an embedded Redis), `config validate` /
`config show` for `.github/tandem.yml`, and run (both parts on a local git repository,
:mod:`tandem.run_command`)."""

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

import redis.exceptions
from aiohttp import web

from bot.app import create_app
from core.connections import EmbeddedRedis, PortUnavailable, listen, start_embedded_redis
from core.redaction import redact_credentials
from core.settings import Settings, SettingsError, load_settings
from tandem.cli_parser import DEFAULT_CONFIG, parser
from tandem.run_command import run_local_command

log = logging.getLogger("tandem")


class CliError(Exception):
    """Bad input or a local problem, said in one line (exit 2)."""


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
    from core.repo_config_file import InvalidConfig, read_config_file

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
    from core.repo_config import CONFIG_PATH
    from core.repo_config_file import InvalidConfig, config_yaml
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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        configure_logging(args)
        if args.command == "config" and args.config_command == "validate":
            return config_validate(args.file)
        settings = load_settings()
        configure_logging(args, settings)
        if args.command == "run":
            return run_local_command(args, settings)
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
