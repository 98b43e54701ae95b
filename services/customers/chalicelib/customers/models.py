"""What the customers HTTP API accepts and answers (the OpenAPI document is built from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.customers import domain

Name = Annotated[str, Field(min_length=1, max_length=domain.MAX_NAME_LENGTH)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=512)

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else domain.normalise_email(value)

    @field_validator("first_name", "last_name", "city", check_fields=False)
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else domain.clean_text(value)

    @field_validator("country", check_fields=False)
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else domain.normalise_country(value)

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else domain.normalise_tags(value)


class CustomerCreate(_Input):
    """A new customer. An e-mail or a phone is required (422 naming both when neither is given)."""

    email: str | None = Field(default=None, max_length=320, examples=["maria.garcia@example.es"])
    phone: str | None = Field(
        default=None,
        max_length=32,
        description=(
            "International form (+ and country code), or national form of the customer's"
            " `country`. Stored in E.164."
        ),
        examples=["+34612345678"],
    )
    first_name: Name | None = None
    last_name: Name | None = None
    city: Name | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2", examples=["ES"])
    tags: list[str] = Field(default_factory=list, max_length=domain.MAX_TAGS)


class CustomerPatch(_Input):
    """A JSON merge patch (RFC 7396): fields given are set; null clears a field."""

    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    first_name: Name | None = None
    last_name: Name | None = None
    city: Name | None = None
    country: str | None = None
    tags: list[str] | None = Field(default=None, max_length=domain.MAX_TAGS)

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class Customer(BaseModel):
    """A customer profile."""

    id: str = Field(description="Sortable id (ULID): newer customers sort later.")
    email: str | None
    phone: str | None = Field(description="E.164")
    first_name: str | None
    last_name: str | None
    city: str | None
    country: str | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Increases on every change; send it back in If-Match.")

    @classmethod
    def of(cls, customer: domain.Customer) -> Customer:
        return cls(
            id=customer.id,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            version=customer.version,
            **customer.profile(),
        )


class CustomerPage(BaseModel):
    """One page of customers, newest first."""

    items: list[Customer]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200, description="Page size.")
    cursor: str | None = Field(default=None, max_length=2048, description="From `next_cursor`.")
