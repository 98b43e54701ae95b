"""Configuration shared by every service, read once from the environment and validated."""

from __future__ import annotations

import functools

from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """Where the shared platform resources are. Names match `infra/platform.yaml`."""

    model_config = SettingsConfigDict(env_prefix="CLIENTELA_", frozen=True)

    event_bus: str = "clientela"
    signing_key_secret: str = "clientela/auth/signing-key"  # noqa: S105 - a name, not a key
    # How long a verified signing key is cached in memory, in seconds.
    signing_key_max_age: int = 300


@functools.cache
def platform_settings() -> PlatformSettings:
    return PlatformSettings()
