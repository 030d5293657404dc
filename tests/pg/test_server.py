"""The throwaway PostgreSQL server: it starts, answers, and gives each test its own database."""

from __future__ import annotations

import psycopg2

from tests.pgfixtures import PgServer


def test_each_test_gets_an_empty_database(pg_url: str, pg_server: PgServer) -> None:
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cur.fetchone() == (0,)
        cur.execute("SHOW server_version_num")
        row = cur.fetchone()
        assert row is not None and int(row[0]) >= 150000
    assert pg_server.sql("SELECT 1") == "1"
