"""Export jobs against moto: the whole chain through the real bus rules and queues (exports ->
customers / credits -> exports), the files downloaded through their presigned links."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from chalice.test import Client

from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.exports.exports import usecases
from chalicelib.exports.exports.models import FILTER_PARAMETERS
from chalicelib.exports.settings import ExportsSettings
from clientela import aws
from clientela_local.lambda_context import new_context
from tests.conftest import token_for
from tests.service.conftest import Api

QUEUES = {
    "clientela-customers-extracts": ("customers", "on_export_request"),
    "clientela-credits-extracts": ("credits", "on_export_request"),
    "clientela-exports-parts": ("exports", "on_export_part"),
}


@pytest.fixture
def exports(apps: dict[str, Any], headers: dict[str, str]) -> Iterator[Api]:
    with Client(apps["exports"].app) as client:
        yield Api(client, headers)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rows per part, so a handful of customers makes a chain of several parts."""
    monkeypatch.setattr(usecases, "settings", lambda: ExportsSettings(rows_per_part=2))


Pump = Callable[..., int]


@pytest.fixture
def pump(apps: dict[str, Any], store_id: str) -> Pump:
    """Delivers what the bus rules put on the export queues to the apps' handlers, as Lambda
    would, until nothing of this store is left; `times` delivers each message that many times
    (a redelivery). Returns how many messages were handled."""
    sqs = aws.client("sqs")

    def run(times: int = 1) -> int:
        handled = 0
        idle = 0
        while idle < 2:
            found = False
            for queue, (service, handler) in QUEUES.items():
                url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
                answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
                for message in answer.get("Messages", []):
                    # Any message keeps the pump going: ten of an earlier test's leftovers could
                    # otherwise hide this store's messages for two rounds and stop it short.
                    found = True
                    body = json.loads(message["Body"])
                    if body["detail"]["metadata"]["store_id"] == store_id:
                        for attempt in range(1, times + 1):
                            record = {
                                "messageId": message["MessageId"],
                                "receiptHandle": message["ReceiptHandle"],
                                "body": message["Body"],
                                "attributes": {"ApproximateReceiveCount": str(attempt)},
                                "messageAttributes": {},
                                "md5OfBody": "",
                                "eventSource": "aws:sqs",
                                "awsRegion": "us-east-1",
                                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                            }
                            context = new_context(
                                f"clientela-{service}",
                                handler,
                                region="us-east-1",
                                account="123456789012",
                            )
                            result = getattr(apps[service], handler)({"Records": [record]}, context)
                            assert result == {"batchItemFailures": []}
                        handled += 1
                    # Another store's (an earlier test's) leftovers go too.
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            idle = 0 if found else idle + 1
        return handled

    return run


def _customers(api: Api, count: int) -> list[dict[str, Any]]:
    made = []
    for n in range(count):
        body = {
            "email": f"person{n}@example.com",
            "first_name": f"Ana{n}",
            "last_name": "Souza",
            "phone": f"+55119876543{n:02d}",
            "country": "BR",
            "tags": ["vip"] if n % 2 == 0 else ["new"],
        }
        answer = api.call("POST", "/customers", body)
        assert answer.status == 201, answer.body
        made.append(answer.body)
    return made


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a presigned http URL
        return response.read()  # type: ignore[no-any-return]


