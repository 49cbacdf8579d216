"""Process settings, read once at start from TANDEM_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TANDEM_"


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    github_app_id: int | None = None
    github_private_key_path: Path | None = None
    github_private_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"

    redis_url: str | None = None
    data_dir: Path = Path(".tandem")

    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=120.0, gt=0)

    # Where untrusted code runs: `docker` (production; the worker stops at start if no engine
    # answers or the image is missing) or `local` (subprocesses, not isolated: development only).
    sandbox: Literal["local", "docker"] = "docker"
    # TANDEM_SANDBOX=docker: the image (Dockerfile target `sandbox`) and each container's limits.
    sandbox_image: str = "tandem-sandbox:latest"
    sandbox_cpus: float = Field(default=1.0, gt=0)
    sandbox_memory_mb: int = Field(default=2048, ge=64)
    sandbox_pids: int = Field(default=256, ge=16)
    sandbox_tmp_mb: int = Field(default=512, ge=16)
    sandbox_max_lifetime_s: float = Field(default=6 * 3600.0, gt=0)
    # The Docker network the PR's dependencies are installed on (tests never get one);
    # "none": no package index, only what the repository holds (pip --no-index).
    sandbox_install_network: str = Field(
        default="bridge", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
    )

    @field_validator("sandbox_install_network")
    @classmethod
    def _not_the_hosts_network(cls, value: str) -> str:
        if value == "host":
            raise ValueError("host would put install scripts on the worker's network; use bridge")
        return value

    agent_max_iterations: int = Field(default=30, gt=0)
    agent_wall_time_s: float = Field(default=900.0, gt=0)
    test_timeout_s: float = Field(default=300.0, gt=0)
    git_timeout_s: float = Field(default=300.0, gt=0)
    max_payload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    delivery_ttl_s: int = Field(default=24 * 3600, gt=0)

    @field_validator("github_api_url", "llm_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _private_key_readable(self) -> Settings:
        path = self.github_private_key_path
        if path is not None and self.github_private_key is None and not path.is_file():
            raise ValueError(f"TANDEM_GITHUB_PRIVATE_KEY_PATH: no such file: {path}")
        return self

    @property
    def github_configured(self) -> bool:
        return self.github_app_id is not None and (
            self.github_private_key is not None or self.github_private_key_path is not None
        )

    def private_key(self) -> str:
        if self.github_private_key is not None:
            return self.github_private_key.get_secret_value()
        if self.github_private_key_path is not None:
            return self.github_private_key_path.read_text()
        raise SettingsError(
            "TANDEM_GITHUB_PRIVATE_KEY_PATH: not set (or set TANDEM_GITHUB_PRIVATE_KEY to the PEM)"
        )

    def secret_values(self) -> list[str]:
        """The secrets these settings hold (the App's private key, the webhook secret, the LLM
        key), for masking wherever text leaves the process."""
        held = (self.github_private_key, self.webhook_secret, self.llm_api_key)
        return [secret.get_secret_value() for secret in held if secret is not None]

    def require(self, *names: str) -> None:
        """Stop with one line naming the first required setting that is missing."""
        for name in names:
            if name == "github_private_key":
                if self.github_private_key is None and self.github_private_key_path is None:
                    raise SettingsError(
                        "TANDEM_GITHUB_PRIVATE_KEY_PATH is not set "
                        "(or set TANDEM_GITHUB_PRIVATE_KEY to the PEM itself)"
                    )
            elif getattr(self, name) is None:
                raise SettingsError(f"{ENV_PREFIX}{name.upper()} is not set")


def load_settings() -> Settings:
    """Read settings from the environment, turning validation errors into one clear line."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        location = error["loc"]
        if location:
            name = f"{ENV_PREFIX}{str(location[0]).upper()}"
            message = error["msg"].removeprefix("Value error, ")
            raise SettingsError(f"{name}: {message}") from None
        raise SettingsError(error["msg"].removeprefix("Value error, ")) from None
