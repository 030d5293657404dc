from notifier_tui.cli import main

raise SystemExit(main())
