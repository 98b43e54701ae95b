"""Templates: a store's own and the built-in ones, read, written (If-Match), rendered."""

from __future__ import annotations

from chalicelib.automation.settings import settings
from chalicelib.automation.templates.builtin.rules import BUILTINS, builtin
from chalicelib.automation.templates.rules import Template
from chalicelib.automation.templates.store import TemplateStore
from clientela import aws


def template_store() -> TemplateStore:
    return TemplateStore(aws.dynamodb(), settings().mail_table)


def get_template(store_id: str, template_id: str) -> Template | None:
    """The store's template, or the built-in one of that id; None when neither exists."""
    return builtin(template_id) or template_store().get(store_id, template_id)


def list_templates(store_id: str) -> list[Template]:
    return [*BUILTINS.values(), *template_store().list(store_id)]
