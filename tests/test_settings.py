from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TANDEM_"):
            monkeypatch.delenv(name)


def test_defaults_need_nothing() -> None:
    settings = load_settings()
    assert settings.github_api_url == "https://api.github.com"
    assert settings.sandbox == "local"
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
