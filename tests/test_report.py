"""The daily report: content from a real SQLite store, mail to a real SMTP server on 127.0.0.1.

The SMTP server is aiosmtpd, started per test on a free loopback port: plain,
STARTTLS with AUTH (a throw-away self-signed certificate made with openssl,
trusted through ``SSL_CERT_FILE``), and implicit TLS. The job tests run real
senders holding, or waiting for, the real sender lease.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notifier_tui.cli.entry import main
from notifier_tui.core import report
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.records import Outcome
from notifier_tui.core.secret import Secret
from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.ops import report_job
from notifier_tui.ops.mailer import MailError, SmtpConfig, build_message, send_mail
from notifier_tui.ops.report_job import DailyReportJob, RunResult, install_daily_report
from notifier_tui.settings.config import Settings
from tests import waits

pytestmark = pytest.mark.timeout(30)

MSK = ZoneInfo("Europe/Moscow")  # UTC+3 all year: no DST to blur the periods
PASSWORD = "pa55-w0rd-never-shown"
DAY = date(2026, 3, 2)
"""The report day of the store scenario: due 2026-03-02 08:00 MSK = 05:00 UTC."""
PERIOD_START = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
PERIOD_END = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


# --- a real SMTP server -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    """What the SMTP server received, and the logins it saw."""

    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((user, password))
        # handled=False: aiosmtpd then answers a refusal with 535 itself.
        return AuthResult(success=user == "reporter" and password == PASSWORD, handled=False)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} of {count} mail(s) arrived")
            time.sleep(0.02)

    @property
    def bodies(self) -> list[str]:
        # Bodies travel with CRLF line ends; compare them as text.
        return [m.get_content().replace("\r\n", "\n") for _, _, m in self.messages]  # type: ignore[attr-defined]


@dataclass
class MailServer:
    inbox: Inbox
    port: int


@contextmanager
def serve_smtp(port: int | None = None, **options: Any) -> Iterator[MailServer]:
    """aiosmtpd on 127.0.0.1 (its own thread and loop) with ``options`` for its SMTP class."""
    inbox = Inbox()
    if options.get("auth_required"):
        options["authenticator"] = inbox.authenticate
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    try:
        yield MailServer(inbox, controller.port)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """Plain SMTP, no login."""
    with serve_smtp() as server:
        yield server


@pytest.fixture
def cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that the client trusts via SSL_CERT_FILE."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    crt, key = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(crt)),
        ],
        check=True,
        capture_output=True,
        timeout=20,
    )
    # ssl.create_default_context() loads the default verify paths, which honour this.
    monkeypatch.setenv("SSL_CERT_FILE", str(crt))
    return crt, key


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    return context


def starttls_options(cert: tuple[Path, Path]) -> dict[str, Any]:
    """STARTTLS required, then AUTH (user ``reporter``, password PASSWORD)."""
    return {
        "tls_context": server_context(cert),
        "require_starttls": True,
        "auth_required": True,
        "auth_require_tls": True,
    }


@pytest.fixture
def starttls_server(cert: tuple[Path, Path]) -> Iterator[MailServer]:
    with serve_smtp(**starttls_options(cert)) as server:
        yield server


@pytest.fixture
def ssl_server(cert: tuple[Path, Path]) -> Iterator[MailServer]:
    """SMTP over implicit TLS (port-465 style)."""
    with serve_smtp(ssl_context=server_context(cert)) as server:
        yield server


def smtp_config(
    port: int, security: str = "none", user: str = "", password: str = ""
) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1",
        port=port,
        security=security,
        user=user,
        password=Secret(password),
        sender="notifier@example.org",
        recipients=("ops@example.org", "boss@example.org"),
        timeout=5,
    )


# --- a store with one day's worth of mailings -------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def phone(n: int) -> str:
    return f"7900{n:07d}"


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 6, 0, tzinfo=UTC))


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    s = Store(tmp_path / "store.db", clock=clock, default_timezone="Europe/Moscow")
    yield s
    s.close()


def record(store: Store, now: datetime, outcomes: Callable[[list[int]], list[Outcome]]) -> None:
    """Claim what is due at ``now`` and record ``outcomes(claimed ids)``, like the sender."""
    ids = sorted(c.id for c in store.claim_due(now, 100))
    store.record_outcomes(outcomes(ids))


E5, E4, ETO = ErrorClass.HTTP_5XX, ErrorClass.HTTP_4XX, ErrorClass.TIMEOUT


def seed(store: Store, clock: Clock) -> dict[str, int]:
    """Mailings before, inside, across the end of and after the period of DAY.

    Returns the mailing ids by name.
    """
    t0 = clock.now  # 2026-03-01 06:00 UTC, one hour into the period
    for n in range(6):
        store.create_client(phone(n), tag="a")
    old = store.create_mailing(t0 - timedelta(days=3), t0 - timedelta(days=2), "old one")
    sale = store.create_mailing(t0, t0 + timedelta(hours=6), "Spring sale")
    late_start = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    news = store.create_mailing(late_start, late_start + timedelta(days=1), "Evening news")
    store.create_mailing(
        PERIOD_END + timedelta(hours=1), PERIOD_END + timedelta(hours=5), "next day"
    )
    store.materialize_due(t0)  # `old` (ended: its messages expire) and `sale`
    store.finalize(t0)
    later, far = t0 + timedelta(minutes=1), t0 + timedelta(days=9)
    # The six sale messages, in id order: sent; retried then sent; failed for good;
    # waiting on a 503; waiting on a timeout; never tried.
    record(
        store,
        t0,
        lambda ids: [
            Outcome(ids[0], "sent", sent_at=later),
            Outcome(
                ids[1], "pending", last_error="HTTP 502", next_attempt_at=later, error_class=E5
            ),
            Outcome(ids[2], "failed", last_error="HTTP 400: invalid phone", error_class=E4),
            Outcome(ids[3], "pending", last_error="HTTP 503", next_attempt_at=far, error_class=E5),
            Outcome(ids[4], "pending", last_error="timeout", next_attempt_at=far, error_class=ETO),
            Outcome(ids[5], "pending", charge=False, next_attempt_at=far),
        ],
    )
    record(store, later, lambda ids: [Outcome(ids[0], "sent", sent_at=later)])
    # Evening news starts inside the period and runs past its end: one sent, one
    # waiting on a garbage answer, the rest not tried yet.
    clock.now = late_start
    store.materialize_due(late_start)
    store.finalize(late_start)  # the sale's three waiting messages expire, reasons kept
    record(
        store,
        late_start,
        lambda ids: [
            Outcome(ids[0], "sent", sent_at=late_start + timedelta(minutes=5)),
            Outcome(
                ids[1],
                "pending",
                last_error="bad answer: not JSON",
                next_attempt_at=far,
                error_class=ErrorClass.BAD_ANSWER,
            ),
            *(Outcome(i, "pending", charge=False, next_attempt_at=late_start) for i in ids[2:]),
        ],
    )
    clock.now = PERIOD_END
    return {"old": old.id, "sale": sale.id, "news": news.id}


def test_report_content_per_mailing_totals_and_error_classes(store: Store, clock: Clock) -> None:
    ids = seed(store, clock)
    built = report.daily_report(store, DAY, dtime(8, 0), "Europe/Moscow")

    assert (built.period_start, built.period_end) == (PERIOD_START, PERIOD_END)
    # `old` ended before the period and `next day` starts after it.
    assert [m.id for m in built.mailings] == [ids["sale"], ids["news"]]
    sale, news = built.mailings
    assert sale.state == "finished"
    assert sale.by_status == {
        "pending": 0,
        "sending": 0,
        "sent": 2,
        "failed": 1,
        "expired": 3,
        "cancelled": 0,
    }
    assert sale.sent_in_period == 2
    assert news.state == "active"
    assert news.by_status["sent"] == 1 and news.by_status["pending"] == 5 and news.total == 6
    assert news.sent_in_period == 1
    assert built.totals == {
        "pending": 5,
        "sending": 0,
        "sent": 3,
        "failed": 1,
        "expired": 3,
        "cancelled": 0,
    }
    assert built.total == 12 and built.sent_in_period == 3
    # The 502 was followed by a success and "not sent before end" is no gateway error.
    assert built.error_classes == {"HTTP 4xx": 1, "HTTP 5xx": 1, "bad answer": 1, "timeout": 1}

    text = built.to_text()
    assert "daily report for 2026-03-02" in text
    assert "Period: 2026-03-01 08:00 to 2026-03-02 08:00 (Europe/Moscow)" in text
    assert f"#{ids['sale']} [finished] Spring sale" in text
    assert "6 message(s): sent 2, failed 1, expired 3" in text
    assert "old one" not in text and "next day" not in text
    assert "HTTP 5xx" in text and "timeout" in text

    doc = json.loads(json.dumps(built.to_json()))
    assert doc["period_start"] == "2026-03-01T08:00:00+03:00"
    assert doc["totals"] == {"total": 12, "by_status": built.totals, "sent_in_period": 3}
    assert [m["id"] for m in doc["mailings"]] == [ids["sale"], ids["news"]]
    assert doc["error_classes"]["HTTP 5xx"] == 1


def test_error_classes_group_the_gateway_reasons(store: Store, clock: Clock) -> None:
    store.create_client(phone(0))
    # What core/gateway.py writes for each kind of failure, and its class.
    classes = {
        "HTTP 500": ErrorClass.HTTP_5XX,
        "HTTP 503": ErrorClass.HTTP_5XX,
        "HTTP 429": ErrorClass.HTTP_429,
        "HTTP 404: no such route": ErrorClass.HTTP_4XX,
        "HTTP 408": ErrorClass.HTTP_4XX,
        "HTTP 401": ErrorClass.CREDENTIALS,
        "timeout": ErrorClass.TIMEOUT,
        "connect error: connection refused": ErrorClass.CONNECT,
        "connection reset": ErrorClass.CONNECT,
        "bad answer: code 1": ErrorClass.BAD_ANSWER,
        "bad gateway URL": ErrorClass.OTHER,
    }
    reasons = list(classes)
    for n, _ in enumerate(reasons[1:], start=1):
        store.create_client(phone(n))
    t0 = clock.now
    store.create_mailing(t0, t0 + timedelta(hours=1), "x")
    store.materialize_due(t0)
    record(
        store,
        t0,
        lambda ids: [
            Outcome(i, "failed", last_error=r, error_class=classes[r])
            for i, r in zip(ids, reasons, strict=True)
        ],
    )
    clock.now = t0 + timedelta(hours=2)
    built = report.recent_report(store, "Europe/Moscow")
    assert built.error_classes == {
        "HTTP 4xx": 2,
        "HTTP 5xx": 2,
        "connect": 2,
        "HTTP 429": 1,
        "bad answer": 1,
        "credentials": 1,
        "other": 1,
        "timeout": 1,
    }


def test_period_due_day_and_bad_input() -> None:
    assert report.period_for_day(DAY, dtime(8, 0), MSK) == (PERIOD_START, PERIOD_END)
    # Without a report time the report due on a day covers the calendar day before it.
    start, end = report.period_for_day(DAY, dtime(0, 0), MSK)
    assert (start.isoformat(), end.isoformat()) == (
        "2026-03-01T00:00:00+03:00",
        "2026-03-02T00:00:00+03:00",
    )
    # A DST change makes the local day 23 hours long (Berlin, 2026-03-29).
    berlin = ZoneInfo("Europe/Berlin")
    start, end = report.period_for_day(date(2026, 3, 30), dtime(1, 0), berlin)
    # (Aware datetimes of one zone subtract as wall times; the store compares instants.)
    assert end.timestamp() - start.timestamp() == 23 * 3600
    at = dtime(8, 0)
    assert report.due_day(datetime(2026, 3, 2, 4, 59, tzinfo=UTC), at, MSK) is None
    assert report.due_day(datetime(2026, 3, 2, 5, 0, tzinfo=UTC), at, MSK) == DAY
    assert report.due_day(datetime(2026, 3, 2, 20, 59, tzinfo=UTC), at, MSK) == DAY
    assert report.due_day(datetime(2026, 3, 2, 21, 0, tzinfo=UTC), at, MSK) is None  # next day
    assert report.parse_report_time(" 7:05 ") == dtime(7, 5)
    for bad in ("24:00", "8", "08:60", "8am", ""):
        with pytest.raises(ValidationError) as err:
            report.parse_report_time(bad)
        assert err.value.field == "report_time"
    with pytest.raises(ValidationError) as err:
        report.parse_day("2026-02-30")
    assert err.value.field == "day"


def test_report_log_is_shared_by_store_instances(tmp_path: Path) -> None:
    first = Store(tmp_path / "s.db")
    try:
        assert not report.already_sent(first, DAY)
        assert report.mark_sent(first, DAY, ("a@example.org", "b@example.org"))
    finally:
        first.close()
    # What another process (or a restart) opening the file sees.
    second = Store(tmp_path / "s.db")
    try:
        assert report.already_sent(second, DAY)
        assert not report.mark_sent(second, DAY, "c@example.org")  # recorded once
        assert not report.already_sent(second, DAY + timedelta(days=1))
        row = second.db.execute_sql("SELECT day, recipients FROM report_log").fetchall()
        assert row == [("2026-03-02", "a@example.org, b@example.org")]
    finally:
        second.close()


# --- the mailer ----------------------------------------------------------------------


def test_plain_smtp_delivers_to_every_recipient(smtp_server: MailServer) -> None:
    config = smtp_config(smtp_server.port)
    send_mail(config, build_message(config, "Daily report", "héllo\nsecond line\n"))
    smtp_server.inbox.wait_for(1)
    mail_from, rcpt, msg = smtp_server.inbox.messages[0]
    assert mail_from == "notifier@example.org"
    assert rcpt == ["ops@example.org", "boss@example.org"]
    assert msg["Subject"] == "Daily report"
    assert msg["To"] == "ops@example.org, boss@example.org"
    assert smtp_server.inbox.bodies == ["héllo\nsecond line\n"]


def test_starttls_with_login(starttls_server: MailServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="notifier_tui")
    config = smtp_config(starttls_server.port, "starttls", "reporter", PASSWORD)
    assert PASSWORD not in repr(config) and PASSWORD not in str(config)
    send_mail(config, build_message(config, "over TLS", "body"))
    starttls_server.inbox.wait_for(1)
    assert starttls_server.inbox.logins == [("reporter", PASSWORD)]
    assert PASSWORD not in caplog.text

    wrong = smtp_config(starttls_server.port, "starttls", "reporter", "not-" + PASSWORD)
    with pytest.raises(MailError) as err:
        send_mail(wrong, build_message(wrong, "nope", "body"))
    assert "login as 'reporter'" in str(err.value) and "535" in str(err.value)
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in caplog.text
    assert len(starttls_server.inbox.messages) == 1


def test_starttls_refuses_a_certificate_it_does_not_trust(
    starttls_server: MailServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    config = smtp_config(starttls_server.port, "starttls", "reporter", PASSWORD)
    with pytest.raises(MailError, match="TLS"):
        send_mail(config, build_message(config, "x", "y"))
    assert starttls_server.inbox.logins == []  # the password never left


def test_implicit_tls(ssl_server: MailServer) -> None:
    config = smtp_config(ssl_server.port, "ssl")
    send_mail(config, build_message(config, "over SSL", "body"))
    ssl_server.inbox.wait_for(1)
    assert ssl_server.inbox.messages[0][2]["Subject"] == "over SSL"


def test_unreachable_server_is_a_mail_error() -> None:
    config = smtp_config(free_port())
    with pytest.raises(MailError, match=r"cannot reach SMTP server 127\.0\.0\.1:"):
        send_mail(config, build_message(config, "x", "y"))


def test_settings_without_smtp_are_bad_input() -> None:
    with pytest.raises(ValidationError) as err:
        SmtpConfig.from_settings(Settings(report_to="a@example.org"))
    assert err.value.field == "smtp_host"
    with pytest.raises(ValidationError) as err:
        SmtpConfig.from_settings(Settings(smtp_host="mx", report_to=" , "))
    assert err.value.field == "report_to"
    with pytest.raises(ValidationError) as err:
        SmtpConfig.from_settings(Settings(smtp_host="mx", report_to="a@example.org"))
    assert err.value.field == "smtp_from"
    config = SmtpConfig.from_settings(
        Settings(smtp_host="mx", report_to="a@x.org; b@x.org", smtp_user="me@x.org")
    )
    assert config.recipients == ("a@x.org", "b@x.org") and config.sender == "me@x.org"


# --- the command line --------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(
    tmp_path: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Result]:
    """``notifier-tui --db <the store> ...`` through ``main``, with a private config dir."""
    for name in list(os.environ):
        if name.startswith("NOTIFIER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NOTIFIER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NOTIFIER_LOG_DIR", str(tmp_path / "log"))

    def run(*argv: str) -> Result:
        # One open store per process (peewee binds models globally): the test's
        # store steps aside, as it would in another process.
        store.close()
        capsys.readouterr()
        code = main(["--db", str(store.path), *argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def write_config(tmp_path: Path, port: int, **extra: str) -> None:
    values = {
        "report_time": "08:00",
        "report_to": "ops@example.org",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "notifier@example.org",
        **extra,
    }
    lines = [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text("\n".join(lines) + "\n")


def test_report_print_text_and_json(cli: Callable[..., Result], store: Store, clock: Clock) -> None:
    ids = seed(store, clock)
    # The store's fake clock is not the CLI's: --day pins the period, states are judged now.
    text = cli("report", "--print", "--day", "2026-03-02")
    assert text.code == 0, text.err
    assert text.out.startswith("notifier-tui daily report for 2026-03-02\n")
    assert "Period: 2026-03-01 00:00 to 2026-03-02 00:00 (Europe/Moscow)" in text.out

    doc_run = cli("report", "--print", "--day", "2026-03-02", "--json")
    assert doc_run.code == 0, doc_run.err
    doc = json.loads(doc_run.out)  # exactly one document
    assert doc["day"] == "2026-03-02"
    assert [m["id"] for m in doc["mailings"]] == [ids["sale"]]
    assert doc["mailings"][0]["by_status"]["sent"] == 2
    assert doc["error_classes"] == {"HTTP 4xx": 1, "HTTP 5xx": 1, "timeout": 1}

    recent = cli("report", "--print", "--json")
    assert recent.code == 0 and json.loads(recent.out)["mailings"] == []  # nothing in 24 h


def test_report_send_through_the_cli(
    cli: Callable[..., Result],
    store: Store,
    clock: Clock,
    smtp_server: MailServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(store, clock)
    write_config(tmp_path, smtp_server.port, smtp_user="reporter")
    monkeypatch.setenv("NOTIFIER_SMTP_PASSWORD", PASSWORD)
    # Plain SMTP offers no AUTH: a configured login against it fails, and says why.
    failed = cli("report", "--send", "--day", "2026-03-02")
    assert failed.code == 1
    assert failed.err.startswith("notifier-tui: error: report: SMTP error at 127.0.0.1:")
    assert len(failed.err.splitlines()) == 1
    assert PASSWORD not in failed.out + failed.err

    write_config(tmp_path, smtp_server.port)
    sent = cli("report", "--send", "--day", "2026-03-02", "--json")
    assert sent.code == 0, sent.err
    assert json.loads(sent.out) == {
        "sent": True,
        "day": "2026-03-02",
        "recipients": ["ops@example.org"],
    }
    smtp_server.inbox.wait_for(1)
    _, rcpt, msg = smtp_server.inbox.messages[0]
    assert rcpt == ["ops@example.org"]
    assert msg["Subject"].startswith("notifier-tui daily report 2026-03-02: 2 mailing(s)")
    assert "Spring sale" in smtp_server.inbox.bodies[0]
    # A manual send leaves the day to the scheduled report.
    assert not report.already_sent(store, DAY)


def test_report_send_errors(cli: Callable[..., Result], tmp_path: Path) -> None:
    not_configured = cli("report", "--send")
    assert not_configured.code == 2 and not_configured.out == ""
    assert not_configured.err == "notifier-tui: error: smtp_host: must be set to send the report\n"

    write_config(tmp_path, free_port())  # nobody listens there
    down = cli("report", "--send")
    assert down.code == 1 and down.out == ""
    assert down.err.startswith("notifier-tui: error: report: cannot reach SMTP server 127.0.0.1:")

    for argv, field_ in (
        (("report",), "one of the arguments --print --send is required"),
        (("report", "--print", "--send"), "--send: not allowed with argument --print"),
        (("report", "--print", "--day", "yesterday"), "day: must be a date"),
    ):
        bad = cli(*argv)
        assert bad.code == 2 and bad.out == ""
        assert bad.err.startswith(f"notifier-tui: error: {field_}"), bad.err
    write_config(tmp_path, 25, report_time="8 o'clock")
    bad_time = cli("report", "--print", "--day", "2026-03-02")
    assert bad_time.code == 2
    assert bad_time.err.startswith("notifier-tui: error: report_time: must be a 24-hour HH:MM")


# --- the daily job on real senders -----------------------------------------------------

AFTER = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
"""09:00 in Moscow on DAY: an hour after the 08:00 report time."""


def job_settings(port: int, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "report_time": "08:00",
        "report_to": "ops@example.org",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "notifier@example.org",
        "default_timezone": "Europe/Moscow",
        **extra,
    }
    return Settings(**values)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """The suite's one bounded wait (tests/waits.py), with this module's patience."""
    await waits.until(predicate, timeout=timeout, step=0.02)


@asynccontextmanager
async def running_sender(store: Store) -> AsyncIterator[Sender]:
    """A real sender on ``store``, running until the block ends, its lease state known."""
    sender = Sender(
        store,
        SenderConfig(base_url="http://127.0.0.1:9/v1", token="t", lease_ttl=1.0, role="daemon"),
    )
    task = asyncio.create_task(sender.run())
    try:
        await until(lambda: sender.is_holder or sender.holder is not None)
        yield sender
    finally:
        await sender.stop()
        await task


def report_days(store: Store) -> list[str]:
    return [r[0] for r in store.db.execute_sql("SELECT day FROM report_log ORDER BY day")]


async def test_daily_job_sends_once_a_day_from_the_lease_holder_only(
    tmp_path: Path, smtp_server: MailServer
) -> None:
    clock = Clock(AFTER)
    store = Store(tmp_path / "s.db", clock=clock)
    settings = job_settings(smtp_server.port)
    try:
        # Two senders on one store: one holds the lease, the other stands by, as a
        # daemon and a UI would (the daemon test below uses real processes).
        async with running_sender(store) as holder, running_sender(store) as standby:
            assert holder.is_holder and not standby.is_holder
            on_holder = DailyReportJob(holder, store, settings)
            on_standby = DailyReportJob(standby, store, settings)
            assert await on_standby.run_once() is RunResult.NOT_HOLDER
            assert await on_holder.run_once() is RunResult.SENT
            # Triggered again the same day, here or after a restart: nothing more.
            assert await on_holder.run_once() is RunResult.ALREADY_SENT
            again = DailyReportJob(holder, store, settings)
            assert await again.run_once() is RunResult.ALREADY_SENT
            smtp_server.inbox.wait_for(1)
            assert report_days(store) == ["2026-03-02"]
            # The holder stops; the standby takes the lease over...
            await holder.stop()
            await until(lambda: standby.is_holder)
            # ...and knows from the store that today's report went out.
            assert await on_standby.run_once() is RunResult.ALREADY_SENT
            clock.now = AFTER + timedelta(hours=23)  # 08:00 the next day
            assert await on_standby.run_once() is RunResult.SENT
            clock.now = AFTER + timedelta(hours=22, minutes=59)
            assert await on_standby.run_once() is RunResult.NOT_DUE
    finally:
        store.close()
    assert len(smtp_server.inbox.messages) == 2
    subjects = [m["Subject"] for _, _, m in smtp_server.inbox.messages]
    assert subjects[0].startswith("notifier-tui daily report 2026-03-02")
    assert subjects[1].startswith("notifier-tui daily report 2026-03-03")


async def test_install_schedules_the_report_on_the_sender_and_its_trigger_sends(
    tmp_path: Path, smtp_server: MailServer
) -> None:
    store = Store(tmp_path / "s.db", clock=Clock(AFTER))
    try:
        async with running_sender(store) as sender:
            before = list(sender.jobs.scheduler.jobs)
            install_daily_report(sender, store, job_settings(smtp_server.port))
            added = [j for j in sender.jobs.scheduler.jobs if j not in before]
            assert [j.job_func.__name__ for j in added] == ["daily report"]
            (check,) = added
            assert (check.unit, check.interval) == ("seconds", report_job.CHECK_SECONDS)
            # What the scheduler does every few seconds; twice, as if the first run were slow.
            check.run()
            check.run()
            await until(lambda: report_days(store) == ["2026-03-02"])
            smtp_server.inbox.wait_for(1)
            await asyncio.sleep(0.1)
            assert len(smtp_server.inbox.messages) == 1
    finally:
        store.close()


async def test_a_failed_send_is_logged_without_the_password_and_retried(
    tmp_path: Path,
    cert: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(report_job, "RETRY_FIRST", 0.4)
    port = free_port()  # nobody listens there yet
    settings = job_settings(
        port,
        smtp_security="starttls",
        smtp_user="reporter",
        smtp_password=Secret(PASSWORD),
    )
    store = Store(tmp_path / "s.db", clock=Clock(AFTER))
    try:
        async with running_sender(store) as sender:
            job = DailyReportJob(sender, store, settings)
            assert await job.run_once() is RunResult.FAILED
            assert "daily report for 2026-03-02 not sent (attempt 1): cannot reach" in caplog.text
            runs = caplog.text.count("daily report for 2026-03-02: building")
            job.check()  # too soon after the failure: waits
            await asyncio.sleep(0.1)
            assert caplog.text.count("daily report for 2026-03-02: building") == runs
            with serve_smtp(port, **starttls_options(cert)) as server:
                await asyncio.sleep(0.4)
                job.check()
                await until(lambda: report_days(store) == ["2026-03-02"])
                server.inbox.wait_for(1)
                assert server.inbox.logins == [("reporter", PASSWORD)]
                job.check()  # sent: the minute check has nothing left to do
                await asyncio.sleep(0.1)
            assert len(server.inbox.messages) == 1
    finally:
        store.close()
    assert "daily report for 2026-03-02 sent and recorded" in caplog.text
    assert PASSWORD not in caplog.text


async def test_install_leaves_an_unconfigured_or_broken_report_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notifier_tui")
    store = Store(tmp_path / "s.db")
    try:
        async with running_sender(store) as sender:
            before = len(sender.jobs.scheduler.jobs)
            install_daily_report(sender, store, Settings())
            install_daily_report(sender, store, Settings(report_time="08:00"))
            install_daily_report(sender, store, job_settings(25, report_time="25:00"))
            install_daily_report(sender, store, job_settings(25, smtp_from=""))
            assert len(sender.jobs.scheduler.jobs) == before
    finally:
        store.close()
    assert "daily report off: report_time is not set" in caplog.text
    assert "report_time is set but report_to and smtp_host is not" in caplog.text
    assert "daily report off: report_time: must be a 24-hour HH:MM" in caplog.text
    assert "daily report off: smtp_from: must be an email address" in caplog.text


def spawn_daemon(tmp_path: Path, db: Path, name: str, smtp_port: int) -> subprocess.Popen[bytes]:
    """``notifier-tui --daemon`` in its own process, the report due since midnight."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(
        NOTIFIER_CONFIG_DIR=str(tmp_path / "config"),
        NOTIFIER_LOG_DIR=str(tmp_path / f"log-{name}"),
        NOTIFIER_LEASE_TTL="1",
        NOTIFIER_TOKEN="gateway-token",
        NOTIFIER_REPORT_TIME="00:00",
        NOTIFIER_REPORT_TO="ops@example.org",
        NOTIFIER_SMTP_HOST="127.0.0.1",
        NOTIFIER_SMTP_PORT=str(smtp_port),
        NOTIFIER_SMTP_SECURITY="none",
        NOTIFIER_SMTP_FROM="notifier@example.org",
        NOTIFIER_SMTP_PASSWORD=PASSWORD,
    )
    gateway = f"http://127.0.0.1:{free_port()}/v1"  # never called: there are no mailings
    return subprocess.Popen(
        [sys.executable, "-m", "notifier_tui", "--db", str(db), "--daemon", "--base-url", gateway],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def stop_daemon(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err.decode()


async def test_daemons_send_the_day_once_across_processes(
    tmp_path: Path, smtp_server: MailServer
) -> None:
    db = tmp_path / "s.db"
    Store(db).close()
    today = datetime.now(MSK).date().isoformat()
    first = spawn_daemon(tmp_path, db, "first", smtp_server.port)
    try:
        await until(lambda: len(smtp_server.inbox.messages) == 1, timeout=15)
    finally:
        code, err = stop_daemon(first)
    assert code == 0, err
    assert f"daily report for {today} sent and recorded" in err
    # A second daemon on the same store, after the first one stopped, takes the lease
    # and finds the day in report_log.
    second = spawn_daemon(tmp_path, db, "second", smtp_server.port)
    log_file = tmp_path / "log-second" / "notifier.log"
    try:
        await until(
            lambda: log_file.exists() and "already sent (report_log)" in log_file.read_text(),
            timeout=15,
        )
    finally:
        code, err = stop_daemon(second)
    assert code == 0, err
    assert len(smtp_server.inbox.messages) == 1
    assert smtp_server.inbox.messages[0][2]["Subject"].startswith(
        f"notifier-tui daily report {today}"
    )
    for text in (err, log_file.read_text(), (tmp_path / "log-first" / "notifier.log").read_text()):
        assert PASSWORD not in text and "gateway-token" not in text
