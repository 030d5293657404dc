"""The core never loads Textual, the UI, the command line or ops (docs/architecture.md).

Imports run in a fresh interpreter: this test process has long since loaded
everything, so only a subprocess can tell what importing the core pulls in.
Every module under ``notifier_tui.core`` (recursively) must import, and none
may bring in a layer above the core. import-linter checks the same contracts
statically in CI; this test checks what really happens at run time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

FORBIDDEN = ("textual", "notifier_tui.ui", "notifier_tui.cli", "notifier_tui.ops")

_PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    import notifier_tui.core as core

    every = sorted(
        m.name for m in pkgutil.walk_packages(core.__path__, prefix="notifier_tui.core.")
    )
    failed = {}
    for name in every:
        try:
            importlib.import_module(name)
        except Exception as err:
            failed[name] = f"{type(err).__name__}: {err}"
    print(json.dumps({"checked": every, "modules": sorted(sys.modules), "failed": failed}))
    """
)


def _run(code: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def test_every_core_module_imports() -> None:
    data = _run(_PROBE)
    assert data["failed"] == {}, data["failed"]
    # The walk really covered the packages, not only the top level.
    assert "notifier_tui.core.store.facade" in data["checked"]
    assert "notifier_tui.core.sending.sender" in data["checked"]


def test_core_loads_no_textual_ui_cli_or_ops() -> None:
    data = _run(_PROBE)
    loaded = _forbidden(data["modules"])
    assert loaded == [], f"importing the core loaded: {loaded[:10]}"


@pytest.mark.parametrize("layer", ["textual", "notifier_tui.cli.entry", "notifier_tui.ops.daemon"])
def test_the_probe_would_notice(layer: str) -> None:
    """The check is live: a module that imports a layer above is caught the same way."""
    code = f"import json, sys, {layer}; print(json.dumps({{'modules': sorted(sys.modules)}}))"
    assert _forbidden(_run(code)["modules"])
