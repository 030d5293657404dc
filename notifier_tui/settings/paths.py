"""Where notifier_tui keeps its files, from platformdirs, with env overrides.

Functions, not constants: nothing is computed or created at import time, so
tests and the demo can point everything elsewhere through the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "notifier-tui"


def config_dir() -> Path:
    """The user config directory (``NOTIFIER_CONFIG_DIR`` overrides)."""
    return Path(os.environ.get("NOTIFIER_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))


def config_file() -> Path:
    """The TOML config file (``NOTIFIER_CONFIG`` overrides)."""
    return Path(os.environ.get("NOTIFIER_CONFIG") or config_dir() / "config.toml")


def data_dir() -> Path:
    """The user data directory, home of the store (``NOTIFIER_DATA_DIR`` overrides)."""
    return Path(os.environ.get("NOTIFIER_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))


def default_db() -> Path:
    return data_dir() / "notifier.db"


def log_dir() -> Path:
    """The user log directory (``NOTIFIER_LOG_DIR`` overrides)."""
    return Path(os.environ.get("NOTIFIER_LOG_DIR") or platformdirs.user_log_dir(APP_NAME))


def default_log_file() -> Path:
    return log_dir() / "notifier.log"
