"""API models of one-to-one messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clientela.problems import Refused


class MessageIn(BaseModel):
    """A subject and a body the admin wrote (plain text), or a template (and its variables)."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, min_length=1, max_length=998)
    body: str | None = Field(default=None, min_length=1, max_length=50_000)
    template_id: str | None = Field(default=None, min_length=1, max_length=64)
    context: dict[str, Any] = Field(default_factory=dict, description="The template's variables.")
    marketing: bool = Field(
        default=False,
        description="A promotion rather than a conversation: needs e-mail consent `subscribed`"
        " (else 409) and carries one-click unsubscribe and tracking.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> MessageIn:
        if self.template_id is None and (self.subject is None or self.body is None):
            missing = "body" if self.body is None else "subject"
            raise Refused(
                missing, "give a subject and a body, or a template_id", f"{missing}_required"
            )
        if self.template_id is not None and self.body is not None:
            raise Refused("body", "give a body or a template_id, not both", "body_with_template")
        for name in ("subject", "body"):
            if not (getattr(self, name) or "x").strip():
                raise Refused(name, "subject and body may not be blank", "blank")
        return self


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=50_000, pattern=r"\S")


class ThreadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=4096, description="From `next_cursor`.")


class DroppedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=1, le=90, description="The last N days, today included.")


class DroppedDay(BaseModel):
    day: date
    by_reason: dict[str, int]


class DroppedReplies(BaseModel):
    """Replies that were not threaded, by reason. Only drops that surely concern this store
    (`sender_mismatch`: an answer to one of its mails from another address than the
    customer's); a forged or missing reply token names no store that could be trusted."""

    by_reason: dict[str, int] = Field(description="Totals over the days asked.")
    days: list[DroppedDay] = Field(description="Days with drops, oldest first.")


class AttachmentOut(BaseModel):
    filename: str
    content_type: str
    size: int = Field(description="Bytes. Attachments are listed, not kept.")


class MessageOut(BaseModel):
    id: str
    at: datetime
    direction: Literal["outbound", "inbound"]
    subject: str
    text: str = Field(description="For a reply, without the part it quotes.")
    attachments: list[AttachmentOut]


class ThreadOut(BaseModel):
    id: str
    customer_id: str
    subject: str
    created_at: datetime
    last_at: datetime
    messages: list[MessageOut] = Field(description="Oldest first.")

    @classmethod
    def of(cls, view: dict[str, Any]) -> ThreadOut:
        return cls(
            id=view["thread_id"],
            customer_id=view["customer_id"],
            subject=view["subject"],
            created_at=view["created_at"],
            last_at=view["last_at"],
            messages=[MessageOut.model_validate(item) for item in view["items"]],
        )


class ThreadSummary(BaseModel):
    id: str
    subject: str
    created_at: datetime
    last_at: datetime
    messages: int
    last_direction: Literal["outbound", "inbound"] | None


class ThreadList(BaseModel):
    items: list[ThreadSummary] = Field(description="Latest activity first.")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for older threads; null at the end."
    )

    @classmethod
    def of(cls, threads: list[dict[str, Any]], next_cursor: str | None = None) -> ThreadList:
        return cls(
            next_cursor=next_cursor,
            items=[
                ThreadSummary(
                    id=t["thread_id"],
                    subject=t["subject"],
                    created_at=t["created_at"],
                    last_at=t["last_at"],
                    messages=t.get("messages", 0),
                    last_direction=t.get("last_direction"),
                )
                for t in threads
            ],
        )
