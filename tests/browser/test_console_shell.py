"""The console's shell: signing in from the link, signing out when the token ends, languages."""

from __future__ import annotations

import re

from playwright.sync_api import Response, expect

from clientela import auth
from tests.browser.conftest import Owner, new_context

FIRST_LOAD_BUDGET_BYTES = 200 * 1024


def test_the_link_signs_the_owner_in_and_leaves_no_token_in_the_address(owner: Owner) -> None:
    owner.create_customer(first_name="Ana", last_name="Beatriz", email="ana.b@example.com")
    page = owner.open()

    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Ana Beatriz")).to_be_visible()
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('clientela.token')")
    assert not page.evaluate("localStorage.getItem('clientela.token')")
    expect(page.locator("#store-name")).to_have_text(owner.store)
    assert owner.axe_violations() == []


def test_an_expired_token_shows_sign_in_again(owner: Owner) -> None:
    page = owner.open()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    expired = auth.issue_token(owner.store, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY, -60)
    page.evaluate("token => sessionStorage.setItem('clientela.token', token)", expired)
    page.evaluate("location.hash = '#/customers?again=1'")

    expect(page.get_by_role("heading", name="Sign in again")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('clientela.token')") is None
    assert owner.axe_violations() == []


def test_a_token_the_api_refuses_signs_out_too(owner: Owner) -> None:
    page = owner.open()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    # The screen's own requests (the list, its count, segments, tags) must be answered first:
    # one sent after the swap below would sign out before the search is typed.
    page.wait_for_load_state("networkidle")
    forged = auth.issue_token(owner.store, auth.ALL_SCOPES, "not-the-key-" * 4, 3600)
    page.evaluate("token => sessionStorage.setItem('clientela.token', token)", forged)
    page.get_by_role("searchbox").fill("zz")

    expect(page.get_by_role("heading", name="Sign in again")).to_be_visible()


def test_the_browser_language_is_used_and_can_be_switched(owner: Owner) -> None:
    owner.create_customer(first_name="Bruna", email="bruna@example.com")
    context = new_context(owner.page.context.browser, locale="pt-BR")  # type: ignore[arg-type]
    owner.page = context.new_page()
    try:
        page = owner.open()
        expect(page.get_by_role("heading", name="Clientes", exact=True)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
        expect(page.get_by_role("columnheader", name=re.compile("Total gasto"))).to_be_visible()

        page.get_by_label("Idioma").select_option("it")
        expect(page.get_by_role("heading", name="Clienti", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Esportazioni")).to_be_visible()
        page.reload()  # the choice is remembered
        expect(page.get_by_role("heading", name="Clienti", exact=True)).to_be_visible()
    finally:
        context.close()


def test_the_first_load_is_light(owner: Owner) -> None:
    """What the first screen transfers, compressed as the edge serves it (under 200 KB)."""
    sizes: dict[str, int] = {}

    def count(response: Response) -> None:
        # Content-Length is what went over the wire: the compressed size when gzipped.
        sizes[response.url] = int(response.headers.get("content-length") or len(response.body()))

    owner.page.on("response", count)
    page = owner.open()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    assert 0 < total < FIRST_LOAD_BUDGET_BYTES, sizes
