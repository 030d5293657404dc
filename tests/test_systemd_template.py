"""contrib/notifier-tui@.service: one worker per instance on a shared PostgreSQL store.

Read as systemd reads it (the parser of tests/test_systemd_unit.py) and, where
``systemd-analyze`` exists, verified by systemd itself as an instance.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from notifier_tui.settings.exit_codes import Exit
from tests.test_systemd_unit import environment, parse_unit

TEMPLATE = Path(__file__).resolve().parent.parent / "contrib" / "notifier-tui@.service"


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(TEMPLATE.read_text(encoding="utf-8"))


def test_each_instance_is_a_daemon_tagged_with_its_number(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    service = unit["Service"]
    (exec_start,) = service["ExecStart"]
    argv = shlex.split(exec_start)
    assert PurePosixPath(argv[0]).name == "notifier-tui" and "--daemon" in argv
    assert "--workers" not in argv  # systemd is the supervisor here, one process each
    env = environment(unit)
    assert env["NOTIFIER_WORKER"] == "%i"  # every log line says worker=N
    assert env["NOTIFIER_LOG_DIR"] == "/var/log/notifier-tui/%i"
    assert service["LogsDirectory"] == ["notifier-tui/%i"]
    # The store URL holds the database password: only in the 0600 environment file.
    assert "NOTIFIER_DB" not in env and service["EnvironmentFile"]


def test_restart_policy_matches_the_single_unit(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    assert service["Restart"] == ["on-failure"] and service["KillSignal"] == ["SIGTERM"]
    (prevent,) = service["RestartPreventExitStatus"]
    assert set(prevent.split()) == {str(Exit.USAGE), str(Exit.CONFIG)}


def test_no_secret_inline() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    settings = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for secret in ("NOTIFIER_TOKEN=", "NOTIFIER_DB=", "postgresql://", "--token"):
        assert secret not in settings


def test_systemd_accepts_an_instance(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    text = TEMPLATE.read_text(encoding="utf-8")
    (exec_start,) = parse_unit(text)["Service"]["ExecStart"]
    (tmp_path / "notifier-tui@.service").write_text(
        text.replace(shlex.split(exec_start)[0], shutil.which("true") or "/bin/true")
    )
    instance = tmp_path / "notifier-tui@2.service"
    instance.symlink_to(tmp_path / "notifier-tui@.service")
    result = subprocess.run(
        [analyze, "verify", str(instance)], capture_output=True, text=True, timeout=30
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "notifier-tui@" in line or "Unknown" in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
