"""The customer list and adding customers (seeds 000 and 004), clicked through as an owner.

Each story checks what the owner sees and, where the screen changes something, the API's state
afterwards, so a screen that only looks right cannot pass.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser.conftest import Owner

# An export goes through the bus, the customers service and back before its link exists.
EXPORT_TIMEOUT_MS = 60_000


def _customers(owner: Owner, **query: Any) -> list[dict[str, Any]]:
    response = owner.api("GET", "/customers", params={"limit": 200, **query})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_customer_is_found_by_initials_as_the_owner_types(owner: Owner) -> None:
    owner.create_customer(first_name="Marta", last_name="Lopes Quintana", email="mlq@example.es")
    owner.create_customer(first_name="Mario", last_name="Lima", email="ml@example.it")
    page = owner.open()
    expect(page.locator("p.count")).to_have_text("2 customers")

    page.get_by_role("searchbox", name="Search customers").fill("mlq")

    expect(page.get_by_role("link", name="Marta Lopes Quintana")).to_be_visible()
    expect(page.get_by_role("link", name="Mario Lima")).to_have_count(0)
    expect(page.locator("p.count")).to_have_text("1 customer")
    assert "q=mlq" in page.url
    page.reload()  # the search is kept in the address
    expect(page.get_by_role("searchbox", name="Search customers")).to_have_value("mlq")
    expect(page.get_by_role("link", name="Marta Lopes Quintana")).to_be_visible()
    owner.screenshot("customers")
    assert owner.axe_violations() == []


def test_a_heart_makes_a_favourite_and_the_favourites_filter_and_segment_find_it(
    owner: Owner,
) -> None:
    owner.create_customer(first_name="Bruna", last_name="Costa", email="bruna@example.com.br")
    owner.create_customer(first_name="Caio", last_name="Prado", email="caio@example.com.br")
    page = owner.open()
    heart = page.get_by_role("button", name="Favourite: Bruna Costa")
    expect(heart).to_have_attribute("aria-pressed", "false")

    heart.click()

    expect(heart).to_have_attribute("aria-pressed", "true")
    assert [c["email"] for c in _customers(owner, favorite="true")] == ["bruna@example.com.br"]

    page.get_by_role("button", name="Filters", exact=True).click()
    page.get_by_label("Favourites", exact=True).select_option("true")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name="Caio Prado")).to_have_count(0)
    expect(page.get_by_role("link", name="Bruna Costa")).to_be_visible()
    assert "favorite=true" in page.url
    assert owner.axe_violations() == []  # with the filter panel open

    page.get_by_label("Save these filters as a segment named").fill("Favourites")
    page.get_by_role("button", name="Save segment").click()
    segment = page.get_by_role("listitem").filter(has_text="Favourites")
    expect(segment).to_contain_text("1 customer")
    saved = [s for s in owner.api("GET", "/segments").json()["items"] if s["name"] == "Favourites"]
    assert saved and saved[0]["filter"]["favorite"] is True
    name = page.get_by_label("Save these filters as a segment named")
    name.fill("favourites")  # names are unique, case ignored
    page.get_by_role("button", name="Save segment").click()
    expect(name).to_have_accessible_description("Another segment already has this name.")

    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_role("link", name="Caio Prado")).to_be_visible()
    segment.get_by_role("button", name="Favourites").click()
    expect(page.get_by_role("link", name="Caio Prado")).to_have_count(0)
    expect(page.get_by_role("link", name="Bruna Costa")).to_be_visible()


# Where the list's first row is when it is first drawn: a MutationObserver runs before the page
# is painted again, so the first position the owner could see is the one recorded.
_FIRST_ROW_TOP = """
window.firstRowTop = null;
new MutationObserver(() => {
  const row = document.querySelector("table.grid tbody tr");
  if (row && window.firstRowTop === null) {
    window.firstRowTop = row.getBoundingClientRect().top + window.scrollY;
  }
}).observe(document, { childList: true, subtree: true });
"""


def test_the_rows_stay_where_they_were_drawn_when_the_segments_arrive(owner: Owner) -> None:
    """The rows are asked for first and the segments after: a list of segments that pushed the
    table down would move the row the owner is about to click."""
    owner.create_customer(first_name="Rosa", last_name="Maia", email="rosa@example.com.br")
    for city in ("Recife", "Belém", "Natal", "Manaus", "Curitiba", "Goiânia", "Maceió"):
        body = {"name": f"Buyers in {city}", "filter": {"city": city}}
        assert owner.api("POST", "/segments", json=body).status_code == 201
    segments = len(owner.api("GET", "/segments").json()["items"])
    owner.page.add_init_script(_FIRST_ROW_TOP)

    page = owner.open()
    expect(page.locator(".segment-list li")).to_have_count(segments)
    page.wait_for_load_state("networkidle")

    drawn = page.evaluate("window.firstRowTop")
    row = page.locator("table.grid tbody tr").first
    now = row.evaluate("row => row.getBoundingClientRect().top + window.scrollY")
    assert drawn is not None
    assert abs(now - drawn) < 1, f"the first row moved from {drawn} to {now} px"
    # More segments than the space kept for them: the rest are reached by scrolling the list.
    last = page.locator(".segment-list li").last.get_by_role("button")
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
    assert owner.axe_violations() == []


def test_a_selection_is_tagged_in_one_action(owner: Owner) -> None:
    for first in ("Dora", "Elio", "Fabio"):
        owner.create_customer(
            first_name=first, last_name="Neri", email=f"{first.lower()}@example.it"
        )
    page = owner.open()
    page.get_by_role("checkbox", name="Select Dora Neri").check()
    page.get_by_role("checkbox", name="Select Elio Neri").check()
    bar = page.get_by_role("region", name="Actions on the selected customers")
    expect(bar).to_contain_text("2 customers selected")

    bar.get_by_role("button", name="Add tag").click()  # no tag typed yet
    expect(bar.get_by_text("Type the tag first.")).to_be_visible()
    bar.get_by_label("Tag").fill("Winback")
    assert owner.axe_violations() == []  # with the task bar shown
    bar.get_by_role("button", name="Add tag").click()

    expect(page.get_by_role("status")).to_contain_text("2 changed")
    expect(bar).to_be_hidden()
    tags = {c["first_name"]: c["tags"] for c in _customers(owner)}
    assert tags == {"Dora": ["winback"], "Elio": ["winback"], "Fabio": []}


def test_selecting_all_matching_runs_a_job_and_shows_its_progress(owner: Owner) -> None:
    tag = f"batch-{uuid.uuid4().hex[:6]}"
    for n in range(16):
        owner.create_customer(
            first_name=f"Gina{n:02d}", last_name="Orsi", email=f"g{n}@example.it", tags=[tag]
        )
    owner.create_customer(first_name="Ugo", last_name="Orsi", email="ugo@example.it")
    page = owner.open(f"/customers?tag={tag}&limit=10")
    expect(page.locator("p.count")).to_have_text("16 customers")

    page.get_by_role("checkbox", name="Select every customer on this page").check()
    bar = page.get_by_role("region", name="Actions on the selected customers")
    expect(bar).to_contain_text("10 customers selected")
    bar.get_by_role("button", name="Select all 16 matching customers").click()
    expect(bar).to_contain_text("All 16 matching customers selected")
    bar.get_by_role("button", name="Mark as favourites").click()

    job = page.get_by_role("region", name="Bulk action")
    expect(job.get_by_role("progressbar", name="Customers processed")).to_be_visible()
    expect(job).to_contain_text("Finished: 16 changed")
    expect(job.get_by_role("progressbar")).to_have_attribute("value", "16")
    favourites = {c["first_name"] for c in _customers(owner, favorite="true")}
    assert favourites == {f"Gina{n:02d}" for n in range(16)}  # Ugo, outside the filter, is not

    # Without the count, the list still shows, and says its number is only a lower bound.
    page.route("**/customers/count?*", lambda route: route.abort())
    page.reload()
    expect(page.locator("p.count")).to_have_text(
        "At least 10 customers (the count is not available now)"
    )
    expect(page.locator("table.grid tbody tr")).to_have_count(10)

    # A page taller than a screen comes in two asks (the rows a screen shows, then the rest):
    # it still holds the owner's page size, in the API's order, and says how many it holds.
    page.evaluate("route => { location.hash = route }", f"/customers?tag={tag}&limit=25")
    names = page.locator("table.grid tbody tr td:nth-child(2) a")
    expected = [f"{c['first_name']} {c['last_name']}" for c in _customers(owner, tag=tag)]
    assert len(expected) == 16
    expect(names).to_have_text(expected)
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    expect(page.locator("p.count")).to_have_text("16 customers")
    page.get_by_role("checkbox", name="Select every customer on this page").check()
    expect(bar).to_contain_text("16 customers selected")


def test_adding_a_customer_by_hand_shows_a_refused_email_next_to_its_field(owner: Owner) -> None:
    page = owner.open("/customers/new")
    expect(page.get_by_role("heading", name="Add a customer")).to_be_visible()
    page.get_by_label("First name").fill("Helena")
    page.get_by_label("Last name").fill("Vidal Rius")
    page.get_by_label("E-mail", exact=True).fill("helena@@example")
    page.get_by_label("Document").fill("12345678Z")
    page.get_by_label("Birthday").fill("1990-04-12")
    page.get_by_label("Gender").select_option("female")
    page.get_by_label("City").fill("Girona")
    page.get_by_label("Country").fill("es")
    page.get_by_label("Tags").fill("VIP, tienda")
    page.get_by_label("E-mail marketing").select_option("subscribed")
    page.get_by_role("button", name="Add customer").click()

    email = page.get_by_label("E-mail", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("not a valid e-mail address"))
    expect(email).to_be_focused()
    assert _customers(owner, q="helena") == []  # nothing was written
    owner.screenshot("customer-new")
    assert owner.axe_violations() == []

    email.fill("helena.vidal@example.es")
    page.get_by_role("button", name="Add customer").click()

    expect(page).to_have_url(re.compile(r"#/customers/[0-9A-Z]{26}$"))
    (created,) = _customers(owner, q="helena.vidal@example.es")
    assert page.url.endswith(created["id"])
    assert created["first_name"] == "Helena" and created["last_name"] == "Vidal Rius"
    assert created["country"] == "ES" and created["city"] == "Girona"
    assert created["tags"] == ["tienda", "vip"]
    assert created["attributes"] == {"document": "12345678Z"}
    assert created["email_consent"]["state"] == "subscribed"
    assert created["email_consent"]["source"] == "admin"


def test_the_emails_of_a_selection_are_exported_and_downloaded(owner: Owner) -> None:
    owner.create_customer(
        first_name="Ines", last_name="Mota", email="ines@example.pt", phone="+351912345678"
    )
    owner.create_customer(first_name="Joao", last_name="Reis", email="joao@example.pt")
    owner.create_customer(first_name="Katia", last_name="Sa", email="katia@example.pt")
    page = owner.open()
    page.get_by_role("checkbox", name="Select Ines Mota").check()
    page.get_by_role("checkbox", name="Select Katia Sa").check()
    page.get_by_role("region", name="Actions on the selected customers").get_by_role(
        "button", name="Export"
    ).click()

    dialog = page.get_by_role("dialog", name="Export 2 selected customers")
    expect(dialog.get_by_label("E-mails only")).to_be_checked()
    assert owner.axe_violations() == []  # with the dialog open
    dialog.get_by_role("button", name="Export").click()

    download = page.get_by_role("link", name=re.compile(r"^Download .+\.csv$"))
    expect(download).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    expect(page.get_by_text("Your file is ready: 2 rows.")).to_be_visible()
    url = download.get_attribute("href")
    assert url
    body = requests.get(url, timeout=30)
    assert body.status_code == 200
    rows = list(csv.reader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert rows[0] == ["E-mail"]
    assert sorted(r[0] for r in rows[1:]) == ["ines@example.pt", "katia@example.pt"]
