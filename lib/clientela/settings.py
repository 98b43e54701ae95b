"""Configuration shared by every service, read once from the environment and validated."""

from __future__ import annotations

import functools
import os
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class EnvSettings(BaseModel):
    """Settings read from environment variables named `<env_prefix><field>`, in any case;
    arguments given to the constructor win (as pydantic-settings' `BaseSettings` does).

    Every function reads its settings while it starts, and pydantic-settings costs about half a
    `import boto3` to import (its sources: dotenv, cloud secrets, CLI...): every service's
    settings derive from this class instead (root README, "Cold start").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    env_prefix: ClassVar[str] = ""

    def __init__(self, **values: Any) -> None:
        prefix = type(self).env_prefix.lower()
        fields = type(self).model_fields
        found = {}
        for key, value in os.environ.items():
            name = key.lower().removeprefix(prefix) if key.lower().startswith(prefix) else None
            if name in fields:
                found[name] = value
        super().__init__(**{**found, **values})


class PlatformSettings(EnvSettings):
    """Where the shared platform resources are. Names match `infra/platform.yaml`."""

    env_prefix = "CLIENTELA_"

    event_bus: str = "clientela"
    signing_key_secret: str = "clientela/auth/signing-key"  # noqa: S105 - a name, not a key
    # How long a verified signing key is cached in memory, in seconds.
    signing_key_max_age: int = 300


@functools.cache
def platform_settings() -> PlatformSettings:
    return PlatformSettings()
