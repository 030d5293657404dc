"""Launch to the first frame that shows data, and where the import time goes.

    python bench/startup.py [--repeat 5] [--top 15]

Runs ``python -m notifier_tui --db STORE`` on a pseudo-terminal (100x30), as a
user's terminal would, and times from the launch until a client's phone
appears in what the program wrote. The baseline, in the same run, is a bare
Textual app that draws one label: Python's and Textual's own start-up.
Then ``-X importtime`` lists the slowest imports of the UI's path.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHONE = b"79001234567"
BARE_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Label\n"
    "class A(App):\n"
    "    def compose(self):\n"
    "        yield Label('79001234567')\n"
    "A().run()\n"
)


def first_frame(argv: list[str], env: dict[str, str], marker: bytes, timeout: float = 15) -> float:
    """Seconds from fork to ``marker`` in the program's terminal output."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the program, on the pty as its terminal
        os.execvpe(argv[0], argv, env)
    seen = b""
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
                if marker in seen:
                    return time.perf_counter() - started
        raise RuntimeError(f"{marker!r} did not appear within {timeout} s")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def import_profile(top: int) -> list[tuple[int, str]]:
    """The ``top`` slowest cumulative imports of the UI's start-up path, in microseconds."""
    code = "import notifier_tui.cli.entry, notifier_tui.cli.launch"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "startup.db"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "notifier_tui",
                "--db",
                str(db),
                "client",
                "add",
                "--phone",
                PHONE.decode(),
            ],
            check=True,
            capture_output=True,
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")},
            "NOTIFIER_CONFIG_DIR": tmp,
            "NOTIFIER_LOG_DIR": tmp,
            "TERM": "xterm-256color",
            "COLUMNS": "100",
            "LINES": "30",
        }
        ours: list[float] = []
        bare: list[float] = []
        for _ in range(args.repeat):
            bare.append(first_frame([sys.executable, "-c", BARE_APP], env, PHONE))
            ours.append(
                first_frame([sys.executable, "-m", "notifier_tui", "--db", str(db)], env, PHONE)
            )
    print(f"launch to first frame with data, {args.repeat} runs (target < 400 ms)")
    print(
        f"  notifier-tui: median {statistics.median(ours) * 1000:.0f} ms"
        f" (min {min(ours) * 1000:.0f}, max {max(ours) * 1000:.0f})"
    )
    print(
        f"  bare Textual app: median {statistics.median(bare) * 1000:.0f} ms"
        f" (min {min(bare) * 1000:.0f}); notifier-tui costs"
        f" {(statistics.median(ours) - statistics.median(bare)) * 1000:.0f} ms more"
    )
    print(f"slowest imports on the UI's path (cumulative, one run, top {args.top}):")
    for micros, name in import_profile(args.top):
        print(f"  {micros / 1000:7.1f} ms  {name.strip()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    main(parser.parse_args())
