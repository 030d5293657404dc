"""What the command line writes to a terminal: never a raw control character.

Stored text can hold line breaks and tabs (mailing texts), a gateway's error
text can hold anything, and an old store may predate the rules that refuse
control characters. A terminal acts on ESC, CSI (U+009B), BEL and friends
instead of showing them (``ESC[2J`` clears the screen, ``ESC]0;...BEL`` sets
the window title), and bidi overrides reorder what is shown. So every string
printed goes through :func:`printable`, and every JSON document through
:func:`json_text`.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

# C0, DEL, C1, the bidi embeddings/overrides/isolates, and lone surrogates
# (undecodable bytes: printing one would raise UnicodeEncodeError).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_KEEP_LINES = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# What json.dumps(ensure_ascii=False) leaves raw: it escapes only C0, '"' and '\'.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    ch = match[0]
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    r"""``text`` with every control character shown as an escape: ``\n``, ``\t``, ``\x1b``.

    Args:
        text: what is about to be printed.
        keep_newlines: leave line feeds as they are (a multi-line block such as
            a report); everything else is still escaped.
    """
    if text.isprintable():  # nearly always: one C-level scan, no regex
        return text
    return (_UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE).sub(_escape, text)


def json_text(doc: Any) -> str:
    """``doc`` as indented JSON that is safe on a terminal and still valid JSON."""
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    # These characters only occur inside JSON strings, where \uXXXX means the same.
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def say(text: str, *, file: TextIO | None = None, end: str = "\n") -> None:
    """Print a (possibly multi-line) block with its control characters escaped."""
    print(printable(text, keep_newlines=True), file=file or sys.stdout, end=end)


def complain(line: str) -> None:
    """Print one line on stderr, control characters (newlines included) escaped."""
    print(printable(line), file=sys.stderr)
