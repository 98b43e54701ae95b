"""Path routing comes from the CloudFront distribution in infra/edge.yaml, for AWS and locally."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from clientela_local.routing import load_routes

EDGE = Path(__file__).resolve().parents[2] / "infra" / "edge.yaml"

# The path ownership table of the spec, in the order CloudFront evaluates it.
OWNED = [
    ("/customers", "customers"),
    ("/customers/*/data-export*", "exports"),
    ("/customers/*/messages*", "automation"),
    ("/customers/*/coupons*", "credits"),
    ("/customers/*", "customers"),
    ("/orders*", "customers"),
    ("/segments*", "customers"),
    ("/reports*", "customers"),
    ("/tags*", "customers"),
    ("/jobs*", "customers"),
    ("/migration*", "customers"),
    ("/reviews*", "customers"),
    ("/activity*", "customers"),
    ("/health/customers", "customers"),
    ("/wallets*", "credits"),
    ("/credits*", "credits"),
    ("/coupons*", "credits"),
    ("/referrals*", "credits"),
    ("/referrers*", "credits"),
    ("/health/credits", "credits"),
    ("/flows*", "automation"),
    ("/messages*", "automation"),
    ("/templates*", "automation"),
    ("/suppressions*", "automation"),
    ("/unsubscribe/*", "automation"),
    ("/track/*", "automation"),
    ("/health/automation", "automation"),
    ("/exports*", "exports"),
    ("/imports*", "exports"),
    ("/privacy*", "exports"),
    ("/health/exports", "exports"),
]


def cloudfront_match(pattern: str, path: str) -> bool:
    """CloudFront's path pattern rules: case-sensitive, `*` any run of characters, `?` one."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, path) is not None


def owner(path: str, routes: list[tuple[str, str]]) -> str | None:
    return next((service for pattern, service in routes if cloudfront_match(pattern, path)), None)


def test_the_edge_template_routes_every_owned_path_to_its_service() -> None:
    assert load_routes(EDGE) == OWNED


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/customers", "customers"),
        ("/customers/c-1/orders", "customers"),
        ("/customers/c-1/coupons", "credits"),
        ("/orders/o-1", "customers"),
        ("/wallets/c-1", "credits"),
        ("/coupons/MARIA-10/redemptions", "credits"),
        ("/referrals/programme", "credits"),
        ("/referrers/c-1", "credits"),
        ("/flows", "automation"),
        ("/customers/c-1/messages", "automation"),
        ("/messages/t-1/replies", "automation"),
        ("/unsubscribe/abc", "automation"),
        ("/track/click/abc", "automation"),
        ("/suppressions/abc", "automation"),
        ("/imports/i-1/rows", "exports"),
        ("/customers/c-1/data-export", "exports"),
        ("/privacy/requests/prv-1", "exports"),
        ("/health/credits", "credits"),
        ("/openapi.json", None),
        ("/docs", None),
        ("/customersx", None),
    ],
)
def test_paths_reach_the_owner_or_the_docs_bucket(path: str, service: str | None) -> None:
    assert owner(path, load_routes(EDGE)) == service


def test_every_app_route_is_reachable_through_the_edge(apps: dict[str, Any]) -> None:
    routes = load_routes(EDGE)
    unreachable = []
    for service, module in apps.items():
        for path in module.app.routes:
            sample = re.sub(r"\{[^}]+\}", "x-1", path)
            if owner(sample, routes) != service:
                unreachable.append(f"{service} {path}")
    assert unreachable == []


def _edge(tmp_path: Path, behaviours: str) -> Path:
    template = tmp_path / "edge.yaml"
    template.write_text(
        f"""
Resources:
  Distribution:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Origins:
          - {{Id: docs, DomainName: !GetAtt Bucket.RegionalDomainName}}
          - {{Id: shop, DomainName: !Ref ShopDomain}}
        CacheBehaviors:
{behaviours}
""",
        encoding="utf-8",
    )
    return template


def test_routes_are_read_through_short_form_tags(tmp_path: Path) -> None:
    template = _edge(tmp_path, "          - {PathPattern: /shop*, TargetOriginId: shop}")
    assert load_routes(template) == [("/shop*", "shop")]


def test_a_route_to_an_unknown_origin_is_refused(tmp_path: Path) -> None:
    template = _edge(tmp_path, "          - {PathPattern: /other*, TargetOriginId: nowhere}")
    with pytest.raises(ValueError, match="unknown origin nowhere"):
        load_routes(template)


def test_a_template_without_one_distribution_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "edge.yaml"
    template.write_text("Resources: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected one"):
        load_routes(template)
