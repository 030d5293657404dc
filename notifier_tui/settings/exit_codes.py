"""The exit statuses of ``notifier-tui``, shared by the command line and the daemon.

One status per class of failure, so a supervisor can tell "fix the input"
from "fix the setup" from "try again" (docs/architecture.md):

====  ==============  ==========================================================
code  name            meaning
====  ==============  ==========================================================
0     OK              done
1     ERROR           transient or unexpected: a retry may succeed
2     USAGE           bad input: a flag, a field, an id, a file
130   INTERRUPTED     Ctrl-C, as a shell reports SIGINT
====  ==============  ==========================================================
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Exit statuses."""

    OK = 0
    ERROR = 1
    """Something unexpected; a short line on stderr says what."""
    USAGE = 2
    """Bad input: a flag, a field, an id, a file or the config file."""
    INTERRUPTED = 130
    """Ctrl-C, as a shell reports SIGINT."""