def test_an_export_runs_part_by_part_and_hands_out_a_csv(
    api: Api, exports: Api, pump: Pump, small_parts: None
) -> None:
    made = _customers(api, 5)
    # A value a spreadsheet would run: neutralised in the file, and our import restores it.
    patched = api.call(
        "PATCH",
        f"/customers/{made[0]['id']}",
        {"notes": "x", "city": '=HYPERLINK("http://x")'},
        headers={"content-type": "application/merge-patch+json", "if-match": '"1"'},
    )
    assert patched.status == 200, patched.body

    answer = exports.call(
        "POST",
        "/exports",
        {"kind": "customers", "fields": ["id", "email", "city", "phone", "tags"]},
        headers={"accept-language": "pt-BR,pt;q=0.9,en;q=0.5"},
    )
    assert answer.status == 202, answer.body
    job = answer.body
    assert answer.headers["location"] == f"/exports/{job['id']}"
    assert (job["status"], job["language"], job["url"]) == ("running", "pt-BR", None)

    assert pump() == 6  # three requests for parts, three answers
    done = exports.call("GET", f"/exports/{job['id']}").body
    assert done["status"] == "done", done
    assert done["progress"] == {"rows_done": 5, "total": 5, "parts_done": 3}
    assert (done["rows"], len(done["files"])) == (5, 1)
    data = _download(done["url"])
    assert done["size"] == len(data)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode()
    assert text.count("\r\n") == 6 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["Id", "E-mail", "Cidade", "Telefone", "Tags"]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {c["id"] for c in made}
    assert by_id[made[0]["id"]][2] == '\'=HYPERLINK("http://x")'
    assert by_id[made[1]["id"]][3] == "'+5511987654301"  # a phone is text: neutralised too
    # Short-lived: signed on every GET for a few minutes.
    assert "X-Amz-Expires=300" in done["url"] and done["link_expires_at"]


def test_redelivered_requests_and_answers_write_each_row_once(
    api: Api, exports: Api, pump: Pump, small_parts: None, store_id: str
) -> None:
    made = _customers(api, 5)
    job = exports.call("POST", "/exports", {"kind": "emails", "format": "jsonl"}).body

    pump(times=2)  # every request and every answer delivered twice

    done = exports.call("GET", f"/exports/{job['id']}").body
    assert done["status"] == "done", done
    lines = _download(done["url"]).decode().splitlines()
    assert sorted(json.loads(line)["email"] for line in lines) == sorted(c["email"] for c in made)
    assert done["progress"]["rows_done"] == 5

    # The lifecycle rule (the local clock, locally) deletes the files: the job says so.
    key = f"exports/{store_id}/{job['id']}/{done['files'][0]['name']}"
    aws.s3().delete_object(Bucket=usecases.file_store().bucket, Key=key)
    gone = exports.call("GET", f"/exports/{job['id']}").body
    assert (gone["status"], gone["url"], gone["files"][0]["url"]) == ("expired", None, None)


def test_a_job_that_cannot_finish_says_why(exports: Api, pump: Pump) -> None:
    job = exports.call(
        "POST",
        "/exports",
        {"kind": "customers", "target": {"segment_id": "01JDNOSUCHSEGMENT0000000"}},
    ).body
    pump()
    failed = exports.call("GET", f"/exports/{job['id']}").body
    assert (failed["status"], failed["field"]) == ("failed", "target.segment_id")
    assert failed["reason"] == "No segment with this id"
    assert failed["url"] is None


def test_a_bad_filter_value_fails_the_job_naming_the_field(exports: Api, pump: Pump) -> None:
    job = exports.call(
        "POST", "/exports", {"kind": "customers", "target": {"filter": {"orders_min": "many"}}}
    ).body
    pump()
    failed = exports.call("GET", f"/exports/{job['id']}").body
    assert (failed["status"], failed["field"]) == ("failed", "target.filter.orders_min")


