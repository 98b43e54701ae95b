"""The exports service's configuration, validated once at start-up."""

from __future__ import annotations

import functools

from clientela.settings import EnvSettings


class ExportsSettings(EnvSettings):
    env_prefix = "EXPORTS_"

    # The service's jobs (infra/exports.yaml, ExportsTable).
    table: str = "clientela-exports"
    # Every file of the service, one key prefix per feature: exports/, imports/, privacy/
    # (infra/exports.yaml, ExportsBucket). The default is the name the template gives it in
    # moto's default account and the local stack's region.
    bucket: str = "clientela-exports-123456789012-us-east-1"
    # Export parts owners answer with (bus rule -> this queue -> on_export_part).
    parts_queue: str = "clientela-exports-parts"
    # Privacy requests and every service's answers (bus rule PrivacyRule -> this queue).
    privacy_queue: str = "clientela-exports-privacy"
    # Rows an owner writes per part: one bounded invocation of the owner's function each.
    rows_per_part: int = 2000
    # How long a presigned link to an export stays valid: GET /exports/{id} gives a fresh one.
    link_ttl: int = 300
    # The link e-mailed when a file is ready (capped by the function's credentials' lifetime).
    email_link_ttl: int = 6 * 3600
    sender: str = "exports@exports.clientela.example"  # ExportsSenderIdentity
    # Rows per XLSX sheet / CSV file (Excel's limit, less the header); tests lower it.
    max_rows_per_sheet: int = 1_048_575
    # Where XLSX files are built before they go up (the Lambda's /tmp).
    work_dir: str | None = None
    # Imports: the queue of their own steps and of the customers service's answers
    # (infra/exports.yaml, ImportsQueue); how long an upload link and a report link live.
    imports_queue: str = "clientela-exports-imports"
    import_upload_ttl: int = 900
    import_link_ttl: int = 900


@functools.cache
def settings() -> ExportsSettings:
    return ExportsSettings()
