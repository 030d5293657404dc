"""Defaults shared by the core and the settings, in a module that imports nothing."""

DEFAULT_BASE_URL = "https://probe.fbrq.cloud/v1"
"""The public sending gateway (docs/gateway.md)."""
