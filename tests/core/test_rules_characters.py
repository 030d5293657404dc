"""Control characters, undecodable bytes and zone files that are not zones (issues 9.11, 9.13)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier_tui.core import rules
from notifier_tui.core.errors import ValidationError

CONTROLS = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))]


@pytest.mark.parametrize("ch", CONTROLS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_control_characters_are_refused_in_tags_and_phones(ch: str) -> None:
    with pytest.raises(ValidationError) as err:
        rules.validate_tag(f"vip{ch}")
    assert err.value.field == "tag"
    assert f"found U+{ord(ch):04X} at character 4" in err.value.rule
    if ch in "\t\n\v\f\r":
        # ASCII whitespace separates digits like a space; only digits are stored.
        assert rules.normalize_phone(f"7900{ch}1234567") == "79001234567"
    else:
        with pytest.raises(ValidationError) as err:
            rules.normalize_phone(f"7900{ch}1234567")
        assert err.value.field == "phone"


@pytest.mark.parametrize("ch", CONTROLS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_texts_keep_line_breaks_and_tabs_only(ch: str) -> None:
    if ch in "\n\r\t":
        assert rules.validate_text(f"a{ch}b") == f"a{ch}b"
    else:
        with pytest.raises(ValidationError) as err:
            rules.validate_text(f"a{ch}b")
        assert err.value.field == "text"


@pytest.mark.parametrize(
    ("validate", "field"),
    [
        (rules.validate_text, "text"),
        (rules.validate_tag, "tag"),
        (rules.normalize_phone, "phone"),
    ],
)
def test_undecodable_bytes_are_refused(validate, field: str) -> None:  # type: ignore[no-untyped-def]
    # How Python hands over an argument that was not UTF-8 (surrogateescape).
    with pytest.raises(ValidationError) as err:
        validate("a\udcffb")
    assert (err.value.field, err.value.rule) == (
        field,
        "must be valid UTF-8 text (it holds bytes that are not)",
    )


def test_printable_unicode_is_fine() -> None:
    assert rules.validate_tag("Привет 😀 ﾃｽﾄ") == "Привет 😀 ﾃｽﾄ"
    assert rules.validate_text("Скидка 20%\n— до пятницы") == "Скидка 20%\n— до пятницы"


@given(st.text(max_size=20))
def test_a_valid_tag_never_holds_a_control_character(tag: str) -> None:
    try:
        value = rules.validate_tag(tag)
    except ValidationError:
        return
    assert not any(ch in value for ch in CONTROLS)


@pytest.mark.parametrize(
    "name", ["localtime", "posixrules", "Factory", "posix/Europe/Moscow", "right/UTC"]
)
def test_zone_files_that_are_not_zones_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as err:
        rules.validate_timezone(name)
    assert err.value.field == "timezone"
    assert "not a zone" in err.value.rule
