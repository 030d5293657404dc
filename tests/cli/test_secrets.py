"""Secrets on the command line: --token-file, the --token warning, exposed files, URL passwords."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Run, assert_bad_input

TOKEN = "tok-Fq93-cli-secret"


def _secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_token_flag_warns_and_points_to_the_safe_ways(run_raw: Run) -> None:
    result = run_raw("--token", TOKEN, "config", "show", "--json")
    assert result.code == 0
    assert result.json()["token"] == {"value": "********", "source": "flag"}
    assert result.err_lines == [
        "notifier-tui: warning: --token on the command line is visible to other users (ps);"
        " use --token-file PATH or the NOTIFIER_TOKEN environment variable"
    ]
    assert TOKEN not in result.out + result.err


def test_no_warning_without_the_flag(run_raw: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_TOKEN", TOKEN)
    result = run_raw("config", "show")
    assert (result.code, result.err) == (0, "")


def test_token_file_flag(run_raw: Run, tmp_path: Path) -> None:
    tok = _secret_file(tmp_path / "token", TOKEN + "\n")
    result = run_raw("--token-file", str(tok), "config", "show", "--json")
    assert result.code == 0 and result.err == ""
    doc = result.json()
    assert doc["token"] == {"value": "********", "source": f"token_file {tok}"}
    assert doc["token_file"] == {"value": str(tok), "source": "flag"}
    assert TOKEN not in result.out


def test_token_file_from_env_and_config(
    run_raw: Run, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tok = _secret_file(tmp_path / "token", TOKEN)
    monkeypatch.setenv("NOTIFIER_TOKEN_FILE", str(tok))
    assert run_raw("config", "show", "--json").json()["token"]["source"] == f"token_file {tok}"
    monkeypatch.delenv("NOTIFIER_TOKEN_FILE")
    _secret_file(isolated_env / "config" / "config.toml", f'token_file = "{tok}"\n')
    assert run_raw("config", "show", "--json").json()["token"]["source"] == f"token_file {tok}"


def test_missing_token_file_flag_is_bad_input(run_raw: Run, tmp_path: Path) -> None:
    result = run_raw("--token-file", str(tmp_path / "nope"), "client", "list")
    assert_bad_input(result, "token_file")
    assert str(tmp_path / "nope") in result.err


def test_token_and_token_file_together_is_bad_input(run_raw: Run, tmp_path: Path) -> None:
    tok = _secret_file(tmp_path / "token", TOKEN)
    result = run_raw("--token", "x", "--token-file", str(tok), "config", "show")
    assert result.code == 2
    assert result.err_lines[-1].startswith("notifier-tui: error: token_file: ")


def test_exposed_config_file_warns_once(run_raw: Run, isolated_env: Path) -> None:
    cfg = _secret_file(
        isolated_env / "config" / "config.toml",
        f'token = "{TOKEN}"\nsmtp_password = "pw-{TOKEN}"\n',
        0o644,
    )
    result = run_raw("config", "show")
    assert result.code == 0
    assert result.err_lines == [
        f"notifier-tui: warning: {cfg} holds a secret (token, smtp_password) and other users"
        f" can read it; run: chmod 600 {cfg}"
    ]
    cfg.chmod(0o600)
    assert run_raw("config", "show").err == ""


@pytest.mark.parametrize("as_json", [False, True])
def test_url_passwords_are_masked_in_config_show(run_raw: Run, as_json: bool) -> None:
    result = run_raw(
        "--base-url", "http://alice:PASSWORD@gw.example:8080",
        "--db", "postgresql://notifier:DBPASS@db.example/n",
        "config", "show", *(["--json"] if as_json else []),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "PASSWORD" not in result.out + result.err
    assert "DBPASS" not in result.out + result.err
    if as_json:
        assert json.loads(result.out)["base_url"]["value"] == (
            "http://alice:********@gw.example:8080"
        )
    else:
        assert "http://alice:********@gw.example:8080" in result.out


def test_url_password_masked_in_locate_and_errors(run_raw: Run) -> None:
    located = run_raw("--db", "postgresql://notifier:DBPASS@db.example/n", "--locate")
    assert located.code == 0
    assert "DBPASS" not in located.out and "notifier:********@" in located.out
    # An error that quotes the URL back masks it too.
    bad = run_raw("--base-url", "ftp://alice:PASSWORD@x", "client", "list")
    assert bad.code == 2 and "PASSWORD" not in bad.err
    assert "'ftp://alice:********@x'" in bad.err
