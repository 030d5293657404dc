"""``python -m notifier_tui.sim``: run the gateway simulator (see ``--help``)."""

from notifier_tui.sim.cli import run_cli

if __name__ == "__main__":
    raise SystemExit(run_cli())
