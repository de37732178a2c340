"""Every command report in the corpus parses; modeled result types validate as typed responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from mdmflow.mdm import responses
from mdmflow.mdm.reports import CommandStatus, ParsedReport, ReportError
from tests.conformance.corpus import PLACEHOLDER_BASE64, files, rel, require_corpus

CORPUS = require_corpus()

REPORTS = files("results/**/*.plist", "synthetic/results/*.plist")

TYPED: dict[str, type[BaseModel]] = {
    "DeviceInformation": responses.DeviceInformationResponse,
    "SecurityInfo": responses.SecurityInfoResponse,
    "ProfileList": responses.ProfileListResponse,
    "CertificateList": responses.CertificateListResponse,
    "DeviceLock": responses.DeviceLockResponse,
    "RotateFileVaultKey": responses.RotateFileVaultKeyResponse,
    "InstallApplication": responses.InstallApplicationResponse,
}
# Commands whose Acknowledged report carries nothing beyond the envelope.
NO_RESULT_KEYS = {"InstallProfile", "RemoveProfile", "DeviceConfigured"}


def request_type(path: Path) -> str | None:
    """``results/<RequestType>/…``, ``synthetic/results/<RequestType>--…``; None for status/."""
    parts = rel(path).split("/")
    if parts[0] == "results":
        return None if parts[1] == "status" else parts[1]
    return path.name.split("--")[0]


def parse(path: Path) -> ParsedReport:
    return ParsedReport.from_plist(path.read_bytes())


def test_corpus_has_reports() -> None:
    assert len(REPORTS) >= 40
    names = {rel(p) for p in REPORTS}
    for known_bad in PLACEHOLDER_BASE64:
        if known_bad.startswith("results/"):
            assert known_bad in names


@pytest.mark.parametrize("path", REPORTS, ids=rel)
def test_report_parses(path: Path) -> None:
    name = rel(path)
    if name in PLACEHOLDER_BASE64:
        with pytest.raises(ReportError, match=PLACEHOLDER_BASE64[name]):
            parse(path)
        return
    report = parse(path)
    assert isinstance(report.status, CommandStatus)
    if report.status is CommandStatus.IDLE:
        assert report.command_uuid == ""
    else:
        assert report.command_uuid
    assert report.udid or report.enrollment_id
    if path.parent.name == "status":
        assert report.status.value == path.name.split("--")[0]
    if report.status is CommandStatus.ERROR:
        assert report.error_chain
        assert all(item.error_domain for item in report.error_chain)
    # The payload is JSON-safe text all the way down: it must survive a JSON round trip.
    assert ParsedReport.model_validate_json(report.model_dump_json()) == report


@pytest.mark.parametrize(
    "path",
    [p for p in REPORTS if request_type(p) in TYPED and rel(p) not in PLACEHOLDER_BASE64],
    ids=rel,
)
def test_typed_response_validates(path: Path) -> None:
    report = parse(path)
    kind = request_type(path)
    assert kind is not None
    if report.status is not CommandStatus.ACKNOWLEDGED:
        assert report.status is CommandStatus.ERROR
        return
    model = TYPED[kind].model_validate(report.payload)
    # Nothing the device said is dropped: every payload key is still there, typed or extra.
    dumped = model.model_dump(by_alias=True, exclude_unset=True)
    assert set(report.payload) <= set(dumped)


@pytest.mark.parametrize(
    "path",
    [p for p in REPORTS if request_type(p) in NO_RESULT_KEYS],
    ids=rel,
)
def test_envelope_only_reports_have_empty_payload(path: Path) -> None:
    report = parse(path)
    if report.status is CommandStatus.ACKNOWLEDGED:
        assert report.payload == {}
    else:
        assert report.error_chain


def test_security_info_prk_cms_comes_back_as_the_exact_bytes() -> None:
    report = parse(CORPUS / "synthetic/results/SecurityInfo--macOS-fde-enabled-prk-cms.plist")
    info = responses.SecurityInfoResponse.model_validate(report.payload).security_info
    assert info.fde_enabled is True
    assert info.fde_has_personal_recovery_key is True
    expected = (CORPUS / "synthetic/filevault/prk-old-des3.cms.der").read_bytes()
    assert info.fde_personal_recovery_key_cms == expected


def test_security_info_fde_disabled_has_no_cms() -> None:
    report = parse(CORPUS / "synthetic/results/SecurityInfo--macOS-fde-disabled.plist")
    info = responses.SecurityInfoResponse.model_validate(report.payload).security_info
    assert info.fde_enabled is False
    assert info.fde_personal_recovery_key_cms is None


def test_rotate_result_new_key_comes_back_as_the_exact_bytes() -> None:
    report = parse(CORPUS / "synthetic/results/RotateFileVaultKey--personal-new-prk.plist")
    result = responses.RotateFileVaultKeyResponse.model_validate(report.payload).rotate_result
    assert result is not None
    expected = (CORPUS / "synthetic/filevault/prk-new-des3.cms.der").read_bytes()
    assert result.encrypted_new_recovery_key == expected


def test_institutional_rotate_result_is_an_empty_dict() -> None:
    report = parse(CORPUS / "results/RotateFileVaultKey/apple-doc--institutional.plist")
    response = responses.RotateFileVaultKeyResponse.model_validate(report.payload)
    assert response.rotate_result is not None
    assert response.rotate_result.encrypted_new_recovery_key is None


def test_two_item_error_chain_keeps_order() -> None:
    report = parse(
        CORPUS / "results/status/Error--commandment--iOS-11.3.1-two-item-errorchain.plist"
    )
    assert [(e.error_code, e.error_domain) for e in report.error_chain] == [
        (2213, "DeviceManagement.error"),
        (3, "com.apple.softwareupdateservices.errors"),
    ]


def test_echoed_request_type_is_envelope_not_payload() -> None:
    path = "results/RemoveProfile/commandment--macOS-10.12.5-error-missing-identifier.plist"
    report = parse(CORPUS / path)
    assert "RequestType" not in report.payload
    assert report.error_chain[0].error_code == 97
