"""Export parts, written into the exports service's bucket at the key its request names.

The exports service owns the bucket; this service may only put objects under
`exports/<store>/<job>/parts/` there (infra/customers.yaml, WriteExportParts). A redelivered
request puts the same key again: a part is replaced, never added to.
"""

from __future__ import annotations

from clientela import aws


def put_part(bucket: str, key: str, body: bytes) -> None:
    aws.s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
