"""The README's command-line examples run as written, through the real entry point.

The examples block is read out of README.md, so an example that stops working
(or a README edit that breaks one) fails here.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.cli.conftest import Run

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_examples() -> list[list[str]]:
    """The ``notifier-tui ...`` lines of the first sh block after "Examples:"."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"Examples:\n\n```sh\n(.*?)```", text, re.S)
    assert block, "README lost its Examples block"
    commands = []
    for line in block[1].splitlines():
        argv = shlex.split(line, comments=True)
        if argv:
            assert argv[0] == "notifier-tui", line
            commands.append(argv[1:])
    return commands


def test_readme_examples_run_as_written(
    run_raw: Run, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = readme_examples()
    assert len(examples) >= 5
    (tmp_path / "clients.csv").write_text(
        "phone,tag,timezone\n+7 901 000-00-01,vip,Europe/Moscow\n89010000002,,Asia/Tokyo\n"
    )
    monkeypatch.chdir(tmp_path)  # "clients.csv" in the example is relative
    for argv in examples:
        result = run_raw("--db", str(db), *argv)
        assert result.code == 0, f"{argv}: {result.err}"
        if "--json" in argv:
            json.loads(result.out)  # exactly one document
    stats = json.loads(run_raw("--db", str(db), "stats", "--json").out)
    assert stats["mailings"][0]["text"] == "Sale starts today"


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_every_link_in_the_readme_resolves() -> None:
    """Section anchors name a heading; relative links name a file in the repo."""
    text = README.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose, re.M):
        base, n = github_anchor(heading), 1
        anchor = base
        while anchor in anchors:  # repeated headings get -1, -2, ...
            anchor, n = f"{base}-{n}", n + 1
        anchors.add(anchor)
    links = re.findall(r"\]\(([^)\s]+)\)", prose)
    assert links, "no links found: the pattern is wrong"
    root = README.parent
    for link in links:
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, fragment = link.partition("#")
        if path:
            assert (root / path).exists(), f"README links {link!r}: no such file"
        elif fragment:
            assert fragment in anchors, f"README links #{fragment}: no such section"
