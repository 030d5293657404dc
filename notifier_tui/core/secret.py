"""Secrets that never show themselves: tokens, passwords, and the userinfo of URLs.

:class:`Secret` wraps a token or password so ``str``, ``repr``, f-strings and
logs show it masked. :func:`mask_url` and :func:`mask_urls` hide the
``user:password@`` part of a URL (``--base-url http://alice:pw@host``, a
``postgresql://`` store URL) wherever a URL is shown: the password is masked
and the user kept, and userinfo without a colon (often a token standing in
for the user) is masked whole.
"""

from __future__ import annotations

import re

MASK = "********"

# scheme ":" then the authority's slashes, userinfo, "@". One slash is allowed
# too: pathlib collapses "postgresql://u:p@h" to "postgresql:/u:p@h". At least
# one, so "owner=ui:123@host" in a log line is left alone. The userinfo runs to
# the last "@" of the authority: a raw "p@ss" password is masked whole.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*:/{1,2})(?P<info>[^\s/?#]+)@")


def _mask(match: re.Match[str]) -> str:
    info = match["info"]
    user, colon, _password = info.partition(":")
    shown = f"{user}:{MASK}" if colon and user else MASK
    return f"{match['head']}{shown}@"


def mask_url(url: str) -> str:
    """``url`` with the password of its userinfo masked.

    >>> mask_url("http://alice:s3cret@gw.example:8080/api")
    'http://alice:********@gw.example:8080/api'
    >>> mask_url("https://TOKEN@gw.example")
    'https://********@gw.example'
    >>> mask_url("http://gw.example/a@b")
    'http://gw.example/a@b'
    """
    return _USERINFO.sub(_mask, url, count=1) if "@" in url else url


def mask_urls(text: str) -> str:
    """Every URL in ``text`` (a log line, an error message) with its userinfo masked."""
    return _USERINFO.sub(_mask, text) if "@" in text else text


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
        return MASK if self._value else "(not set)"

    def __repr__(self) -> str:
        return f"Secret({self})"
