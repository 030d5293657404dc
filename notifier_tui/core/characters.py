"""Which characters a stored value may hold: no control characters, no undecodable bytes.

A terminal acts on control characters instead of showing them, and SQLite
cannot store the lone surrogates Python uses for bytes that were not UTF-8.
Every surface (the command line, CSV import, the UI) validates through
:mod:`notifier_tui.core.rules`, which calls :func:`check_characters`.
"""

from __future__ import annotations

import re

from notifier_tui.core.errors import ValidationError

# C0 controls (NUL, ESC, CR, LF, TAB, ...), DEL and the C1 controls (CSI is U+009B):
# a terminal acts on them instead of showing them, so no stored value holds one,
# except the line breaks and tabs a message text may have.
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A phone's separators may be any ASCII whitespace (a pasted "+7 900\t123"): only
# digits are stored, so those are dropped like spaces; the other controls are refused.
PHONE_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# Lone surrogates are how Python carries bytes that were not UTF-8 (a command-line
# argument in another encoding); SQLite cannot store them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_characters(field: str, value: str, *, refused: re.Pattern[str] | None = None) -> str:
    """Return ``value`` unless it holds a control character or undecodable bytes.

    Args:
        field: the field named in the error.
        value: the raw input.
        refused: the characters to refuse, when not every control is
            (texts keep line breaks and tabs; see :data:`TEXT_CONTROLS`).

    Raises:
        ValidationError: the value holds a lone surrogate or a control character.
    """
    if _SURROGATE.search(value):
        raise ValidationError(field, "must be valid UTF-8 text (it holds bytes that are not)")
    bad = (refused or CONTROLS).search(value)
    if bad:
        raise ValidationError(
            field,
            f"must not contain control characters, found U+{ord(bad[0]):04X}"
            f" at character {bad.start() + 1}",
        )
    return value
