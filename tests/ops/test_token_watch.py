"""A new gateway token in the config file or the token file reaches the running daemon.

The watcher is driven by hand (``check()``) on real files and the real
settings resolution; one end-to-end case runs the daemon against a simulator
that refuses the old token and accepts the new one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notifier_tui.ops.token_watch import TokenWatcher
from notifier_tui.settings.config import Settings, load_settings
from notifier_tui.sim.simulator import GatewaySimulator, SimulatorConfig
from tests.ops.daemonproc import counts, log_text, seeded, spawn, stop, until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NOTIFIER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NOTIFIER_CONFIG_DIR", str(tmp_path / "config"))


def rewrite(path: Path, text: str) -> None:
    """Write ``text`` and move the mtime on, as an editor a second later would."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


class Applied(list[str]):
    def __call__(self, token: str) -> None:
        self.append(token)


def watch(settings: Settings) -> tuple[TokenWatcher, Applied]:
    applied = Applied()
    return TokenWatcher(settings, applied), applied


def check(watcher: TokenWatcher) -> None:
    if watcher.check():
        watcher.apply_pending()


def test_a_token_changed_in_the_config_file_is_applied(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    rewrite(config, 'token = "first-token"\nconcurrency = 4\n')
    watcher, applied = watch(load_settings(config_path=config))
    assert watcher.watched() == [config]
    check(watcher)
    assert applied == []  # nothing changed yet
    rewrite(config, 'token = "second-token"\nconcurrency = 4\n')
    check(watcher)
    check(watcher)  # once only
    assert applied == ["second-token"]


def test_a_token_file_is_watched_and_reread(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    token_file = tmp_path / "token"
    rewrite(token_file, "first-token\n")
    token_file.chmod(0o600)
    rewrite(config, f'token_file = "{token_file}"\n')
    watcher, applied = watch(load_settings(config_path=config))
    assert watcher.watched() == [config, token_file]
    rewrite(token_file, "second-token\n")
    check(watcher)
    assert applied == ["second-token"]


def test_an_environment_token_outranks_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFIER_TOKEN", "env-token")
    config = tmp_path / "config.toml"
    rewrite(config, "concurrency = 4\n")
    watcher, applied = watch(load_settings(config_path=config))
    rewrite(config, 'token = "file-token"\nconcurrency = 4\n')
    check(watcher)
    assert applied == []


def test_a_broken_change_keeps_the_token_until_fixed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "notifier_tui")
    config = tmp_path / "config.toml"
    rewrite(config, 'token = "first-token"\n')
    watcher, applied = watch(load_settings(config_path=config))
    rewrite(config, 'token = "half-writt')  # an editor caught mid-save
    check(watcher)
    assert applied == []
    assert "does not resolve" in caplog.text and "token kept" in caplog.text
    rewrite(config, 'token = "second-token"\nconcurrency = 8\n')
    check(watcher)
    assert applied == ["second-token"]
    assert "concurrency take effect at the next start" in caplog.text
    assert "first-token" not in caplog.text and "second-token" not in caplog.text


@pytest.fixture
async def picky_sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(token="right-token", seed=9))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def test_the_daemon_resumes_once_the_token_file_holds_the_right_token(
    tmp_path: Path, picky_sim: GatewaySimulator
) -> None:
    token_file = tmp_path / "token"
    rewrite(token_file, "wrong-token\n")
    token_file.chmod(0o600)
    with seeded(tmp_path / "store.db", 20) as store:
        proc = spawn(
            tmp_path,
            store.path,
            picky_sim.base_url,
            "a",
            args=("--token-file", str(token_file)),
            env={"NOTIFIER_TOKEN": ""},
        )
        try:
            await until(lambda: "gateway rejected the token" in log_text(tmp_path, "a"))
            assert counts(store).get("sent", 0) == 0
            rewrite(token_file, "right-token\n")  # no signal, no restart
            await until(lambda: counts(store).get("sent") == 20, timeout=20)
        finally:
            code, err = stop(proc)
    assert code == 0, err
    text = log_text(tmp_path, "a")
    assert "gateway token changed" in text
    assert "right-token" not in text and "wrong-token" not in text
