"""Templates over HTTP: a store's own (versioned, If-Match) and the built-in ones (read-only),
and previews."""

from __future__ import annotations

from dataclasses import asdict

from chalicelib.automation.templates import usecases
from chalicelib.automation.templates.models import (
    PreviewIn,
    PreviewOut,
    TemplateCreate,
    TemplateIn,
    TemplateList,
    TemplateOut,
    TemplateSummary,
)
from chalicelib.automation.templates.rules import Template, TemplateError
from clientela.api import Call, Reply, Routes, if_match_versions
from clientela.problems import FieldError, Problem, invalid

routes = Routes()
register = routes.register


def _etag(template: Template) -> dict[str, str]:
    return {"ETag": f'"{template.version}"'}


def _draft(body: TemplateIn) -> Template:
    return Template(
        id="",
        name=body.name,
        description=body.description,
        default_language=body.default_language,
        contents={lang: content.domain() for lang, content in body.contents.items()},
    )


def _refused(error: TemplateError) -> Problem:
    # The part's position, and why (a variable or construct named, never data).
    return invalid([FieldError(f"contents.{error.part}", error.detail)], f"{error.reason}")


def _stale(error: usecases.VersionConflict) -> Problem:
    return Problem(
        412,
        "precondition-failed",
        "The template has changed",
        "Read it again and apply your change to the current version",
        extra={"current_version": error.current},
        headers={"ETag": f'"{error.current}"'},
    )


def _builtin() -> Problem:
    return Problem(
        409,
        "builtin-template",
        "Built-in templates are read-only",
        "Copy it (POST /templates with from_builtin) and change the copy",
    )


def _if_match(call: Call) -> frozenset[int]:
    versions = if_match_versions(call.header("If-Match"))
    if versions is None:
        raise Problem(
            428,
            "precondition-required",
            "If-Match is required",
            "Read the template and send its ETag in If-Match",
        )
    return versions


@routes.route(
    "/templates",
    "GET",
    summary="The store's e-mail templates and the built-in ones",
    response=TemplateList,
)
def list_templates(call: Call) -> Reply:
    templates = usecases.list_templates(call.store_id)
    return Reply(200, TemplateList(items=[TemplateSummary.of(t) for t in templates]))


@routes.route(
    "/templates",
    "POST",
    summary="Create a template (or copy a built-in one)",
    body=TemplateCreate,
    response=TemplateOut,
    status=201,
    response_headers=("ETag", "Location"),
    creates="template_id",
)
def create_template(call: Call) -> Reply:
    """Parts per language are checked before anything is saved: a syntax error or a construct
    templates may not use (macros, includes, recursive or deeply nested loops) is a 422 naming
    the language and part."""
    body: TemplateCreate = call.body
    try:
        if body.from_builtin is not None:
            template = usecases.copy_builtin(call.store_id, body.from_builtin, body.name)
        else:
            assert body.contents is not None
            assert body.name is not None
            draft = TemplateIn(
                name=body.name,
                description=body.description,
                default_language=body.default_language or "en",
                contents=body.contents,
            )
            template = usecases.create_template(call.store_id, _draft(draft))
    except TemplateError as error:
        raise _refused(error) from None
    headers = {**_etag(template), "Location": f"/templates/{template.id}"}
    return Reply(201, TemplateOut.of(template), headers)


@routes.route(
    "/templates/{template_id}",
    "GET",
    summary="A template",
    response=TemplateOut,
    response_headers=("ETag",),
)
def get_template(call: Call, template_id: str) -> Reply:
    template = usecases.get_template(call.store_id, template_id)
    if template is None:
        raise usecases.TemplateNotFound
    return Reply(200, TemplateOut.of(template), _etag(template))


@routes.route(
    "/templates/{template_id}",
    "PUT",
    summary="Replace a template",
    description="Names the version it read in If-Match (428 without, 412 if stale).",
    body=TemplateIn,
    response=TemplateOut,
    errors=(409, 412, 428),
    headers=("If-Match",),
    response_headers=("ETag",),
)
def put_template(call: Call, template_id: str) -> Reply:
    versions = _if_match(call)
    try:
        template = usecases.replace_template(
            call.store_id, template_id, _draft(call.body), versions
        )
    except usecases.BuiltinReadOnly:
        raise _builtin() from None
    except usecases.VersionConflict as error:
        raise _stale(error) from None
    except TemplateError as error:
        raise _refused(error) from None
    return Reply(200, TemplateOut.of(template), _etag(template))


@routes.route(
    "/templates/{template_id}",
    "DELETE",
    summary="Delete a template",
    description="Names the version it read in If-Match (428 without, 412 if stale).",
    status=204,
    errors=(409, 412, 428),
    headers=("If-Match",),
)
def delete_template(call: Call, template_id: str) -> Reply:
    versions = _if_match(call)
    try:
        usecases.delete_template(call.store_id, template_id, versions)
    except usecases.BuiltinReadOnly:
        raise _builtin() from None
    except usecases.VersionConflict as error:
        raise _stale(error) from None
    return Reply(204)


@routes.route(
    "/templates/{template_id}/preview",
    "POST",
    summary="Render a template with a customer or sample data",
    description=(
        "With `customer_id`, the customer as automation knows them (their language picks the"
        " part); without, a sample customer. Sample cart, order, credit and shop fill what"
        " `context` does not give. A template that cannot render is a 422 naming the part and"
        " why (a missing variable, a refused construct). Nothing is sent."
    ),
    body=PreviewIn,
    response=PreviewOut,
    write=False,
)
def preview_template(call: Call, template_id: str) -> Reply:
    body: PreviewIn = call.body
    try:
        rendered = usecases.preview(
            call.store_id,
            template_id,
            customer_id=body.customer_id,
            language=body.language,
            context=body.context,
        )
    except TemplateError as error:
        raise invalid(
            [FieldError("context", f"{error.part}: {error.detail}")], error.reason
        ) from None
    return Reply(200, PreviewOut(**asdict(rendered)))
