"""Work-arounds applied to the raw argument list before and after argparse sees it."""

from __future__ import annotations

import re
from collections.abc import Sequence

SIM_COMMAND = "gateway-sim"

_PAST = re.compile(r"-\s*[0-9]+\s*[smhdw]", re.I)
_WHEN_OPTIONS = ("--start", "--end", "--since")  # options that take a WHEN


def glue_past_when(argv: list[str]) -> list[str]:
    """``--start -1m`` as ``--start=-1m``: argparse takes ``-1m`` for an option.

    Only before ``gateway-sim``: what follows it belongs to the simulator.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == SIM_COMMAND:
            return out + argv[i:]
        if arg in _WHEN_OPTIONS and i + 1 < len(argv) and _PAST.fullmatch(argv[i + 1]):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def split_sim(argv: Sequence[str], extras: list[str]) -> list[str] | None:
    """The simulator's own arguments: the ``extras`` right after ``gateway-sim``.

    Extras that came from before the subcommand (a mistyped global option)
    are not the simulator's; ``None`` says so.
    """
    n = len(extras)
    start = len(argv) - n
    if start >= 1 and list(argv[start:]) == extras and argv[start - 1] == SIM_COMMAND:
        return extras
    return None
