"""The demo store: a few hundred believable customers, created through the public API.

Seeding goes through `POST /customers` like any integrator would, so it exercises the same
path as users: authorizer, validation, idempotency, the stream and the events downstream.
The same seed always gives the same customers.

    python -m clientela_local.seed --base-url http://127.0.0.1:8000 [--store demo-store]
"""

from __future__ import annotations

import argparse
import random
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import phonenumbers
import requests

from clientela import auth
from clientela_local.seed_data import (
    COUNTRIES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    TAGS,
    Country,
)

DEMO_STORE = "demo-store"
DEFAULT_COUNT = 300
DEFAULT_SEED = 20240601


class SeedError(RuntimeError):
    """The API refused a demo customer: the message carries its status and problem detail."""


def demo_customers(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """`count` customer bodies for `POST /customers`; unique e-mails; same seed, same list."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    weights = [country.weight for country in COUNTRIES]
    customers = []
    emails: set[str] = set()
    for _ in range(count):
        customer = _customer(rng, rng.choices(COUNTRIES, weights)[0])
        if "email" in customer:  # namesakes get a number, as mailbox providers make them do
            local, domain = customer["email"].split("@")
            suffix = 1
            while customer["email"] in emails:
                suffix += 1
                customer["email"] = f"{local}{suffix}@{domain}"
            emails.add(customer["email"])
        customers.append(customer)
    return customers


def _customer(rng: random.Random, country: Country) -> dict[str, Any]:
    first = rng.choice(FIRST_NAMES[country.first_names])
    last = rng.choice(LAST_NAMES[country.last_names])
    if country.last_names in {"pt", "es"} and rng.random() < 0.4:
        last = f"{last} {rng.choice(LAST_NAMES[country.last_names])}"  # two family names
    city, mobile_prefix = rng.choice(country.cities)
    customer: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "city": city,
        "country": country.code,
        "tags": sorted({tag for tag, percent in TAGS.items() if rng.random() * 100 < percent}),
    }
    contact = rng.random()
    if contact >= 0.05:  # a few customers only ever gave a phone
        local = f"{_ascii(first)}.{_ascii(last)}".replace(" ", "").replace("'", "")
        customer["email"] = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
    if contact < 0.05 or rng.random() < 0.85:
        customer["phone"] = _mobile(rng, country, mobile_prefix)
    return customer


def _ascii(text: str) -> str:
    """`João` -> `joao`: most people's mailbox names drop the accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _mobile(rng: random.Random, country: Country, prefix: str) -> str:
    """A valid E.164 mobile number of `country` (checked with the same library the API uses)."""
    for _ in range(50):
        digits = "".join(rng.choice("0123456789") for _ in range(country.national_digits))
        number = f"+{country.calling_code}{prefix}{digits[len(prefix) :]}"
        if phonenumbers.is_valid_number_for_region(phonenumbers.parse(number), country.code):
            return number
    raise ValueError(f"no valid {country.code} number starts with {prefix}")


def seed(
    base_url: str,
    token: str,
    customers: Sequence[dict[str, Any]],
    *,
    store: str = DEMO_STORE,
    workers: int = 4,
) -> int:
    """Creates `customers` through the API; returns how many. Safe to repeat: each request has
    an idempotency key derived from its position."""
    sessions = threading.local()

    def create(item: tuple[int, dict[str, Any]]) -> None:
        index, body = item
        session = getattr(sessions, "session", None)
        if session is None:
            session = sessions.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
        response = session.post(
            f"{base_url}/customers",
            json=body,
            headers={"Idempotency-Key": f"seed-{store}-{index}"},
            timeout=30,
        )
        if response.status_code != 201:
            raise SeedError(f"customer {index}: {response.status_code} {_detail(response)}")

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed") as pool:
        for _ in pool.map(create, enumerate(customers)):
            pass
    return len(customers)


def _detail(response: requests.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return response.text[:200]
    return str(problem.get("detail") or problem.get("title") or problem)


def demo_token(store: str = DEMO_STORE, ttl_seconds: int = 12 * 3600) -> str:
    return auth.issue_token(store, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY, ttl_seconds)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clientela_local.seed", description="Fills a store with demo customers."
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--store", default=DEMO_STORE)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    args = parser.parse_args(None if argv is None else list(argv))
    created = seed(
        args.base_url, demo_token(args.store), demo_customers(args.count), store=args.store
    )
    print(f"{created} customers in store {args.store}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
