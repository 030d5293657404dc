"""A changed gateway token reaches the running daemon without a restart or a signal.

The token may live in the config file (``token``) or in a token file
(``token_file``, the safer place). :class:`TokenWatcher` looks at both every
couple of seconds (size, mtime and inode, so an editor's rename-over counts
too); when one changed it resolves the settings again exactly as at start
(flags > environment > config file > defaults, the token file included) and,
if the token is different, hands it to the sender (``Sender.set_token``),
which also lifts a credentials stop. The environment of a running process
cannot change, so a token from ``NOTIFIER_TOKEN`` or ``--token`` stays until a
restart (it outranks the files anyway).

A change that does not resolve (a half-written file, a typo) is logged and
the old token kept; the next change is tried again. Only the token is applied:
other changed settings are named in the log and take effect at the next start.
The token itself is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from notifier_tui.core.errors import ValidationError
from notifier_tui.settings import coerce, paths, secret_files
from notifier_tui.settings.config import SETTING_NAMES, Settings, load_settings

log = logging.getLogger("notifier_tui.ops.daemon")

POLL_SECONDS = 2.0
"""How often the files are looked at."""

_APPLIED = ("token", "token_file")
"""The settings a running daemon takes over from a changed file."""

Signature = tuple[int, int, int] | None
"""(mtime_ns, size, inode) of a file, or None when it is missing."""


def config_path_of(settings: Settings) -> Path:
    """The config file ``settings`` were read from (the default one if none gave a value)."""
    for source in settings.sources.values():
        if source.startswith(coerce.FILE):
            return Path(source.removeprefix(coerce.FILE))
    return paths.config_file()


def reload_settings(settings: Settings, config_path: Path) -> Settings:
    """Resolve the settings again with the same flags, today's files and this process's env.

    Raises:
        ValidationError: a value in the files does not resolve now.
    """
    flags = {
        name: getattr(settings, name)
        for name, source in settings.sources.items()
        if source == coerce.FLAG
    }
    return load_settings(flags=flags, config_path=config_path, warn=lambda line: None)


class TokenWatcher:
    """Applies a token changed in the config file or the token file.

    Args:
        settings: the settings the daemon started with.
        apply: gets the new token (revealed); ``sender.set_token``.
        reload: resolves the settings again; :func:`reload_settings` by default.
    """

    def __init__(
        self,
        settings: Settings,
        apply: Callable[[str], None],
        *,
        reload: Callable[[Settings, Path], Settings] = reload_settings,
    ) -> None:
        self.settings = settings
        self._apply = apply
        self._reload = reload
        self.config_path = config_path_of(settings)
        self._seen = self._signatures()
        self._pending: str | None = None

    def watched(self) -> list[Path]:
        """The config file and, when one is set, the token file."""
        files = [self.config_path]
        if self.settings.token_file:
            files.append(secret_files.token_path(self.settings.token_file))
        return files

    def _signatures(self) -> dict[Path, Signature]:
        return {path: _signature(path) for path in self.watched()}

    def check(self) -> bool:
        """Look at the files once (blocking: call it off the loop).

        Returns:
            True when a new token was resolved; the caller then applies it
            with :meth:`apply_pending` on the sender's loop.
        """
        now = self._signatures()
        if now == self._seen:
            return False
        self._seen = now
        try:
            fresh = self._reload(self.settings, self.config_path)
        except (ValidationError, OSError, UnicodeDecodeError) as err:
            reason = f"{err.field}: {err.rule}" if isinstance(err, ValidationError) else err
            log.warning(
                "config or token file changed but does not resolve (%s); token kept", reason
            )
            return False
        changed = [
            name
            for name in SETTING_NAMES
            if name not in _APPLIED and getattr(fresh, name) != getattr(self.settings, name)
        ]
        if changed:
            log.info(
                "config changed: %s take effect at the next start (only the token applies now)",
                ", ".join(changed),
            )
        token_changed = fresh.token.reveal() != self.settings.token.reveal()
        previous = self.settings
        self.settings = fresh
        self._seen = self._signatures()  # the token file may be another one now
        if not token_changed:
            return False
        self._pending = fresh.token.reveal()
        log.info(
            "gateway token changed (%s, was %s): applying it",
            fresh.sources.get("token", "default"),
            previous.sources.get("token", "default"),
        )
        return True

    def apply_pending(self) -> None:
        """Hand the token :meth:`check` found to the sender."""
        token = self._pending
        if token is not None:
            self._pending = None
            self._apply(token)

    async def run(self, interval: float = POLL_SECONDS) -> None:
        """Check every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                if await asyncio.to_thread(self.check):
                    self.apply_pending()
            except Exception:  # the watch must never take the daemon down
                log.exception("token watch failed")


def _signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
