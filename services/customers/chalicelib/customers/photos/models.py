"""What the customer photo operations accept and answer (the OpenAPI document is built from
these)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.customers.photos import rules as photos
from chalicelib.customers.photos.store import photo_link
from chalicelib.customers.profiles import rules as domain

ContentType = Literal["image/jpeg", "image/png", "image/webp"]


class PhotoView(BaseModel):
    """The photo to show: the uploaded one if there is one, otherwise the social picture."""

    url: str = Field(
        description=(
            "Uploaded: a link valid for 15 minutes (read the profile again for a new one)."
            " Social: the picture's URL as given."
        )
    )
    source: Literal["upload", "social"]
    updated_at: datetime | None = Field(description="When it was uploaded (null for social).")
    width: int | None = Field(default=None, description="Pixels (uploaded photos).")
    height: int | None = None

    @classmethod
    def of(cls, customer: domain.Customer) -> PhotoView | None:
        photo = customer.photo
        url = photo_link(customer)
        if photo is not None and url is not None:
            return cls(
                url=url,
                source="upload",
                updated_at=photo.updated_at,
                width=photo.width,
                height=photo.height,
            )
        if customer.photo_url:
            return cls(url=customer.photo_url, source="social", updated_at=None)
        return None


class PhotoUploadRequest(BaseModel):
    """The type of the image about to be uploaded (at most 5 MB)."""

    model_config = ConfigDict(extra="forbid")

    content_type: ContentType


class PhotoUpload(BaseModel):
    """A presigned POST: send `fields` and then the file (field `file`, last) as
    multipart/form-data to `url`, before `expires_at`. S3 refuses another type, or a file
    over `max_bytes`. Then confirm with PUT /customers/{id}/photo."""

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime
    content_type: ContentType
    max_bytes: int = photos.MAX_BYTES


class PhotoConfirm(BaseModel):
    """An upload to make the customer's photo."""

    model_config = ConfigDict(extra="forbid")

    upload_id: str = Field(min_length=1, max_length=64, description="From the upload's answer.")

    @field_validator("upload_id")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()
