"""SMS segment counts as operators bill them: GSM-7 160/153, UCS-2 70/67."""

from __future__ import annotations

import pytest

from notifier_tui.core.segments import Encoding, count_segments, encoding_of


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units", "left"),
    [
        ("", Encoding.GSM7, 0, 0, 160),
        ("Hello", Encoding.GSM7, 1, 5, 155),
        ("a" * 160, Encoding.GSM7, 1, 160, 0),
        ("a" * 161, Encoding.GSM7, 2, 161, 145),  # 153 + 8
        ("a" * 306, Encoding.GSM7, 2, 306, 0),
        ("a" * 307, Encoding.GSM7, 3, 307, 152),
        # Extension characters cost two septets.
        ("€" * 80, Encoding.GSM7, 1, 160, 0),
        ("€" * 81, Encoding.GSM7, 2, 162, 143),  # 76 pairs fill 152 of 153
        ("^{}[]~\\|", Encoding.GSM7, 1, 16, 144),
        # An escape pair is never split: after 152 septets, a € does not fit in 153.
        ("a" * 152 + "€" + "b" * 7, Encoding.GSM7, 2, 161, 144),
        # Cyrillic is UCS-2.
        ("Привет", Encoding.UCS2, 1, 6, 64),
        ("я" * 70, Encoding.UCS2, 1, 70, 0),
        ("я" * 71, Encoding.UCS2, 2, 71, 63),  # 67 + 4
        ("я" * 134, Encoding.UCS2, 2, 134, 0),
        # One character outside GSM-7 makes the whole text UCS-2.
        ("a" * 69 + "ж", Encoding.UCS2, 1, 70, 0),
        # Emoji are surrogate pairs: two code units, never split.
        ("😀", Encoding.UCS2, 1, 2, 68),
        ("😀" * 35, Encoding.UCS2, 1, 70, 0),
        ("😀" * 36, Encoding.UCS2, 2, 72, 61),  # 33 pairs fill 66 of 67
        ("a" * 66 + "😀", Encoding.UCS2, 1, 68, 2),
        ("a" * 66 + "😀" + "b" * 3, Encoding.UCS2, 2, 71, 62),  # the pair moves to part 2
    ],
)
def test_segment_table(text: str, encoding: Encoding, segments: int, units: int, left: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.segments, count.units, count.left) == (
        encoding,
        segments,
        units,
        left,
    )


def test_gsm_basic_characters_stay_gsm() -> None:
    assert encoding_of("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà\n\r") is Encoding.GSM7
    assert encoding_of("ç") is Encoding.UCS2  # lower-case ç is not in the table
    assert encoding_of("`") is Encoding.UCS2


def test_description_and_json() -> None:
    count = count_segments("я" * 122)
    assert count.describe() == "2 segments, UCS-2, 12 characters left in this one"
    assert count.to_json() == {"encoding": "UCS-2", "segments": 2}
    assert count_segments("hi").describe() == "1 segment, GSM-7, 158 characters left in this one"
