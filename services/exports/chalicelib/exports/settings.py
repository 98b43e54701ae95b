"""The exports service's configuration, validated once at start-up."""

from __future__ import annotations

import functools

from pydantic_settings import BaseSettings, SettingsConfigDict


class ExportsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXPORTS_", frozen=True)

    # The service's jobs (infra/exports.yaml, ExportsTable).
    table: str = "clientela-exports"
    # Every file of the service, one key prefix per feature: exports/, imports/, privacy/
    # (infra/exports.yaml, ExportsBucket). The default is the name the template gives it in
    # moto's default account and the local stack's region.
    bucket: str = "clientela-exports-123456789012-us-east-1"
    # Imports: the queue of their own steps and of the customers service's answers
    # (infra/exports.yaml, ImportsQueue); how long an upload link and a report link live.
    imports_queue: str = "clientela-exports-imports"
    import_upload_ttl: int = 900
    import_link_ttl: int = 900


@functools.cache
def settings() -> ExportsSettings:
    return ExportsSettings()
