"""Every document the README (and any docs/*.md) links to is in the repository.

A relative Markdown link must name an existing file or folder, and a Markdown file named in
backticks must exist too: the README once sent readers to a DESIGN.md that was never here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_MD = re.compile(r"`([^`\s]+\.md)`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def relative_links(text: str) -> list[str]:
    found = []
    for target in LINK.findall(text):
        path = target.split("#", 1)[0]
        if path and not EXTERNAL.match(target):
            found.append(path)
    return found


def test_the_link_reader_finds_relative_links_only() -> None:
    text = (
        '[a](docs/x.md#part) [c](#anchor) [g](deploy "title") [i](<examples/w.mobileconfig>) '
        "[b](https://example.com/y.md) [h](mailto:x@example.com)"
    )
    assert relative_links(text) == ["docs/x.md", "deploy", "examples/w.mobileconfig"]
    assert CODE_MD.findall("see `DESIGN.md` and `docs/a.md`, not `x.py`") == [
        "DESIGN.md",
        "docs/a.md",
    ]


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_relative_link_points_to_a_file_that_exists(doc: Path) -> None:
    text = doc.read_text()
    missing = [t for t in relative_links(text) if not (doc.parent / t).exists()]
    assert missing == [], f"{doc.name} links to what is not in the repository"
    named = [m for m in CODE_MD.findall(text) if not (ROOT / m).exists()]
    assert named == [], f"{doc.name} names Markdown files that are not in the repository"


def test_the_readme_links_the_files_it_documents() -> None:
    links = relative_links((ROOT / "README.md").read_text())
    assert "docker-compose.yml" in links
    assert "deploy/grafana/dashboards/mdmflow.json" in links
