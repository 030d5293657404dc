"""The Textual UI: one client of the core (``notifier_tui.core`` never imports it).

Entry points live in :mod:`notifier_tui.ui.app`: ``create_app``, ``run_ui``
and ``run_demo``. They are not re-exported here so that importing a submodule
(a test importing the bridge, say) does not load every screen.
"""
