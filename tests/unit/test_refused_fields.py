"""A model-level validator (one weighing several fields) names the field it refuses and a
specific code (`clientela.problems.Refused`), never the model itself with an empty field and
`value_error`: the console points at the field and says why in the owner's language."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from chalicelib.automation.messages.models import MessageIn
from chalicelib.automation.templates.models import TemplateCreate
from chalicelib.credits.coupons.models import NewCoupon
from chalicelib.customers.bulk.models import BulkRequest
from chalicelib.customers.segments.models import SegmentPatch
from chalicelib.exports.exports.models import NewExport
from clientela import problems


def refusal(model: type[BaseModel], body: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    problem = problems.from_validation_error(caught.value)
    return [(e.field, e.code, e.as_dict()["pointer"]) for e in problem.errors]


@pytest.mark.parametrize(
    ("model", "body", "field", "code"),
    [
        (MessageIn, {}, "body", "body_required"),
        (MessageIn, {"subject": "Hi"}, "body", "body_required"),
        (MessageIn, {"body": "Hello"}, "subject", "subject_required"),
        (MessageIn, {"template_id": "t", "body": "b"}, "body", "body_with_template"),
        (MessageIn, {"subject": " ", "body": "b"}, "subject", "blank"),
        (TemplateCreate, {}, "contents", "contents_or_builtin"),
        (
            TemplateCreate,
            {"contents": {"en": {"subject": "s", "html": "h"}}},
            "name",
            "name_required",
        ),
        (
            BulkRequest,
            {"action": "add_tags", "tags": ["x"], "target": {}},
            "target.ids",
            "one_target",
        ),
        (SegmentPatch, {}, "name", "nothing_to_change"),
        (
            NewCoupon,
            {
                "customer_id": "01JD0000000000000000000000",
                "code": "HELLO10",
                "percentage": "10",
                "amount": "5",
            },
            "percentage",
            "percentage_or_amount",
        ),
        (NewExport, {"kind": "customers", "currency": "BRL"}, "currency", "not_for_kind"),
    ],
)
def test_a_model_level_refusal_names_its_field(
    model: type[BaseModel], body: dict[str, Any], field: str, code: str
) -> None:
    assert refusal(model, body) == [(field, code, "/" + field.replace(".", "/"))]
