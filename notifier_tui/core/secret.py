"""A string that never shows itself: tokens and passwords."""

from __future__ import annotations


class Secret:
    """Wraps a secret so ``str``, ``repr``, f-strings and logs show it masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return "********" if self._value else "(not set)"

    def __repr__(self) -> str:
        return f"Secret({self})"
