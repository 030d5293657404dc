"""Fixtures every test directory may use."""

# The throwaway PostgreSQL server (pg_server, pg_url) and the gateway simulator
# (simulator, threaded_simulator, make_simulator), registered once for the suite;
# backend / store_url / backend_store: the store on SQLite and on PostgreSQL.
pytest_plugins = ["tests.pgfixtures", "tests.simfixtures", "tests.backends"]
