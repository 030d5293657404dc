"""How many SMS segments a text costs, measured the way operators bill it.

A text that fits the GSM 03.38 alphabet travels as 7-bit septets: 160 in one
segment, or 153 per segment once it is split (the rest of each carries the
concatenation header). Characters of the extension table (``€``, ``^``, ``{``,
``}``, ``[``, ``]``, ``~``, ``\\``, ``|`` and the form feed) cost two septets,
an escape and the character, and a pair is never split across segments.

Any other character switches the whole text to UCS-2: 70 UTF-16 code units in
one segment, 67 per segment when split. Cyrillic is UCS-2, and so is every
emoji, which takes two code units (a surrogate pair) that are never split
either.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The GSM 03.38 basic character set (the default alphabet), as Unicode.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
"""Characters sent as an escape plus one septet: two septets each."""

SINGLE = {"GSM-7": 160, "UCS-2": 70}
"""Units one unsplit segment holds."""
PART = {"GSM-7": 153, "UCS-2": 67}
"""Units each segment of a split text holds."""


class Encoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """What a text costs.

    Attributes:
        encoding: GSM-7 when every character is in the GSM alphabet, else UCS-2.
        segments: segments billed (0 for an empty text).
        units: septets (GSM-7) or UTF-16 code units (UCS-2) the text takes.
        left: units still free in the last segment before another is needed.
    """

    encoding: Encoding
    segments: int
    units: int
    left: int

    def describe(self) -> str:
        """``"2 segments, UCS-2, 12 characters left in this one"``."""
        noun = "segment" if self.segments == 1 else "segments"
        return f"{self.segments} {noun}, {self.encoding}, {self.left} characters left in this one"

    def to_json(self) -> dict[str, object]:
        return {"encoding": str(self.encoding), "segments": self.segments}


def encoding_of(text: str) -> Encoding:
    """GSM-7 if every character is in the basic or extension table, else UCS-2."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return Encoding.GSM7
    return Encoding.UCS2


def _units(text: str, encoding: Encoding) -> list[int]:
    """The cost of each character, in the encoding's units (an unsplittable run each)."""
    if encoding is Encoding.GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    # Python strings hold code points: one outside the BMP is a surrogate pair in UTF-16.
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentCount:
    """The segments ``text`` is billed as; a pure function.

    Splitting is greedy and never cuts an escape pair or a surrogate pair, so a
    split text can need one segment more than ``ceil(units / per_part)``.
    """
    encoding = encoding_of(text)
    costs = _units(text, encoding)
    total = sum(costs)
    single = SINGLE[encoding]
    if total == 0:
        return SegmentCount(encoding, 0, 0, single)
    if total <= single:
        return SegmentCount(encoding, 1, total, single - total)
    part = PART[encoding]
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return SegmentCount(encoding, segments, total, part - used)
