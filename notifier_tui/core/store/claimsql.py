"""The statements that give claims back and write outcomes, kept apart from their callers.

Each is written once for both backends (see dialect.py), except the outcome
update, which comes in two forms that :func:`~.dialect.update_rows` chooses
between: one row per statement (SQLite, in-process) or a page of rows per
statement (PostgreSQL, where every statement is a round trip).
"""

from __future__ import annotations

__all__ = ["RECORD_ROW", "RECORD_VALUES", "RELEASE"]

# A claim given back: pending again, same id, first in its mailing's queue. CASE, not
# SQLite's two-argument MIN (PostgreSQL's is LEAST): one text for both backends; a
# mailing with nothing pending leaves the time as it was (the comparison is NULL).
RELEASE = (
    "UPDATE message SET status = 'pending', claim_epoch = NULL, claim_owner = NULL,"
    " claim_expires_at = NULL, next_attempt_at = CASE WHEN (SELECT MIN(p.next_attempt_at)"
    "  FROM message p WHERE p.mailing_id = message.mailing_id AND p.status = 'pending') - ?"
    "  < next_attempt_at THEN (SELECT MIN(p.next_attempt_at) FROM message p"
    "  WHERE p.mailing_id = message.mailing_id AND p.status = 'pending') - ?"
    "  ELSE next_attempt_at END"
    " WHERE status = 'sending'"
)
RELEASE_IDS = RELEASE.replace("WHERE status = ", "WHERE status || '' = ")
"""RELEASE for an appended ``AND id IN (...)``: "|| ''" keeps the planner on the
ids instead of walking the status index over every sending row."""

# One outcome: the statement for one row, and the same for many rows at once
# (dialect.update_rows picks: PostgreSQL pays a round trip a statement).
RECORD_ROW = (
    "UPDATE message SET status = ?, sent_at = COALESCE(?, sent_at),"
    " attempts = attempts + ?, last_error = COALESCE(?, last_error),"
    # The class goes with the text: a new text without a class clears it.
    " error_class = COALESCE(?, CASE WHEN ? IS NULL THEN error_class END),"
    " next_attempt_at = COALESCE(?, next_attempt_at),"
    " claim_owner = NULL, claim_expires_at = NULL"
    # Only our own claim: one that expired and another sender took is theirs.
    " WHERE id = ? AND status = 'sending' AND (claim_owner IS NULL OR claim_owner = ?)"
)
RECORD_VALUES = (
    "UPDATE message SET status = CAST(v.column1 AS TEXT),"
    " sent_at = COALESCE(CAST(v.column2 AS DOUBLE PRECISION), message.sent_at),"
    " attempts = message.attempts + CAST(v.column3 AS INTEGER),"
    " last_error = COALESCE(CAST(v.column4 AS TEXT), message.last_error),"
    " error_class = COALESCE(CAST(v.column5 AS TEXT),"
    "  CASE WHEN v.column6 IS NULL THEN message.error_class END),"
    " next_attempt_at = COALESCE(CAST(v.column7 AS DOUBLE PRECISION), message.next_attempt_at),"
    " claim_owner = NULL, claim_expires_at = NULL"
    " FROM (VALUES {values}) AS v"
    " WHERE message.id = CAST(v.column8 AS INTEGER) AND message.status = 'sending'"
    " AND (message.claim_owner IS NULL OR message.claim_owner = CAST(v.column9 AS TEXT))"
)
