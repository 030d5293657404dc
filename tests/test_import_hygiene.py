"""The core never loads Textual or the command line (DESIGN.md §3).

Imports run in a fresh interpreter: this test process has long since loaded
everything, so only a subprocess can tell what importing the core pulls in.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

REQUIRED = (
    "notifier_tui.core",
    "notifier_tui.core.store.facade",
    "notifier_tui.core.stats",
    "notifier_tui.core.rules",
)
# Being written alongside; checked whenever they exist and import.
OPTIONAL = ("notifier_tui.core.sending.sender", "notifier_tui.core.sending.gateway")

_PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    required, optional = json.loads(sys.argv[1])
    for name in required:
        importlib.import_module(name)
    import notifier_tui.core as core

    every = [f"notifier_tui.core.{m.name}" for m in pkgutil.iter_modules(core.__path__)]
    skipped = {}
    for name in [*optional, *every]:
        if name in required or name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception as err:  # a module someone is still writing
            skipped[name] = f"{type(err).__name__}: {err}"
    print(json.dumps({"modules": sorted(sys.modules), "skipped": skipped}))
    """
)


def probe() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps([REQUIRED, OPTIONAL])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_core_loads_no_textual_and_no_cli_or_ui() -> None:
    data = probe()
    modules = data["modules"]
    for name in REQUIRED:
        assert name in modules
    textual = [m for m in modules if m == "textual" or m.startswith("textual.")]
    assert textual == [], f"the core pulled in Textual: {textual[:5]}"
    outer = [
        m
        for m in modules
        if m.startswith(("notifier_tui.cli.entry", "notifier_tui.ui", "notifier_tui.ops.daemon"))
    ]
    assert outer == [], f"the core imports the layers above it: {outer}"
    # Report (not fail on) core modules that did not import at all.
    for name, why in data["skipped"].items():
        if name in OPTIONAL and "No module named" in why:
            continue
        print(f"not checked: {name}: {why}")


def test_probe_would_notice_textual() -> None:
    """The check is live: importing Textual in the same way is seen."""
    result = subprocess.run(
        [sys.executable, "-c", "import sys, textual; print('textual' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "True"
