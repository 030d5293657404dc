"""Request bodies of the HTTP API.

Only the JSON shape is checked here (types, required fields). Every domain rule
(a phone's spelling, a zone's name, end after start) is the core's, so the API,
the command line and the UI refuse the same input with the same words.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    # An unknown key is a typo the caller wants to hear about, not to lose silently.
    model_config = ConfigDict(extra="forbid")


class ClientIn(_Body):
    """A new client."""

    phone: str = Field(description="7XXXXXXXXXX, or a common spelling such as +7 900 123-45-67")
    tag: str = Field("", description="free label, at most 64 characters")
    timezone: str | None = Field(None, description="IANA zone; the store's default when absent")
    operator_code: str | None = Field(
        None, description="3 digits; digits 2-4 of the phone when absent"
    )


class ClientPatch(_Body):
    """Fields of a client to change; absent fields stay as they are."""

    phone: str | None = None
    tag: str | None = None
    timezone: str | None = None
    operator_code: str | None = None


class MailingIn(_Body):
    """A new mailing."""

    start_at: str = Field(description="ISO 8601 (UTC when it has no offset), 'now' or '+10m'")
    end_at: str = Field(description="ISO 8601 (UTC when it has no offset), 'now' or '+2h'")
    text: str
    operator_codes: list[str] = Field(default_factory=list, description="empty: any operator")
    tags: list[str] = Field(default_factory=list, description="empty: any tag")
    window: str | None = Field(
        None, description="local send window, HH:MM-HH:MM, may wrap midnight"
    )


class MailingPatch(_Body):
    """Fields of a mailing to change; absent fields stay as they are (``window: ""`` removes it)."""

    start_at: str | None = None
    end_at: str | None = None
    text: str | None = None
    operator_codes: list[str] | None = None
    tags: list[str] | None = None
    window: str | None = None
