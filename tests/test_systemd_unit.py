"""contrib/notifier-tui.service: runs the daemon the way DESIGN and the README say.

The unit is read as systemd reads it (sections, repeatable keys), and, where
``systemd-analyze`` exists, verified by systemd itself.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path, PurePosixPath

import pytest

from notifier_tui.settings.exit_codes import Exit

UNIT = Path(__file__).resolve().parent.parent / "contrib" / "notifier-tui.service"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [values in order]}}``; comments and blank lines skipped."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        assert not line.endswith("\\"), "keep every setting on one line"
        key, sep, value = line.partition("=")
        assert sep and current, f"not a setting inside a section: {raw!r}"
        sections[current][key.strip()].append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


def environment(unit: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for value in unit["Service"]["Environment"]:
        for item in shlex.split(value):
            name, _, val = item.partition("=")
            env[name] = val
    return env


def test_execstart_runs_the_daemon(unit: dict[str, dict[str, list[str]]]) -> None:
    (exec_start,) = unit["Service"]["ExecStart"]
    argv = shlex.split(exec_start)
    assert PurePosixPath(argv[0]).is_absolute() and PurePosixPath(argv[0]).name == "notifier-tui"
    assert "--daemon" in argv[1:]
    # Metrics stay on loopback: no --metrics-host that would expose them.
    assert "--metrics-host" not in argv
    assert unit["Service"]["Type"] == ["simple"]


def test_restarts_on_failure_and_stops_with_sigterm(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    service = unit["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["KillSignal"] == ["SIGTERM"]  # the daemon's clean stop
    # Bad input (exit 2) and an unusable setup (78, EX_CONFIG) are not retried in a loop;
    # a transient failure (1) is.
    (prevent,) = service["RestartPreventExitStatus"]
    assert set(prevent.split()) == {str(Exit.USAGE), str(Exit.CONFIG)}
    assert str(Exit.ERROR) not in prevent.split()
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_runs_as_a_dedicated_user_with_its_store(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    (user,) = service["User"]
    assert user not in ("", "root", "nobody") and not user.isdigit()
    env = environment(unit)
    db = PurePosixPath(env["NOTIFIER_DB"])
    assert db.is_absolute() and db.suffix == ".db"
    # ProtectSystem=strict leaves only systemd's own directories writable: the store
    # (and its -wal/-shm files beside it) and the log file must live in them.
    assert service["ProtectSystem"] == ["strict"]
    (state,) = service["StateDirectory"]
    assert db.parent == PurePosixPath("/var/lib") / state
    (logs,) = service["LogsDirectory"]
    assert PurePosixPath(env["NOTIFIER_LOG_DIR"]) == PurePosixPath("/var/log") / logs


def test_logs_go_to_the_journal(unit: dict[str, dict[str, list[str]]]) -> None:
    # The daemon logs to stderr (and its file); systemd hands stderr to the journal.
    assert unit["Service"].get("StandardError", ["journal"]) == ["journal"]


def test_no_secret_inline(unit: dict[str, dict[str, list[str]]]) -> None:
    text = UNIT.read_text(encoding="utf-8")
    settings = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for secret in ("NOTIFIER_TOKEN", "NOTIFIER_SMTP_PASSWORD", "--token", "smtp_password"):
        assert secret not in settings
    (env_file,) = unit["Service"]["EnvironmentFile"]
    assert PurePosixPath(env_file.lstrip("-")).is_absolute()


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify also checks that ExecStart exists; point it at a real binary in a copy.
    text = UNIT.read_text(encoding="utf-8")
    (exec_start,) = parse_unit(text)["Service"]["ExecStart"]
    copy = tmp_path / "notifier-tui.service"
    copy.write_text(text.replace(shlex.split(exec_start)[0], shutil.which("true") or "/bin/true"))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=30
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if str(copy) in line or "Unknown" in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_the_daemon_stops_well_before_systemd_kills_it(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    from notifier_tui.ops.shutdown import CLOSE_BUDGET, HARD_EXIT_MARGIN
    from notifier_tui.settings.config import Settings

    (stop_sec,) = unit["Service"]["TimeoutStopSec"]
    # The daemon's worst case: stop_timeout, then the store's close, then the hard exit.
    worst = Settings().stop_timeout + max(CLOSE_BUDGET, HARD_EXIT_MARGIN)
    assert worst * 2 < float(stop_sec)
