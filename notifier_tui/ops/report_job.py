"""The daily report as a job on the sender's own scheduler.

:func:`install_daily_report` registers one job on ``sender.jobs`` (the
sender's ``schedule.Scheduler``) when ``report_time``, ``report_to`` and
``smtp_host`` are all set. Every ``CHECK_SECONDS`` it looks whether the day's
report is due (``report_time`` has passed today in ``default_timezone``) and
not yet sent, and if so sends it; so the report goes out within seconds of
its time.

A check rather than schedule's ``every().day.at(time, tz)``, for two
reasons: schedule needs pytz for a timezone, which this project does not
install; and a check also covers what a once-a-day trigger misses: a process
that starts, or takes over the sender lease, after ``report_time`` still
sends that day's report, and a failed send is retried, first after a minute
and then with the delay doubling up to 30 minutes, until the local day ends
(then that day is given up, with an error in the log, and the next day's
report is due at its time as usual).

A run sends only when this process holds the sender lease
(``sender.is_holder``) and ``report_log`` does not already hold the day, and
it records the day right after the mail server accepted the message. So a
day is reported at most once across restarts and processes; the one gap is a
crash between the server's "accepted" and the record, which sends that day's
report again on restart (at least once beats never).

The job only starts a task: the store is read on the store's thread and the
mail goes out in a worker thread, so neither blocks the event loop. Every
step is logged; the SMTP password never is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, time
from enum import StrEnum
from time import monotonic
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from notifier_tui.core import report
from notifier_tui.core.errors import ValidationError
from notifier_tui.ops.mailer import (
    MailError,
    SmtpConfig,
    build_message,
    send_mail,
    send_mail_async,
)
from notifier_tui.settings.config import Settings

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import Sender
    from notifier_tui.core.store import Store

log = logging.getLogger("notifier_tui.report")

CHECK_SECONDS = 1
"""How often the job looks whether the day's report is due: a clock reading until it is."""
RETRY_FIRST = 60.0
RETRY_MAX = 1800.0


class RunResult(StrEnum):
    """What one run of the job did."""

    SENT = "sent"
    NOT_HOLDER = "not the lease holder"
    NOT_DUE = "not due yet"
    ALREADY_SENT = "already sent"
    FAILED = "failed"


