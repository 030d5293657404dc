"""``notifier-tui config ...``: show the effective settings, write a template, print the path.

The template is generated from :class:`~notifier_tui.settings.config.Settings` itself
(names, defaults and attribute docstrings), so a new setting appears in
``config init`` without anyone remembering to add it here.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.secret import Secret
from notifier_tui.settings import config
from notifier_tui.settings.config import ENV_PREFIX, Settings

_HEADER = """\
# notifier-tui settings (TOML).
#
# Every setting is listed below with its default value, commented out:
# uncomment a line and edit it to change that setting.
# Precedence: command-line flag > environment variable > this file > default.
# `notifier-tui config show` prints the effective values and where each came from.
#
# This file may hold the gateway token, so it is readable by its owner only (0600);
# notifier-tui warns when a file holding a secret is readable by others.
# Safer still: keep the token in its own 0600 file and name it with token_file,
# or set the NOTIFIER_TOKEN environment variable (never --token: it shows in `ps`).
"""


@cache
def field_docs() -> dict[str, str]:
    """The attribute docstrings of :class:`Settings`, read from its source.

    Python keeps no attribute docstrings at run time; the source is the one
    place they are written, so the template reads them there.
    """
    try:
        tree = ast.parse(inspect.getsource(config))
    except (OSError, TypeError, SyntaxError):  # no source shipped: a template without comments
        return {}
    docs: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == Settings.__name__:
            for stmt, nxt in zip(node.body, node.body[1:], strict=False):
                if (
                    isinstance(stmt, ast.AnnAssign)
                    and isinstance(stmt.target, ast.Name)
                    and isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)
                ):
                    # reST literals read oddly in a TOML comment: ``x`` -> `x`.
                    text = " ".join(nxt.value.value.split()).replace("``", "`")
                    docs[stmt.target.id] = text
    return docs


def _toml_value(value: Any) -> str:
    if isinstance(value, Secret):
        return '""'  # never write a secret's default (or any secret) into a template
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # JSON string escapes are a subset of TOML basic-string escapes.
    return json.dumps(str(value))


def template() -> str:
    """A commented TOML file listing every setting with its doc, env name and default."""
    defaults = Settings()
    docs = field_docs()
    parts = [_HEADER]
    for f in fields(Settings):
        if f.name == "sources":
            continue
        doc = docs.get(f.name, "")
        env = ENV_PREFIX + f.name.upper()
        parts.append(f"\n# {doc} (env {env})\n" if doc else f"\n# env {env}\n")
        parts.append(f"# {f.name} = {_toml_value(getattr(defaults, f.name))}\n")
    return "".join(parts)


def write_template(path: Path, *, force: bool) -> None:
    """Write :func:`template` to ``path`` with mode 0600.

    Raises:
        ValidationError: the file exists and ``force`` is false, or it cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL makes "refuse to overwrite" race-free; 0600 from the first byte,
        # because the file is meant to receive the token.
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ValidationError(
            "config", f"{path} already exists; use --force to overwrite it"
        ) from None
    except OSError as err:
        raise ValidationError("config", f"cannot write {path}: {err.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        if hasattr(os, "fchmod"):
            # O_TRUNC keeps an existing file's mode; a 0644 file must not keep it.
            os.fchmod(fd, 0o600)
        fh.write(template())


def shown_settings(settings: Settings) -> dict[str, dict[str, Any]]:
    """``{name: {"value", "source"}}`` for ``config show --json``; secrets stay masked.

    Numbers stay numbers so scripts can compare them; everything else is the
    text :meth:`Settings.describe` shows: secrets and URL passwords masked.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, shown, source in settings.describe():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            value = shown
        out[name] = {"value": value, "source": source}
    return out
