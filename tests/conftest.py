"""Fixtures every test directory may use."""

# The throwaway PostgreSQL server (pg_server, pg_url) and the gateway simulator
# (simulator, threaded_simulator, make_simulator), registered once for the suite.
pytest_plugins = ["tests.pgfixtures", "tests.simfixtures"]
