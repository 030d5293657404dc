"""Scrubbing secrets out of anything the command line prints on an error path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from notifier_tui.core.secret import MASK, mask_urls
from notifier_tui.settings.config import ENV_PREFIX, Settings

__all__ = ["MASK", "Redactor"]


class Redactor:
    """Scrubs secrets and URL passwords out of anything printed on an error path.

    Error text can quote arguments back (``unrecognized arguments: --token x``
    after a subcommand), so every value that may be a secret is masked before
    it reaches stderr.
    """

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        found = [env.get(ENV_PREFIX + "TOKEN", ""), env.get(ENV_PREFIX + "SMTP_PASSWORD", "")]
        for i, arg in enumerate(argv):
            if arg == "--token" and i + 1 < len(argv):
                found.append(argv[i + 1])
            elif arg.startswith("--token="):
                found.append(arg.split("=", 1)[1])
        self._secrets: set[str] = {s for s in found if s}

    def add(self, settings: Settings) -> None:
        """Also scrub the secrets the settings resolved (from the config file, say)."""
        self._secrets.update(
            s
            for s in (
                settings.token.reveal(),
                settings.smtp_password.reveal(),
                settings.api_token.reveal(),
            )
            if s
        )

    def __call__(self, text: str) -> str:
        # Longest first, so a secret containing another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        # A URL quoted back (`cannot open postgresql://u:pw@h/db`) keeps its password hidden.
        return mask_urls(text)
