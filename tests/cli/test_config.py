"""Settings on the command line: precedence, ``config show/init/path``, bad config, the token."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from notifier_tui.settings.config import SETTING_NAMES, read_config_file
from tests.cli.conftest import Run, assert_bad_input, assert_bad_setup, dump, phone

TOKEN = "tok-Zq81-secret-value"


def config_file(home: Path) -> Path:
    return home / "config" / "config.toml"


def write_config(home: Path, text: str) -> Path:
    path = config_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_flag_env_file_default(
    run_raw: Run, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(isolated_env, "concurrency = 10\nrate_limit = 5\ntimeout = 7\n")
    monkeypatch.setenv("NOTIFIER_CONCURRENCY", "20")
    monkeypatch.setenv("NOTIFIER_RATE_LIMIT", "6")
    result = run_raw("--concurrency", "30", "config", "show", "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert set(doc) == set(SETTING_NAMES)
    assert doc["concurrency"] == {"value": 30, "source": "flag"}
    assert doc["rate_limit"] == {"value": 6.0, "source": "env NOTIFIER_RATE_LIMIT"}
    assert doc["timeout"] == {"value": 7.0, "source": f"file {path}"}
    assert doc["retry_base"] == {"value": 1.0, "source": "default"}
    assert doc["db"]["value"] == str(isolated_env / "data" / "notifier.db")


def test_every_global_flag_reaches_the_settings(run_raw: Run, tmp_path: Path) -> None:
    result = run_raw(
        "--db", str(tmp_path / "x.db"),
        "--base-url", "http://127.0.0.1:9",
        "--token", TOKEN,
        "--concurrency", "200",
        "--rate-limit", "50",
        "--timeout", "2.5",
        "--log-level", "debug",
        "--metrics-port", "9100",
        "--metrics-host", "0.0.0.0",
        "config", "show", "--json",
    )  # fmt: skip
    doc = result.json()
    expected = {
        "db": str(tmp_path / "x.db"),
        "base_url": "http://127.0.0.1:9",
        "token": "********",
        "concurrency": 200,
        "rate_limit": 50.0,
        "timeout": 2.5,
        "log_level": "DEBUG",
        "metrics_port": 9100,
        "metrics_host": "0.0.0.0",
    }
    assert {k: doc[k]["value"] for k in expected} == expected
    assert {doc[k]["source"] for k in expected} == {"flag"}
    assert TOKEN not in result.out + result.err


def test_config_show_text(run_raw: Run, isolated_env: Path) -> None:
    write_config(isolated_env, 'token = "from-file-secret"\n')
    result = run_raw("config", "show")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["SETTING", "VALUE", "SOURCE"]
    token_line = next(line for line in lines if line.startswith("token "))
    assert "********" in token_line and "file " in token_line
    assert "from-file-secret" not in result.out
    assert any(line.split()[:3] == ["concurrency", "32", "default"] for line in lines)


@pytest.mark.parametrize("where", ["flag", "env", "file"])
def test_token_is_masked_in_config_show(
    run_raw: Run, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    flags: list[str] = []
    if where == "flag":
        flags = ["--token", TOKEN]
    elif where == "env":
        monkeypatch.setenv("NOTIFIER_TOKEN", TOKEN)
    else:
        write_config(isolated_env, f'token = "{TOKEN}"\nsmtp_password = "{TOKEN}-smtp"\n')
    for as_json in ([], ["--json"]):
        result = run_raw(*flags, "config", "show", *as_json)
        assert result.code == 0
        assert TOKEN not in result.out + result.err
        assert "********" in result.out


def test_token_never_printed_by_any_command(
    run_raw: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFIER_TOKEN", TOKEN + "-env")
    src = tmp_path / "in.csv"
    src.write_text(f"phone,tag,timezone\n{phone(1)},,\nbad,,\n", encoding="utf-8")
    db = ["--db", str(tmp_path / "t.db"), "--token", TOKEN]
    runs = [
        [*db, "--locate"],
        [*db, "client", "add", "--phone", phone(2), "--json"],
        [*db, "client", "add", "--phone", "bad"],
        [*db, "client", "list"],
        [*db, "client", "import", str(src)],
        [*db, "client", "import", str(src), "--skip-invalid", "--json"],
        [*db, "mailing", "add", "--start", "now", "--end", "+1h", "--text", "x", "--json"],
        [*db, "mailing", "list"],
        [*db, "stats", "--json"],
        [*db, "stats", "1"],
        [*db, "config", "show"],
        [*db, "config", "show", "--json"],
        # Error paths that quote arguments back.
        [*db, "client", "list", "--token", TOKEN],
        [*db, "client", "list", f"--token={TOKEN}"],
        ["--db", str(tmp_path / "t.db"), f"--token={TOKEN}", "--bogus"],
        [*db, "--concurrency", "0", "client", "list"],
    ]
    seen = ""
    for argv in runs:
        result = run_raw(*argv)
        seen += result.out + result.err
    assert "notifier-tui: error:" in seen  # the error paths did run
    assert TOKEN not in seen


def test_config_init_writes_a_0600_template_that_parses(run_raw: Run, isolated_env: Path) -> None:
    result = run_raw("config", "init")
    path = config_file(isolated_env)
    assert result.code == 0
    assert result.out.strip() == f"wrote {path}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    # Commented out, so it changes nothing as written ...
    assert tomllib.loads(text) == {}
    assert run_raw("config", "show", "--json").json()["concurrency"]["source"] == "default"
    # ... and every setting is there, valid TOML once uncommented, with its default.
    uncommented = "\n".join(
        line[2:] for line in text.splitlines() if line.startswith("# ") and " = " in line
    )
    values = tomllib.loads(uncommented)
    assert set(values) == set(SETTING_NAMES)
    assert values["concurrency"] == 32
    assert values["token"] == ""
    assert "NOTIFIER_CONCURRENCY" in text
    assert "Gateway requests in flight at most." in text
    assert read_config_file(path) == {}


def test_config_init_refuses_to_overwrite(run_raw: Run, isolated_env: Path) -> None:
    path = write_config(isolated_env, "concurrency = 5\n")
    result = run_raw("config", "init")
    assert_bad_input(result, "config")
    assert "--force" in result.err
    assert path.read_text() == "concurrency = 5\n"

    path.chmod(0o644)
    result = run_raw("config", "init", "--force")
    assert result.code == 0
    assert "concurrency = 5" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_config_init_and_path_with_explicit_file(run_raw: Run, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "my.toml"
    assert run_raw("--config", str(target), "config", "path").out.strip() == str(target)
    assert run_raw("--config", str(target), "config", "init").code == 0
    assert target.exists()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_config_path_default_and_env(
    run_raw: Run, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert run_raw("config", "path").out.strip() == str(config_file(isolated_env))
    monkeypatch.setenv("NOTIFIER_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert run_raw("config", "path").out.strip() == str(tmp_path / "elsewhere.toml")


def test_file_is_read_from_explicit_config(run_raw: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('base_url = "http://localhost:1"\n', encoding="utf-8")
    doc = run_raw("--config", str(path), "config", "show", "--json").json()
    assert doc["base_url"] == {"value": "http://localhost:1", "source": f"file {path}"}


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("concurrency = \n", "config"),  # not TOML
        ("colour = 'red'\n", "config"),  # unknown key
        # A bad value names the file and the key.
        ("concurrency = 'many'\n", "{path}: concurrency"),
        ("concurrency = 0\n", "{path}: concurrency"),
        ("base_url = 'ftp://x'\n", "{path}: base_url"),
        ("default_timezone = 'Mars/Base'\n", "{path}: default_timezone"),
        (b"\xff\xfe = 1\n", "config"),  # not UTF-8
    ],
)
@pytest.mark.parametrize("command", [["config", "show"], ["client", "list"], ["--locate"]])
def test_bad_config_file(
    cli: Run, db: Path, isolated_env: Path, content: str | bytes, field: str, command: list[str]
) -> None:
    path = config_file(isolated_env)
    path.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    # The config file is the setup, not the input: exit 78.
    assert_bad_setup(cli(*command), field.format(path=path))
    assert not db.exists()


def test_config_that_is_a_directory_or_missing(run_raw: Run, tmp_path: Path) -> None:
    assert_bad_input(run_raw("--config", str(tmp_path), "config", "show"), "config")
    missing = tmp_path / "nope.toml"
    result = run_raw("--config", str(missing), "client", "list")
    assert_bad_input(result, "config")
    assert "config init" in result.err


def test_unreadable_config(run_raw: Run, isolated_env: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = write_config(isolated_env, "concurrency = 3\n")
    path.chmod(0)
    assert_bad_setup(run_raw("config", "show"), "config")


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--concurrency", "0"], "concurrency"),
        (["--concurrency", "5000"], "concurrency"),
        (["--concurrency", "many"], "--concurrency"),
        (["--rate-limit", "-1"], "rate_limit"),
        (["--timeout", "0"], "timeout"),
        (["--timeout", "soon"], "--timeout"),
        (["--base-url", "localhost:8080"], "base_url"),
        (["--metrics-port", "70000"], "--metrics-port"),
        (["--log-level", "LOUD"], "--log-level"),
    ],
)
def test_bad_global_flags(cli: Run, ok, db: Path, flags: list[str], field: str) -> None:
    ok("client", "add", "--phone", phone(1))
    before = dump(db)
    assert_bad_input(cli(*flags, "client", "add", "--phone", phone(2)), field)
    assert dump(db) == before
