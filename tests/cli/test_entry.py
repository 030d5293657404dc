"""The entry point itself: modes, dispatch, the simulator pass-through, exits, and imports."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from notifier_tui.settings.config import Settings
from tests.cli.conftest import Run, assert_bad_input, phone

SCRIPT = Path(sys.executable).parent / "notifier-tui"


def test_locate(run_raw: Run, isolated_env: Path, tmp_path: Path) -> None:
    result = run_raw("--locate")
    assert result.code == 0
    assert result.out.splitlines() == [
        f"store: {isolated_env / 'data' / 'notifier.db'}",
        f"config: {isolated_env / 'config' / 'config.toml'}",
        f"log: {isolated_env / 'log' / 'notifier.log'}",
    ]
    flagged = run_raw(
        "--db", str(tmp_path / "x.db"), "--config", str(tmp_path / "c.toml"), "--locate"
    )
    assert flagged.out.splitlines()[:2] == [
        f"store: {tmp_path / 'x.db'}",
        f"config: {tmp_path / 'c.toml'}",
    ]
    assert not (isolated_env / "data").exists()  # locating creates nothing


def test_help(run_raw: Run) -> None:
    result = run_raw("--help")
    assert result.code == 0
    for word in ("client", "mailing", "stats", "gateway-sim", "config", "--daemon", "--demo"):
        assert word in result.out
    sub = run_raw("mailing", "add", "--help")
    assert sub.code == 0 and "--window" in sub.out


class Recorder:
    """Stands in for run_ui/run_demo/run_daemon/run_cli and remembers its call."""

    def __init__(self, result: Any = 0) -> None:
        self.calls: list[Any] = []
        self.result = result

    def __call__(self, arg: Any) -> int:
        self.calls.append(arg)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


@pytest.fixture
def fake_ui(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    module = types.ModuleType("notifier_tui.cli.launch")
    module.run_ui = Recorder()  # type: ignore[attr-defined]
    module.run_demo = Recorder()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "notifier_tui.cli.launch", module)
    # Stand-ins for the modules others write: these tests are about the dispatch only.
    daemon = types.ModuleType("notifier_tui.ops.daemon")
    daemon.run_daemon = Recorder()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "notifier_tui.ops.daemon", daemon)
    return types.SimpleNamespace(ui=module.run_ui, demo=module.run_demo, daemon=daemon.run_daemon)


@pytest.mark.parametrize("mode", ["ui", "demo", "daemon"])
def test_modes_get_the_settings(
    run_raw: Run, fake_ui: types.SimpleNamespace, mode: str, tmp_path: Path
) -> None:
    flags = [] if mode == "ui" else [f"--{mode}"]
    result = run_raw("--db", str(tmp_path / "m.db"), "--concurrency", "7", *flags)
    assert result.code == 0
    called = getattr(fake_ui, mode)
    others = [getattr(fake_ui, m) for m in ("ui", "demo", "daemon") if m != mode]
    assert len(called.calls) == 1 and all(not o.calls for o in others)
    settings = called.calls[0]
    assert isinstance(settings, Settings)
    assert (settings.db, settings.concurrency) == (tmp_path / "m.db", 7)


def test_mode_exit_status_is_passed_on(run_raw: Run, fake_ui: types.SimpleNamespace) -> None:
    fake_ui.daemon.result = 3
    assert run_raw("--daemon").code == 3


def test_ctrl_c_exits_130(run_raw: Run, fake_ui: types.SimpleNamespace) -> None:
    fake_ui.ui.result = KeyboardInterrupt()
    assert run_raw().code == 130


def test_unexpected_error_is_one_line_and_exit_1(
    run_raw: Run, fake_ui: types.SimpleNamespace
) -> None:
    fake_ui.ui.result = RuntimeError("boom")
    result = run_raw()
    assert result.code == 1
    assert result.err_lines == ["notifier-tui: unexpected error: RuntimeError: boom"]


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--daemon", "client", "list"], "--daemon"),
        (["--demo", "stats"], "--demo"),
        (["--locate", "mailing", "list"], "--locate"),
        (["--daemon", "--demo"], "--demo"),
        (["--bogus"], "arguments"),
        (["nonsense"], "COMMAND"),
        (["config"], "config"),
        (["config", "init", "--json"], "arguments"),
    ],
)
def test_usage_errors(
    run_raw: Run, fake_ui: types.SimpleNamespace, argv: list[str], field: str
) -> None:
    assert_bad_input(run_raw(*argv), field)
    assert not (fake_ui.ui.calls or fake_ui.demo.calls or fake_ui.daemon.calls)


@pytest.fixture
def fake_sim(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder(0)

    def run_cli(argv: list[str], prog: str = "gateway-sim") -> int:
        return recorder(argv)

    # The package and its old single module alike, whichever the dispatch imports.
    for name in ("notifier_tui.sim", "notifier_tui.sim.simulator"):
        module = types.ModuleType(name)
        module.run_cli = run_cli  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, module)
    return recorder


@pytest.mark.parametrize(
    "rest",
    [
        [],
        ["--help"],
        ["-h"],
        ["--host", "127.0.0.1", "--port", "0", "--latency-ms", "5", "--fail-rate", "0.1"],
        # Names the top level also has, and values that look like options: all the simulator's.
        ["--timeout", "3", "--token", "t", "--db", "x", "--json", "--start", "-1m"],
    ],
)
def test_gateway_sim_gets_everything_after_its_name(
    run_raw: Run, fake_sim: Recorder, rest: list[str]
) -> None:
    result = run_raw("--db", "ignored.db", "gateway-sim", *rest)
    assert result.code == 0, result.err
    assert fake_sim.calls == [rest]


def test_gateway_sim_does_not_swallow_a_bad_global_option(run_raw: Run, fake_sim: Recorder) -> None:
    assert_bad_input(run_raw("--bogus", "gateway-sim", "--port", "1"), "arguments")
    assert fake_sim.calls == []


def test_gateway_sim_exit_status(run_raw: Run, fake_sim: Recorder) -> None:
    fake_sim.result = SystemExit(0)  # argparse --help in the simulator
    assert run_raw("gateway-sim", "--help").code == 0
    fake_sim.result = 4
    assert run_raw("gateway-sim").code == 4


# --- real processes ----------------------------------------------------------------


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_cli_loads_no_textual() -> None:
    probe = (
        "import json, sys, notifier_tui.cli.entry\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] == 'textual' or m.startswith('notifier_tui.ui'))))"
    )
    result = _run(sys.executable, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_a_subcommand_loads_no_textual(db: Path) -> None:
    probe = (
        "import sys; from notifier_tui.cli.entry import main\n"
        f"code = main(['--db', {str(db)!r}, 'client', 'list', '--json'])\n"
        "assert code == 0, code\n"
        "print([m for m in sys.modules if m.split('.')[0] == 'textual'], file=sys.stderr)"
    )
    result = _run(sys.executable, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"


def test_python_dash_m(db: Path) -> None:
    result = _run(
        sys.executable,
        "-m",
        "notifier_tui",
        "--db",
        db,
        "client",
        "add",
        "--phone",
        phone(1),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["phone"] == phone(1)
    bad = _run(sys.executable, "-m", "notifier_tui", "--db", db, "client", "add", "--phone", "1")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("notifier-tui: error: phone: ")
    assert len(bad.stderr.splitlines()) == 1


def test_console_script(db: Path) -> None:
    if not SCRIPT.exists():
        pytest.skip("the notifier-tui script is not installed beside this interpreter")
    result = _run(
        SCRIPT,
        "--db",
        db,
        "mailing",
        "add",
        "--start",
        "-1m",
        "--end",
        "+1h",
        "--text",
        "hi",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "active"
    listed = _run(SCRIPT, "--db", db, "stats", "--json")
    assert json.loads(listed.stdout)["mailings"][0]["text"] == "hi"


def test_real_gateway_sim_help() -> None:
    if importlib.util.find_spec("notifier_tui.sim.simulator") is None:
        pytest.skip("notifier_tui.sim.simulator is not written yet")
    result = _run(sys.executable, "-m", "notifier_tui", "gateway-sim", "--help")
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout
    assert "client" not in result.stdout.split("\n")[0]  # the simulator's usage, not ours
