"""The demo store: a few hundred believable customers and their history, through the public API.

Seeding goes through the API like any integrator would: `POST /customers` for the profiles,
then what the store platform sends, `POST /orders` (with some guest checkouts, and some bookings
of the store's services and event tickets, a few still to come), `POST /activity`
(product views, carts) and `POST /reviews`. So it exercises the same path as users:
authorizer, validation, idempotency, the stream and the events downstream.

Everything is generated first, with no clock: the same seed gives the same customers, and with
the same "today" the same history. Only `seed` reads the clock, to anchor "today" at now.

    python -m clientela_local.seed --base-url http://127.0.0.1:8000 [--store demo-store]
"""

from __future__ import annotations

import argparse
import logging
import random
import struct
import threading
import time
import unicodedata
import zlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import boto3
import phonenumbers
import requests

from clientela import auth
from clientela_local.seed_data import (
    BUYER_TAGS,
    CATALOGUE,
    CLOTHING_SIZES,
    COUNTRIES,
    COUNTRY_BY_CODE,
    DEVICES,
    EMAIL_DOMAINS,
    EVENTS,
    FIRST_NAMES,
    HOUR_WEIGHTS,
    IP_PREFIXES,
    LAST_NAMES,
    LOYALTY_TIERS,
    NOTES,
    PREMIUM,
    SERVICE_MINUTES,
    SERVICES,
    SHOE_SIZES,
    TAGS,
    City,
    Country,
    Product,
)

log = logging.getLogger(__name__)

DEMO_STORE = "demo-store"
DEFAULT_COUNT = 300
DEFAULT_SEED = 20240601
ORDERS_PER_BATCH = 100  # what POST /orders takes at most
ACTIVITY_PER_BATCH = 100  # what POST /activity takes at most

# The shape of the customer base.
BUYERS_WITHOUT_TAG = 0.35  # customers with no buyer tag who ordered all the same
LAPSED = 0.2  # buyers (besides `winback`) with no order for months: the at-risk story
ORDER_COUNTS = {1: 40, 2: 24, 3: 13, 4: 8, 5: 5, 6: 4, 7: 3, 8: 3}
HISTORY_DAYS = 730  # orders spread over the last two years
RECENT_DAYS = 80  # a buyer still active ordered within this many days
LAPSED_DAYS = 100  # a lapsed one has not ordered for at least this many
BIG_SPENDER = Decimal(600)  # what `vip` customers have spent at least, in their currency
GUEST_ORDERS_PER_300 = 40  # checkouts by e-mails that have no profile yet
REVIEWED = 0.2  # orders older than a week that got a review
RATINGS = {5: 46, 4: 30, 3: 12, 2: 6, 1: 6}
ACTIVITY_DAYS = 30  # storefront activity is generated for the last 30 days
PHOTOS = 6  # the first customers get an uploaded photo (a generated avatar)
CENT = Decimal("0.01")

T = TypeVar("T")


class SeedError(RuntimeError):
    """The API refused part of the demo store: the message says which request and why."""


# Customers --------------------------------------------------------------------------------


