"""Tests of the server operations: the daemon as a process, its stop, exit codes, logs."""
