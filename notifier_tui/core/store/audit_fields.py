"""What the audit trail records of a client or a mailing (the fields a diff compares)."""

from __future__ import annotations

from notifier_tui.core.records import ClientRecord, MailingRecord


def client_fields(c: ClientRecord | None) -> dict[str, object]:
    """What the audit trail records of a client."""
    if c is None:
        return {}
    return {
        "phone": c.phone,
        "operator_code": c.operator_code,
        "tag": c.tag,
        "timezone": c.timezone,
    }


def mailing_fields(m: MailingRecord | None) -> dict[str, object]:
    """What the audit trail records of a mailing."""
    if m is None:
        return {}
    return {
        "start_at": m.start_at.isoformat(),
        "end_at": m.end_at.isoformat(),
        "text": m.text,
        "operator_codes": list(m.operator_codes),
        "tags": list(m.tags),
        "window": m.window,
    }
