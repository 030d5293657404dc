"""``client import`` / ``client export``: atomic by default, every bad row by line, round trip."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from tests.cli.conftest import Run, assert_bad_input, dump, phone


def write(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_import_good_file(tmp_path: Path, ok, cli: Run) -> None:
    src = write(
        tmp_path / "in.csv",
        "phone,tag,timezone",
        "+7 900 000-00-01,vip,Europe/Berlin",
        "8 (900) 0000002,,",
        "",  # blank lines are skipped
        f"{phone(3)},new,Asia/Tokyo",
    )
    assert ok("client", "import", str(src)) == {"imported": 3, "errors": []}
    clients = ok("client", "list")
    assert [(c["phone"], c["tag"], c["timezone"]) for c in clients] == [
        (phone(1), "vip", "Europe/Berlin"),
        (phone(2), "", "Europe/Moscow"),
        (phone(3), "new", "Asia/Tokyo"),
    ]
    more = write(tmp_path / "more.csv", "phone,tag,timezone", f"{phone(4)},,")
    result = cli("client", "import", str(more))
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == f"imported 1 client(s) from {more}"


def test_import_with_operator_column(tmp_path: Path, ok) -> None:
    src = write(
        tmp_path / "in.csv",
        "phone,tag,timezone,operator_code",
        f"{phone(1)},,Europe/Moscow,123",
        f"{phone(2)},,Europe/Moscow,",
    )
    assert ok("client", "import", str(src))["imported"] == 2
    assert [c["operator_code"] for c in ok("client", "list")] == ["123", "900"]


def test_bad_rows_import_nothing_and_report_every_line(
    tmp_path: Path, ok, cli: Run, db: Path
) -> None:
    ok("client", "add", "--phone", phone(9))
    before = dump(db)
    src = write(
        tmp_path / "bad.csv",
        "phone,tag,timezone",  # line 1
        f"{phone(1)},ok,Europe/Moscow",  # 2
        "12345,x,Europe/Moscow",  # 3 bad phone
        f"{phone(2)},x,Mars/Base",  # 4 bad timezone
        f"{phone(3)},{'t' * 65},Europe/Moscow",  # 5 tag too long
        f"{phone(1)},dup,Europe/Moscow",  # 6 repeats line 2
        f"{phone(9)},exists,Europe/Moscow",  # 7 already stored
        f"{phone(4)},too,many,columns",  # 8
        f"{phone(5)},fine,Europe/Moscow",  # 9
    )
    for as_json in ([], ["--json"]):
        result = cli("client", "import", str(src), *as_json)
        assert result.code == 2
        assert result.out == ""
        lines = result.err_lines
        assert [line.split(":")[0] for line in lines[:-1]] == [
            "line 3", "line 4", "line 5", "line 6", "line 7", "line 8"
        ]  # fmt: skip
        assert lines[0].startswith("line 3: phone: ")
        assert lines[1].startswith("line 4: timezone: ")
        assert lines[2].startswith("line 5: tag: ")
        assert lines[3].startswith("line 6: phone: ") and "repeats line 2" in lines[3]
        assert lines[4].startswith("line 7: phone: ") and "already exists" in lines[4]
        assert lines[5].startswith("line 8: row: ")
        assert lines[-1].startswith("notifier-tui: error: import: 6 bad row(s), nothing imported")
        assert "Traceback" not in result.err
        assert dump(db) == before


def test_skip_invalid_imports_the_good_rows(tmp_path: Path, ok, cli: Run) -> None:
    src = write(
        tmp_path / "mixed.csv",
        "phone,tag,timezone",
        f"{phone(1)},a,Europe/Moscow",
        "bad,b,Europe/Moscow",
        f"{phone(2)},c,Nowhere",
        f"{phone(3)},d,Europe/Moscow",
    )
    result = cli("client", "import", str(src), "--skip-invalid")
    assert result.code == 0
    assert result.err_lines[0].startswith("line 3: phone: ")
    assert result.err_lines[1].startswith("line 4: timezone: ")
    assert len(result.err_lines) == 2
    assert result.out.strip() == (
        f"imported 2 client(s) from {src}; skipped 2 bad row(s) (listed on stderr)"
    )
    assert [c["phone"] for c in ok("client", "list")] == [phone(1), phone(3)]

    again = write(tmp_path / "again.csv", "phone,tag,timezone", f"{phone(4)},,", "nope,,")
    result = cli("client", "import", str(again), "--skip-invalid", "--json")
    assert result.code == 0
    doc = result.json()
    assert doc["imported"] == 1
    assert [e["line"] for e in doc["errors"]] == [3]
    assert doc["errors"][0]["error"].startswith("phone: ")
    assert result.err_lines[0].startswith("line 3: phone: ")


def test_bad_files(tmp_path: Path, ok, cli: Run, db: Path) -> None:
    ok("client", "add", "--phone", phone(9))
    before = dump(db)
    header = write(tmp_path / "header.csv", "tel,tag,timezone", f"{phone(1)},,")
    empty = write(tmp_path / "empty.csv", "")
    empty.write_text("")
    latin = write(
        tmp_path / "latin.csv", "phone,tag,timezone", f"{phone(1)},café,", encoding="latin-1"
    )
    for path, field in (
        (header, "header"),
        (empty, "file"),
        (latin, "file"),
        (tmp_path / "missing.csv", "file"),
        (tmp_path, "file"),  # a directory
    ):
        for extra in ([], ["--json"], ["--skip-invalid"]):
            assert_bad_input(cli("client", "import", str(path), *extra), field)
    assert dump(db) == before


def test_export_then_import_round_trip(tmp_path: Path, ok, cli: Run, run_raw) -> None:
    ok("client", "add", "--phone", phone(1), "--tag", 'vip, "quoted"', "--tz", "Asia/Tokyo")
    ok("client", "add", "--phone", phone(2), "--operator", "123")
    ok("client", "add", "--phone", phone(3), "--tag", "тег")
    out = tmp_path / "out.csv"
    assert ok("client", "export", str(out)) == {"exported": 3, "file": str(out)}
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["phone", "tag", "timezone", "operator_code"]
    assert len(rows) == 4

    result = cli("client", "export", str(out))
    assert result.out.strip() == f"exported 3 client(s) to {out}"

    other = tmp_path / "other.db"
    result = run_raw("--db", str(other), "client", "import", str(out), "--json")
    assert result.json() == {"imported": 3, "errors": []}

    def fields(db_flag: list[str]) -> list[tuple[str, str, str, str]]:
        listed = run_raw(*db_flag, "client", "list", "--json").json()
        return [(c["phone"], c["tag"], c["timezone"], c["operator_code"]) for c in listed]

    assert fields(["--db", str(other)]) == fields(["--db", str(tmp_path / "store.db")])


def test_export_to_a_bad_path(tmp_path: Path, ok, cli: Run) -> None:
    ok("client", "add", "--phone", phone(1))
    assert_bad_input(cli("client", "export", str(tmp_path / "no" / "such" / "dir.csv")), "file")
    assert_bad_input(cli("client", "export", str(tmp_path), "--json"), "file")


def test_ten_thousand_rows_import_quickly(tmp_path: Path, ok) -> None:
    src = tmp_path / "big.csv"
    src.write_text(
        "phone,tag,timezone\n"
        + "".join(f"{phone(n)},tag{n % 10},Europe/Moscow\n" for n in range(10_000)),
        encoding="utf-8",
    )
    started = time.perf_counter()
    assert ok("client", "import", str(src)) == {"imported": 10_000, "errors": []}
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"10,000 rows took {elapsed:.1f}s"
    assert len(ok("client", "list", "--tag", "tag3")) == 1000
