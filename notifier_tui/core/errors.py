"""Errors the core raises to its callers.

Hierarchy::

    NotifierError
    ├── ValidationError   bad input; names the field and the rule it broke
    ├── NotFoundError     an id that is not in the store
    └── ConflictError     the input is valid but clashes with stored data (duplicate phone)

The command line maps each of these to exit status 2 and one line on stderr;
the UI shows them next to the field they name.
"""

from __future__ import annotations


class NotifierError(Exception):
    """Base of every error the core raises on purpose."""


class ValidationError(NotifierError):
    """Input broke a domain rule.

    Attributes:
        field: the input field at fault (``phone``, ``end_at``, ...).
        rule: what the field must satisfy, in words a user understands.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotFoundError(NotifierError):
    """No row with that id."""

    def __init__(self, kind: str, ident: int) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class ConflictError(ValidationError):
    """Valid on its own, but clashes with what is stored (a duplicate phone)."""


class RowErrors(NotifierError):
    """Several bad rows of an import, each as (line number, error)."""

    def __init__(self, errors: list[tuple[int, ValidationError]]) -> None:
        lines = "; ".join(f"line {line}: {err}" for line, err in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} bad row(s): {lines}{more}")
        self.errors = errors
