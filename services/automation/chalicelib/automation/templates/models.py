"""API models of templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.automation.templates.rules import MAX_SOURCE_CHARS, Content, Template
from clientela.problems import Refused

Language = Literal["pt-BR", "es", "it", "en"]


class ContentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=998, description="Jinja2 text.")
    html: str = Field(min_length=1, max_length=MAX_SOURCE_CHARS, description="Jinja2 HTML.")
    text: str | None = Field(
        default=None,
        max_length=MAX_SOURCE_CHARS,
        description="The plain-text part; generated from the HTML when absent.",
    )

    def domain(self) -> Content:
        return Content(self.subject, self.html, self.text)


class TemplateIn(BaseModel):
    """A template: its parts per language (pt-BR, es, it, en). The customer's language picks
    one; the default language serves everyone else."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    default_language: Language = "en"
    contents: dict[Language, ContentIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_is_given(self) -> TemplateIn:
        if self.default_language not in self.contents:
            raise Refused(
                "default_language",
                "default_language must be one of the languages in contents",
                "language_not_in_contents",
            )
        return self


class TemplateCreate(BaseModel):
    """A new template: its own parts, or a copy of a built-in one (`from_builtin`) to change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    default_language: Language | None = None
    contents: dict[Language, ContentIn] | None = Field(default=None, min_length=1)
    from_builtin: str | None = Field(
        default=None, min_length=1, max_length=64, description="e.g. builtin-abandoned-cart"
    )

    @model_validator(mode="after")
    def _one_source(self) -> TemplateCreate:
        if (self.contents is None) == (self.from_builtin is None):
            raise Refused(
                "contents" if self.contents is None else "from_builtin",
                "give either contents (with a name) or from_builtin",
                "contents_or_builtin",
            )
        if self.contents is not None and self.name is None:
            raise Refused("name", "name is required with contents", "name_required")
        language = self.default_language or "en"
        if self.contents is not None and language not in self.contents:
            raise Refused(
                "default_language",
                "default_language must be one of the languages in contents",
                "language_not_in_contents",
            )
        return self


class ContentOut(BaseModel):
    subject: str
    html: str
    text: str | None


class TemplateOut(BaseModel):
    id: str
    name: str
    description: str
    builtin: bool
    default_language: str
    contents: dict[str, ContentOut]
    variables: list[str] = Field(
        description="What a sender must give besides customer, shop and unsubscribe_url."
    )
    version: int
    updated_at: datetime | None

    @classmethod
    def of(cls, template: Template) -> TemplateOut:
        return cls(
            id=template.id,
            name=template.name,
            description=template.description,
            builtin=template.builtin,
            default_language=template.default_language,
            contents={
                lang: ContentOut(subject=c.subject, html=c.html, text=c.text)
                for lang, c in template.contents.items()
            },
            variables=list(template.variables),
            version=template.version,
            updated_at=template.updated_at,
        )


class TemplateSummary(BaseModel):
    id: str
    name: str
    builtin: bool
    languages: list[str]
    version: int
    updated_at: datetime | None

    @classmethod
    def of(cls, template: Template) -> TemplateSummary:
        return cls(
            id=template.id,
            name=template.name,
            builtin=template.builtin,
            languages=list(template.contents),
            version=template.version,
            updated_at=template.updated_at,
        )


class TemplateList(BaseModel):
    items: list[TemplateSummary]


class PreviewIn(BaseModel):
    """Render with a customer of the store (as automation knows them) or with sample data."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(default=None, min_length=1, max_length=128)
    language: Language | None = Field(
        default=None, description="Defaults to the customer's language (or the template's)."
    )
    context: dict[str, Any] = Field(
        default_factory=dict,
        description="Variables besides the customer (cart, order, credit, shop); sample"
        " values fill the ones not given.",
    )


class PreviewOut(BaseModel):
    language: str
    subject: str
    html: str
    text: str
