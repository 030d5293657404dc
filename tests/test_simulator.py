"""The gateway simulator: its HTTP handling, faults, counters, control endpoints and CLI."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from notifier_tui.core.sending.gateway import GatewayClient, OutcomeClass, classify_response
from notifier_tui.sim import (
    GatewaySimulator,
    SimulatorConfig,
    ThreadedSimulator,
    start_in_thread,
)
from notifier_tui.sim.cli import counters_line
from tests.simfixtures import (
    PHONE,
    exchange,
    read_response,
    refused,
    send_request,
    simulator,  # noqa: F401  (a fixture)
    threaded_simulator,  # noqa: F401  (a fixture)
)

pytestmark = pytest.mark.timeout(20)

ROOT = Path(__file__).resolve().parents[1]


# -- the /send endpoint ----------------------------------------------------------


async def test_accepts_a_good_request(simulator: GatewaySimulator) -> None:  # noqa: F811
    status, headers, body = await exchange(simulator, send_request(5))
    assert status == 200
    assert json.loads(body) == {"code": 0, "message": "OK"}
    assert headers["content-type"] == "application/json"
    assert simulator.requests == 1
    assert simulator.accepted == {5: 1}
    assert simulator.bodies[-1] == {"id": 5, "phone": PHONE, "text": "hi"}
    assert simulator.base_url == f"http://127.0.0.1:{simulator.port}/v1"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (send_request(5, path="/v2/send/5"), 404),
        (send_request(5, path="/v1/sent/5"), 404),
        (send_request(5, body=b"not json"), 422),
        (send_request(5, body=b"[1, 2]"), 422),
        (send_request(5, body={"id": 6, "phone": PHONE, "text": "hi"}), 422),
        (send_request(5, body={"id": "5", "phone": PHONE, "text": "hi"}), 422),
        (send_request(5, body={"id": 5, "phone": str(PHONE), "text": "hi"}), 422),
        (send_request(5, body={"id": 5, "phone": 89001234567, "text": "hi"}), 422),
        (send_request(5, body={"id": 5, "phone": 7900123456, "text": "hi"}), 422),
        (send_request(5, body={"id": 5, "phone": PHONE}), 422),
        (send_request(5, path="/v1/send/abc"), 422),
        (b"GET /v1/send/5 HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    ],
)
async def test_rejects_bad_requests(
    simulator: GatewaySimulator,  # noqa: F811
    raw: bytes,
    status: int,
) -> None:
    got, _, body = await exchange(simulator, raw)
    assert got == status
    assert "detail" in json.loads(body)
    assert simulator.accepted_total == 0


async def test_token_is_checked_when_set(simulator: GatewaySimulator) -> None:  # noqa: F811
    simulator.config.token = "right"
    assert (await exchange(simulator, send_request(1)))[0] == 401
    assert (await exchange(simulator, send_request(1, token="wrong")))[0] == 401
    assert (await exchange(simulator, send_request(1, token="right")))[0] == 200
    assert simulator.requests == 3
    assert "right" not in repr(simulator)


@pytest.mark.parametrize(
    ("field", "status", "body", "retry_after"),
    [
        ("fail_rate", 500, None, None),
        ("throttle_rate", 429, None, "2"),
        ("garbage_rate", 200, None, None),
        ("nonzero_code_rate", 200, {"code": 1, "message": "rejected"}, None),
        ("permanent_rate", 400, {"detail": "bad phone"}, None),
    ],
)
async def test_each_fault(
    simulator: GatewaySimulator,  # noqa: F811
    field: str,
    status: int,
    body: dict[str, object] | None,
    retry_after: str | None,
) -> None:
    setattr(simulator.config, field, 1.0)
    simulator.config.retry_after_s = 2.0
    got, headers, raw = await exchange(simulator, send_request(1))
    assert got == status
    if body is not None:
        assert json.loads(raw) == body
    if field == "garbage_rate":
        with pytest.raises(ValueError):
            json.loads(raw)
    assert headers.get("retry-after") == retry_after
    assert simulator.accepted_total == 0


async def test_fractional_retry_after(simulator: GatewaySimulator) -> None:  # noqa: F811
    simulator.config.throttle_rate = 1.0
    simulator.config.retry_after_s = 0.25
    assert (await exchange(simulator, send_request(1)))[1]["retry-after"] == "0.25"


async def test_latency_delays_every_answer(simulator: GatewaySimulator) -> None:  # noqa: F811
    simulator.config.latency_ms = 150
    started = time.monotonic()
    assert (await exchange(simulator, send_request(1)))[0] == 200
    assert 0.14 <= time.monotonic() - started < 1.0


async def test_slow_answers_come_late_but_accepted(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    simulator.config.slow_rate = 1.0
    simulator.config.slow_ms = 300
    started = time.monotonic()
    assert (await exchange(simulator, send_request(1)))[0] == 200
    assert time.monotonic() - started >= 0.29
    assert simulator.accepted == {1: 1}


async def test_fault_shares_roughly_right_and_seeded(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    simulator.config = SimulatorConfig(
        seed=11,
        fail_rate=0.2,
        throttle_rate=0.1,
        garbage_rate=0.1,
        nonzero_code_rate=0.1,
        permanent_rate=0.1,
    )
    simulator.reset()

    async def run() -> list[str]:
        # Pipelined on one connection: fast, and the draws follow the ids' order.
        reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
        try:
            writer.write(b"".join(send_request(i) for i in range(1, 2001)))
            answers = [await asyncio.wait_for(read_response(reader), 5) for _ in range(2000)]
        finally:
            writer.close()
        return [classify_response(status, body, headers)[1] for status, headers, body in answers]

    first = await run()
    got = collections.Counter(first)
    n = len(first)
    assert abs(got["HTTP 500"] / n - 0.2) < 0.04
    assert abs(got["HTTP 429"] / n - 0.1) < 0.03
    assert abs(got["bad answer: not JSON"] / n - 0.1) < 0.03
    assert abs(got["bad answer: code 1"] / n - 0.1) < 0.03
    assert abs(got['HTTP 400: {"detail": "bad phone"}'] / n - 0.1) < 0.03
    assert abs(got["OK"] / n - 0.4) < 0.04
    assert simulator.accepted_total == got["OK"]
    simulator.reset()  # restarts the draws from the seed
    assert await run() == first


# -- HTTP/1.1 connection handling -------------------------------------------------


async def test_keep_alive_many_requests_one_connection(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
    try:
        for i in range(1, 301):
            writer.write(send_request(i))
            status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
            assert status == 200 and "connection" not in headers
    finally:
        writer.close()
    assert simulator.accepted_total == 300
    assert simulator.connections_opened == 1


async def test_pipelined_requests_answered_in_order(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    # The first answer waits 200 ms, the /stats one is instant: order must hold anyway.
    simulator.config.latency_ms = 200
    raw = send_request(1) + b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n" + send_request(2)
    reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
    try:
        # Split mid-request: the parser must buffer partial input.
        writer.write(raw[:37])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(raw[37:])
        answers = [await asyncio.wait_for(read_response(reader), 5) for _ in range(3)]
    finally:
        writer.close()
    assert [a[0] for a in answers] == [200, 200, 200]
    assert json.loads(answers[0][2])["code"] == 0
    assert json.loads(answers[1][2])["requests"] == 1  # counted when it was parsed
    assert json.loads(answers[2][2])["code"] == 0
    assert simulator.accepted == {1: 1, 2: 1}


async def test_big_body_arriving_in_pieces(simulator: GatewaySimulator) -> None:  # noqa: F811
    text = "ж" * 150_000
    raw = send_request(9, body={"id": 9, "phone": PHONE, "text": text})
    reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
    try:
        for start in range(0, len(raw), 65_000):
            writer.write(raw[start : start + 65_000])
            await writer.drain()
            await asyncio.sleep(0.01)
        assert (await asyncio.wait_for(read_response(reader), 5))[0] == 200
    finally:
        writer.close()
    assert simulator.bodies[-1]["text"] == text


async def test_connection_close_is_honoured(simulator: GatewaySimulator) -> None:  # noqa: F811
    reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
    try:
        # Anything pipelined after a "Connection: close" request is ignored.
        writer.write(send_request(1, close=True) + send_request(2))
        status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
        assert status == 200 and headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # server closed
    finally:
        writer.close()
    assert simulator.accepted == {1: 1}


async def test_http10_closes_by_default(simulator: GatewaySimulator) -> None:  # noqa: F811
    raw = send_request(1).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
    try:
        writer.write(raw)
        status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
        assert (status, headers["connection"]) == (200, "close")
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"POST /v1/send/1 HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"POST /v1/send/1 HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"POST /v1/send/1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        (b"POST /v1/send/1 HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000, 431),
    ],
)
async def test_malformed_requests_get_an_error_and_close(
    simulator: GatewaySimulator,  # noqa: F811
    raw: bytes,
    status: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
    try:
        writer.write(raw)
        got, headers, _ = await asyncio.wait_for(read_response(reader), 5)
        assert (got, headers["connection"]) == (status, "close")
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()


# -- counters and the control endpoints ---------------------------------------------


async def test_counters_and_duplicates(simulator: GatewaySimulator) -> None:  # noqa: F811
    assert simulator.first_accept_at is None
    async with GatewayClient(simulator.base_url, "t") as gateway:
        for msg_id in (1, 2, 2, 3, 3, 3):
            assert (await gateway.send(msg_id, PHONE, "x")).outcome is OutcomeClass.ACCEPTED
        simulator.config.fail_rate = 1.0
        await gateway.send(4, PHONE, "x")
    assert simulator.requests == 7
    assert simulator.accepted_total == 6
    assert simulator.accepted == {1: 1, 2: 2, 3: 3}
    assert simulator.duplicates == {2: 2, 3: 3}
    assert simulator.first_accept_at is not None and simulator.last_accept_at is not None
    assert simulator.first_accept_at <= simulator.last_accept_at
    simulator.reset()
    assert (simulator.requests, simulator.accepted_total, simulator.duplicates) == (0, 0, {})
    assert simulator.first_accept_at is None and not simulator.bodies


async def test_stats_reset_and_config_endpoints(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    root = simulator.base_url.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=root, timeout=5) as http:
        for msg_id in (1, 1, 2):
            await http.post(f"/v1/send/{msg_id}", json={"id": msg_id, "phone": PHONE, "text": ""})
        stats = (await http.get("/stats")).json()
        assert stats["requests"] == 3
        assert (stats["accepted_total"], stats["unique_accepted"], stats["duplicates"]) == (3, 2, 1)
        first, last = simulator.first_accept_at, simulator.last_accept_at
        assert first is not None and last is not None
        assert stats["window_s"] == pytest.approx(last - first)
        assert (await http.post("/reset")).status_code == 200
        assert (await http.get("/stats")).json()["accepted_total"] == 0

        answer = await http.post("/config", json={"fail_rate": 1, "token": "s3cr3t"})
        assert answer.status_code == 200
        assert answer.json()["fail_rate"] == 1 and answer.json()["token"] is True
        assert "s3cr3t" not in answer.text
        assert simulator.config.fail_rate == 1 and simulator.config.token == "s3cr3t"

        for bad in ({"nope": 1}, {"fail_rate": 2}, {"fail_rate": "x"}, {"seed": True}, [1]):
            answer = await http.post("/config", json=bad)
            assert answer.status_code == 422, bad
        assert (await http.post("/config", content=b"{")).status_code == 422
        assert (await http.post("/stats")).status_code == 405
        assert (await http.get("/elsewhere")).status_code == 404
    assert simulator.config.fail_rate == 1  # the bad updates changed nothing


async def test_config_changes_apply_to_the_next_request(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    assert (await exchange(simulator, send_request(1)))[0] == 200
    simulator.config.permanent_rate = 1.0
    assert (await exchange(simulator, send_request(2)))[0] == 400
    simulator.config = SimulatorConfig(prefix="/api")
    assert (await exchange(simulator, send_request(3)))[0] == 404
    assert (await exchange(simulator, send_request(3, path="/api/send/3")))[0] == 200
    assert simulator.base_url.endswith("/api")


def test_config_validates_and_hides_the_token() -> None:
    with pytest.raises(ValueError):
        SimulatorConfig(fail_rate=1.5)
    with pytest.raises(ValueError):
        SimulatorConfig(latency_ms=-1)
    assert "s3cr3t" not in repr(SimulatorConfig(token="s3cr3t"))


# -- outages and shutdown -------------------------------------------------------------


async def test_outage_refuses_then_comes_back_on_the_same_port(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    port = simulator.port
    simulator.config.latency_ms = 300
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(send_request(1))  # in flight when the outage starts
    await asyncio.sleep(0.05)
    await simulator.outage(0.3)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # dropped, never answered
    writer.close()
    assert refused(port) and not simulator.listening
    await asyncio.sleep(0.5)
    assert simulator.listening and simulator.port == port
    simulator.config.latency_ms = 0
    assert (await exchange(simulator, send_request(2)))[0] == 200
    assert simulator.accepted == {2: 1}  # the dropped answer was never counted


async def test_outage_until_end_outage(simulator: GatewaySimulator) -> None:  # noqa: F811
    await simulator.outage(None)
    await asyncio.sleep(0.2)
    assert refused(simulator.port)
    await simulator.end_outage()
    assert (await exchange(simulator, send_request(1)))[0] == 200
    await simulator.end_outage()  # a no-op when up


async def test_stop_drops_pending_answers() -> None:
    sim = GatewaySimulator(SimulatorConfig(latency_ms=2000))
    await sim.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(send_request(1))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await sim.stop()
    assert time.monotonic() - started < 1.0
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await asyncio.sleep(0.1)
    assert sim.accepted_total == 0 and refused(sim.port)


async def test_async_context_manager() -> None:
    async with GatewaySimulator() as sim:
        assert (await exchange(sim, send_request(1)))[0] == 200
    assert refused(sim.port)


# -- off the loop: the threaded simulator --------------------------------------------


def test_threaded_simulator_from_sync_code(
    threaded_simulator: ThreadedSimulator,  # noqa: F811
) -> None:
    body = {"id": 1, "phone": PHONE, "text": "x"}
    with httpx.Client(timeout=5) as http:
        assert http.post(f"{threaded_simulator.base_url}/send/1", json=body).status_code == 200
        threaded_simulator.call(threaded_simulator.simulator.outage, None)
        with pytest.raises(httpx.ConnectError):
            http.post(f"{threaded_simulator.base_url}/send/1", json=body)
        threaded_simulator.call(threaded_simulator.simulator.end_outage)
        assert http.post(f"{threaded_simulator.base_url}/send/1", json=body).status_code == 200
    stats = threaded_simulator.stats()
    assert (stats["accepted_total"], stats["duplicates"]) == (2, 1)


async def test_threaded_simulator_from_async_code() -> None:
    with start_in_thread(SimulatorConfig(latency_ms=100)) as threaded:
        async with GatewayClient(threaded.base_url, "t", max_connections=50) as gateway:
            started = time.monotonic()
            # Answers are delayed on the simulator's loop, not this one.
            results = await asyncio.gather(*(gateway.send(i, PHONE, "x") for i in range(50)))
            assert time.monotonic() - started < 1.0
        assert all(r.outcome is OutcomeClass.ACCEPTED for r in results)
        await threaded.acall(threaded.simulator.outage, 0.1)
        assert threaded.stats()["unique_accepted"] == 50
    threaded.stop()  # idempotent


# -- the command line -------------------------------------------------------------------


def test_cli_prints_the_listening_line_and_exits_0_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "notifier_tui.sim", "--port", "0"),
            *("--token", "s3cr3t", "--fail-rate", "0", "--seed", "1", "--latency-ms", "1"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("gateway-sim listening on http://127.0.0.1:")
        base_url = line.removeprefix("gateway-sim listening on ").strip()
        assert base_url.endswith("/v1")
        body = {"id": 1, "phone": PHONE, "text": "x"}
        auth = {"Authorization": "Bearer s3cr3t"}
        with httpx.Client(timeout=5) as http:
            assert http.post(f"{base_url}/send/1", json=body, headers=auth).status_code == 200
            assert http.post(f"{base_url}/send/1", json=body).status_code == 401
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    assert out == ""  # exactly one line in all
    assert "s3cr3t" not in line + out + err


# The old single module still runs, for scripts written against it.
@pytest.mark.parametrize("module", ["notifier_tui.sim", "notifier_tui.sim.simulator"])
def test_cli_rejects_bad_rates(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--fail-rate", "3"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 2
    assert "fail_rate" in result.stderr and result.stdout == ""


def test_counters_line() -> None:
    stats = GatewaySimulator().stats()
    assert counters_line("gateway-sim", stats).endswith("by fault: none")
    stats |= {"requests": 5, "accepted_total": 3, "unique_accepted": 2, "duplicates": 1}
    stats |= {"by_fault": {"fail": 2, "ok": 3}}
    line = counters_line("notifier-tui gateway-sim", stats)
    assert line.startswith("notifier-tui gateway-sim: at 0s requests=5 accepted=3 unique=2 ")
    assert line.endswith("duplicates=1 refused_connections=0 by fault: fail=2 ok=3")
    assert "down=" not in line
    stats["down_window"] = "storm"
    assert " down=storm " in counters_line("gateway-sim", stats)


def test_cli_prints_its_counters_to_stderr() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifier_tui.sim", "--port", "0", "--stats-every", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        base_url = proc.stdout.readline().removeprefix("gateway-sim listening on ").strip()
        with httpx.Client(timeout=5) as http:
            body = {"id": 1, "phone": PHONE, "text": "x"}
            assert http.post(f"{base_url}/send/1", json=body).status_code == 200
        lines: list[str] = []
        deadline = time.monotonic() + 10
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stderr, selectors.EVENT_READ)
            while time.monotonic() < deadline and not any("requests=1 " in x for x in lines):
                if selector.select(0.5):
                    lines.append(proc.stderr.readline())
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0
    assert lines[0].startswith("gateway-sim: at ")
    assert any("requests=1 accepted=1 unique=1 duplicates=0" in x and "ok=1" in x for x in lines)


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["-m", "notifier_tui", "gateway-sim", "--help"], "usage: notifier-tui gateway-sim "),
        (["-m", "notifier_tui.sim", "--help"], "usage: gateway-sim "),
    ],
)
def test_cli_help_names_the_command_and_the_docs(argv: list[str], usage: str) -> None:
    result = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(usage)
    text = " ".join(result.stdout.split())  # argparse wraps lines
    assert "docs/gateway.md" in text and "GATEWAY.md" not in text
    for flag in ("--stats-every", "--huge-mb", "--retry-after-style", "--storm-s", "--flap-mode"):
        assert flag in text


def test_cli_rejects_a_bad_stats_interval() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "notifier_tui.sim", "--stats-every", "-1"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 2
    assert "--stats-every" in result.stderr and result.stdout == ""