class DailyReportJob:
    """Sends the day's report once, from the process that holds the sender lease.

    Args:
        sender: whose lease decides and whose scheduler runs the job.
        store: where the report is read from and the sent days are kept.
        settings: ``report_time``, ``default_timezone`` and the SMTP settings.
        clock: the current instant; the store's clock when omitted.

    Raises:
        ValidationError: ``report_time`` or the SMTP settings are not usable.
    """

    def __init__(
        self,
        sender: Sender,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sender = sender
        self.store = store
        self.at: time = report.parse_report_time(settings.report_time)
        self.timezone = settings.default_timezone
        self.zone = ZoneInfo(settings.default_timezone)
        self.smtp = SmtpConfig.from_settings(settings)
        self._clock = clock or store.clock
        self._task: asyncio.Task[RunResult] | None = None
        self._known_sent: date | None = None
        """The last day seen in report_log, so the check stops asking the store."""
        self._failing_day: date | None = None
        self._failures = 0
        self._retry_at = 0.0

    def install(self) -> None:
        """Register the check on the sender's scheduler."""
        self.sender.jobs.every_seconds(CHECK_SECONDS, self.check, "daily report")
        log.info(
            "daily report scheduled at %s %s to %s via %s:%d (%s)",
            self.at.strftime("%H:%M"),
            self.timezone,
            ", ".join(self.smtp.recipients),
            self.smtp.host,
            self.smtp.port,
            self.smtp.security,
        )

    def check(self) -> None:
        """The scheduled job: start a run if today's report is due, owed and may be tried."""
        if not self.sender.is_holder:
            return  # quietly: a standby process checks all day long
        day = report.due_day(self._clock(), self.at, self.zone)
        if self._failing_day is not None and day != self._failing_day:
            log.error(
                "daily report for %s was never sent (%d failed attempt(s)); giving up on that day",
                self._failing_day,
                self._failures,
            )
            self._failing_day, self._failures, self._retry_at = None, 0, 0.0
        if day is None or day == self._known_sent:
            return
        if monotonic() < self._retry_at:
            return
        self._start()

    def _start(self) -> None:
        if self._task is not None and not self._task.done():
            log.debug("daily report: a run is already in progress")
            return
        self._task = asyncio.ensure_future(self.run_once())
        self._task.add_done_callback(_log_crash)

    # --- one run -------------------------------------------------------------------

    async def run_once(self) -> RunResult:
        """Send the report due now if this process should; never raises."""
        if not self.sender.is_holder:
            log.info("daily report: this process does not hold the sender lease; the holder sends")
            return RunResult.NOT_HOLDER
        day = report.due_day(self._clock(), self.at, self.zone)
        if day is None:
            log.info("daily report: today's is due only at %s", self.at.strftime("%H:%M"))
            return RunResult.NOT_DUE
        store = self.store
        try:
            if await store.run(report.already_sent, store, day):
                log.info("daily report for %s already sent (report_log); skipping", day)
                self._known_sent = day
                return RunResult.ALREADY_SENT
            log.info("daily report for %s: building", day)
            built = await store.run(report.daily_report, store, day, self.at, self.timezone)
            log.info(
                "daily report for %s: %d mailing(s), %d message(s); sending to %s via %s:%d",
                day,
                len(built.mailings),
                built.total,
                ", ".join(self.smtp.recipients),
                self.smtp.host,
                self.smtp.port,
            )
            message = build_message(self.smtp, built.subject(), built.to_text())
            await send_mail_async(self.smtp, message)
            if not await store.run(report.mark_sent, store, day, self.smtp.recipients):
                log.warning("daily report for %s was recorded by another process meanwhile", day)
        except MailError as err:
            return self._failed(day, str(err))
        except Exception as err:  # a store error: retried like a mail failure, with the trace
            log.exception("daily report for %s failed unexpectedly", day)
            return self._failed(day, repr(err))
        self._known_sent = day
        self._failing_day, self._failures, self._retry_at = None, 0, 0.0
        log.info("daily report for %s sent and recorded", day)
        return RunResult.SENT

    def _failed(self, day: date, reason: str) -> RunResult:
        self._failures = self._failures + 1 if self._failing_day == day else 1
        self._failing_day = day
        delay = min(RETRY_FIRST * 2 ** (self._failures - 1), RETRY_MAX)
        self._retry_at = monotonic() + delay
        log.error(
            "daily report for %s not sent (attempt %d): %s; next try in %.0f s",
            day,
            self._failures,
            reason,
            delay,
        )
        return RunResult.FAILED


def build_for(store: Store, settings: Settings, day: date | None = None) -> report.DailyReport:
    """The report ``report --print`` shows (blocking; call off the loop).

    Args:
        store: the store to read.
        settings: ``report_time`` (midnight when unset) and ``default_timezone``.
        day: the report due on that day; the last 24 hours up to now when omitted.

    Raises:
        ValidationError: ``report_time`` is not ``HH:MM``.
    """
    at = report.parse_report_time(settings.report_time) if settings.report_time else time(0, 0)
    if day is None:
        return report.recent_report(store, settings.default_timezone)
    return report.daily_report(store, day, at, settings.default_timezone)


def send_now(smtp: SmtpConfig, built: report.DailyReport) -> None:
    """Email ``built`` at once (blocking), as ``report --send`` does.

    A manual send does not write ``report_log``: sending a report by hand, say to
    test the SMTP settings in the morning, must not cancel that day's scheduled one.

    Raises:
        MailError: the mail server could not be reached or refused the message.
    """
    send_mail(smtp, build_message(smtp, built.subject(), built.to_text()))


def install_daily_report(sender: Sender, store: Store, settings: Settings) -> None:
    """Schedule the daily report on ``sender.jobs`` if the settings ask for one.

    A report that is asked for but cannot work (a bad ``report_time``, no sender
    address) is logged as an error and left out: the daily report must never
    stop the sending itself.
    """
    if not settings.report_time:
        log.info("daily report off: report_time is not set")
        return
    missing = [n for n in ("report_to", "smtp_host") if not getattr(settings, n)]
    if missing:
        log.warning("daily report off: report_time is set but %s is not", " and ".join(missing))
        return
    try:
        job = DailyReportJob(sender, store, settings)
    except ValidationError as err:
        log.error("daily report off: %s: %s", err.field, err.rule)
        return
    job.install()


def _log_crash(task: asyncio.Task[RunResult]) -> None:
    # run_once catches everything it expects; this only shows a bug, never hides it.
    if not task.cancelled() and task.exception() is not None:
        log.error("daily report run crashed", exc_info=task.exception())
