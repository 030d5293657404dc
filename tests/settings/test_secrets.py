"""Secrets in settings: the token file, exposed config files, URL passwords masked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.secret import mask_url, mask_urls
from notifier_tui.settings.config import Settings, load_settings
from notifier_tui.settings.errors import ConfigError
from notifier_tui.settings.logs import LogRing, remove_handlers, setup_logging

TOKEN = "tok-7hV2-file-secret"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:PASS@gw.example:8080/api", "http://alice:********@gw.example:8080/api"),
        ("https://TOKEN@gw.example", "https://********@gw.example"),
        ("postgresql://notifier:pw@db:5432/n", "postgresql://notifier:********@db:5432/n"),
        # pathlib turns "//" into "/": a --db URL kept as a Path still masks.
        ("postgresql:/notifier:pw@db/n", "postgresql:/notifier:********@db/n"),
        # A raw "@" in the password: everything up to the last "@" of the authority.
        ("http://u:p@ss@host/x@y", "http://u:********@host/x@y"),
        ("http://:pw@host", "http://********@host"),
        ("http://gw.example/a@b", "http://gw.example/a@b"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("/var/lib/notifier/notifier.db", "/var/lib/notifier/notifier.db"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert mask_urls(f"gateway={url} next") == f"gateway={shown} next"


def test_mask_urls_masks_every_url_and_leaves_other_at_signs() -> None:
    text = "a http://u:p1@h1/ b https://v:p2@h2 owner=ui:123@host mail x@y.z"
    assert mask_urls(text) == (
        "a http://u:********@h1/ b https://v:********@h2 owner=ui:123@host mail x@y.z"
    )


def _load(tmp_path: Path, **kw: object) -> Settings:
    kw.setdefault("env", {})
    kw.setdefault("config_path", tmp_path / "absent.toml")
    return load_settings(**kw)  # type: ignore[arg-type]


def _secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_token_file_flag_env_and_config(tmp_path: Path) -> None:
    tok = _secret_file(tmp_path / "token", TOKEN + "\n")
    by_flag = _load(tmp_path, flags={"token_file": str(tok)})
    assert by_flag.token.reveal() == TOKEN  # the trailing newline is not part of it
    assert by_flag.sources["token"] == f"token_file {tok}"
    by_env = _load(tmp_path, env={"NOTIFIER_TOKEN_FILE": str(tok)})
    assert by_env.token.reveal() == TOKEN
    cfg = tmp_path / "c.toml"
    _secret_file(cfg, f'token_file = "{tok}"\n')
    assert _load(tmp_path, config_path=cfg).token.reveal() == TOKEN


def test_token_file_precedence(tmp_path: Path) -> None:
    tok = _secret_file(tmp_path / "token", TOKEN)
    # --token-file (flag) beats NOTIFIER_TOKEN (env) ...
    s = _load(tmp_path, flags={"token_file": str(tok)}, env={"NOTIFIER_TOKEN": "env-tok"})
    assert s.token.reveal() == TOKEN
    # ... and NOTIFIER_TOKEN beats token_file in the config file.
    cfg = _secret_file(tmp_path / "c.toml", f'token_file = "{tok}"\n')
    s = _load(tmp_path, env={"NOTIFIER_TOKEN": "env-tok"}, config_path=cfg)
    assert s.token.reveal() == "env-tok"
    # Both from one source is a mistake, not a guess.
    with pytest.raises(ValidationError) as err:
        _load(tmp_path, flags={"token": "x", "token_file": str(tok)})
    assert err.value.field == "token_file" and not isinstance(err.value, ConfigError)


def test_token_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ValidationError) as err:
        _load(tmp_path, flags={"token_file": str(missing)})
    assert (err.value.field, type(err.value)) == ("token_file", ValidationError)
    assert str(missing) in err.value.rule
    with pytest.raises(ConfigError) as cfg_err:
        _load(tmp_path, env={"NOTIFIER_TOKEN_FILE": str(missing)})
    assert cfg_err.value.field == "NOTIFIER_TOKEN_FILE"
    empty = _secret_file(tmp_path / "empty", "\n")
    with pytest.raises(ValidationError, match="is empty"):
        _load(tmp_path, flags={"token_file": str(empty)})


@pytest.mark.parametrize(
    ("content", "mode", "warned"),
    [
        (f'token = "{TOKEN}"\n', 0o644, ["token"]),
        (f'token = "{TOKEN}"\nsmtp_password = "pw"\n', 0o640, ["token, smtp_password"]),
        ('base_url = "http://alice:PASS@gw"\n', 0o604, ["base_url"]),
        (f'token = "{TOKEN}"\n', 0o600, []),  # owner only: fine
        ("concurrency = 3\n", 0o644, []),  # no secret in it: fine
        ('token = ""\n', 0o644, []),  # an empty token is no secret
    ],
)
def test_exposed_config_file_warns_once(
    tmp_path: Path, content: str, mode: int, warned: list[str]
) -> None:
    cfg = _secret_file(tmp_path / "c.toml", content, mode)
    lines: list[str] = []
    _load(tmp_path, config_path=cfg, warn=lines.append)
    assert len(lines) == len(warned)
    for line, keys in zip(lines, warned, strict=True):
        assert f"{cfg} holds a secret ({keys})" in line and f"chmod 600 {cfg}" in line
        assert TOKEN not in line and "PASS" not in line


def test_exposed_token_file_warns(tmp_path: Path) -> None:
    tok = _secret_file(tmp_path / "token", TOKEN, 0o644)
    lines: list[str] = []
    _load(tmp_path, flags={"token_file": str(tok)}, warn=lines.append)
    assert lines == [
        f"{tok} holds a secret (token) and other users can read it; run: chmod 600 {tok}"
    ]


def test_warning_goes_to_the_log_without_a_callback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = _secret_file(tmp_path / "c.toml", f'token = "{TOKEN}"\n', 0o644)
    with caplog.at_level(logging.WARNING, logger="notifier_tui.settings"):
        _load(tmp_path, config_path=cfg)
    assert [r.getMessage() for r in caplog.records if "holds a secret" in r.getMessage()]


def test_describe_masks_url_passwords(tmp_path: Path) -> None:
    s = _load(
        tmp_path,
        flags={"base_url": "http://alice:PASS@gw:8080", "db": "postgresql://u:PASS@db/n"},
    )
    shown = {name: value for name, value, _ in s.describe()}
    assert shown["base_url"] == "http://alice:********@gw:8080"
    assert "PASS" not in " ".join(shown.values())
    assert s.base_url == "http://alice:PASS@gw:8080"  # the sender still gets it whole


def test_log_lines_mask_url_passwords(tmp_path: Path) -> None:
    log_file = tmp_path / "n.log"
    ring = LogRing()
    handlers = setup_logging("INFO", log_file, ring=ring)
    try:
        log = logging.getLogger("notifier_tui.test")
        log.info("daemon starting: gateway=%s", "http://alice:PASS@gw")
        try:
            raise OSError("cannot reach https://bob:PW2@gw2/send/1")
        except OSError:
            log.exception("failed")
    finally:
        remove_handlers(handlers)
    written = log_file.read_text(encoding="utf-8")
    for text in (written, "\n".join(ring.snapshot())):
        assert "gateway=http://alice:********@gw" in text
        assert "https://bob:********@gw2/send/1" in text
        assert "PASS" not in text and "PW2" not in text
