"""The customers service's configuration, validated once at start-up."""

from __future__ import annotations

import functools

from clientela.settings import EnvSettings


class CustomersSettings(EnvSettings):
    env_prefix = "CUSTOMERS_"

    table: str = "clientela-customers"
    idempotency_table: str = "clientela-customers-idempotency"
    # Signs list cursors (infra/customers.yaml, CursorKeySecret).
    cursor_key_secret: str = "clientela/customers/cursor-key"  # noqa: S105 - a name
    # Keys the hashed tombstones of erased people (infra/customers.yaml, TombstoneKeySecret).
    tombstone_key_secret: str = "clientela/customers/tombstone-key"  # noqa: S105 - a name
    # Subscription queue of the events the service follows (bus rule -> this queue).
    inbox_queue: str = "clientela-customers-inbox"
    # Chunks of bulk jobs (chalicelib.customers.jobs).
    jobs_queue: str = "clientela-customers-jobs"
    # Export requests for the rows this service owns (bus rule -> this queue; issue 10).
    extracts_queue: str = "clientela-customers-extracts"
    # Customer photos (infra/customers.yaml, PhotosBucket). The default is the name the template
    # gives it in moto's default account and the local stack's region.
    photos_bucket: str = "clientela-customers-photos-123456789012-us-east-1"
    # How long a presigned upload (POST) and a photo link (GET) stay valid, in seconds.
    photo_upload_ttl: int = 300
    photo_link_ttl: int = 900
    # Only the local stack reads this: on AWS the stream is wired by infra/customers.yaml.
    table_stream_arn: str = (
        "arn:aws:dynamodb:us-east-1:000000000000:table/clientela-customers/stream/local"
    )


@functools.cache
def settings() -> CustomersSettings:
    return CustomersSettings()