def demo_customers(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """`count` customer bodies for `POST /customers`; unique e-mails; same seed, same list."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    weights = [country.weight for country in COUNTRIES]
    customers = []
    emails: set[str] = set()
    for _ in range(count):
        customer = _customer(rng, rng.choices(COUNTRIES, weights)[0])
        if "email" in customer:  # namesakes get a number, as mailbox providers make them do
            customer["email"] = _unique(customer["email"], emails)
            emails.add(customer["email"])
        customers.append(customer)
    return customers


def _unique(email: str, taken: set[str]) -> str:
    local, domain = email.split("@")
    suffix = 1
    while email in taken:
        suffix += 1
        email = f"{local}{suffix}@{domain}"
    return email


def _customer(rng: random.Random, country: Country) -> dict[str, Any]:
    name_gender = rng.choice(("female", "male"))
    first = rng.choice(FIRST_NAMES[country.first_names][name_gender])
    last = rng.choice(LAST_NAMES[country.last_names])
    if country.last_names in {"pt", "es"} and rng.random() < 0.4:
        last = f"{last} {rng.choice(LAST_NAMES[country.last_names])}"  # two family names
    if country.last_names in {"pt", "es"} and rng.random() < 0.25:
        # Compound first names (Ana Júlia, María José): search finds them by the surname too.
        second = rng.choice(FIRST_NAMES[country.first_names][name_gender])
        first = first if second == first else f"{first} {second}"
    city = rng.choice(country.cities)
    customer: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "city": city.name,
        "country": country.code,
        "language": _language(rng, country),
    }
    contact = rng.random()
    if contact >= 0.05:  # a few customers only ever gave a phone
        customer["email"] = f"{_mailbox(first, last)}@{rng.choice(EMAIL_DOMAINS)}"
    if contact < 0.05 or rng.random() < 0.85:
        customer["phone"] = _mobile(rng, country, city.mobile_prefix)
    if rng.random() < 0.6:
        customer["region"] = city.region
    gender = _gender(rng, name_gender)
    if gender is not None:
        customer["gender"] = gender
    if rng.random() < 0.65:
        customer["birthday"] = _birthday(rng).isoformat()
    customer["tags"] = _tags(rng, online="email" in customer)
    _consents(rng, customer)
    _extras(rng, customer, country, city)
    return customer


def _consents(rng: random.Random, customer: dict[str, Any]) -> None:
    if "email" in customer:
        consent = _email_consent(rng)
        if consent is not None:
            customer["email_consent"] = consent
        if consent is None or consent["state"] != "subscribed":  # the tag follows the consent
            customer["tags"] = [tag for tag in customer["tags"] if tag != "newsletter"]
    if "phone" in customer and rng.random() < 0.35:
        customer["sms_consent"] = _sms_consent(rng)


def _extras(rng: random.Random, customer: dict[str, Any], country: Country, city: City) -> None:
    """What only some profiles have: favorite, notes, attributes, social accounts, counters."""
    if rng.random() < 0.1:
        customer["favorite"] = True
    if rng.random() < 0.05:
        customer["notes"] = rng.choice(NOTES).format(city=city.name)
    attributes = _attributes(rng, customer, country)
    if attributes:
        customer["attributes"] = attributes
    social = _social(rng, customer["first_name"], customer["last_name"])
    if social:
        customer["social"] = social
    if "google" in social:  # signed in with Google: its profile picture (no draw: same store)
        customer["photo_url"] = f"https://lh3.googleusercontent.com/a/{social['google']}=s96-c"
    if rng.random() < 0.3:
        app = rng.random() < 0.5
        customer["engagement"] = {
            "loyalty_stamps": rng.randrange(13),
            "comments": rng.randrange(6),
            "shares": rng.randrange(9),
            "push_notifications_received": rng.randrange(1, 61) if app else 0,
        }


def _mailbox(first: str, last: str) -> str:
    return f"{_ascii(first)}.{_ascii(last)}".replace(" ", "").replace("'", "")


def _ascii(text: str) -> str:
    """`João` -> `joao`: most people's mailbox names drop the accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _language(rng: random.Random, country: Country) -> str:
    """The storefront's locale in their country; a few browse the English store."""
    if not country.language.startswith("en") and rng.random() < 0.05:
        return "en-GB"
    return country.language


def _gender(rng: random.Random, name_gender: str) -> str | None:
    """What the customer told the store, if anything (most do, at sign-up)."""
    told = rng.random()
    if told < 0.74:
        return name_gender
    if told < 0.77:
        return "undisclosed"
    if told < 0.79:
        return "non_binary"
    return None


def _birthday(rng: random.Random) -> date:
    """Adults: born 1950-2006, most of them in the eighties and nineties."""
    year = round(rng.triangular(1950, 2006, 1990))
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _tags(rng: random.Random, *, online: bool) -> list[str]:
    tags = {tag for tag, percent in TAGS.items() if rng.random() * 100 < percent}
    if tags & {"repeat-buyer", "vip"}:
        tags.discard("first-order")
    if not online:  # orders need an e-mail: a phone-only customer never ordered online
        tags -= BUYER_TAGS | {"abandoned-cart", "newsletter"}
    return sorted(tags)


def _email_consent(rng: random.Random) -> dict[str, str] | None:
    """Most ticked the box at sign-up or checkout; some left through an unsubscribe link; the
    rest were never asked (no record: the API says `never_asked`)."""
    state = rng.random()
    if state < 0.6:
        return {
            "state": "subscribed",
            "opt_in_level": "confirmed" if rng.random() < 0.4 else "single",
            "source": "signup" if rng.random() < 0.55 else "checkout",
        }
    if state < 0.72:
        return {"state": "unsubscribed", "source": "unsubscribe_link"}
    if state < 0.76:
        return {"state": "pending", "source": "signup"}  # never clicked the confirmation
    return None


def _sms_consent(rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.7:
        return {"state": "subscribed", "opt_in_level": "single", "source": "checkout"}
    return {"state": "unsubscribed", "source": "admin"}


def _attributes(rng: random.Random, customer: dict[str, Any], country: Country) -> dict[str, Any]:
    tags = set(customer["tags"])
    attributes: dict[str, Any] = {}
    if "vip" in tags:
        attributes["loyalty_tier"] = LOYALTY_TIERS[2]
    elif "repeat-buyer" in tags and rng.random() < 0.6:
        attributes["loyalty_tier"] = LOYALTY_TIERS[1]
    elif rng.random() < 0.2:
        attributes["loyalty_tier"] = LOYALTY_TIERS[0]
    if rng.random() < 0.15:
        attributes["shoe_size"] = int(_shoe_size(rng, customer.get("gender")))
    if tags & {"wholesale", "b2b"}:
        attributes["company_name"] = f"{customer['last_name']} {country.company_suffix}"
        attributes["vat_registered"] = True
        # A decimal number: the API and the events give it back as the number it is (0.125).
        attributes["trade_discount"] = (0.05, 0.1, 0.125)[len(customer["last_name"]) % 3]
    if "referral" in tags:
        code = _ascii(customer["first_name"])[:6].upper()
        attributes["referral_code"] = f"{code}{rng.randrange(10, 100)}"
    return attributes


def _clothing_size(rng: random.Random, gender: str | None) -> str:
    weights = {"female": (20, 35, 30, 12, 3), "male": (2, 15, 35, 33, 15)}
    return rng.choices(CLOTHING_SIZES, weights.get(gender or "", (8, 25, 35, 22, 10)))[0]


def _shoe_size(rng: random.Random, gender: str | None) -> str:
    sizes = {"female": SHOE_SIZES[:6], "male": SHOE_SIZES[4:]}.get(gender or "", SHOE_SIZES)
    return rng.choice(sizes)


def _social(rng: random.Random, first: str, last: str) -> dict[str, str]:
    """Accounts they signed in with: ids as the networks give them."""
    social = {}
    if rng.random() < 0.12:
        social["google"] = "1" + "".join(rng.choice("0123456789") for _ in range(20))
    if rng.random() < 0.06:
        social["facebook"] = "10" + "".join(rng.choice("0123456789") for _ in range(13))
    if rng.random() < 0.03:
        social["twitter"] = f"@{_mailbox(first, last).replace('.', '_')[:15]}"
    return social


def _mobile(rng: random.Random, country: Country, prefix: str) -> str:
    """A valid E.164 mobile number of `country` (checked with the same library the API uses)."""
    for _ in range(50):
        digits = "".join(rng.choice("0123456789") for _ in range(country.national_digits))
        number = f"+{country.calling_code}{prefix}{digits[len(prefix) :]}"
        if phonenumbers.is_valid_number_for_region(phonenumbers.parse(number), country.code):
            return number
    raise ValueError(f"no valid {country.code} number starts with {prefix}")


# History: orders, reviews, storefront activity -------------------------------------------


@dataclass(frozen=True)
class DemoHistory:
    """What the store platform sends about the customers: bodies of `POST /orders` (items of
    `orders`), `POST /reviews` and `POST /activity` (items of `items`)."""

    orders: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    activity: list[dict[str, Any]]

    def order_batches(self) -> list[list[dict[str, Any]]]:
        """Orders in batches of at most 100, each e-mail's orders in one batch: batches sent
        side by side never update the same customer."""
        return _batches(self.orders, ORDERS_PER_BATCH, key=lambda order: order["email"])

    def activity_batches(self) -> list[list[dict[str, Any]]]:
        return _batches(self.activity, ACTIVITY_PER_BATCH, key=lambda item: item["email"])


@dataclass
class _Shopper:
    email: str
    country: Country
    tags: frozenset[str]
    clothing_size: str
    shoe_size: str
    buyer: bool = False
    lapsed: bool = False
    device: str = "mobile"
    ip: str = ""


@dataclass
class _Order:
    shopper: _Shopper
    placed_at: datetime
    lines: list[tuple[Product, str | None, int]]  # product, size, quantity
    guest: bool = False
    order_id: str = ""
    kind: str = "product"
    details: dict[str, Any] | None = None  # a booking's or a ticket's

    @property
    def currency(self) -> str:
        return self.shopper.country.currency

    @property
    def total(self) -> Decimal:
        return sum(
            (product.price(self.currency) * quantity for product, _, quantity in self.lines),
            Decimal(0),
        )

    def quantity_of(self, product: Product) -> int:
        return sum(quantity for line, _, quantity in self.lines if line == product)

    def body(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "email": self.shopper.email,
            "placed_at": self.placed_at.isoformat(),
            "currency": self.currency,
            "total": _money(self.total),
            "items": [
                {
                    "product_id": product.product_id,
                    "sku": product.sku_of(size),
                    "name": product.name,
                    "brand": product.brand,
                    "category": product.category,
                    "quantity": quantity,
                    "unit_price": _money(product.price(self.currency)),
                }
                for product, size, quantity in self.lines
            ],
            **({} if self.details is None else {"kind": self.kind, self.kind: self.details}),
        }


def demo_history(
    customers: Sequence[dict[str, Any]], *, today: datetime, seed: int = DEFAULT_SEED
) -> DemoHistory:
    """Orders, reviews and storefront activity of `customers` (bodies of `demo_customers`),
    up to `today`, a time with a time zone: the same arguments always give the same history.

    About two thirds of the customers with an e-mail ordered, 1 to 8 times over two years;
    their tags tell the story (see seed_data.TAGS). Some are lapsed (no order for 100 days
    or more), `vip` ones spent over 600 in their currency, and about 40 guest checkouts per
    300 customers come from e-mails with no profile (the API creates them). Registered
    customers are named by e-mail, as the store platform does.
    """
    if today.tzinfo is None:
        raise ValueError("today needs a time zone, e.g. datetime.now(UTC)")
    rng = random.Random(f"history/{seed}")  # noqa: S311 - demo data, not secrets
    shoppers = [_shopper(rng, customer) for customer in customers if customer.get("email")]
    orders = [order for shopper in shoppers for order in _orders_of(rng, shopper, today)]
    taken = {shopper.email for shopper in shoppers}
    orders += _guest_orders(rng, len(customers) * GUEST_ORDERS_PER_300 // 300, taken, today)
    orders += _bookings_and_tickets(shoppers, today, seed)
    # The store numbers its orders as they come.
    orders.sort(key=lambda order: (order.placed_at, order.shopper.email))
    for number, order in enumerate(orders, start=100001):
        order.order_id = f"DS-{number}"
    return DemoHistory(
        orders=[order.body() for order in orders],
        reviews=_reviews(rng, orders, today),
        activity=_activity(rng, shoppers, today),
    )


def _shopper(rng: random.Random, customer: dict[str, Any]) -> _Shopper:
    country = COUNTRY_BY_CODE.get(customer.get("country") or "", COUNTRIES[0])
    tags = frozenset(customer.get("tags") or ())
    shoe_size = (customer.get("attributes") or {}).get("shoe_size")
    shopper = _Shopper(
        email=customer["email"],
        country=country,
        tags=tags,
        clothing_size=_clothing_size(rng, customer.get("gender")),
        shoe_size=str(shoe_size) if shoe_size else _shoe_size(rng, customer.get("gender")),
        device=rng.choices(list(DEVICES), list(DEVICES.values()))[0],
        ip=f"{rng.choice(IP_PREFIXES)}{rng.randrange(1, 255)}",
    )
    shopper.buyer = bool(tags & BUYER_TAGS) or rng.random() < BUYERS_WITHOUT_TAG
    shopper.lapsed = shopper.buyer and ("winback" in tags or rng.random() < LAPSED)
    return shopper


def _orders_of(rng: random.Random, shopper: _Shopper, today: datetime) -> list[_Order]:
    if not shopper.buyer:
        return []
    tags = shopper.tags
    if "vip" in tags:
        count = rng.randint(4, 8)
    elif "first-order" in tags:
        count = 1
    elif tags & {"repeat-buyer", "wholesale", "b2b"}:
        count = rng.choices(range(2, 9), [ORDER_COUNTS[n] for n in range(2, 9)])[0]
    else:
        count = rng.choices(list(ORDER_COUNTS), list(ORDER_COUNTS.values()))[0]
    last = rng.randint(LAPSED_DAYS, 540) if shopper.lapsed else rng.randint(0, RECENT_DAYS)
    days = [last] + [rng.randint(last, HISTORY_DAYS) for _ in range(count - 1)]
    orders = [
        _Order(shopper, _moment(rng, today, day, shopper.country), _basket(rng, shopper))
        for day in sorted(days, reverse=True)
    ]
    if "vip" in tags:  # big spenders: dearer things until they are well over 500
        while sum((order.total for order in orders), Decimal(0)) < BIG_SPENDER:
            order = rng.choice(orders)
            product = rng.choice(PREMIUM)
            order.lines = [line for line in order.lines if line[0] != product] + [
                (product, _size(shopper, product), 1 + order.quantity_of(product))
            ]
    return orders


def _basket(rng: random.Random, shopper: _Shopper) -> list[tuple[Product, str | None, int]]:
    bulk = bool(shopper.tags & {"wholesale", "b2b"})
    lines = rng.choices((1, 2, 3, 4), (60, 27, 10, 3))[0] + ("vip" in shopper.tags)
    products: list[Product] = []
    while len(products) < lines:
        product = _popular(rng)
        if product not in products:
            products.append(product)
    return [
        (
            product,
            _size(shopper, product),
            rng.randint(2, 6) if bulk else rng.choices((1, 2, 3), (85, 11, 4))[0],
        )
        for product in products
    ]


def _popular(rng: random.Random) -> Product:
    return rng.choices(CATALOGUE, [product.popularity for product in CATALOGUE])[0]


def _size(shopper: _Shopper, product: Product) -> str | None:
    if not product.sizes:
        return None
    return shopper.shoe_size if product.sizes == SHOE_SIZES else shopper.clothing_size


def _guest_orders(rng: random.Random, count: int, taken: set[str], today: datetime) -> list[_Order]:
    """Checkouts without an account: e-mails no customer has; a few come back once."""
    weights = [country.weight for country in COUNTRIES]
    orders: list[_Order] = []
    while len(orders) < count:
        country = rng.choices(COUNTRIES, weights)[0]
        first = rng.choice(FIRST_NAMES[country.first_names][rng.choice(("female", "male"))])
        last = rng.choice(LAST_NAMES[country.last_names])
        email = f"{_mailbox(first, last)}{rng.randrange(70, 100)}@{rng.choice(EMAIL_DOMAINS)}"
        if email in taken:
            continue
        taken.add(email)
        guest = _Shopper(
            email, country, frozenset(), _clothing_size(rng, None), _shoe_size(rng, None)
        )
        guest.buyer = True
        visits = 2 if rng.random() < 0.15 else 1
        for _ in range(min(visits, count - len(orders))):
            day = rng.randint(0, HISTORY_DAYS)
            orders.append(
                _Order(guest, _moment(rng, today, day, country), _basket(rng, guest), guest=True)
            )
    return orders


def _bookings_and_tickets(shoppers: Sequence[_Shopper], today: datetime, seed: int) -> list[_Order]:
    """Some buyers still ordering also booked a service (a fitting, a styling session) or a
    ticket for one of the store's events lately: some of those are still to come, so profiles
    show upcoming bookings. A generator of their own: the shop's orders stay as they were."""
    rng = random.Random(f"schedule/{seed}")  # noqa: S311 - demo data, not secrets
    events = [
        (event, (today + timedelta(days=days)).replace(hour=19, minute=0, second=0, microsecond=0))
        for event, days in zip(EVENTS, (12, -6), strict=True)
    ]
    orders: list[_Order] = []
    for shopper in shoppers:
        if not shopper.buyer or shopper.lapsed or "first-order" in shopper.tags:
            continue
        if rng.random() < 0.15:
            service = rng.choice(SERVICES)
            placed = _moment(rng, today, rng.randint(1, 30), shopper.country)
            starts = (placed + timedelta(days=rng.randint(2, 21))).replace(
                hour=rng.randint(10, 17), minute=rng.choice((0, 30)), second=0, microsecond=0
            )
            ends = starts + timedelta(minutes=SERVICE_MINUTES[service.product_id])
            booking = _Order(shopper, placed, [(service, None, 1)], kind="booking")
            booking.details = {
                "service_id": service.product_id,
                "service_name": service.name,
                "starts_at": starts.isoformat(),
                "ends_at": ends.isoformat(),
            }
            orders.append(booking)
        if rng.random() < 0.08:
            event, event_at = rng.choice(events)
            placed = _moment(rng, today, rng.randint(8, 40), shopper.country)
            ticket = _Order(shopper, placed, [(event, None, rng.choice((1, 1, 2)))], kind="ticket")
            ticket.details = {
                "event_id": event.product_id,
                "event_name": event.name,
                "event_at": event_at.isoformat(),
            }
            orders.append(ticket)
    return orders


def _reviews(rng: random.Random, orders: Sequence[_Order], today: datetime) -> list[dict[str, Any]]:
    """Some customers rate a product of an order a few days after it arrives."""
    reviews = []
    for order in orders:
        if order.guest or order.placed_at > today - timedelta(days=7):
            continue
        if rng.random() >= REVIEWED:
            continue
        product, _, _ = rng.choice(order.lines)
        at = order.placed_at + timedelta(days=rng.randint(3, 21), minutes=rng.randrange(600))
        if at > today - timedelta(hours=1):
            continue
        reviews.append(
            {
                "review_id": f"RV-{order.order_id}-{product.product_id}",
                "email": order.shopper.email,
                "order_id": order.order_id,
                "product_id": product.product_id,
                "rating": rng.choices(list(RATINGS), list(RATINGS.values()))[0],
                "at": at.isoformat(),
            }
        )
    return reviews


def _activity(
    rng: random.Random, shoppers: Sequence[_Shopper], today: datetime
) -> list[dict[str, Any]]:
    """Product views and cart changes of the last 30 days: those seen are `active`, the others
    `inactive`. Buyers still ordering browse more than lapsed ones; `abandoned-cart` customers
    all left something in their cart lately."""
    items: list[dict[str, Any]] = []
    for shopper in shoppers:
        abandoned = "abandoned-cart" in shopper.tags
        chance = 0.15 if shopper.lapsed else 0.6 if shopper.buyer else 0.3
        if not abandoned and rng.random() >= chance:
            continue
        sessions = sorted(rng.sample(range(ACTIVITY_DAYS), rng.randint(1, 3)), reverse=True)
        for index, day in enumerate(sessions):
            cart = abandoned and index == len(sessions) - 1
            items += _session(rng, shopper, _moment(rng, today, day, shopper.country), cart)
    for number, item in enumerate(items, start=1):
        item["event_id"] = f"EV-{number:06d}"
    return items


def _session(
    rng: random.Random, shopper: _Shopper, start: datetime, cart: bool
) -> list[dict[str, Any]]:
    """A visit: a few product views, maybe into the cart (and sometimes out again)."""
    device = shopper.device if rng.random() < 0.8 else rng.choice(list(DEVICES))
    at = start - timedelta(minutes=30)  # a visit lasts well under 90 minutes: before "today"
    items = []
    viewed: list[Product] = []
    for _ in range(rng.randint(1, 5)):
        at += timedelta(seconds=rng.randint(20, 300))
        viewed.append(_popular(rng))
        items.append(_item(shopper, "product_viewed", at, viewed[-1], device))
    if cart or rng.random() < 0.3:
        at += timedelta(seconds=rng.randint(10, 120))
        product = viewed[-1]
        items.append(_item(shopper, "added_to_cart", at, product, device, quantity=1))
        if not cart and rng.random() < 0.15:
            at += timedelta(seconds=rng.randint(30, 600))
            items.append(_item(shopper, "removed_from_cart", at, product, device, quantity=1))
    return items


def _item(
    shopper: _Shopper,
    kind: str,
    at: datetime,
    product: Product,
    device: str,
    *,
    quantity: int | None = None,
) -> dict[str, Any]:
    currency = shopper.country.currency
    item: dict[str, Any] = {
        "kind": kind,
        "email": shopper.email,
        "at": at.isoformat(),
        "product_id": product.product_id,
        "sku": product.sku_of(_size(shopper, product)),
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "price": _money(product.price(currency)),
        "currency": currency,
        "device": device,
        "ip": shopper.ip,
    }
    if quantity is not None:
        item["quantity"] = quantity
    return item


def _moment(rng: random.Random, today: datetime, days_ago: int, country: Country) -> datetime:
    """A time `days_ago` days before `today`, at an hour people shop, in the country's local
    time (as the store platform reports it); always at least an hour before `today`."""
    zone = timezone(timedelta(hours=country.utc_offset))
    day = (today.astimezone(zone) - timedelta(days=days_ago)).date()
    hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    at = datetime(
        day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=zone
    )
    while at > today - timedelta(hours=1):
        at -= timedelta(days=1)
    return at


def _money(value: Decimal) -> str:
    """Money as a decimal string: exact, as the API prefers it."""
    return str(value.quantize(CENT))


def _batches(
    items: Sequence[dict[str, Any]], size: int, *, key: Callable[[dict[str, Any]], Hashable]
) -> list[list[dict[str, Any]]]:
    """`items` in batches of at most `size`, the items of one key together in one batch."""
    groups: dict[Hashable, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    batches: list[list[dict[str, Any]]] = []
    for group in groups.values():
        for start in range(0, len(group), size):  # a group larger than a batch: split
            part = group[start : start + size]
            if not batches or len(batches[-1]) + len(part) > size:
                batches.append([])
            batches[-1].extend(part)
    return batches


# Through the API --------------------------------------------------------------------------

_ATTEMPTS = 5  # for answers that say "busy, send it again" (503, or orders refused for now)


class _Api:
    """POSTs to the API, one session per thread; counts the requests; waits out 503s."""

    def __init__(self, base_url: str, token: str) -> None:
        self._base_url = base_url
        self._token = token
        self._sessions = threading.local()
        self._lock = threading.Lock()
        self.requests = 0

    def post(
        self, path: str, body: Any, *, what: str, headers: dict[str, str] | None = None
    ) -> requests.Response:
        return self.send("POST", path, body, what=what, headers=headers)

    def send(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        what: str,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self._token}"
        for attempt in range(_ATTEMPTS):
            with self._lock:
                self.requests += 1
            try:
                response = session.request(
                    method, f"{self._base_url}{path}", json=body, headers=headers, timeout=60
                )
            except requests.RequestException as exc:
                raise SeedError(f"{what}: {method} {path} failed: {exc}") from exc
            if response.status_code != 503 or attempt == _ATTEMPTS - 1:
                return response
            time.sleep(_pause(response, attempt))
        raise AssertionError("unreachable")

    def answer(self, response: requests.Response, *, what: str, status: int = 200) -> Any:
        """The JSON of an answer with `status`; SeedError naming `what` for any other."""
        if response.status_code != status:
            raise SeedError(f"{what}: {response.status_code} {_detail(response)}")
        try:
            return response.json()
        except ValueError:
            raise SeedError(f"{what}: answer is not JSON: {response.text[:200]}") from None


def _pause(response: requests.Response, attempt: int) -> float:
    try:
        after = float(response.headers.get("Retry-After", ""))
    except ValueError:
        after = 0.5 * 2**attempt
    return min(max(after, 0.1), 5.0)


def seed(
    base_url: str,
    token: str,
    customers: Sequence[dict[str, Any]],
    *,
    store: str = DEMO_STORE,
    workers: int = 4,
    history: bool = True,
    today: datetime | None = None,
    history_seed: int = DEFAULT_SEED,
    credits: bool = True,
) -> int:
    """Creates `customers` through the API, then (with `history`) photos for the first few,
    their orders, storefront activity and reviews from `demo_history` up to `today` (default:
    now), and (with `credits` too) the wallets, referrals and coupons of `seed_credits`;
    returns how many customers. Safe to repeat: customers have an idempotency key
    derived from their position, orders, activity and reviews their own ids (a photo is
    uploaded again). Raises SeedError on the first request refused.
    """
    started = time.monotonic()
    api = _Api(base_url, token)
    with_photo: dict[int, str] = {}
    ids: dict[int, str] = {}

    def create(item: tuple[int, dict[str, Any]]) -> None:
        index, body = item
        what = f"customer {index}"
        response = api.post(
            "/customers", body, what=what, headers={"Idempotency-Key": f"seed-{store}-{index}"}
        )
        created = api.answer(response, what=what, status=201)
        ids[index] = created["id"]
        if index < PHOTOS:
            with_photo[index] = created["id"]

    _in_parallel(workers, create, list(enumerate(customers)))
    if not history:
        return len(customers)
    _in_parallel(workers, lambda item: _give_photo(api, *item), sorted(with_photo.items()))
    made = demo_history(customers, today=today or datetime.now(UTC), seed=history_seed)
    # Orders first (guest checkouts create their customers), then what refers to customers.
    _in_parallel(
        workers, lambda batch: _record_orders(api, *batch), _numbered(made.order_batches())
    )
    _in_parallel(
        workers, lambda batch: _record_activity(api, *batch), _numbered(made.activity_batches())
    )
    _in_parallel(workers, lambda review: _record_review(api, review), made.reviews)
    guests = len({o["email"] for o in made.orders} - {c.get("email") for c in customers})
    log.info(
        "seeded %d customers, %d orders (%d guest e-mails), %d activity items, %d reviews:"
        " %d requests in %.0fs",
        len(customers),
        len(made.orders),
        guests,
        len(made.activity),
        len(made.reviews),
        api.requests,
        time.monotonic() - started,
    )
    if credits and len([c for c in customers if "email" in c]) >= REFERRERS + WALLETS:
        now = today or datetime.now(UTC)  # a store too small for them has no credits
        seed_credits(api, customers, [ids[i] for i in range(len(customers))], store, now)
        seed_mail(api, customers, [ids[i] for i in range(len(customers))], store)
        seed_exports(api)
        seed_privacy(api, ids[0])
    return len(customers)


def seed_exports(api: _Api) -> None:
    """Two exports on the store's record (GET /exports): its customers to Excel with headers in
    Portuguese, its wallets with their lots; the pollers make the files in the background."""
    for body, language in (
        ({"kind": "customers", "format": "xlsx"}, "pt-BR"),
        ({"kind": "wallets", "format": "xlsx"}, "en"),
    ):
        response = api.post("/exports", body, what="export", headers={"Accept-Language": language})
        api.answer(response, what="export", status=202)


def seed_privacy(api: _Api, customer_id: str) -> None:
    """One right-of-access request on the store's record (GET /privacy/requests): the first
    customer's data as HTML, assembled in the background once every service has answered."""
    response = api.post(
        f"/customers/{customer_id}/data-export", {"format": "html"}, what="privacy request"
    )
    api.answer(response, what="privacy request", status=202)


def seed_flows(base_url: str, token: str, shop_url: str = "https://shop.example.com") -> str:
    """The demo store's abandoned-cart and birthday flows, live (once: existing ones are kept),
    and the shop URL their e-mails link back to. Returns the abandoned-cart flow's id."""
    api = _Api(base_url, token)
    listed = api.answer(api.send("GET", "/flows", None, what="flows"), what="flows")
    live = {flow["name"]: str(flow["id"]) for flow in listed["items"] if flow["state"] == "live"}
    if "Abandoned cart" not in live:
        settings = {"shop_url": shop_url, "time_zone": "America/Sao_Paulo"}
        api.answer(api.send("PUT", "/flows/settings", settings, what="flow settings"), what="flows")
        response = api.post("/flows/templates/abandoned_cart", None, what="abandoned-cart flow")
        created = api.answer(response, what="abandoned-cart flow", status=201)
        live["Abandoned cart"] = str(created["id"])
    if "Birthday" not in live:
        # Customers whose birthday is today get the birthday e-mail at the next hourly tick.
        response = api.post("/flows/templates/birthday", None, what="birthday flow")
        api.answer(response, what="birthday flow", status=201)
    return live["Abandoned cart"]


def seed_segment_flow(base_url: str, token: str) -> str:
    """The demo store's saved segment "VIP" (tag `vip`) and a live flow its entrants go through
    (an hour later, the welcome e-mail), once. Returns the flow's id."""
    api = _Api(base_url, token)
    segments = api.answer(api.send("GET", "/segments", None, what="segments"), what="segments")
    vip = next((s["id"] for s in segments["items"] if s["name"] == "VIP"), None)
    if vip is None:
        body = {"name": "VIP", "filter": {"tag": ["vip"]}}
        vip = api.answer(api.post("/segments", body, what="VIP segment"), what="VIP", status=201)[
            "id"
        ]
    listed = api.answer(api.send("GET", "/flows", None, what="flows"), what="flows")
    found = next((f["id"] for f in listed["items"] if f["name"] == "VIP welcome"), None)
    if found is not None:
        return str(found)
    definition = {
        "trigger": {"type": "segment", "segment_id": vip},
        "steps": [
            {"id": "wait-1h", "type": "wait", "duration": {"hours": 1}, "next": "welcome"},
            {"id": "welcome", "type": "send_email", "template_id": "builtin-welcome"},
        ],
    }
    body = {"name": "VIP welcome", "definition": definition, "state": "live"}
    created = api.answer(api.post("/flows", body, what="VIP flow"), what="VIP flow", status=201)
    return str(created["id"])


def _numbered(batches: list[list[dict[str, Any]]]) -> list[tuple[int, list[dict[str, Any]]]]:
    return list(enumerate(batches, start=1))


def _record_orders(api: _Api, number: int, batch: list[dict[str, Any]]) -> None:
    """One POST /orders; orders refused for now (busy) are sent again, others fail the seed."""
    what = f"orders batch {number}"
    pending = batch
    for attempt in range(_ATTEMPTS):
        answer = api.answer(api.post("/orders", {"orders": pending}, what=what), what=what)
        busy = []
        for order, result in zip(pending, answer["results"], strict=True):
            if result["result"] != "refused":
                continue
            if not result.get("retry"):
                raise SeedError(
                    f"order {order['order_id']}: refused, {result.get('field')}:"
                    f" {result.get('reason')}"
                )
            busy.append(order)
        if not busy:
            return
        pending = busy
        time.sleep(0.2 * 2**attempt)
    raise SeedError(
        f"{what}: {len(pending)} orders still refused as busy, e.g. {pending[0]['order_id']}"
    )


def _record_activity(api: _Api, number: int, batch: list[dict[str, Any]]) -> None:
    what = f"activity batch {number}"
    answer = api.answer(api.post("/activity", {"items": batch}, what=what), what=what)
    for result in answer["results"]:
        if result["status"] != "recorded":  # unknown_customer: its customer is missing
            raise SeedError(f"activity {result['event_id']}: {result['status']}")


def _give_photo(api: _Api, index: int, customer_id: str) -> None:
    """Uploads an avatar as the admin console would: presigned POST, then confirm."""
    what = f"photo of customer {index}"
    path = f"/customers/{customer_id}/photo"
    started = api.post(f"{path}/uploads", {"content_type": "image/png"}, what=what)
    grant = api.answer(started, what=what, status=201)
    image = avatar_png(index)
    try:
        sent = requests.post(
            grant["url"],
            data=grant["fields"],
            files={"file": ("avatar.png", image, "image/png")},
            timeout=60,
        )
    except requests.RequestException as exc:
        raise SeedError(f"{what}: upload failed: {exc}") from exc
    if sent.status_code not in (200, 201, 204):
        raise SeedError(f"{what}: upload refused: {sent.status_code} {sent.text[:200]}")
    api.answer(api.send("PUT", path, {"upload_id": grant["upload_id"]}, what=what), what=what)


# Avatar colours: muted, distinct.
_AVATAR_COLOURS = ((46, 134, 171), (162, 59, 114), (241, 143, 1), (199, 62, 29), (59, 31, 43))


def avatar_png(index: int, size: int = 96) -> bytes:
    """A real PNG: a coloured square with a lighter centre, one colour per customer."""
    colour = _AVATAR_COLOURS[index % len(_AVATAR_COLOURS)]
    light = bytes(min(255, c + 70) for c in colour)
    rows = []
    for y in range(size):
        inside = size // 4 <= y < size - size // 4
        row = b"".join(
            light if inside and size // 4 <= x < size - size // 4 else bytes(colour)
            for x in range(size)
        )
        rows.append(b"\x00" + row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _record_review(api: _Api, review: dict[str, Any]) -> None:
    what = f"review {review['review_id']}"
    api.answer(api.post("/reviews", review, what=what), what=what)


def _in_parallel(workers: int, task: Callable[[T], None], items: Sequence[T]) -> None:
    """Runs `task` on every item, `workers` at a time; on the first failure the items not
    started yet are dropped and that failure is raised."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed") as pool:
        futures = [pool.submit(task, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]


def _detail(response: requests.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return response.text[:200]
    if not isinstance(problem, dict):
        return str(problem)[:200]
    detail = str(problem.get("detail") or problem.get("title") or problem)
    errors = problem.get("errors")
    if isinstance(errors, list) and errors:
        fields = ", ".join(
            f"{e.get('field')}: {e.get('message') or e.get('reason')}"
            for e in errors[:3]
            if isinstance(e, dict)
        )
        detail = f"{detail} ({fields})"
    return detail


# Credits: wallets, refer-a-friend and coupons ------------------------------------------------

CREDIT_CURRENCY = "BRL"  # the credits service's default currency: what `GET /wallets` shows
REFERRERS = 3  # the first customers with an e-mail enrol as referrers
WALLETS = 6  # the customers after them get wallets with lots of every kind
EXPIRING_SOON = timedelta(days=3)  # within credit.expiring's lead time (7 days)
PROGRAMME = {
    "referrer_reward": "20.00",
    "friend_reward": "10.00",
    "currency": CREDIT_CURRENCY,
    "expiry_days": 90,
    "monthly_cap": 10,
    "share_base_url": "https://demo-store.example.com/indique",
}
# 5% cashback on paid orders, 90 days to spend it; like the referral programme, a zero hold
# window while the rewarded friends order (granted when the clock moves), then two weeks.
CASHBACK: dict[str, Any] = {"enabled": True, "percent": "5", "expiry_days": 90}
# The friends who signed up with a referrer's code, and what became of each referral. The
# `flagged` one's e-mail is its referrer's with a number: a look-alike held for review.
FRIENDS = (
    ("Teodora", "Vasconcelos", 0, "rewarded"),
    ("Baltasar", "Quintela", 1, "rewarded"),
    ("Iolanda", "Brandão", 0, "qualified"),
    ("Crisanto", "Meireles", 2, "pending"),
    ("Eulália", "Sarmento", 1, "pending"),
    ("Leopoldina", "Arruda", 2, "voided"),
    (None, None, 0, "flagged"),
)
COUPONS: tuple[dict[str, Any], ...] = (
    {"code": "DEMO-WELCOME-10", "percentage": 10, "minimum_order": "100.00"},
    {"code": "DEMO-VIP-25", "amount": "25.00", "expires_at_days": 60},
)


def credit_plan(today: datetime) -> list[tuple[int, str, dict[str, Any]]]:
    """What each demo wallet gets, in order: (wallet number, `credit`/`debit`/`reversal`/
    `adjustment`, body). Same `today`, same plan; every kind of lot, some expiring soon, some
    later."""
    soon = (today + EXPIRING_SOON).replace(microsecond=0).isoformat()
    later = (today + timedelta(days=60)).replace(microsecond=0).isoformat()
    kinds = ("referral", "bonus", "cashback", "refund", "manual")
    plan: list[tuple[int, str, dict[str, Any]]] = []
    for wallet in range(WALLETS):
        for n, kind in enumerate(kinds[wallet % 2 :: 1 + wallet % 2]):
            body: dict[str, Any] = {
                "kind": kind,
                "amount": _money(Decimal(10 + 5 * wallet + 3 * n)),
                "currency": CREDIT_CURRENCY,
                "note": f"demo {kind} credit",
            }
            if kind in {"bonus", "cashback"}:  # promotional credit lapses; refunds do not
                body["expires_at"] = soon if wallet % 3 == 0 else later
            plan.append((wallet, "credit", body))
    for wallet in (0, 1, 2):
        body = {"amount": "12.50", "currency": CREDIT_CURRENCY, "order_id": f"DS-W{wallet + 1}"}
        plan.append((wallet, "debit", body))
    plan.append((1, "reversal", {"amount": "5.00"}))  # part of wallet 1's debit put back
    # An admin's correction (credit.adjusted, on the customer's timeline).
    note = "demo correction: goodwill credit given twice"
    plan.append((2, "adjustment", {"amount": "-2.00", "currency": CREDIT_CURRENCY, "note": note}))
    return plan


def friend_bodies(customers: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`POST /customers` bodies of the friends of `FRIENDS` (they have not ordered yet)."""
    referrers = _referrer_indexes(customers)
    bodies = []
    for first, last, referrer, _status in FRIENDS:
        if first is None or last is None:
            local, domain = customers[referrers[referrer]]["email"].split("@")
            body = {"first_name": "Demo", "last_name": "Lookalike", "email": f"{local}87@{domain}"}
        else:
            body = {"first_name": first, "last_name": last, "email": _friend_email(first, last)}
        bodies.append({**body, "country": "BR", "language": "pt-BR", "tags": []})
    return bodies


def _friend_email(first: str, last: str) -> str:
    return f"{_mailbox(first, last)}@example.org"


def _referrer_indexes(customers: Sequence[dict[str, Any]]) -> list[int]:
    with_email = [i for i, c in enumerate(customers) if "email" in c]
    if len(with_email) < REFERRERS + WALLETS:
        raise SeedError(f"credits need {REFERRERS + WALLETS} customers with an e-mail")
    return with_email[:REFERRERS]


def seed_credits(
    api: _Api,
    customers: Sequence[dict[str, Any]],
    ids: Sequence[str],
    store: str,
    today: datetime,
) -> None:
    """The demo store's credits through the credits API: a referral programme, three
    referrers, referrals in every status (through sign-ups with a code and the friends' first
    orders on `POST /orders`), wallets with lots of every kind, debits and a reversal, and a
    coupon for one customer (redeemed) and another still to use.

    `rewarded` needs the hourly reward job: the programme starts with a hold window of 0 days,
    the local clock is moved an hour (`/_local/clock/advance`, the local stack's control) so
    the job runs, then the window is set to 14 days for the `qualified` one. Safe to repeat:
    every posting has a key derived from its place in the plan.
    """
    started = time.monotonic()
    with_email = [i for i, c in enumerate(customers) if "email" in c]
    referrers = [ids[i] for i in _referrer_indexes(customers)]
    holders = [ids[i] for i in with_email[REFERRERS : REFERRERS + WALLETS]]
    programme = {**PROGRAMME, "hold_window_days": 0}
    # Versioned with If-Match: the seed sets it whatever an earlier run left (`*`).
    anyhow = {"If-Match": "*"}
    _ok(
        api,
        api.send("PUT", "/referrals/programme", programme, what="programme", headers=anyhow),
        "programme",
    )
    friends = []
    bodies = friend_bodies(customers)
    for n, body in enumerate(bodies):
        what = f"friend {n}"
        key = {"Idempotency-Key": f"seed-{store}-friend-{n}"}
        friends.append(_ok(api, api.post("/customers", body, what=what, headers=key), what)["id"])
    _settle(api)  # wallets open and credits' read model knows the friends
    codes = []
    for referrer in referrers:
        what = f"referrer {referrer}"
        enrol = {"customer_id": referrer}
        codes.append(_ok(api, api.post("/referrers", enrol, what=what), what)["code"])
    debits: dict[str, str] = {}  # the last debit of each wallet, for the reversal
    referrals = []
    for (_, _, by, status), friend in zip(FRIENDS, friends, strict=True):
        what = f"referral of {friend}"
        sign_up = {"code": codes[by], "customer_id": friend}
        response = api.post("/referrals", sign_up, what=what)
        answer = _ok(api, response, what)
        expected = "flagged" if status == "flagged" else "pending"
        if response.status_code == 201 and answer["status"] != expected:
            raise SeedError(f"{what}: {answer['status']} ({answer['reason']}), not {status}")
        referrals.append(answer["id"])
    _cashback(api, hold_window_days=0)
    _first_orders(api, friends, bodies, "rewarded", today)
    for n, step in enumerate(credit_plan(today)):
        _post_credit(api, holders, debits, step, f"seed-{store}-credit-{n}")
    _settle(api)
    # The hourly jobs run once: rewards of the referrals past their (zero) hold window, and
    # the expiry job's credit.expiring for the lots expiring soon.
    api.answer(api.post("/_local/clock/advance?seconds=3600", None, what="clock"), what="clock")
    _settle(api)
    _cashback(api, hold_window_days=14)
    programme = {**PROGRAMME, "hold_window_days": 14}
    _ok(
        api,
        api.send("PUT", "/referrals/programme", programme, what="programme", headers=anyhow),
        "programme",
    )
    _first_orders(api, friends, bodies, "qualified", today)
    for (_, _, _, status), referral in zip(FRIENDS, referrals, strict=True):
        if status == "voided":
            answer = api.post(f"/referrals/{referral}/voiding", None, what="voiding")
            if answer.status_code != 409:  # 409: voided by an earlier run
                _ok(api, answer, f"voiding {referral}")
    _coupons(api, holders[0], today)
    _settle(api)
    log.info(
        "seeded credits: %d wallets, %d referrals in %.0fs",
        WALLETS,
        len(FRIENDS),
        time.monotonic() - started,
    )


def _cashback(api: _Api, *, hold_window_days: int) -> None:
    """The store's cashback programme (`PUT /credits/settings`, versioned: `*` overwrites what
    an earlier run left)."""
    cashback = {**CASHBACK, "hold_window_days": hold_window_days}
    body = {"default_currency": CREDIT_CURRENCY, "cashback": cashback}
    answer = api.send(
        "PUT", "/credits/settings", body, what="credits settings", headers={"If-Match": "*"}
    )
    _ok(api, answer, "credits settings")


def _first_orders(
    api: _Api,
    friends: Sequence[str],
    bodies: Sequence[dict[str, Any]],
    status: str,
    today: datetime,
) -> None:
    """The first order (through `POST /orders`) of the friends whose referral becomes
    `status`: credits sees its `order.placed` on the bus and qualifies the referral."""
    product = CATALOGUE[0]
    price = _money(product.price(CREDIT_CURRENCY))
    orders = [
        {
            "order_id": f"DS-REF-{n + 1}",
            "customer_id": friend,
            "email": body["email"],
            "placed_at": (today - timedelta(minutes=5)).replace(microsecond=0).isoformat(),
            "currency": CREDIT_CURRENCY,
            "total": price,
            "items": [
                {
                    "product_id": product.product_id,
                    "sku": product.sku_of("M"),
                    "name": product.name,
                    "quantity": 1,
                    "unit_price": price,
                }
            ],
        }
        for n, (friend, body, plan) in enumerate(zip(friends, bodies, FRIENDS, strict=True))
        if plan[3] == status
    ]
    _record_orders(api, 0, orders)
    _settle(api)


def _post_credit(
    api: _Api,
    holders: Sequence[str],
    debits: dict[str, str],
    step: tuple[int, str, dict[str, Any]],
    key: str,
) -> None:
    wallet, kind, body = step
    customer = holders[wallet]
    what = f"{kind} of wallet {wallet}"
    headers = {"Idempotency-Key": key}
    if kind == "reversal":
        debit = debits[customer]
        path = f"/wallets/{customer}/debits/{debit}/reversal"
    else:
        path = f"/wallets/{customer}/{kind}s"
    answer = _ok(api, api.post(path, body, what=what, headers=headers), what)
    if kind == "debit":
        debits[customer] = answer["entry"]["entry_id"]


def _coupons(api: _Api, customer: str, today: datetime) -> None:
    """Two coupons for one customer; the first redeemed at checkout of an order."""
    for coupon in COUPONS:
        body = {k: v for k, v in coupon.items() if k != "expires_at_days"}
        body.update(customer_id=customer, currency=CREDIT_CURRENCY)
        if "expires_at_days" in coupon:
            expires = today + timedelta(days=int(coupon["expires_at_days"]))
            body["expires_at"] = expires.replace(microsecond=0).isoformat()
        answer = api.post("/coupons", body, what=f"coupon {coupon['code']}")
        if answer.status_code != 409:  # 409 coupon-code-taken: made by an earlier run
            _ok(api, answer, f"coupon {coupon['code']}")
    code = COUPONS[0]["code"]
    body = {"order_id": "DS-CPN-1", "customer_id": customer, "subtotal": "189.90"}
    body["currency"] = CREDIT_CURRENCY
    _ok(api, api.post(f"/coupons/{code}/redemptions", body, what="redemption"), "redemption")


MAIL_THREADS = (
    ("Sua encomenda", "Olá! Sua encomenda saiu hoje. Precisa de algo mais?"),
    ("Troca de tamanho", "Olá! Recebemos seu pedido de troca. Qual tamanho prefere?"),
)
INBOUND_BUCKET = "clientela-automation-inbound-123456789012-us-east-1"


def seed_mail(
    api: _Api, customers: Sequence[dict[str, Any]], ids: Sequence[str], store: str
) -> None:
    """The demo store's mail through the automation API: a copy of the abandoned-cart template
    to edit, two conversations with customers, and a reply to the first one put into the
    inbound bucket the way SES stores it (the local stack's moto; the bucket notifies the
    queue, the poller threads it). Safe to repeat: messages have idempotency keys, the
    template is made once, the reply has a fixed Message-ID (threaded once)."""
    templates = _ok(api, api.send("GET", "/templates", None, what="templates"), "templates")
    if not any(t["name"] == "Carrinho abandonado" for t in templates["items"]):
        body = {"from_builtin": "builtin-abandoned-cart", "name": "Carrinho abandonado"}
        _ok(api, api.post("/templates", body, what="template"), "template")
    _settle(api)  # automation's contacts know the customers
    with_email = [i for i, c in enumerate(customers) if "email" in c][: len(MAIL_THREADS)]
    threads = []
    for n, (index, (subject, text)) in enumerate(zip(with_email, MAIL_THREADS, strict=False)):
        what = f"message {n}"
        key = {"Idempotency-Key": f"seed-{store}-message-{n}"}
        path = f"/customers/{ids[index]}/messages"
        answer = api.post(path, {"subject": subject, "body": text}, what=what, headers=key)
        threads.append((customers[index]["email"], _ok(api, answer, what)))
    if threads:
        _reply(api, *threads[0])


def _reply(api: _Api, address: str, thread: dict[str, Any]) -> None:
    aws = _ok(api, api.send("GET", "/health", None, what="health"), "health").get("aws")
    if not aws:
        return
    sent = requests.get(f"{aws}/moto-api/data.json", timeout=60).json()["ses"]["RawMessage"]
    reply_to = next(
        (
            line.split(":", 1)[1].strip()
            for message in sent
            if address in message["destinations"]
            for line in message["raw_data"].splitlines()
            if line.lower().startswith("reply-to:")
        ),
        None,
    )
    if reply_to is None:
        return
    raw = (
        f"From: {address}\r\nTo: {reply_to}\r\nSubject: Re: {thread['subject']}\r\n"
        f"Message-ID: <seed-reply-{thread['id']}@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Chegou sim, muito obrigada!\r\n\r\nEm seg., Loja escreveu:\r\n> Olá!\r\n"
    ).encode()
    s3 = boto3.client(
        "s3",
        endpoint_url=aws,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto takes any key
    )
    s3.put_object(Bucket=INBOUND_BUCKET, Key=f"replies/seed-{thread['id']}", Body=raw)
    _settle(api)


def _ok(api: _Api, response: requests.Response, what: str) -> Any:
    """The JSON of a 201 (created) or 200 (the same request again)."""
    return api.answer(response, what=what, status=200 if response.status_code == 200 else 201)


def _settle(api: _Api) -> None:
    """Waits until the local stack has handled every event so far (`/_local/wait-idle`): the
    next step reads what the events wrote (an open wallet, a qualified referral). Each wait is
    shorter than the client's 60-second read timeout, and a busy stack is asked again: up to
    ten minutes in all on a loaded machine."""
    for _attempt in range(12):
        response = api.post("/_local/wait-idle?timeout=50", None, what="wait-idle")
        if response.status_code == 204:
            return
        if response.status_code != 504:
            raise SeedError(f"wait-idle: {response.status_code} {_detail(response)}")
    raise SeedError("wait-idle: the local stack is still busy")


def demo_token(store: str = DEMO_STORE, ttl_seconds: int = 12 * 3600) -> str:
    return auth.issue_token(store, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY, ttl_seconds)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clientela_local.seed",
        description="Fills a store with demo customers, their orders, activity and reviews.",
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--store", default=DEMO_STORE)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--no-history", action="store_true", help="customers only")
    args = parser.parse_args(None if argv is None else list(argv))
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    created = seed(
        args.base_url,
        demo_token(args.store),
        demo_customers(args.count, args.seed),
        store=args.store,
        history=not args.no_history,
        history_seed=args.seed,
    )
    print(f"{created} customers in store {args.store}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
