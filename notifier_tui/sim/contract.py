"""What the gateway checks in a ``POST /send/{msgId}`` request (docs/gateway.md)."""

from __future__ import annotations

import json
from typing import Any

_PHONE_MIN = 70_000_000_000
_PHONE_MAX = 79_999_999_999
_DECODE = json.JSONDecoder().decode


def validate(raw_id: str, body: bytes) -> tuple[str | None, int | None, dict[str, Any] | None]:
    """(problem, msgId, decoded body): the 422 detail of a bad ``/send`` request or ``None``."""
    data: Any = None
    try:
        # str in: json.loads(bytes) first sniffs the encoding, a measurable cost here.
        data = _DECODE(body.decode())
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return "body is not JSON", None, None
    if not isinstance(data, dict):
        return "body is not a JSON object", None, None
    if not (raw_id.isascii() and raw_id.isdigit()):
        return "msgId in the path must be an integer", None, data
    msg_id = int(raw_id)
    body_id = data.get("id")
    if type(body_id) is not int or body_id != msg_id:
        return "body id must be the integer msgId of the path", None, data
    phone = data.get("phone")
    # A phone sent as a string is the classic sender bug this check exists for.
    if type(phone) is not int or not _PHONE_MIN <= phone <= _PHONE_MAX:
        return "phone must be an integer of 11 digits starting with 7", None, data
    if not isinstance(data.get("text"), str):
        return "text must be a string", None, data
    return None, msg_id, data