def test_an_xlsx_export_of_a_filter_keeps_types(api: Api, exports: Api, pump: Pump) -> None:
    made = _customers(api, 4)
    job = exports.call(
        "POST",
        "/exports",
        {
            "kind": "customers",
            "format": "xlsx",
            "language": "es",
            "target": {"filter": {"tag": ["vip"]}},
            "fields": ["id", "phone", "orders_count", "created_at"],
        },
    ).body
    pump()
    done = exports.call("GET", f"/exports/{job['id']}").body
    assert done["status"] == "done", done
    assert done["files"][0]["sheets"] == ["Clientes"]
    book = openpyxl.load_workbook(io.BytesIO(_download(done["url"])))
    sheet = book["Clientes"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Id", "Teléfono", "Pedidos", "Creado")
    assert {row[0] for row in rows[1:]} == {c["id"] for c in made[::2]}
    assert all(isinstance(row[1], str) and isinstance(row[2], int) for row in rows[1:])
    assert sheet.freeze_panes == "A2"


def test_unknown_fields_and_filters_are_refused_naming_them(exports: Api) -> None:
    answer = exports.call("POST", "/exports", {"kind": "customers", "fields": ["id", "password"]})
    assert answer.status == 422
    assert "password" in json.dumps(answer.body["errors"])
    answer = exports.call(
        "POST", "/exports", {"kind": "customers", "target": {"filter": {"colour": "red"}}}
    )
    assert answer.status == 422
    assert answer.body["errors"][0]["field"].startswith("target.filter")
    answer = exports.call("POST", "/exports", {"kind": "report"})
    assert answer.status == 422
    # The e-mails file has one column: other columns are refused, not silently dropped (found
    # by the fuzz test: blank names were accepted).
    for fields in ([""], ["email", "phone"]):
        answer = exports.call("POST", "/exports", {"kind": "emails", "fields": fields})
        assert answer.status == 422, answer.body
        assert answer.body["errors"][0]["field"] == "fields"
    answer = exports.call("POST", "/exports", {"kind": "emails", "fields": ["email"]})
    assert answer.status == 202, answer.body


def test_another_stores_job_is_not_found(apps: dict[str, Any], exports: Api) -> None:
    job = exports.call("POST", "/exports", {"kind": "emails"}).body
    other = {"authorization": f"Bearer {token_for('store-other-one')}"}
    with Client(apps["exports"].app) as client:
        answer = Api(client, other).call("GET", f"/exports/{job['id']}")
    assert answer.status == 404
    assert exports.call("GET", "/exports/exp-01JDNOSUCHJOB000000000000").status == 404


def test_every_export_is_listed_with_who_asked(apps: dict[str, Any], store_id: str) -> None:
    from clientela import auth

    token = auth.issue_token(store_id, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY, subject="ana")
    with Client(apps["exports"].app) as client:
        api = Api(client, {"authorization": f"Bearer {token}", "content-type": "application/json"})
        first = api.call("POST", "/exports", {"kind": "emails"}).body
        second = api.call("POST", "/exports", {"kind": "customers", "format": "xlsx"}).body
        page = api.call("GET", "/exports?limit=1").body
        rest = api.call("GET", f"/exports?limit=1&cursor={page['next_cursor']}").body
        bad = api.call("GET", "/exports?cursor=nonsense")
    assert [j["id"] for j in page["items"] + rest["items"]] == [second["id"], first["id"]]
    assert page["items"][0]["requested_by"] == "ana"
    assert page["items"][0]["kind"] == "customers"
    assert bad.status == 422


def test_the_filter_names_are_those_of_the_customer_list() -> None:
    assert set(CustomerFilterQuery.model_fields) == FILTER_PARAMETERS


def _generated(n: int) -> dict[str, Any]:
    return {
        "id": f"01JD{n:022d}",
        "email": f"person{n}@example.com",
        "phone": f"+55119{n:08d}",
        "first_name": "=SUM(A1)" if n % 1000 == 0 else f"Ana {n}",
        "total_spent": f"{n}.{n % 100:02d}",
        "currency": "BRL",
        "created_at": "2026-11-23T12:00:00+00:00",
    }


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_20000_rows_split_at_the_sheet_limit(
    apps: dict[str, Any],
    exports: Api,
    store_id: str,
    file_format: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slow for a test (~10 s for the XLSX, most of it openpyxl reading 20,000 rows back): the
    only test of the sheet split on the real assembly path. The owner's side is played here (parts written straight into the bucket, answers sent
    to the exports handler); the assembly is the real one, with a sheet limit of 8,000 rows."""
    from clientela_events.exports import ExportPartWrittenV1

    monkeypatch.setattr(
        usecases, "settings", lambda: ExportsSettings(rows_per_part=2000, max_rows_per_sheet=8000)
    )
    fields = ["id", "email", "phone", "first_name", "total_spent", "created_at"]
    job = exports.call(
        "POST", "/exports", {"kind": "customers", "format": file_format, "fields": fields}
    ).body
    s3 = aws.s3()
    for seq in range(10):
        key = f"exports/{store_id}/{job['id']}/parts/{seq:05d}.jsonl"
        lines = (json.dumps(_generated(seq * 2000 + n)) + "\n" for n in range(2000))
        s3.put_object(Bucket=usecases.file_store().bucket, Key=key, Body="".join(lines).encode())
        part = ExportPartWrittenV1(
            job_id=job["id"],
            seq=seq,
            key=key,
            rows=2000,
            last=seq == 9,
            cursor=str(seq),
            total=20_000 if seq == 0 else None,
        )
        assert usecases.follow_part_written(store_id, part) in ("next-part-requested", "done")

    done = exports.call("GET", f"/exports/{job['id']}").body
    assert (done["status"], done["rows"]) == ("done", 20_000), done
    if file_format == "csv":
        assert [f["rows"] for f in done["files"]] == [8000, 8000, 4000]
        assert [f["name"].rsplit("-", 1)[-1] for f in done["files"][1:]] == ["2.csv", "3.csv"]
        rows = []
        for file in done["files"]:
            text = _download(file["url"]).decode("utf-8-sig")
            found = list(csv.reader(io.StringIO(text, newline="")))
            assert found[0][0] == "Id"
            rows.extend(found[1:])
    else:
        [file] = done["files"]
        assert file["sheets"] == ["Customers", "Customers (2)", "Customers (3)"]
        book = openpyxl.load_workbook(io.BytesIO(_download(file["url"])), read_only=True)
        rows = [
            ["" if v is None else v for v in row]
            for sheet in book.worksheets
            for row in list(sheet.iter_rows(values_only=True))[1:]
        ]
    assert len(rows) == 20_000
    for n in (0, 1, 7999, 8000, 12345, 19999):
        expected = _generated(n)
        assert rows[n][0] == expected["id"] and rows[n][1] == expected["email"]
        assert rows[n][2] == (
            expected["phone"] if file_format == "xlsx" else "'" + expected["phone"]
        )
        if file_format == "csv":
            assert rows[n][4] == expected["total_spent"]
        else:
            assert float(rows[n][4]) == float(expected["total_spent"])
    assert rows[1000][3] == ("'=SUM(A1)" if file_format == "csv" else "=SUM(A1)")
    # The parts are gone once the file is made; only the files stay.
    listed = s3.list_objects_v2(Bucket=usecases.file_store().bucket, Prefix=f"exports/{store_id}/")
    assert all("/parts/" not in o["Key"] for o in listed.get("Contents", []))


def test_the_link_is_e_mailed_to_whoever_asked(api: Api, exports: Api, pump: Pump) -> None:
    from moto.ses.models import ses_backends

    _customers(api, 2)
    body = {"kind": "emails", "notify": "owner@shop.example"}
    job = exports.call("POST", "/exports", body).body
    handled = pump()

    done = exports.call("GET", f"/exports/{job['id']}").body
    assert (done["status"], done["notified"]) == ("done", True), (done, handled)
    sent = [
        message
        for message in ses_backends["123456789012"]["us-east-1"].sent_messages
        if job["id"] in str(getattr(message, "body", ""))
    ]
    assert len(sent) == 1
    assert sent[0].destinations["ToAddresses"] == ["owner@shop.example"]
    assert sent[0].source == "exports@exports.clientela.example"
