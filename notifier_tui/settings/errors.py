"""Errors about the setup rather than the input: a bad setting, an unusable store.

Both are :class:`~notifier_tui.core.errors.ValidationError` subclasses, so
code that shows a ``field: rule`` line for bad input shows these the same way;
:func:`notifier_tui.settings.exit_codes.classify` tells them apart and gives
them exit status 78 (EX_CONFIG) instead of 2.
"""

from __future__ import annotations

from notifier_tui.core.errors import ValidationError


class ConfigError(ValidationError):
    """A setting from the environment or a config file is unusable.

    ``field`` names where it came from: ``/path/config.toml: concurrency`` or
    ``NOTIFIER_CONCURRENCY``. A bad *flag* is a plain ValidationError (usage).
    """


class StoreUnusable(ValidationError):
    """The store cannot be used as it is: not SQLite, a newer or corrupt schema, read-only."""
