"""The simulator's gateway misbehaviours: huge bodies, odd Retry-After values, 429 storms,
outages and flapping, on an injected clock so no test waits for a window to pass."""

from __future__ import annotations

import asyncio
import email.utils
import json
from typing import Any

import httpx
import pytest

from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from notifier_tui.sim.config import RETRY_AFTER_STYLES
from notifier_tui.sim.faults import Answer, draw_answer, huge_body, refuses, retry_after, window_at
from tests.simfixtures import (
    FakeClock,
    SimulatorFactory,
    exchange,
    make_simulator,  # noqa: F401  (a fixture)
    read_response,
    refused,
    send_request,
    simulator,  # noqa: F401  (a fixture)
)

pytestmark = pytest.mark.timeout(20)

WALL = 1_800_000_000.0  # a fixed wall clock, for Retry-After dates
T0 = FakeClock().now  # where every fake clock starts, so the simulator's start


async def clocked(make: SimulatorFactory, clock: FakeClock, **knobs: Any) -> GatewaySimulator:
    """A started simulator on ``clock`` at ``T0``; its windows move only on ``apply_schedule``."""
    assert clock.now == T0
    config = SimulatorConfig(**knobs)
    return await make(config, clock=clock, wall=lambda: WALL, schedule_every=None)


async def status_at(sim: GatewaySimulator, clock: FakeClock, at: float) -> int | str:
    """The status a fresh ``/send`` gets ``at`` s after the start, or ``refused``."""
    clock.now = T0 + at
    await sim.apply_schedule()
    if refused(sim.port):
        return "refused"
    return (await exchange(sim, send_request(1)))[0]


async def dropped_without_answer(reader: asyncio.StreamReader) -> bool:
    """Whether the server ends the connection without a byte of answer."""
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


# -- the pure fault model ---------------------------------------------------------------


def test_windows_in_time_and_their_precedence() -> None:
    cfg = SimulatorConfig(storm_start_s=10, storm_s=20, outage_start_s=15, outage_s=5)
    at = [window_at(cfg, t) for t in (0, 9.99, 10, 14.99, 15, 19.99, 20, 29.99, 30)]
    storm, outage = Answer.STORM, Answer.OUTAGE
    assert at == [None, None, storm, storm, outage, outage, storm, storm, None]

    flap = SimulatorConfig(flap_up_s=2, flap_down_s=1, storm_s=100)
    # Up first, then down, over and over; a down period wins over the storm.
    at = [window_at(flap, t) for t in (0, 1.99, 2, 2.99, 3, 4.99, 5, 8.5)]
    assert (
        at
        == [Answer.STORM, Answer.STORM, Answer.FLAP, Answer.FLAP]
        + [Answer.STORM] * 2
        + [Answer.FLAP] * 2
    )
    assert window_at(SimulatorConfig(), 1e9) is None


def test_refusing_depends_on_the_mode() -> None:
    refusing = SimulatorConfig(outage_s=1, flap_down_s=1)
    answering = SimulatorConfig(outage_s=1, flap_down_s=1, outage_mode="503", flap_mode="503")
    for window in (Answer.OUTAGE, Answer.FLAP):
        assert refuses(refusing, window) and not refuses(answering, window)
    assert not refuses(refusing, Answer.STORM) and not refuses(refusing, None)


def test_retry_after_values() -> None:
    assert retry_after("seconds", 2.0, 0, WALL) == "2"
    assert retry_after("seconds", 0.25, 0, WALL) == "0.25"
    assert retry_after("huge", 2.0, 0, WALL) == "1e20"
    assert retry_after("negative", 2.0, 0, WALL) == "-2"
    assert retry_after("negative", 0.0, 0, WALL) == "-1"
    assert retry_after("nan", 2.0, 0, WALL) == "NaN"
    garbage = retry_after("garbage", 2.0, 0, WALL)
    with pytest.raises(ValueError):
        float(garbage)
    with pytest.raises((TypeError, ValueError)):
        email.utils.parsedate_to_datetime(garbage)
    date = retry_after("date", 30.0, 0, WALL)
    assert email.utils.parsedate_to_datetime(date).timestamp() == WALL + 30
    assert date.endswith(" GMT")
    mixed = [retry_after("mixed", 30.0, i, WALL) for i in range(6)]
    assert mixed == ["1e20", "-30", "NaN", garbage, date, "1e20"]
    assert set(RETRY_AFTER_STYLES) == {"seconds", "huge", "negative", "nan", "garbage"} | {
        "date",
        "mixed",
    }


def test_huge_body_is_valid_json_of_the_size() -> None:
    body = huge_body(0.5)
    assert len(body) == 512 * 1024
    assert json.loads(body)["code"] == 0
    # In the draw, huge sits between permanent and slow.
    cfg = SimulatorConfig(permanent_rate=0.1, huge_rate=0.2, slow_rate=0.1)
    assert [draw_answer(cfg, d) for d in (0.05, 0.15, 0.29, 0.35, 0.5)] == [
        Answer.PERMANENT,
        Answer.HUGE,
        Answer.HUGE,
        Answer.SLOW,
        Answer.OK,
    ]


