"""Is a process named by host and pid gone? Asked of the kernel, for this host only.

A sender that was killed (kill -9, a closed terminal, an OOM kill) leaves its
lease and its claims fresh for up to their TTL. When it ran on this host the
kernel can say at once that it is gone, so the others need not wait the TTL
out. Only "gone" is trusted: a pid that another user's process or a reused
pid holds reads as alive, which merely falls back to the TTL; another host's
process is never judged here.
"""

from __future__ import annotations

import os
import socket


def this_host() -> str:
    return socket.gethostname()


def gone_here(host: str, pid: int) -> bool:
    """True only if ``host`` is this host and no process has ``pid``."""
    if host != this_host() or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, another user's
        return False
    return False
