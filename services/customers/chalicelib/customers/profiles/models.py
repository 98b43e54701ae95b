"""What the customers HTTP API accepts and answers (the OpenAPI document is built from these)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from chalicelib.customers.photos.models import PhotoView
from chalicelib.customers.profiles import rules as domain
from clientela import money
from clientela.customer_filter import ACTIVE_DAYS
from clientela.money import Amount, Currency, InCurrency
from clientela.numbers import Number

Name = Annotated[str, Field(min_length=1, max_length=domain.MAX_NAME_LENGTH)]
Gender = Literal["female", "male", "non_binary", "other", "undisclosed"]
ConsentState = Literal["subscribed", "unsubscribed", "pending", "never_asked"]
OptInLevel = Literal["single", "confirmed"]
ConsentSource = Literal[
    "admin",
    "import",
    "signup",
    "checkout",
    "unsubscribe_link",
    "double_opt_in",
    "api",
    "bulk_action",
    "merge",
]
# A number stays a JSON number (1.5, not "1.5"), exactly as given.
AttributeValue = str | bool | int | Number | None

# Shown on a profile, never set through POST or PATCH: how each one changes instead.
READ_ONLY = {
    "id": "assigned by the service",
    "store_id": "the token's store",
    "created_at": "set when the customer is created",
    "updated_at": "set on every change",
    "version": "send it in If-Match instead",
    "signed_up_at": "set when the customer is created",
    "email_consent": "change it with POST /customers/{id}/consent",
    "sms_consent": "change it with POST /customers/{id}/consent",
    "last_seen_at": "comes from storefront activity (POST /activity), orders and reviews",
    "last_ip": "comes from storefront activity (POST /activity)",
    "last_device": "comes from storefront activity (POST /activity)",
    "status": "derived from last_seen_at",
    "orders_count": "derived from orders",
    "total_spent": "derived from orders",
    "average_order_value": "derived from orders",
    "first_order_at": "derived from orders",
    "last_order_at": "derived from orders",
    "rating_count": "derived from reviews",
    "rating_average": "derived from reviews",
    "segments": "derived from the store's segments",
    "photo": "upload it: POST /customers/{id}/photo/uploads, then PUT /customers/{id}/photo",
}


class SocialAccounts(BaseModel):
    """Accounts the customer signed in with."""

    model_config = ConfigDict(extra="forbid")

    facebook: str | None = Field(default=None, min_length=1, max_length=200)
    twitter: str | None = Field(default=None, min_length=1, max_length=200)
    google: str | None = Field(default=None, min_length=1, max_length=200)


class Engagement(BaseModel):
    """Engagement counters, as the store's app reports them."""

    model_config = ConfigDict(extra="forbid")

    loyalty_stamps: int = Field(default=0, ge=0, le=10**9)
    comments: int = Field(default=0, ge=0, le=10**9)
    shares: int = Field(default=0, ge=0, le=10**9)
    push_notifications_received: int = Field(default=0, ge=0, le=10**9)