@pytest.mark.parametrize(
    "knobs",
    [
        {"huge_rate": 1.5},
        {"huge_mb": 0},
        {"huge_mb": 5000},
        {"retry_after_style": "sometimes"},
        {"outage_mode": "explode"},
        {"flap_mode": "down"},
        {"storm_s": -1},
        {"outage_start_s": float("nan")},
        {"flap_up_s": float("inf")},
    ],
)
def test_config_rejects_bad_misbehaviour_knobs(knobs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(knobs))):
        SimulatorConfig(**knobs)


# -- over HTTP ----------------------------------------------------------------------------


async def test_huge_body_is_served_and_counted(make_simulator: SimulatorFactory) -> None:  # noqa: F811
    sim = await make_simulator(SimulatorConfig(huge_rate=1.0, huge_mb=2))
    for close in (False, True):
        status, headers, body = await exchange(sim, send_request(7, close=close))
        assert status == 200 and len(body) == 2 * 1024 * 1024
        assert json.loads(body)["code"] == 0
        assert (headers.get("connection") == "close") is close
    # The gateway acted on it: accepted, whatever a client makes of the answer.
    assert sim.accepted == {7: 2}
    assert sim.by_fault == {Answer.HUGE: 2}
    assert sim.stats()["by_fault"] == {"huge": 2}


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("huge", "1e20"),
        ("negative", "-3"),
        ("nan", "NaN"),
        ("date", email.utils.formatdate(WALL + 3, usegmt=True)),
    ],
)
async def test_odd_retry_after_on_the_wire(
    make_simulator: SimulatorFactory,  # noqa: F811
    style: str,
    expected: str,
) -> None:
    config = SimulatorConfig(throttle_rate=1.0, retry_after_s=3, retry_after_style=style)
    sim = await make_simulator(config, wall=lambda: WALL)
    status, headers, _ = await exchange(sim, send_request(1))
    assert (status, headers["retry-after"]) == (429, expected)


async def test_mixed_retry_after_takes_turns(make_simulator: SimulatorFactory) -> None:  # noqa: F811
    config = SimulatorConfig(throttle_rate=1.0, retry_after_s=3, retry_after_style="mixed")
    sim = await make_simulator(config, wall=lambda: WALL)
    got = [(await exchange(sim, send_request(1)))[1]["retry-after"] for _ in range(6)]
    assert got == [retry_after("mixed", 3, i, WALL) for i in range(6)]
    assert len(set(got)) == 5
    sim.reset()  # the turns start over
    assert (await exchange(sim, send_request(1)))[1]["retry-after"] == "1e20"


async def test_429_storm_in_its_window_only(make_simulator: SimulatorFactory) -> None:  # noqa: F811
    clock = FakeClock()
    sim = await clocked(
        make_simulator, clock, storm_start_s=60, storm_s=30, storm_retry_after_s=7, token="t"
    )
    assert (await exchange(sim, send_request(1, token="t")))[0] == 200
    clock.now = T0 + 60
    # Every answer is a 429, whatever the request: the rate limit comes first.
    for raw in (send_request(2, token="t"), send_request(3), send_request(4, body=b"x")):
        status, headers, _ = await exchange(sim, raw)
        assert (status, headers["retry-after"]) == (429, "7")
    assert sim.stats()["down_window"] == "storm"
    clock.now = T0 + 89.9
    assert (await exchange(sim, send_request(5, token="t")))[0] == 429
    clock.now = T0 + 90
    assert (await exchange(sim, send_request(6, token="t")))[0] == 200
    assert sim.stats()["down_window"] is None
    assert sim.by_fault == {Answer.OK: 2, Answer.STORM: 4}
    assert sim.accepted == {1: 1, 6: 1}


async def test_storm_leaves_the_seeded_draws_alone(
    make_simulator: SimulatorFactory,  # noqa: F811
) -> None:
    async def statuses(storm: bool) -> list[int]:
        clock = FakeClock()
        knobs: dict[str, Any] = {"fail_rate": 0.5, "seed": 5}
        if storm:
            knobs |= {"storm_start_s": 1, "storm_s": 1}
        sim = await clocked(make_simulator, clock, **knobs)
        got = []
        for i in range(40):
            if storm and i % 4 == 0:  # a request in the storm between the others
                clock.now += 1
                assert (await exchange(sim, send_request(i)))[0] == 429
                clock.now -= 1
            got.append((await exchange(sim, send_request(i)))[0])
        return got

    plain = await statuses(False)
    assert {200, 500} <= set(plain)
    assert await statuses(True) == plain


