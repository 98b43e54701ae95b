"""Errors every area of the customers service raises and `http` answers."""

from __future__ import annotations


class CustomerError(Exception):
    """A rule of the customers domain refused a change."""


class CustomerNotFound(CustomerError):
    pass


class EmailAlreadyUsed(CustomerError):
    def __init__(self, existing_id: str) -> None:
        super().__init__(existing_id)
        self.existing_id = existing_id


class VersionMismatch(CustomerError):
    def __init__(self, current_version: int | None) -> None:
        super().__init__(current_version)
        self.current_version = current_version


class ContactRequired(CustomerError):
    """A customer must keep an e-mail or a phone."""


class InvalidField(CustomerError):
    """A value the rules refuse, found only once the stored customer is known."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field)
        self.field = field
        self.reason = reason


class WriteConflict(CustomerError):
    """Another write to the same items won the race; trying again may succeed."""
