"""The command line: ``notifier-tui`` and its subcommands (see :mod:`notifier_tui.cli.entry`)."""
