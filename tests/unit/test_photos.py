"""Checking that an upload's bytes are an image of the declared type, with sane dimensions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.customers.photos import rules as photos
from chalicelib.customers.photos.rules import NotAnImage, inspect
from chalicelib.customers.profiles.rules import normalise_photo_url
from chalicelib.customers.publishing import event_for
from tests.images import jpeg, png, webp

sides = st.integers(min_value=1, max_value=photos.MAX_SIDE)


@given(width=sides, height=sides)
def test_png_dimensions_come_from_its_header(width: int, height: int) -> None:
    data = (
        png(1, 1)[:16] + (width).to_bytes(4, "big") + (height).to_bytes(4, "big") + png(1, 1)[24:]
    )
    if width * height > photos.MAX_PIXELS:
        with pytest.raises(NotAnImage, match="pixels"):
            inspect(data, "image/png")
    else:
        assert inspect(data, "image/png") == photos.ImageInfo("image/png", width, height)


@given(width=sides, height=sides, exif=st.binary(max_size=300))
def test_jpeg_dimensions_come_from_its_frame_header(width: int, height: int, exif: bytes) -> None:
    data = jpeg(width, height, exif=exif)
    if width * height > photos.MAX_PIXELS:
        with pytest.raises(NotAnImage):
            inspect(data, "image/jpeg")
    else:
        assert inspect(data, "image/jpeg") == photos.ImageInfo("image/jpeg", width, height)


@given(
    width=st.integers(1, 16383),
    height=st.integers(1, 16383),
    kind=st.sampled_from(["VP8L", "VP8 ", "VP8X"]),
)
def test_webp_dimensions_come_from_its_frame_header(width: int, height: int, kind: str) -> None:
    data = webp(width, height, kind)
    if width > photos.MAX_SIDE or height > photos.MAX_SIDE or width * height > photos.MAX_PIXELS:
        with pytest.raises(NotAnImage):
            inspect(data, "image/webp")
    else:
        assert inspect(data, "image/webp") == photos.ImageInfo("image/webp", width, height)


def test_a_real_png_is_an_image() -> None:
    assert inspect(png(64, 48), "image/png") == photos.ImageInfo("image/png", 64, 48)


@pytest.mark.parametrize(
    ("data", "declared", "reason"),
    [
        (b"just some text, not a picture", "image/png", "not a JPEG, PNG or WebP"),
        (b"", "image/png", "empty"),
        (png(), "image/jpeg", "declared image/jpeg but is image/png"),
        (png()[:-12], "image/png", "not a complete"),  # truncated: no IEND
        (jpeg()[:-2], "image/jpeg", "not a complete"),
        (webp()[:-3], "image/webp", "not a complete"),
        (png(0, 5), "image/png", "1 to 10000 pixels"),
        (png(1, photos.MAX_SIDE + 1), "image/png", "1 to 10000 pixels"),
        (b"\xff\xd8\xff\xd9", "image/jpeg", "no frame header"),
        (b"\xff\xd8\xff\xe0\x00\x01\xff\xd9", "image/jpeg", "markers are broken"),
    ],
)
def test_what_is_not_an_image_of_the_declared_type_is_refused(
    data: bytes, declared: str, reason: str
) -> None:
    with pytest.raises(NotAnImage, match=reason):
        inspect(data, declared)


@given(data=st.binary(max_size=200), declared=st.sampled_from(sorted(photos.CONTENT_TYPES)))
def test_any_bytes_are_an_image_or_refused_never_a_crash(data: bytes, declared: str) -> None:
    try:
        info = inspect(data, declared)
    except NotAnImage:
        return
    assert info.content_type == declared


def test_a_too_large_upload_is_refused_before_parsing() -> None:
    with pytest.raises(NotAnImage, match="larger than"):
        inspect(png() + b"\x00" * photos.MAX_BYTES, "image/png")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a.jpg",
        "https:///a.jpg",
        "https://user:pw@example.com/a.jpg",
        "https://example.com/a b.jpg",
        "javascript:alert(1)",
        "https://example.com/" + "a" * 2048,
        "",
    ],
)
def test_a_photo_url_is_an_https_url_without_credentials(url: str) -> None:
    with pytest.raises(ValueError, match="must"):
        normalise_photo_url(url)


def test_a_photo_url_is_kept_as_given() -> None:
    url = "https://lh3.googleusercontent.com/a/ACg8oc=s96-c"
    assert normalise_photo_url(f"  {url} ") == url


def _customer_image(version: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": {"S": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR"},
        "email": {"S": "a@example.com"},
        "created_at": {"S": "2026-11-23T10:00:00Z"},
        "updated_at": {"S": "2026-11-23T11:00:00Z"},
        "version": {"N": str(version)},
        "store_id": {"S": "s1"},
        **extra,
    }


def _modified(new: dict[str, Any], old: dict[str, Any]) -> Any:
    sk = "CUSTOMER#01JD3Z6Q4W0W8Y5J3K2M1N0PQR"
    keys = {"pk": {"S": f"STORE#s1#{sk}"}, "sk": {"S": sk}}
    change = {"Keys": keys, "SequenceNumber": "1", "NewImage": new, "OldImage": old}
    return event_for({"eventID": "e1", "eventName": "MODIFY", "dynamodb": change})


def test_photos_stay_out_of_the_customer_events() -> None:
    photo = {
        "M": {
            "id": {"S": "01JD3Z6Q4W0W8Y5J3K2M1N0PQS"},
            "key": {"S": "photos/s1/01JD3Z6Q4W0W8Y5J3K2M1N0PQR/01JD3Z6Q4W0W8Y5J3K2M1N0PQS"},
            "content_type": {"S": "image/png"},
            "width": {"N": "4"},
            "height": {"N": "3"},
            "size": {"N": "80"},
            "updated_at": {"S": "2026-11-23T11:00:00Z"},
        }
    }
    uploaded = _modified(_customer_image(2, photo=photo), _customer_image(1))
    social = _modified(
        _customer_image(2, photo_url={"S": "https://example.com/a.jpg"}), _customer_image(1)
    )

    assert uploaded.data.changed == []
    assert social.data.changed == ["photo_url"]
    for event in (uploaded, social):
        snapshot = event.data.new.model_dump()
        assert "photo" not in snapshot and "photo_url" not in snapshot
