"""Every check-in plist in the corpus loads as a dictionary with a MessageType."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdmflow.mdm.plist import PlistError, load_dict
from tests.conformance.corpus import PLACEHOLDER_BASE64, files, rel, require_corpus

require_corpus()

CHECKINS = files("checkin/*.plist")


def test_corpus_has_checkins() -> None:
    assert len(CHECKINS) >= 16
    names = {rel(p) for p in CHECKINS}
    for known_bad in PLACEHOLDER_BASE64:
        if known_bad.startswith("checkin/"):
            assert known_bad in names


@pytest.mark.parametrize("path", CHECKINS, ids=rel)
def test_checkin_loads(path: Path) -> None:
    name = rel(path)
    if name in PLACEHOLDER_BASE64:
        with pytest.raises(PlistError, match=PLACEHOLDER_BASE64[name]):
            load_dict(path.read_bytes())
        return
    body = load_dict(path.read_bytes())
    assert body["MessageType"] == path.name.split("--")[0]
    assert body.get("UDID") or body.get("EnrollmentID")
