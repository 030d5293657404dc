"""Fixtures every test directory may use."""

# The throwaway PostgreSQL server: pg_server (session) and pg_url (one database a test).
pytest_plugins = ["tests.pgfixtures"]
