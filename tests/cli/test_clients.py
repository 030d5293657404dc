"""``notifier-tui client ...``: every action, with and without --json, and every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Run, assert_bad_input, dump, phone


def test_add_normalises_and_prints_the_created_client(ok) -> None:
    doc = ok("client", "add", "--phone", "+7 900 123-45-67", "--tag", "vip")
    assert doc["id"] == 1
    assert doc["phone"] == "79001234567"
    assert doc["operator_code"] == "900"
    assert doc["tag"] == "vip"
    assert doc["timezone"] == "Europe/Moscow"
    assert doc["created_at"].endswith("+00:00")


def test_add_with_every_option(ok) -> None:
    doc = ok(
        "client", "add", "--phone", "8 (926) 1234567", "--tz", "Asia/Tokyo", "--operator", "999"
    )
    assert (doc["phone"], doc["timezone"], doc["operator_code"]) == (
        "79261234567",
        "Asia/Tokyo",
        "999",
    )


def test_add_without_json_prints_an_aligned_table(cli: Run) -> None:
    result = cli("client", "add", "--phone", phone(1), "--tag", "vip")
    assert result.code == 0
    header, row = result.out.splitlines()
    assert header.split() == ["ID", "PHONE", "OPERATOR", "TAG", "TIMEZONE"]
    assert row.split() == ["1", phone(1), "900", "vip", "Europe/Moscow"]
    assert header.index("PHONE") == row.index(phone(1))


def test_update_changes_only_what_is_given(ok) -> None:
    ok("client", "add", "--phone", phone(1), "--tag", "old", "--tz", "Europe/Berlin")
    doc = ok("client", "update", "1", "--tag", "new")
    assert (doc["id"], doc["tag"], doc["timezone"], doc["phone"]) == (
        1,
        "new",
        "Europe/Berlin",
        phone(1),
    )
    # A derived operator code follows a new phone.
    doc = ok("client", "update", "1", "--phone", "79261234567")
    assert doc["operator_code"] == "926"
    doc = ok("client", "update", "1", "--operator", "111")
    assert doc["operator_code"] == "111"
    # '' asks for the derived code again.
    doc = ok("client", "update", "1", "--operator", "")
    assert doc["operator_code"] == "926"


def test_update_text_output(cli: Run, ok) -> None:
    ok("client", "add", "--phone", phone(1))
    result = cli("client", "update", "1", "--tz", "Asia/Tokyo")
    assert result.code == 0
    assert "Asia/Tokyo" in result.out.splitlines()[1]


def test_delete(cli: Run, ok) -> None:
    ok("client", "add", "--phone", phone(1))
    ok("client", "add", "--phone", phone(2))
    assert ok("client", "delete", "1") == {"deleted": 1}
    result = cli("client", "delete", "2")
    assert (result.code, result.out.strip()) == (0, "deleted client 2")
    assert ok("client", "list") == []
    assert cli("client", "list").out.strip() == "no clients"


def test_list_filters_and_limit(cli: Run, ok) -> None:
    ok("client", "add", "--phone", phone(1), "--tag", "vip")
    ok("client", "add", "--phone", phone(2), "--tag", "vip", "--operator", "123")
    ok("client", "add", "--phone", phone(3), "--tz", "Asia/Tokyo")
    assert [c["id"] for c in ok("client", "list")] == [1, 2, 3]
    assert [c["id"] for c in ok("client", "list", "--tag", "vip")] == [1, 2]
    assert [c["id"] for c in ok("client", "list", "--operator", "123")] == [2]
    assert [c["id"] for c in ok("client", "list", "--search", "Tokyo")] == [3]
    assert [c["id"] for c in ok("client", "list", "--limit", "2")] == [1, 2]

    text = cli("client", "list", "--limit", "2").out.splitlines()
    assert text[0].split() == ["ID", "PHONE", "OPERATOR", "TAG", "TIMEZONE"]
    assert len(text) == 4
    assert text[-1] == "(2 of 3 clients shown; use --limit to see more)"


def test_list_text_keeps_columns_aligned(cli: Run, ok) -> None:
    ok("client", "add", "--phone", phone(1), "--tag", "a")
    ok("client", "add", "--phone", phone(2), "--tag", "a much longer tag")
    lines = cli("client", "list").out.splitlines()
    starts = {line.index("Europe/Moscow") for line in lines[1:]}
    assert len(starts) == 1
    assert lines[0].index("TIMEZONE") in starts


# --- bad input -------------------------------------------------------------------

BAD = [
    pytest.param(["client", "add", "--phone", "12345"], "phone", id="wrong-phone"),
    pytest.param(["client", "add", "--phone", "+1 900 123-45-67"], "phone", id="foreign-phone"),
    pytest.param(
        ["client", "add", "--phone", phone(9), "--tz", "Mars/Base"],
        "timezone",
        id="unknown-timezone",
    ),
    pytest.param(["client", "add", "--phone", phone(1)], "phone", id="duplicate-phone"),
    pytest.param(
        ["client", "add", "--phone", "+7 900 000-00-01"], "phone", id="duplicate-after-normalising"
    ),
    pytest.param(
        ["client", "add", "--phone", phone(9), "--operator", "9a9"],
        "operator_code",
        id="bad-operator",
    ),
    pytest.param(
        ["client", "add", "--phone", phone(9), "--tag", "x" * 65], "tag", id="tag-too-long"
    ),
    pytest.param(["client", "update", "1", "--phone", "7900"], "phone", id="update-wrong-phone"),
    pytest.param(
        ["client", "update", "1", "--phone", phone(2)], "phone", id="update-duplicate-phone"
    ),
    pytest.param(["client", "update", "1", "--tz", "Nowhere"], "timezone", id="update-bad-tz"),
    pytest.param(["client", "update", "1", "--tag", "y" * 100], "tag", id="update-long-tag"),
    pytest.param(["client", "update", "99", "--tag", "x"], "client", id="update-unknown-id"),
    pytest.param(["client", "update", "1"], "client update", id="update-nothing"),
    pytest.param(["client", "delete", "99"], "client", id="delete-unknown-id"),
    pytest.param(["client", "delete", "abc"], "CLIENT_ID", id="delete-non-integer-id"),
    pytest.param(["client", "list", "--operator", "12"], "operator_code", id="list-bad-operator"),
    pytest.param(["client", "list", "--limit", "-1"], "--limit", id="list-negative-limit"),
    pytest.param(["client", "add"], "--phone", id="add-without-phone"),
    pytest.param(
        ["client", "add", "--phone", phone(9), "--bogus"], "arguments", id="unknown-option"
    ),
    pytest.param(["client"], "client", id="no-action"),
    pytest.param(["client", "frobnicate"], "ACTION", id="unknown-action"),
]


@pytest.mark.parametrize(("argv", "field"), BAD)
def test_bad_input_exits_2_names_the_field_and_writes_nothing(
    cli: Run, ok, db: Path, argv: list[str], field: str
) -> None:
    ok("client", "add", "--phone", phone(1), "--tag", "vip")
    ok("client", "add", "--phone", phone(2))
    before = dump(db)
    assert_bad_input(cli(*argv), field)
    assert_bad_input(cli(*argv, "--json"), field)
    assert dump(db) == before


def test_unknown_id_message_says_which_id(cli: Run) -> None:
    result = cli("client", "delete", "42")
    assert result.err.strip() == "notifier-tui: error: client: no client with id 42"