class ConsentInput(BaseModel):
    """A consent record given when the customer is created (e.g. ticked at sign-up)."""

    model_config = ConfigDict(extra="forbid")

    state: ConsentState
    opt_in_level: OptInLevel | None = None
    source: ConsentSource = "admin"

    def record(self) -> domain.Consent:
        level = self.opt_in_level or ("single" if self.state == "subscribed" else None)
        return domain.Consent(state=self.state, opt_in_level=level, source=self.source)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=domain.MAX_NOTES_LENGTH)

    # Read-only fields are declared (and left out of the schema) so a 422 names each one.
    _writable: ClassVar[frozenset[str]] = frozenset()

    @field_validator(*READ_ONLY, mode="before", check_fields=False)
    @classmethod
    def _read_only(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if name in cls._writable:
            return value
        raise ValueError(f"is read-only: {READ_ONLY[name]}")

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else domain.normalise_email(value)

    @field_validator("first_name", "last_name", "city", "region", check_fields=False)
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else domain.clean_text(value)

    @field_validator("notes", check_fields=False)
    @classmethod
    def _notes(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return domain.clean_text(value.replace("\r\n", "\n"), max_length=domain.MAX_NOTES_LENGTH)

    @field_validator("country", check_fields=False)
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else domain.normalise_country(value)

    @field_validator("language", check_fields=False)
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return None if value is None else domain.normalise_language(value)

    @field_validator("birthday", check_fields=False)
    @classmethod
    def _birthday(cls, value: date | None) -> date | None:
        return None if value is None else domain.check_birthday(value)

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else domain.normalise_tags(value)

    @field_validator("photo_url", check_fields=False)
    @classmethod
    def _photo_url(cls, value: str | None) -> str | None:
        return None if value is None else domain.normalise_photo_url(value)

    @field_validator("attributes", check_fields=False)
    @classmethod
    def _attributes(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else domain.normalise_attributes(value)

    def profile_changes(self, names: set[str]) -> dict[str, Any]:
        """The given profile fields as domain values (nested models as plain dicts)."""
        changes: dict[str, Any] = {}
        for name in names & set(domain.PROFILE_FIELDS):
            value = getattr(self, name)
            if isinstance(value, BaseModel):
                value = {k: v for k, v in value.model_dump().items() if v not in (None, 0)}
            changes[name] = value
        return changes


# A field pydantic validates but leaves out of the JSON Schema (a runtime type expression).
_HIDDEN: Any = SkipJsonSchema[Any]  # type: ignore[misc]
_ReadOnlyFields: type[_Input] = create_model(  # type: ignore[call-overload]
    "_ReadOnlyFields",
    __base__=_Input,
    **dict.fromkeys(READ_ONLY, (_HIDDEN, None)),
)


_EMAIL = Field(default=None, max_length=320, examples=["maria.garcia@example.es"])
_PHONE = Field(
    default=None,
    max_length=32,
    description=(
        "International form (+ and country code), or national form of the customer's"
        " `country`. Stored in E.164."
    ),
    examples=["+34612345678"],
)
_COUNTRY = Field(default=None, description="ISO 3166-1 alpha-2", examples=["ES"])
_LANGUAGE = Field(default=None, max_length=12, description="BCP 47, e.g. pt-BR")
_ATTRIBUTES = Field(
    default=None,
    description="Custom attributes: at most 50 snake_case keys; text, numbers or booleans.",
)
_PHOTO_URL = Field(
    default=None,
    max_length=domain.MAX_PHOTO_URL_LENGTH,
    description=("A social login's picture (https). Shown as `photo` unless a photo was uploaded."),
    examples=["https://lh3.googleusercontent.com/a/photo.jpg"],
)


class CustomerCreate(_ReadOnlyFields):
    """A new customer. An e-mail or a phone is required (422 naming both when neither is given)."""

    _writable: ClassVar[frozenset[str]] = frozenset({"email_consent", "sms_consent"})

    email: str | None = _EMAIL
    phone: str | None = _PHONE
    first_name: Name | None = None
    last_name: Name | None = None
    city: Name | None = None
    region: Name | None = None
    country: str | None = _COUNTRY
    gender: Gender | None = None
    birthday: date | None = None
    language: str | None = _LANGUAGE
    tags: list[str] = Field(default_factory=list, max_length=domain.MAX_TAGS)
    favorite: bool = False
    notes: str | None = None
    attributes: dict[str, AttributeValue] | None = _ATTRIBUTES
    social: SocialAccounts | None = None
    engagement: Engagement | None = None
    photo_url: str | None = _PHOTO_URL
    email_consent: ConsentInput | None = Field(
        default=None,
        description="Consent given when the customer is created; `never_asked` if absent.",
    )
    sms_consent: ConsentInput | None = None

    def profile(self) -> dict[str, Any]:
        return self.profile_changes(set(domain.PROFILE_FIELDS))

    def consents(self) -> dict[str, domain.Consent]:
        given = {"email": self.email_consent, "sms": self.sms_consent}
        return {channel: c.record() for channel, c in given.items() if c is not None}


class CustomerPatch(_ReadOnlyFields):
    """A JSON merge patch (RFC 7396): fields given are set; null clears a field.

    `attributes` merge key by key: a key set to null is removed, keys not named are kept.
    """

    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    first_name: Name | None = None
    last_name: Name | None = None
    city: Name | None = None
    region: Name | None = None
    country: str | None = None
    gender: Gender | None = None
    birthday: date | None = None
    language: str | None = _LANGUAGE
    tags: list[str] | None = Field(default=None, max_length=domain.MAX_TAGS)
    favorite: bool | None = None
    notes: str | None = None
    attributes: dict[str, AttributeValue] | None = _ATTRIBUTES
    social: SocialAccounts | None = None
    engagement: Engagement | None = None
    photo_url: str | None = _PHOTO_URL

    def changes(self) -> dict[str, Any]:
        return self.profile_changes(set(self.model_fields_set))


class ConsentChange(BaseModel):
    """A consent operation on one channel. Each one is kept in the customer's timeline."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "sms"]
    state: Literal["subscribed", "unsubscribed", "pending"]
    opt_in_level: OptInLevel | None = Field(
        default=None, description="For `subscribed`: single or confirmed (double) opt-in."
    )
    source: ConsentSource = "admin"


class Consent(BaseModel):
    """Consent to marketing on a channel, as a record."""

    state: ConsentState
    opt_in_level: OptInLevel | None
    updated_at: datetime | None
    source: str | None

    @classmethod
    def of(cls, consent: domain.Consent) -> Consent:
        return cls(
            state=consent.state,
            opt_in_level=consent.opt_in_level,
            updated_at=consent.updated_at,
            source=consent.source,
        )


class SegmentRef(BaseModel):
    id: str
    name: str


class NextBooking(BaseModel):
    order_id: str
    service_id: str
    service_name: str | None
    starts_at: datetime
    ends_at: datetime


class Bookings(BaseModel):
    """The customer's booked services to come (not cancelled, starting from now on)."""

    upcoming: int = Field(description="How many; the list: GET .../orders?kind=booking&when=…")
    next: NextBooking | None = Field(description="The soonest; null when none is booked.")


class Customer(InCurrency):
    """A customer's 360° profile."""

    id: str = Field(description="Sortable id (ULID): newer customers sort later.")
    email: str | None
    phone: str | None = Field(description="E.164")
    first_name: str | None
    last_name: str | None
    city: str | None
    region: str | None
    country: str | None
    gender: str | None
    birthday: date | None
    language: str | None
    tags: list[str]
    favorite: bool
    notes: str | None
    attributes: dict[str, AttributeValue]
    social: SocialAccounts
    engagement: Engagement
    photo_url: str | None = Field(description="The social picture, as given.")
    photo: PhotoView | None = Field(description="The photo to show; null without one.")
    email_consent: Consent
    sms_consent: Consent
    signed_up_at: datetime
    last_seen_at: datetime | None
    last_ip: str | None
    last_device: str | None
    status: Literal["active", "inactive"] = Field(
        description=f"active when seen in the last {ACTIVE_DAYS} days"
    )
    orders_count: int
    total_spent: Amount = Field(description=f"What the orders add up to. {money.CANONICAL}")
    average_order_value: Amount | None
    currency: Currency | None = Field(
        description=(
            "The currency of `total_spent` and `average_order_value`: that of the customer's"
            " orders (the first one's, if they differ); null before any order."
        )
    )
    first_order_at: datetime | None
    last_order_at: datetime | None
    rating_count: int
    rating_average: Decimal | None
    segments: list[SegmentRef] | None = Field(
        default=None,
        description="The segments the customer belongs to (in answers about one customer).",
    )
    bookings: Bookings | None = Field(
        default=None,
        description="Booked services to come (in answers about one customer).",
    )
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Increases on every change; send it back in If-Match.")

    @classmethod
    def of(
        cls,
        customer: domain.Customer,
        *,
        segments: list[SegmentRef] | None = None,
        bookings: Bookings | None = None,
    ) -> Customer:
        return cls(
            id=customer.id,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            version=customer.version,
            email=customer.email,
            phone=customer.phone,
            first_name=customer.first_name,
            last_name=customer.last_name,
            city=customer.city,
            region=customer.region,
            country=customer.country,
            gender=customer.gender,
            birthday=customer.birthday,
            language=customer.language,
            tags=customer.tags,
            favorite=customer.favorite,
            notes=customer.notes,
            attributes=customer.attributes,
            social=SocialAccounts(**customer.social),
            engagement=Engagement(**customer.engagement),
            photo_url=customer.photo_url,
            photo=PhotoView.of(customer),
            email_consent=Consent.of(customer.email_consent),
            sms_consent=Consent.of(customer.sms_consent),
            signed_up_at=customer.signed_up_at,
            last_seen_at=customer.last_seen_at,
            last_ip=customer.last_ip,
            last_device=customer.last_device,
            status=customer.status(datetime.now(UTC)),
            orders_count=customer.orders_count,
            # Orders in several currencies add up as they come (see the README): their sum
            # may have more decimals than the first order's currency, then it is rounded.
            total_spent=(
                money.quantize(customer.total_spent, customer.currency)
                if customer.currency
                else customer.total_spent
            ),
            average_order_value=customer.average_order_value,
            currency=customer.currency,
            first_order_at=customer.first_order_at,
            last_order_at=customer.last_order_at,
            rating_count=customer.rating_count,
            rating_average=customer.rating_average,
            segments=segments,
            bookings=bookings,
        )


class TagCount(BaseModel):
    tag: str
    customers: int


class TagList(BaseModel):
    """The store's tags with the number of customers carrying each, by tag."""

    items: list[TagCount]
