"""The API inside a real daemon process: a mailing created over HTTP reaches the simulator.

Also the refusals that must come before anything starts: an API port without
an API token, and ``serve`` on an address other machines reach without
``--allow-remote``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from notifier_tui.sim import GatewaySimulator
from tests.ops.daemonproc import daemon_env, spawn, stop
from tests.waits import until

API_TOKEN = "api-token-for-the-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_mailing_created_through_the_api_is_sent_by_the_daemon(
    tmp_path: Path, simulator: GatewaySimulator
) -> None:
    port = _free_port()
    proc = spawn(
        tmp_path,
        tmp_path / "api.db",
        simulator.base_url,
        "api",
        args=["--api-port", str(port)],
        env={"NOTIFIER_API_TOKEN": API_TOKEN},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=5) as http:

            async def up() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await until(up, timeout=30, what="the API answers")
            health = (await http.get("/healthz")).json()
            assert health["store"] == "ok"
            for phone in ("79001110001", "79001110002", "79001110003"):
                assert (await http.post("/clients", json={"phone": phone})).status_code == 201
            created = await http.post(
                "/mailings", json={"start_at": "now", "end_at": "+10m", "text": "via the API"}
            )
            assert created.status_code == 201, created.text
            mailing = created.json()["id"]

            async def all_sent() -> bool:
                stats = (await http.get(f"/stats/{mailing}")).json()
                return bool(stats["by_status"].get("sent") == 3)

            await until(all_sent, timeout=30, what="three messages sent")
            stats = (await http.get(f"/stats/{mailing}")).json()
            assert sorted(m["phone"] for m in stats["messages"]) == [
                "79001110001",
                "79001110002",
                "79001110003",
            ]
        assert simulator.accepted_total >= 3
        assert {"via the API"} == {body["text"] for body in simulator.bodies}
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert API_TOKEN not in err


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "notifier_tui", "--db", str(tmp_path / "s.db"), *args],
        env=daemon_env(tmp_path, "refuse", env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stderr


def test_an_api_port_without_a_token_is_refused(tmp_path: Path) -> None:
    code, err = _cli(tmp_path, "--daemon", "--api-port", str(_free_port()))
    assert code == 2
    assert "api_token" in err and len(err.strip().splitlines()) == 1


def test_serve_refuses_a_remote_address_without_allow_remote(tmp_path: Path) -> None:
    code, err = _cli(tmp_path, "serve", "--host", "0.0.0.0", "--port", str(_free_port()))
    assert code == 2
    assert "--allow-remote" in err
