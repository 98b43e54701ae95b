"""Customer photos over HTTP: a presigned POST to the service's bucket (moto's server), the
upload checked and confirmed into the profile, shown in the profile and the list, replaced,
removed, and removed with the customer; a social picture as `photo_url`."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from chalice.test import Client

from chalicelib.customers.photos import rules as photos
from chalicelib.customers.settings import settings
from tests.conftest import token_for
from tests.images import jpeg, png
from tests.service.conftest import Api

SOCIAL = "https://lh3.googleusercontent.com/a/ACg8ocK=s96-c"


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def customer(api: Api) -> dict[str, Any]:
    created = api.call("POST", "/customers", {"email": "ana.souza@example.com.br"})
    assert created.status == 201, created.body
    return dict(created.body)


def upload(api: Api, customer_id: str, data: bytes, content_type: str = "image/png") -> str:
    """Starts an upload and sends the bytes to the presigned POST, as a browser would."""
    started = api.call(
        "POST", f"/customers/{customer_id}/photo/uploads", {"content_type": content_type}
    )
    assert started.status == 201, started.body
    grant = started.body
    assert grant["fields"]["key"] == (f"uploads/{_store(api)}/{customer_id}/{grant['upload_id']}")
    sent = requests.post(
        grant["url"],
        data=grant["fields"],
        files={"file": ("photo", data, content_type)},
        timeout=10,
    )
    assert sent.status_code in (200, 201, 204), sent.text
    return str(grant["upload_id"])


def _store(api: Api) -> str:
    from clientela import auth

    token = api.headers["authorization"].removeprefix("Bearer ")
    return auth.verify_token(token, auth.LOCAL_DEVELOPMENT_KEY).store_id


def confirm(api: Api, customer_id: str, upload_id: str, **headers: str) -> Any:
    return api.call(
        "PUT", f"/customers/{customer_id}/photo", {"upload_id": upload_id}, headers=headers
    )


def exists(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=settings().photos_bucket, Key=key)
    except ClientError:
        return False
    return True


def test_an_uploaded_photo_shows_in_the_profile_and_the_list(
    api: Api, customer: dict[str, Any], s3: Any
) -> None:
    assert customer["photo"] is None
    image = png(64, 48)
    upload_id = upload(api, customer["id"], image)

    confirmed = confirm(api, customer["id"], upload_id)

    assert confirmed.status == 200, confirmed.body
    photo = confirmed.body["photo"]
    assert (photo["source"], photo["width"], photo["height"]) == ("upload", 64, 48)
    assert confirmed.body["version"] == customer["version"] + 1
    fetched = requests.get(photo["url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == image
    assert "X-Amz-Expires=900" in photo["url"]
    # The upload is gone; the photo lives under photos/<store>/<customer>/<upload id>.
    store = _store(api)
    assert not exists(s3, f"uploads/{store}/{customer['id']}/{upload_id}")
    assert exists(s3, f"photos/{store}/{customer['id']}/{upload_id}")

    listed = api.call("GET", "/customers")
    [item] = listed.body["items"]
    assert item["photo"]["source"] == "upload"
    assert requests.get(item["photo"]["url"], timeout=10).content == image
    assert api.call("GET", f"/customers/{customer['id']}").body["photo"]["source"] == "upload"


def test_confirming_the_same_upload_again_changes_nothing(
    api: Api, customer: dict[str, Any]
) -> None:
    upload_id = upload(api, customer["id"], jpeg(10, 20), "image/jpeg")
    first = confirm(api, customer["id"], upload_id)
    again = confirm(api, customer["id"], upload_id)

    assert (first.status, again.status) == (200, 200)
    assert again.body["version"] == first.body["version"]
    assert again.body["photo"]["updated_at"] == first.body["photo"]["updated_at"]


def test_a_new_photo_replaces_and_removes_the_previous_one(
    api: Api, customer: dict[str, Any], s3: Any
) -> None:
    first = upload(api, customer["id"], png(8, 8))
    confirm(api, customer["id"], first)
    second = upload(api, customer["id"], png(16, 16))

    replaced = confirm(api, customer["id"], second)

    assert replaced.body["photo"]["width"] == 16
    assert not exists(s3, f"photos/{_store(api)}/{customer['id']}/{first}")


def test_an_unsupported_type_is_refused_before_any_upload(
    api: Api, customer: dict[str, Any]
) -> None:
    answer = api.call(
        "POST", f"/customers/{customer['id']}/photo/uploads", {"content_type": "image/gif"}
    )
    assert answer.status == 422
    assert [e["field"] for e in answer.body["errors"]] == ["content_type"]


def _refused(api: Api, customer: dict[str, Any], upload_id: str) -> str:
    answer = confirm(api, customer["id"], upload_id)
    assert answer.status == 422, answer.body
    [error] = answer.body["errors"]
    assert error["field"] == "upload_id"
    profile = api.call("GET", f"/customers/{customer['id']}").body
    assert (profile["photo"], profile["version"]) == (None, customer["version"])
    return str(error["reason"])


def test_an_upload_that_is_not_an_image_is_refused(api: Api, customer: dict[str, Any]) -> None:
    upload_id = upload(api, customer["id"], b"this is text, not a picture at all")
    assert "not a JPEG, PNG or WebP" in _refused(api, customer, upload_id)


def test_an_image_of_another_type_than_declared_is_refused(
    api: Api, customer: dict[str, Any]
) -> None:
    upload_id = upload(api, customer["id"], png(), "image/jpeg")
    assert "declared image/jpeg" in _refused(api, customer, upload_id)


def test_an_upload_over_the_limit_is_refused(api: Api, customer: dict[str, Any]) -> None:
    # S3 enforces the POST policy's content-length-range; moto does not, so the check when
    # confirming is what this exercises.
    upload_id = upload(api, customer["id"], png() + b"\x00" * photos.MAX_BYTES)
    assert "larger than" in _refused(api, customer, upload_id)


def test_an_unknown_or_malformed_upload_id_is_refused(api: Api, customer: dict[str, Any]) -> None:
    assert "no such upload" in _refused(api, customer, "01J00000000000000000000000")
    assert "no such upload" in _refused(api, customer, "../../photos/x")


def test_another_customers_or_another_stores_upload_is_not_found(
    api: Api, customer: dict[str, Any], customers_client: Client
) -> None:
    other = api.call("POST", "/customers", {"email": "bruno@example.com"}).body
    theirs = upload(api, other["id"], png())
    assert "no such upload" in _refused(api, customer, theirs)

    other_store = f"store-{uuid.uuid4().hex[:12]}"
    intruder = Api(
        customers_client,
        {**api.headers, "authorization": f"Bearer {token_for(other_store)}"},
    )
    victim = upload(api, customer["id"], png())
    own = intruder.call("POST", "/customers", {"email": "eve@example.com"}).body
    answer = confirm(intruder, own["id"], victim)
    assert answer.status == 422
    assert answer.body["errors"][0]["field"] == "upload_id"
    assert confirm(intruder, customer["id"], victim).status == 404


def test_a_stale_if_match_is_refused_and_nothing_changes(
    api: Api, customer: dict[str, Any], s3: Any
) -> None:
    api.call("PATCH", f"/customers/{customer['id']}", {"city": "Recife"})
    upload_id = upload(api, customer["id"], png())

    answer = confirm(api, customer["id"], upload_id, **{"If-Match": f'"{customer["version"]}"'})

    assert answer.status == 412
    assert api.call("GET", f"/customers/{customer['id']}").body["photo"] is None
    assert not exists(s3, f"photos/{_store(api)}/{customer['id']}/{upload_id}")
    assert confirm(api, customer["id"], upload_id).status == 200  # the upload is still there


def test_a_social_picture_shows_until_a_photo_is_uploaded(
    api: Api, customer: dict[str, Any]
) -> None:
    patched = api.call("PATCH", f"/customers/{customer['id']}", {"photo_url": SOCIAL})
    assert patched.status == 200, patched.body
    assert patched.body["photo"] == {
        "url": SOCIAL,
        "source": "social",
        "updated_at": None,
        "width": None,
        "height": None,
    }
    confirmed = confirm(api, customer["id"], upload(api, customer["id"], png()))
    assert confirmed.body["photo"]["source"] == "upload"
    assert confirmed.body["photo_url"] == SOCIAL


@pytest.mark.parametrize("url", ["http://example.com/a.jpg", "https://u:p@example.com/a.jpg"])
def test_a_photo_url_must_be_https(api: Api, customer: dict[str, Any], url: str) -> None:
    answer = api.call("PATCH", f"/customers/{customer['id']}", {"photo_url": url})
    assert answer.status == 422
    assert [e["field"] for e in answer.body["errors"]] == ["photo_url"]


def test_photo_is_read_only_in_a_patch(api: Api, customer: dict[str, Any]) -> None:
    answer = api.call("PATCH", f"/customers/{customer['id']}", {"photo": {"url": SOCIAL}})
    assert answer.status == 422
    assert "POST /customers/{id}/photo/uploads" in answer.body["errors"][0]["reason"]


def test_deleting_the_photo_removes_both_kinds_and_the_object(
    api: Api, customer: dict[str, Any], s3: Any
) -> None:
    api.call("PATCH", f"/customers/{customer['id']}", {"photo_url": SOCIAL})
    upload_id = upload(api, customer["id"], png())
    confirm(api, customer["id"], upload_id)

    assert api.call("DELETE", f"/customers/{customer['id']}/photo").status == 204
    assert api.call("DELETE", f"/customers/{customer['id']}/photo").status == 204  # a retry

    profile = api.call("GET", f"/customers/{customer['id']}").body
    assert (profile["photo"], profile["photo_url"]) == (None, None)
    assert not exists(s3, f"photos/{_store(api)}/{customer['id']}/{upload_id}")


def test_deleting_the_customer_deletes_the_photo(
    api: Api, customer: dict[str, Any], s3: Any
) -> None:
    upload_id = upload(api, customer["id"], png())
    confirm(api, customer["id"], upload_id)

    assert api.call("DELETE", f"/customers/{customer['id']}").status == 204

    assert not exists(s3, f"photos/{_store(api)}/{customer['id']}/{upload_id}")


def test_a_bulk_delete_deletes_the_photos(api: Api, customer: dict[str, Any], s3: Any) -> None:
    upload_id = upload(api, customer["id"], png())
    confirm(api, customer["id"], upload_id)

    answer = api.call(
        "POST", "/customers/bulk", {"action": "delete", "target": {"ids": [customer["id"]]}}
    )

    assert answer.body["counts"]["updated"] == 1, answer.body
    assert not exists(s3, f"photos/{_store(api)}/{customer['id']}/{upload_id}")


def test_an_upload_for_an_unknown_customer_is_not_found(api: Api) -> None:
    answer = api.call(
        "POST", "/customers/01J00000000000000000000000/photo/uploads", {"content_type": "image/png"}
    )
    assert answer.status == 404


def test_merging_gives_the_kept_profile_a_photo_only_if_it_has_none(api: Api, s3: Any) -> None:
    kept = api.call("POST", "/customers", {"email": "kept@example.com"}).body
    donor = api.call("POST", "/customers", {"email": "donor@example.com"}).body
    image = png(20, 10)
    donor_upload = upload(api, donor["id"], image)
    confirm(api, donor["id"], donor_upload)

    merged = api.call(
        "POST", "/customers/merge", {"keep_id": kept["id"], "merge_ids": [donor["id"]]}
    )

    assert merged.status == 200, merged.body
    photo = merged.body["customer"]["photo"]
    assert photo["source"] == "upload"
    assert "photo" in merged.body["fields_filled"]
    assert requests.get(photo["url"], timeout=10).content == image
    store = _store(api)
    assert exists(s3, f"photos/{store}/{kept['id']}/{donor_upload}")
    assert not exists(s3, f"photos/{store}/{donor['id']}/{donor_upload}")


def test_a_list_page_with_photos_costs_no_storage_request(api: Api) -> None:
    for index in range(3):
        created = api.call("POST", "/customers", {"email": f"c{index}@example.com"}).body
        confirm(api, created["id"], upload(api, created["id"], png(index + 1, 2)))
    from clientela import aws

    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}:{model.name}")

    for client in (aws.dynamodb(), aws.s3()):
        client.meta.events.register("before-call", count)
    try:
        listed = api.call("GET", "/customers?limit=2")
    finally:
        for client in (aws.dynamodb(), aws.s3()):
            client.meta.events.unregister("before-call", count)

    assert [item["photo"]["source"] for item in listed.body["items"]] == ["upload", "upload"]
    # The links are signed locally: the page is the one Query it always was.
    # The store's list index holds keys only: one Query, then the page's customers at once.
    assert calls == ["dynamodb:Query", "dynamodb:BatchGetItem"]
