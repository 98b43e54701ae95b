"""What the customers service does with customer photos: presigned uploads, confirming one into
the profile's photo, removing it, and removing a deleted customer's objects.

An upload's bytes are checked before they become a photo (photos.inspect); the photo is written
from the checked bytes, then the customer item points at it in a write conditioned on the
version read. Objects are removed only after the item stops pointing at them, so a failure
midway leaves at worst an orphan object (uploads expire by a lifecycle rule), never a profile
pointing at nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chalicelib.customers.errors import CustomerError, InvalidField
from chalicelib.customers.photos import rules as photos
from chalicelib.customers.photos.store import (
    PresignedPost,
    discard,
    photo_bucket,
    photo_key,
    photo_records,
    upload_key,
)
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.rules import Customer, Photo
from chalicelib.customers.settings import settings
from clientela.ids import is_id, new_id

_NO_UPLOAD = "no such upload for this customer (or it has expired)"


@dataclass(frozen=True)
class UploadGrant:
    upload_id: str
    post: PresignedPost
    content_type: str


def start_upload(store_id: str, customer_id: str, content_type: str) -> UploadGrant:
    """A presigned POST for one upload of the customer's photo (the customer must exist)."""
    usecases.get_customer(store_id, customer_id)
    upload_id = new_id()
    post = photo_bucket().presigned_post(
        upload_key(store_id, customer_id, upload_id), content_type, settings().photo_upload_ttl
    )
    return UploadGrant(upload_id, post, content_type)


def confirm_upload(
    store_id: str, customer_id: str, upload_id: str, precondition: usecases.Precondition
) -> Customer:
    """The upload becomes the customer's photo, replacing the previous one.

    Confirming the same upload again answers the profile as it is (the photo id is the upload
    id). A missing, foreign or bad upload raises InvalidField naming `upload_id`.
    """
    if not is_id(upload_id):
        raise InvalidField("upload_id", _NO_UPLOAD)
    customer = usecases.get_customer(store_id, customer_id)
    if customer.photo is not None and customer.photo.id == upload_id:
        return customer
    bucket = photo_bucket()
    source = upload_key(store_id, customer_id, upload_id)
    upload = bucket.read_upload(source)
    if upload is None:
        raise InvalidField("upload_id", _NO_UPLOAD)
    if upload.data is None:
        raise InvalidField("upload_id", f"the upload is larger than {photos.MAX_BYTES} bytes")
    if upload.content_type not in photos.CONTENT_TYPES:
        raise InvalidField("upload_id", "the upload was not declared a JPEG, PNG or WebP image")
    try:
        info = photos.inspect(upload.data, upload.content_type)
    except photos.NotAnImage as error:
        raise InvalidField("upload_id", str(error)) from None
    key = photo_key(store_id, customer_id, upload_id)
    bucket.put_photo(key, upload.data, info.content_type)
    replaced: list[Photo] = []

    def write(current: Customer) -> Customer:
        if current.photo is not None and current.photo.id == upload_id:
            return current
        at = domain.now()
        photo = Photo(
            id=upload_id,
            key=key,
            content_type=info.content_type,
            width=info.width,
            height=info.height,
            size=len(upload.data or b""),
            updated_at=at,
        )
        updated = replace(current, photo=photo, updated_at=at, version=current.version + 1)
        photo_records().replace(current, updated)
        replaced[:] = [current.photo] if current.photo else []
        return updated

    try:
        result = usecases.change_customer(store_id, customer_id, precondition, write)
    except CustomerError:
        # 412, or deleted meanwhile: the object is unused, unless a concurrent confirm of the
        # same upload made it the photo.
        stored = usecases.customer_store().get(store_id, customer_id)
        if stored is None or stored.photo is None or stored.photo.key != key:
            discard(key)
        raise
    discard(source, *(p.key for p in replaced))
    return result


def remove_photo(store_id: str, customer_id: str, precondition: usecases.Precondition) -> None:
    """No photo any more: neither the uploaded one nor the social picture. Removing none is
    not an error (a retried DELETE succeeds)."""
    removed: list[Photo] = []

    def write(current: Customer) -> Customer:
        if current.photo is None and current.photo_url is None:
            return current
        updated = replace(
            current,
            photo=None,
            photo_url=None,
            updated_at=domain.now(),
            version=current.version + 1,
        )
        photo_records().replace(current, updated)
        removed[:] = [current.photo] if current.photo else []
        return updated

    usecases.change_customer(store_id, customer_id, precondition, write)
    discard(*(p.key for p in removed))
