"""Email over SMTP for the daily report: plain, STARTTLS or implicit TLS, with optional login.

:mod:`smtplib` is blocking, so :func:`send_mail_async` runs it in a worker
thread and the event loop (the sender's, the UI's) never waits on a mail
server. The password comes in as a :class:`~notifier_tui.core.secret.Secret`
and is revealed only in the ``login`` call: nothing here logs it, and
:class:`SmtpConfig`'s ``repr`` shows it masked like every ``Secret``.

Certificates are checked against the system's trust store
(``ssl.create_default_context()``, which also honours ``SSL_CERT_FILE``).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.secret import Secret
from notifier_tui.settings.config import Settings

log = logging.getLogger("notifier_tui.ops.mailer")

SECURITY_MODES = ("starttls", "ssl", "none")


class MailError(Exception):
    """Sending failed; the message says why in words fit for a log line (no password)."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail; see the ``smtp_*`` settings for their meaning."""

    host: str
    port: int
    security: str
    user: str
    password: Secret
    sender: str
    recipients: tuple[str, ...]
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """The SMTP settings, checked.

        Raises:
            ValidationError: the host, the sender address or the recipients are missing,
                or the security mode is unknown.
        """
        recipients = parse_recipients(settings.report_to)
        if not settings.smtp_host:
            raise ValidationError("smtp_host", "must be set to send the report")
        if not recipients:
            raise ValidationError("report_to", "must list at least one address")
        if settings.smtp_security not in SECURITY_MODES:
            raise ValidationError("smtp_security", f"must be one of {', '.join(SECURITY_MODES)}")
        if not 0 < settings.smtp_port < 65536:
            raise ValidationError("smtp_port", "must be between 1 and 65535")
        sender = settings.smtp_from or settings.smtp_user
        if "@" not in sender:
            raise ValidationError("smtp_from", "must be an email address (or smtp_user one)")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=settings.smtp_password,
            sender=sender,
            recipients=recipients,
        )


def parse_recipients(text: str) -> tuple[str, ...]:
    """``"a@x, b@y"`` -> ``("a@x", "b@y")``; commas or semicolons separate addresses."""
    return tuple(a.strip() for a in text.replace(";", ",").split(",") if a.strip())


def build_message(config: SmtpConfig, subject: str, body: str) -> EmailMessage:
    """A plain-text UTF-8 email from the configured sender to every recipient."""
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = ", ".join(config.recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


def send_mail(config: SmtpConfig, message: EmailMessage) -> None:
    """Deliver ``message`` to the SMTP server (blocking).

    Raises:
        MailError: connecting, the TLS handshake, the login or the delivery failed.
    """
    where = f"{config.host}:{config.port} ({config.security})"
    context = ssl.create_default_context()
    try:
        if config.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=context
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with client:
            if config.security == "starttls":
                client.starttls(context=context)
            if config.user:
                client.login(config.user, config.password.reveal())
            refused = client.send_message(message, config.sender, list(config.recipients))
    except smtplib.SMTPAuthenticationError as err:
        # The server's answer, never the password: smtplib does not echo it.
        raise MailError(
            f"SMTP login as {config.user!r} at {where} refused: {_answer(err)}"
        ) from None
    except smtplib.SMTPRecipientsRefused as err:
        raise MailError(f"SMTP server {where} refused every recipient: {err.recipients}") from None
    except smtplib.SMTPException as err:
        raise MailError(f"SMTP error at {where}: {_describe(err)}") from None
    except ssl.SSLError as err:
        raise MailError(f"TLS with {where} failed: {err.reason or err}") from None
    except OSError as err:  # refused, unreachable, DNS, timeout
        raise MailError(f"cannot reach SMTP server {where}: {_describe(err)}") from None
    if refused:
        log.warning("SMTP server %s refused some recipients: %s", where, sorted(refused))
    log.info("mail %r sent via %s to %s", message["Subject"], where, ", ".join(config.recipients))


async def send_mail_async(config: SmtpConfig, message: EmailMessage) -> None:
    """:func:`send_mail` in a worker thread, so the event loop keeps running."""
    await asyncio.to_thread(send_mail, config, message)


def _answer(err: smtplib.SMTPResponseException) -> str:
    text = err.smtp_error.decode("utf-8", "replace") if isinstance(err.smtp_error, bytes) else ""
    return f"{err.smtp_code} {text}".strip()


def _describe(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPResponseException):
        return _answer(err)
    return str(err) or type(err).__name__
