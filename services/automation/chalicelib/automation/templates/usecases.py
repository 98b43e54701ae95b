"""Templates: a store's own and the built-in ones, read, written (If-Match), rendered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.automation.contacts.usecases import get_contact
from chalicelib.automation.settings import settings
from chalicelib.automation.templates import store
from chalicelib.automation.templates.builtin.rules import BUILTINS, builtin
from chalicelib.automation.templates.rules import (
    SAMPLE_CONTEXT,
    SAMPLE_CUSTOMER,
    Rendered,
    Template,
    TemplateError,
    check_content,
    render,
)
from chalicelib.automation.templates.store import TemplateStore
from clientela import aws
from clientela.ids import new_id
from clientela.problems import NotFound, UnknownReference


class TemplateNotFound(NotFound):
    what = "template"


class VersionConflict(Exception):
    """If-Match named another version than the current one."""

    def __init__(self, current: int) -> None:
        super().__init__(current)
        self.current = current


def now() -> datetime:
    return datetime.now(UTC)


def template_store() -> TemplateStore:
    return TemplateStore(aws.dynamodb(), settings().mail_table)


def get_template(store_id: str, template_id: str) -> Template | None:
    """The store's template, or the built-in one of that id; None when neither exists."""
    return builtin(template_id) or template_store().get(store_id, template_id)


def list_templates(store_id: str) -> list[Template]:
    return [*BUILTINS.values(), *template_store().list(store_id)]


class BuiltinReadOnly(Exception):
    """Built-in templates are the same for every store: copy one to change it."""


def create_template(store_id: str, draft: Template) -> Template:
    check(draft)
    template = replace(draft, id=new_id(), version=1, updated_at=now(), builtin=False)
    template_store().put(store_id, template, expected=None)
    return template


def copy_builtin(store_id: str, builtin_id: str, name: str | None) -> Template:
    source = builtin(builtin_id)
    if source is None:
        raise UnknownReference("built-in template", "from_builtin")
    template = replace(
        source,
        id=new_id(),
        name=name or source.name,
        version=1,
        updated_at=now(),
        builtin=False,
    )
    template_store().put(store_id, template, expected=None)
    return template


def replace_template(
    store_id: str, template_id: str, draft: Template, versions: frozenset[int]
) -> Template:
    """A new version of the store's template. `versions`: what If-Match named (empty: any)."""
    if builtin(template_id):
        raise BuiltinReadOnly
    current = template_store().get(store_id, template_id)
    if current is None:
        raise TemplateNotFound
    if versions and current.version not in versions:
        raise VersionConflict(current.version)
    check(draft)
    template = replace(
        draft, id=template_id, version=current.version + 1, updated_at=now(), builtin=False
    )
    try:
        template_store().put(store_id, template, expected=current.version)
    except store.VersionConflict:
        raise VersionConflict(current.version) from None
    return template


def delete_template(store_id: str, template_id: str, versions: frozenset[int]) -> None:
    if builtin(template_id):
        raise BuiltinReadOnly
    current = template_store().get(store_id, template_id)
    if current is None:
        raise TemplateNotFound
    if versions and current.version not in versions:
        raise VersionConflict(current.version)
    try:
        template_store().delete(store_id, template_id, expected=current.version)
    except store.VersionConflict:
        raise VersionConflict(current.version) from None


def check(template: Template) -> None:
    """TemplateError (with the language and part) for a part a template may not hold."""
    for language, content in template.contents.items():
        try:
            check_content(content)
        except TemplateError as error:
            raise TemplateError(error.reason, error.detail, f"{language}.{error.part}") from None


def preview(
    store_id: str,
    template_id: str,
    *,
    customer_id: str | None,
    language: str | None,
    context: Mapping[str, Any],
) -> Rendered:
    """The template rendered as a customer would get it (links are samples: nothing is sent)."""
    template = get_template(store_id, template_id)
    if template is None:
        raise TemplateNotFound
    values: dict[str, Any] = {**SAMPLE_CONTEXT, **context}
    customer: dict[str, Any] = dict(SAMPLE_CUSTOMER)
    if customer_id is not None:
        contact = get_contact(store_id, customer_id)
        if contact is None:
            raise UnknownReference("customer", "customer_id")
        customer = {
            "id": contact.customer_id,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
            "language": contact.language,
            "country": contact.country,
            "tags": list(contact.tags),
        }
    values["customer"] = customer
    wanted = language or customer.get("language")
    return render(template, values, wanted, max_chars=settings().max_rendered_chars)
