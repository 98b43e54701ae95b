"""Routes of /customers/{id}/photo: presigned uploads, confirming one, removing the photo. Each
parses, calls a use case, answers."""

from __future__ import annotations

from chalicelib.customers.errors import CustomerError
from chalicelib.customers.http import precondition, problem_for
from chalicelib.customers.photos import usecases as photo_usecases
from chalicelib.customers.photos.models import PhotoConfirm, PhotoUpload, PhotoUploadRequest
from chalicelib.customers.profiles.models import Customer
from chalicelib.customers.profiles.routes import customer_reply
from clientela.api import Call, Reply, Routes

routes = Routes()
register = routes.register


@routes.route(
    "/customers/{customer_id}/photo/uploads",
    "POST",
    summary="Start uploading a customer's photo (presigned POST)",
    body=PhotoUploadRequest,
    response=PhotoUpload,
    status=201,
    errors=(404, 422),
)
def start_photo_upload(call: Call, customer_id: str) -> Reply:
    """JPEG, PNG or WebP, at most 5 MB. The answer is a form upload straight to storage, valid
    for 5 minutes; nothing changes on the profile until the upload is confirmed."""
    request: PhotoUploadRequest = call.body
    try:
        grant = photo_usecases.start_upload(call.store_id, customer_id, request.content_type)
    except CustomerError as error:
        raise problem_for(error) from None
    return Reply(
        201,
        PhotoUpload(
            upload_id=grant.upload_id,
            url=grant.post.url,
            fields=grant.post.fields,
            expires_at=grant.post.expires_at,
            content_type=request.content_type,
        ),
    )


@routes.route(
    "/customers/{customer_id}/photo",
    "PUT",
    summary="Make an upload the customer's photo",
    body=PhotoConfirm,
    response=Customer,
    errors=(404, 412, 422),
    headers=("If-Match",),
    response_headers=("ETag",),
)
def confirm_photo(call: Call, customer_id: str) -> Reply:
    """The upload is checked (size, and that its bytes are an image of the declared type with
    sane dimensions), kept as the photo, and the previous photo removed. A missing, expired,
    foreign or bad upload: 422 naming `upload_id`, nothing changes. Confirming the same upload
    again answers the profile as it is."""
    body: PhotoConfirm = call.body
    try:
        customer = photo_usecases.confirm_upload(
            call.store_id, customer_id, body.upload_id, precondition(call.header("If-Match"))
        )
    except CustomerError as error:
        raise problem_for(error) from None
    return customer_reply(customer)


@routes.route(
    "/customers/{customer_id}/photo",
    "DELETE",
    summary="Remove a customer's photo",
    status=204,
    errors=(404, 412),
    headers=("If-Match",),
)
def remove_photo(call: Call, customer_id: str) -> Reply:
    """Both the uploaded photo and the social picture (`photo_url`) go; without either,
    nothing changes."""
    try:
        photo_usecases.remove_photo(
            call.store_id, customer_id, precondition(call.header("If-Match"))
        )
    except CustomerError as error:
        raise problem_for(error) from None
    return Reply(204)
