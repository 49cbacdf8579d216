from pathlib import Path

import pytest

from core.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TANDEM_"):
            monkeypatch.delenv(name)


def test_defaults_need_nothing() -> None:
    settings = load_settings()
    assert settings.github_api_url == "https://api.github.com"
    # Production default: PR code runs in Docker containers; `local` must be chosen explicitly.
    assert settings.sandbox == "docker"
    assert settings.sandbox_image == "tandem-sandbox:latest"
    assert not settings.github_configured


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_GITHUB_APP_ID", "not-a-number")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("TANDEM_GITHUB_APP_ID:")
    assert "\n" not in str(caught.value)


def test_bad_sandbox_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_SANDBOX", "chroot")
    with pytest.raises(SettingsError, match="^TANDEM_SANDBOX:"):
        load_settings()
    monkeypatch.setenv("TANDEM_SANDBOX", "local")
    monkeypatch.setenv("TANDEM_GITHUB_API_URL", "ftp://example")
    with pytest.raises(SettingsError, match="^TANDEM_GITHUB_API_URL: must start with http"):
        load_settings()
    monkeypatch.setenv("TANDEM_GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    monkeypatch.setenv("TANDEM_REDIS_URL", "localhost:6379")
    with pytest.raises(SettingsError, match="^TANDEM_REDIS_URL:"):
        load_settings()


def test_missing_private_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TANDEM_GITHUB_PRIVATE_KEY_PATH", str(tmp_path / "nope.pem"))
    with pytest.raises(SettingsError, match="TANDEM_GITHUB_PRIVATE_KEY_PATH: no such file"):
        load_settings()


def test_require_names_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    with pytest.raises(SettingsError, match="^TANDEM_WEBHOOK_SECRET is not set$"):
        settings.require("webhook_secret")
    with pytest.raises(SettingsError, match="^TANDEM_GITHUB_PRIVATE_KEY_PATH is not set"):
        settings.require("github_private_key")


def test_private_key_inline_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TANDEM_GITHUB_APP_ID", "42")
    monkeypatch.setenv("TANDEM_GITHUB_PRIVATE_KEY", "-----BEGIN KEY-----")
    settings = load_settings()
    assert settings.github_configured
    assert settings.private_key() == "-----BEGIN KEY-----"
    assert "BEGIN KEY" not in repr(settings)


def test_api_url_trailing_slash_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    assert load_settings().github_api_url == "https://ghe.example.com/api/v3"


def test_worker_with_the_default_sandbox_and_no_engine_stops_with_the_fix(tmp_path: Path) -> None:
    """TANDEM_SANDBOX unset means docker: a worker start where no engine answers ends with one
    line that says how to fix it (start an engine, or TANDEM_SANDBOX=local for development)."""
    import os
    import subprocess
    import sys

    key = tmp_path / "key.pem"
    key.write_text("not used")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "DOCKER_"))}
    env.update(
        DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock",
        TANDEM_REDIS_URL="redis://127.0.0.1:1/0",
        TANDEM_GITHUB_APP_ID="1",
        TANDEM_GITHUB_PRIVATE_KEY_PATH=str(key),
    )
    result = subprocess.run(
        [sys.executable, "-m", "tandem.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(
        f"tandem: TANDEM_SANDBOX=docker: no Docker engine answers at unix://{tmp_path}/"
    ), line
    assert "start one" in line and "or set TANDEM_SANDBOX=local for development" in line
