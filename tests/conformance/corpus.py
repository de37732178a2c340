"""Where the real-device corpus lives and which of its files are known to be broken.

The corpus sits next to the repository (``<repo root>/../shared/fixtures``), or wherever
``MDMFLOW_FIXTURES_DIR`` points. A clone without it skips the conformance modules, nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FIXTURES_DIR = REPO_ROOT / ".." / "shared" / "fixtures"


def fixtures_dir() -> Path:
    override = os.environ.get("MDMFLOW_FIXTURES_DIR")
    return (Path(override) if override else DEFAULT_FIXTURES_DIR).resolve()


FIXTURES = fixtures_dir()

# Files SOURCES.md lists as carrying redacted placeholder base64 (``<data>Base64=</data>``) that
# strict plistlib rejects. They must keep failing with this message, never be skipped.
PLACEHOLDER_BASE64 = {
    "results/CertificateList/commandment--iOS-11.3.1.plist": "Incorrect padding",
    "checkin/TokenUpdate--commandment--iOS-11.3.1.plist": "Incorrect padding",
}

# The JSON Schema of NanoMDM's event; it describes a webhook body but is not one.
WEBHOOK_SCHEMA_FILE = "nanomdm--event.schema.json"


def require_corpus() -> Path:
    """Skip the calling test module when the corpus folder is absent; in CI (``CI=true``),
    where the corpus is always laid beside the repository, its absence is a failure."""
    if not FIXTURES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the fixture corpus is not at {FIXTURES}", pytrace=False)
        pytest.skip(
            f"real-device fixture corpus not found at {FIXTURES} "
            "(set MDMFLOW_FIXTURES_DIR to its folder to run the conformance tests)",
            allow_module_level=True,
        )
    return FIXTURES


def rel(path: Path) -> str:
    """A corpus file's path relative to the corpus root, with forward slashes."""
    return path.relative_to(FIXTURES).as_posix()


def files(*patterns: str) -> list[Path]:
    """Corpus files matching any of the glob patterns, sorted by relative path."""
    found = {p for pattern in patterns for p in FIXTURES.glob(pattern) if p.is_file()}
    return sorted(found, key=rel)