async def test_outage_refuses_in_its_window_on_the_same_port(
    make_simulator: SimulatorFactory,  # noqa: F811
) -> None:
    clock = FakeClock()
    sim = await clocked(make_simulator, clock, outage_start_s=30, outage_s=10)
    port = sim.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(send_request(1))
        assert (await asyncio.wait_for(read_response(reader), 5))[0] == 200
        clock.advance(30)
        # Before the listener closes, a request on a kept-alive connection is dropped.
        writer.write(send_request(2))
        assert await dropped_without_answer(reader)
    finally:
        writer.close()
    # A connection that slips in before the schedule closes the listener is reset.
    late_reader, late_writer = await asyncio.open_connection("127.0.0.1", port)
    assert await dropped_without_answer(late_reader)
    late_writer.close()
    assert sim.refused_connections == 1
    await sim.apply_schedule()
    assert refused(port) and not sim.listening
    clock.advance(10)
    await sim.apply_schedule()
    assert sim.listening and sim.port == port
    assert (await exchange(sim, send_request(3)))[0] == 200
    assert sim.accepted == {1: 1, 3: 1}  # the dropped request was never accepted
    assert sim.by_fault == {Answer.OK: 2, Answer.OUTAGE: 1}


async def test_outage_answering_503(make_simulator: SimulatorFactory) -> None:  # noqa: F811
    clock = FakeClock()
    sim = await clocked(make_simulator, clock, outage_start_s=5, outage_s=5, outage_mode="503")
    assert await status_at(sim, clock, 4.9) == 200
    assert await status_at(sim, clock, 5) == 503
    root = sim.base_url.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=root, timeout=5) as http:
        stats = (await http.get("/stats")).json()  # the control endpoints stay up
    assert (stats["down_window"], stats["by_fault"]) == ("outage", {"ok": 1, "outage": 1})
    assert await status_at(sim, clock, 9.9) == 503
    assert await status_at(sim, clock, 10) == 200


@pytest.mark.parametrize(("mode", "down"), [("503", 503), ("refuse", "refused")])
async def test_flapping_alternates_up_and_down(
    make_simulator: SimulatorFactory,  # noqa: F811
    mode: str,
    down: int | str,
) -> None:
    clock = FakeClock()
    sim = await clocked(make_simulator, clock, flap_up_s=3, flap_down_s=2, flap_mode=mode)
    times = (0, 2.9, 3, 4.9, 5, 7.9, 8, 10, 13.5)
    got = [await status_at(sim, clock, t) for t in times]
    assert got == [200, 200, down, down, 200, 200, down, 200, down]


async def test_manual_outage_and_a_window_both_keep_it_down(
    make_simulator: SimulatorFactory,  # noqa: F811
) -> None:
    clock = FakeClock()
    sim = await clocked(make_simulator, clock, outage_start_s=10, outage_s=10)
    await sim.outage(None)
    clock.advance(15)
    await sim.end_outage()  # the window still holds it down
    assert refused(sim.port)
    clock.advance(5)
    await sim.apply_schedule()
    assert (await exchange(sim, send_request(1)))[0] == 200


async def test_the_schedule_runs_by_itself(make_simulator: SimulatorFactory) -> None:  # noqa: F811
    # The one test on the real clock: the listener follows the window unaided.
    sim = await make_simulator(SimulatorConfig(outage_start_s=0.2, outage_s=0.3))
    port = sim.port
    assert (await exchange(sim, send_request(1)))[0] == 200
    seen = []
    for _ in range(40):  # 2 s at most
        seen.append(refused(port))
        if seen[-1] is False and True in seen:
            break
        await asyncio.sleep(0.05)
    assert True in seen and seen[-1] is False
    assert (await exchange(sim, send_request(2)))[0] == 200


async def test_same_seed_and_clock_same_answers(
    make_simulator: SimulatorFactory,  # noqa: F811
) -> None:
    knobs: dict[str, Any] = {
        "seed": 9,
        "fail_rate": 0.1,
        "throttle_rate": 0.2,
        "huge_rate": 0.1,
        "huge_mb": 0.01,
        "retry_after_style": "mixed",
        "flap_up_s": 1,
        "flap_down_s": 0.5,
        "flap_mode": "503",
    }

    async def run() -> list[tuple[int, str | None]]:
        clock = FakeClock()
        sim = await clocked(make_simulator, clock, **knobs)
        got = []
        for i in range(60):
            clock.advance(0.1)
            status, headers, _ = await exchange(sim, send_request(i))
            got.append((status, headers.get("retry-after")))
        return got

    first = await run()
    assert {200, 429, 500, 503} <= {status for status, _ in first}
    assert await run() == first


async def test_new_knobs_through_post_config(simulator: GatewaySimulator) -> None:  # noqa: F811
    root = simulator.base_url.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=root, timeout=5) as http:
        change = {"storm_s": 100, "storm_retry_after_s": 4, "retry_after_style": "nan"}
        answer = await http.post("/config", json=change)
        assert answer.status_code == 200 and answer.json()["storm_s"] == 100
        sent = await http.post("/v1/send/1", json={"id": 1, "phone": 79001234567, "text": ""})
        assert (sent.status_code, sent.headers["retry-after"]) == (429, "NaN")
        for bad in ({"outage_mode": "maybe"}, {"huge_mb": -1}, {"retry_after_style": 3}):
            assert (await http.post("/config", json=bad)).status_code == 422, bad
