"""Events of the automation service (source `clientela.automation`): e-mails and messages.

They name the customer and the message, never its content: a subject or a reply can hold
personal data, so consumers that need more ask the automation service.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

SOURCE = "clientela.automation"


class EmailSentV1(BaseModel):
    """An e-mail went out to a customer, from a flow or a campaign."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    message_id: str = Field(min_length=1, max_length=128)
    flow_id: str | None = Field(default=None, max_length=128)
    flow_name: str | None = Field(default=None, max_length=200, description="Not personal.")
    campaign_id: str | None = Field(default=None, max_length=128)
    campaign_name: str | None = Field(default=None, max_length=200, description="Not personal.")


class EmailOpenedV1(BaseModel):
    """A customer opened an e-mail (as far as tracking pixels can tell)."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    message_id: str = Field(min_length=1, max_length=128)
    flow_id: str | None = Field(default=None, max_length=128)
    campaign_id: str | None = Field(default=None, max_length=128)


class EmailClickedV1(BaseModel):
    """A customer followed a link of an e-mail."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    message_id: str = Field(min_length=1, max_length=128)
    url: AnyHttpUrl = Field(description="The link followed.")
    flow_id: str | None = Field(default=None, max_length=128)
    campaign_id: str | None = Field(default=None, max_length=128)


class EmailUnsubscribedV1(BaseModel):
    """A customer used an e-mail's unsubscribe link (RFC 8058 one-click or the page). The
    customers service follows it and sets the e-mail consent to `unsubscribed`."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    message_id: str = Field(min_length=1, max_length=128, description="The e-mail's message id.")
    at: datetime = Field(description="When the customer unsubscribed.")


class MessageSentV1(BaseModel):
    """The store sent a customer a message in a conversation (thread)."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    thread_id: str = Field(min_length=1, max_length=128)
    message_id: str = Field(min_length=1, max_length=128)
    channel: str = Field(
        min_length=1, max_length=32, description="Where it went: email, sms, whatsapp, ..."
    )


class MessageRepliedV1(BaseModel):
    """A customer answered in a conversation. Carries no text of the reply."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    thread_id: str = Field(min_length=1, max_length=128)
    message_id: str = Field(min_length=1, max_length=128)
    channel: str = Field(
        min_length=1, max_length=32, description="Where it came from: email, sms, whatsapp, ..."
    )
