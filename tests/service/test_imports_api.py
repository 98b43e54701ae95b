"""Imports through the exports API, planned and applied by the customers service (issue 10).

Each test pumps the two queues an import runs through (clientela_local.drain.Drain) until the store's
import settles, then reads the job and the customers back through the APIs.
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from typing import Any

import pytest
from chalice.test import Client

from clientela_local.drain import Drain
from tests.service.conftest import Api
from tests.service.imports_support import download, pump_for, upload
from tests.service.privacy_support import request as privacy_request
from tests.service.privacy_support import requested, sqs_record

HEADER = "Email Address,First Name,Last Name,Phone Number,CC,TAGS,OPTIN_TIME\r\n"


@pytest.fixture
def exports(apps: dict[str, Any], headers: dict[str, str]) -> Any:
    with Client(apps["exports"].app) as client:
        yield Api(client, headers)


@pytest.fixture
def pump(apps: dict[str, Any], store_id: str) -> Drain:
    return pump_for(apps, store_id)


def start(exports: Api, content: str, **options: Any) -> dict[str, Any]:
    answer = exports.call("POST", "/imports", {"content": content, **options})
    assert answer.status == 202, answer.body
    assert answer.body["status"] == "reading"
    return answer.body  # type: ignore[no-any-return]


def settle(exports: Api, pump: Drain, import_id: str, **run: Any) -> dict[str, Any]:
    pump.run(**run)
    answer = exports.call("GET", f"/imports/{import_id}")
    assert answer.status == 200
    return answer.body  # type: ignore[no-any-return]


def commit(exports: Api, pump: Drain, import_id: str, **run: Any) -> dict[str, Any]:
    answer = exports.call("POST", f"/imports/{import_id}/commit")
    assert answer.status == 202, answer.body
    return settle(exports, pump, import_id, **run)


def report_rows(job: dict[str, Any], name: str = "report") -> list[dict[str, str]]:
    text = download(job[name]["url"]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def find(api: Api, email: str) -> list[dict[str, Any]]:
    answer = api.call("GET", f"/customers?q={email}")
    assert answer.status == 200
    return [c for c in answer.body["items"] if c["email"] == email]


def test_a_preview_counts_every_row_and_changes_nothing(
    api: Api, exports: Api, pump: Drain
) -> None:
    known = api.call("POST", "/customers", {"email": "ana@example.com", "first_name": "Ana"})
    by_phone = api.call("POST", "/customers", {"phone": "+5511987654321", "first_name": "Rui"})
    assert known.status == by_phone.status == 201
    content = HEADER + (
        "ana@example.com,Ana,Souza,,BR,vip,2026-01-02 10:00:00\r\n"  # 2 update (last name)
        ",Rui,,+55 11 98765-4321,,,\r\n"  # 3 matched by phone, nothing new: unchanged
        "new@example.com,Nova,,,BR,,\r\n"  # 4 create
        "not-an-email,X,,,,,\r\n"  # 5 refused: e-mail
        "NEW@example.com,Other,,,,,\r\n"  # 6 repeats row 4
        "zed@example.com,Zed,,,ZZ,,\r\n"  # 7 refused: country
        "tel@example.com,,,12,,,\r\n"  # 8 refused: phone
    )
    job = start(exports, content)
    job = settle(exports, pump, job["id"])
    assert job["status"] == "previewed"
    assert job["source"] == "mailchimp"
    assert job["preview"] == {"create": 1, "update": 1, "unchanged": 1, "refused": 3, "repeated": 1}
    assert job["progress"] == {"done": 7, "total": 7}
    rows = {int(r["row"]): r for r in report_rows(job)}
    assert sorted(rows) == [5, 6, 7, 8]
    assert rows[5]["column"] == "email"
    assert rows[6]["repeats_row"] == "4"
    assert "row 4" in rows[6]["problem"]
    assert rows[7]["column"] == "country"
    assert rows[8]["column"] == "phone"
    # A dry run: nothing changed.
    assert find(api, "new@example.com") == []
    assert api.call("GET", f"/customers/{known.body['id']}").body["last_name"] is None


def test_a_commit_applies_the_plan_and_a_rerun_changes_nothing(
    api: Api, exports: Api, pump: Drain
) -> None:
    known = api.call("POST", "/customers", {"email": "bia@example.com", "first_name": "Bia"})
    content = HEADER + (
        'bia@example.com,Bia,Lima,,BR,,\r\nleo@example.com,Leo,,+34 612 345 678,ES,"a,b",\r\n'
    )
    job = start(exports, content, tags=["Newsletter"], filename="subscribed_members_x.csv")
    job = settle(exports, pump, job["id"])
    assert job["preview"]["create"] == 1 and job["preview"]["update"] == 1
    job = commit(exports, pump, job["id"])
    assert job["status"] == "committed"
    assert job["committed"] == job["preview"]
    assert job["moved"] == 0 and job["moved_report"] is None
    bia = api.call("GET", f"/customers/{known.body['id']}").body
    assert bia["last_name"] == "Lima" and "newsletter" in bia["tags"]
    # The file's name says Mailchimp's subscribed list: an explicit statement, source import.
    assert bia["email_consent"]["state"] == "subscribed"
    assert bia["email_consent"]["source"] == "import"
    [leo] = find(api, "leo@example.com")
    assert leo["phone"] == "+34612345678"
    assert sorted(leo["tags"]) == ["a", "b", "newsletter"]
    versions = {c["id"]: c["version"] for c in (bia, leo)}

    again = start(exports, content, tags=["Newsletter"], filename="subscribed_members_x.csv")
    again = settle(exports, pump, again["id"])
    assert again["preview"] == {
        "create": 0,
        "update": 0,
        "unchanged": 2,
        "refused": 0,
        "repeated": 0,
    }
    again = commit(exports, pump, again["id"])
    assert again["committed"]["unchanged"] == 2
    for cid, version in versions.items():
        assert api.call("GET", f"/customers/{cid}").body["version"] == version


def test_every_message_delivered_twice_creates_each_customer_once(
    api: Api, exports: Api, pump: Drain, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's own module (the apps fixture loads the services afresh).
    usecases = sys.modules["chalicelib.exports.imports.usecases"]
    monkeypatch.setattr(usecases, "CHUNK_ROWS", 10)  # three chunks
    rows = "".join(f"dup{n}@example.com,N{n},,,,,\r\n" for n in range(25))
    rows += "dup7@example.com,Again,,,,,\r\n"  # repeats row 9, in another chunk
    job = start(exports, HEADER + rows)
    job = settle(exports, pump, job["id"], redeliver=True)
    assert job["preview"] == {
        "create": 25,
        "update": 0,
        "unchanged": 0,
        "refused": 0,
        "repeated": 1,
    }
    job = commit(exports, pump, job["id"], redeliver=True)
    assert job["committed"] == job["preview"]
    assert api.call("GET", "/customers/count").body["count"] == 25
    [dup7] = find(api, "dup7@example.com")
    assert dup7["first_name"] == "N7"


def test_rows_whose_customer_changed_since_the_preview_are_rechecked(
    api: Api, exports: Api, pump: Drain
) -> None:
    job = start(exports, HEADER + "late@example.com,Late,,,,,\r\ngone@example.com,Gone,,,,,\r\n")
    job = settle(exports, pump, job["id"])
    assert job["preview"]["create"] == 2
    # Between the preview and the commit, someone adds one of them by hand.
    added = api.call("POST", "/customers", {"email": "late@example.com", "last_name": "Hand"})
    job = commit(exports, pump, job["id"])
    assert job["committed"]["create"] == 1 and job["committed"]["update"] == 1
    assert job["moved"] == 1
    [moved] = report_rows(job, "moved_report")
    assert (moved["row"], moved["planned"], moved["applied"]) == ("2", "create", "update")
    [late] = find(api, "late@example.com")
    assert late["id"] == added.body["id"]
    assert (late["first_name"], late["last_name"]) == ("Late", "Hand")


def test_unsubscribed_always_wins_and_subscribing_needs_an_explicit_column(
    api: Api, exports: Api, pump: Drain
) -> None:
    subscribed = {"state": "subscribed", "source": "signup"}
    out = api.call("POST", "/customers", {"email": "out@example.com", "email_consent": subscribed})
    unsub = {"state": "unsubscribed", "source": "unsubscribe_link"}
    gone = api.call("POST", "/customers", {"email": "gone@example.com", "email_consent": unsub})
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "subscribed_members_export_1.csv",
            "Email Address,OPTIN_TIME\r\ngone@example.com,2026-03-01 09:00:00\r\n"
            "fresh@example.com,2026-03-02 09:30:00\r\n",
        )
        z.writestr(
            "unsubscribed_members_export_1.csv",
            "Email Address,UNSUB_TIME\r\nout@example.com,2026-03-03 08:00:00\r\n",
        )
        z.writestr("cleaned_members_export_1.csv", "Email Address,CLEAN_TIME\r\n")
    link = exports.call(
        "POST",
        "/imports/uploads",
        {"size": len(archive.getvalue()), "content_type": "application/zip"},
    )
    assert link.status == 201
    assert upload(link.body["url"], archive.getvalue(), link.body["headers"]) == 200
    job = exports.call(
        "POST", "/imports", {"upload_id": link.body["upload_id"], "filename": "audience.zip"}
    ).body
    job = settle(exports, pump, job["id"])
    assert [f["name"] for f in job["files"]] == [
        "cleaned_members_export_1.csv",
        "unsubscribed_members_export_1.csv",
        "subscribed_members_export_1.csv",
    ]
    job = commit(exports, pump, job["id"])
    assert job["status"] == "committed"
    consent = api.call("GET", f"/customers/{out.body['id']}").body["email_consent"]
    assert (consent["state"], consent["source"]) == ("unsubscribed", "import")
    assert consent["updated_at"].startswith("2026-03-03T08:00")
    # An unsubscribed customer is not subscribed again by a file.
    still = api.call("GET", f"/customers/{gone.body['id']}").body["email_consent"]
    assert still["state"] == "unsubscribed"
    [fresh] = find(api, "fresh@example.com")
    assert fresh["email_consent"]["state"] == "subscribed"
    assert fresh["email_consent"]["updated_at"].startswith("2026-03-02T09:30")


def test_an_erased_person_is_not_brought_back(
    apps: dict[str, Any], api: Api, exports: Api, pump: Drain, store_id: str
) -> None:
    created = api.call("POST", "/customers", {"email": "erased@example.com"})
    erasure = requested(store_id, privacy_request(store_id, created.body["id"], "erasure"))
    inbox = {"Records": [sqs_record(erasure, "clientela-customers-inbox")]}
    assert not apps["customers"].on_inbound_event(inbox, None).get("batchItemFailures")
    job = start(exports, "email\r\nerased@example.com\r\n")
    job = settle(exports, pump, job["id"])
    assert job["preview"]["refused"] == 1
    [row] = report_rows(job)
    assert "erased" in row["problem"]
    job = commit(exports, pump, job["id"])
    assert find(api, "erased@example.com") == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "not text"),
        (b"name,city\r\nAna,Lisboa\r\n", "no e-mail or phone column"),
        (b"email\r\n", "no rows"),
    ],
    ids=["empty", "binary-renamed-csv", "no-contact-column", "header-only"],
)
def test_a_file_that_is_not_customers_fails_with_its_reason(
    api: Api, exports: Api, pump: Drain, content: bytes, reason: str
) -> None:
    link = exports.call("POST", "/imports/uploads", {"size": max(len(content), 1)}).body
    body = content or b" "
    assert upload(link["url"], body, {**link["headers"], "Content-Length": str(len(body))}) == 200
    job = exports.call("POST", "/imports", {"upload_id": link["upload_id"]}).body
    job = settle(exports, pump, job["id"])
    assert job["status"] == "failed"
    assert reason in job["error"]
    assert exports.call("POST", f"/imports/{job['id']}/commit").status == 409
    assert api.call("GET", "/customers/count").body["count"] == 0


def test_a_zip_bomb_among_mailchimp_files_is_refused(api: Api, exports: Api, pump: Drain) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("subscribed_members_export_1.csv", "Email Address\r\na@example.com\r\n")
        z.writestr("cleaned_members_export_1.csv", b"Email Address\r\n" + b"\0" * 60_000_000)
    data = archive.getvalue()
    link = exports.call("POST", "/imports/uploads", {"size": len(data)}).body
    assert upload(link["url"], data, link["headers"]) == 200
    job = exports.call("POST", "/imports", {"upload_id": link["upload_id"]}).body
    job = settle(exports, pump, job["id"])
    assert job["status"] == "failed"
    assert "zip bomb" in job["error"]
    assert api.call("GET", "/customers/count").body["count"] == 0


def test_hostile_but_readable_files_are_read_and_reported(
    api: Api, exports: Api, pump: Drain, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of the most rows an event takes: 11 round trips instead of 41 for 10,000 rows.
    monkeypatch.setattr(sys.modules["chalicelib.exports.imports.usecases"], "CHUNK_ROWS", 1000)
    # Semicolons, a BOM, Windows-1252 lines appended to a UTF-8 file, formula cells, and
    # 10,000 rows with a bad e-mail: every bad row reported, the good ones planned.
    lines = ["\ufeffE-mail;Nome;Cidade"]
    lines.append("=cmd|' /C calc'!A0;Ana;'=1+2")  # a formula where the e-mail goes: refused
    lines.append("formula@example.com;@SUM(A1);'-Porto")  # our export's neutralised cell
    lines += [f"bad{n}@@example.com;Bad;X" for n in range(10_000)]
    utf8 = ("\r\n".join(lines) + "\r\nmaria@example.com;María;São Paulo\r\n").encode()
    data = utf8 + "jose@example.com;José;Málaga\r\n".encode("cp1252")
    link = exports.call("POST", "/imports/uploads", {"size": len(data)}).body
    assert upload(link["url"], data, link["headers"]) == 200
    job = exports.call("POST", "/imports", {"upload_id": link["upload_id"]}).body
    job = settle(exports, pump, job["id"])
    assert job["status"] == "previewed", job.get("error")
    assert job["delimiter"] == ";"
    assert job["encoding"].startswith("mixed")
    assert job["preview"]["create"] == 3
    assert job["preview"]["refused"] == 10_001
    rows = report_rows(job)
    assert len(rows) == 10_001 and {r["column"] for r in rows} == {"email"}
    job = commit(exports, pump, job["id"])
    [formula] = find(api, "formula@example.com")
    assert (formula["first_name"], formula["city"]) == ("@SUM(A1)", "-Porto")
    [jose] = find(api, "jose@example.com")
    assert (jose["first_name"], jose["city"]) == ("José", "Málaga")
    assert api.call("GET", "/customers/count").body["count"] == 3


def test_bad_requests_are_refused_naming_the_field(exports: Api) -> None:
    neither = exports.call("POST", "/imports", {})
    assert neither.status == 422
    unknown = exports.call("POST", "/imports", {"upload_id": "01JD40A1B2C3D4E5F6G7H8J9KM"})
    assert unknown.status == 422
    assert unknown.body["errors"][0]["field"] == "upload_id"
    mapping = exports.call("POST", "/imports", {"content": "a\r\n", "mapping": {"a": "salary"}})
    assert mapping.status == 422
    too_big = exports.call("POST", "/imports/uploads", {"size": 50 * 1024 * 1024 + 1})
    assert too_big.status == 422
    assert exports.call("GET", "/imports/01JD40A1B2C3D4E5F6G7H8J9KM").status == 404
    assert exports.call("POST", "/imports/01JD40A1B2C3D4E5F6G7H8J9KM/commit").status == 404
