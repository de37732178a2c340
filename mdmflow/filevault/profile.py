"""The FileVault enable profile: the built-in template and the escrow certificate inserted.

The template is NanoCMD's (``workflow/fvenable/profile.go``): a recovery-key escrow payload
pointing at a ``com.apple.security.pkcs1`` certificate payload, and a FileVault payload that
turns FileVault on at the next login and creates a personal recovery key. Its certificate is
a placeholder, replaced per device by the deployment's escrow certificate.

NanoCMD's placeholder ``<data>__CERTIFICATE__</data>`` is not valid base64, so a plist parser
rejects the template it serves when an admin uploads it back. Ours holds the placeholder as
valid base64 (of the text ``__CERTIFICATE__``): the served template uploads as is. Both forms
are recognised, so profiles written for NanoCMD keep working.
"""

from __future__ import annotations

import base64
import re

from mdmflow.mdm.plist import PlistError, load_dict

PROFILE_IDENTIFIER = "io.micromdm.wf.fvenable.v1.profile"
PLACEHOLDER = "__CERTIFICATE__"
_ENCODED_PLACEHOLDER = base64.b64encode(PLACEHOLDER.encode()).decode()
_PLACEHOLDER_DATA = re.compile(
    rb"<data>\s*(?:"
    + re.escape(PLACEHOLDER.encode())
    + rb"|"
    + _ENCODED_PLACEHOLDER.encode()
    + rb")\s*</data>"
)
CONTENT_TYPE = "application/x-apple-aspen-config"

TEMPLATE = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>EncryptCertPayloadUUID</key>
			<string>3D1E9C5B-7A0F-4F43-9F2A-6C1B7C7E4D01</string>
			<key>Location</key>
			<string>MDM server</string>
			<key>PayloadDisplayName</key>
			<string>FileVault Recovery Key Escrow</string>
			<key>PayloadIdentifier</key>
			<string>{PROFILE_IDENTIFIER}.escrow</string>
			<key>PayloadType</key>
			<string>com.apple.security.FDERecoveryKeyEscrow</string>
			<key>PayloadUUID</key>
			<string>8F3B7C2A-61D4-4E0B-A3C5-0B8E2F9D6A11</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
		<dict>
			<key>Defer</key>
			<true/>
			<key>DeferForceAtUserLoginMaxBypassAttempts</key>
			<integer>0</integer>
			<key>Enable</key>
			<string>On</string>
			<key>PayloadDisplayName</key>
			<string>FileVault</string>
			<key>PayloadIdentifier</key>
			<string>{PROFILE_IDENTIFIER}.filevault</string>
			<key>PayloadType</key>
			<string>com.apple.MCX.FileVault2</string>
			<key>PayloadUUID</key>
			<string>C4A2D8E1-5B3F-4C7A-9E61-2F0D8B4A7C22</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
			<key>ShowRecoveryKey</key>
			<false/>
			<key>UseRecoveryKey</key>
			<true/>
		</dict>
		<dict>
			<key>PayloadCertificateFileName</key>
			<string>filevault.cer</string>
			<key>PayloadContent</key>
			<data>{_ENCODED_PLACEHOLDER}</data>
			<key>PayloadDisplayName</key>
			<string>FileVault Escrow Certificate</string>
			<key>PayloadIdentifier</key>
			<string>{PROFILE_IDENTIFIER}.certificate</string>
			<key>PayloadType</key>
			<string>com.apple.security.pkcs1</string>
			<key>PayloadUUID</key>
			<string>3D1E9C5B-7A0F-4F43-9F2A-6C1B7C7E4D01</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDisplayName</key>
	<string>FileVault</string>
	<key>PayloadIdentifier</key>
	<string>{PROFILE_IDENTIFIER}</string>
	<key>PayloadScope</key>
	<string>System</string>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>5E0C9B7D-2A41-4F86-B1D3-7E9A6C2F8B33</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
""".encode()
"""The built-in template, served by ``GET /v1/fvenable/profiletemplate``."""


class ProfileTemplateError(ValueError):
    """The profile cannot carry the escrow certificate."""


def insert_certificate(template: bytes, certificate_der: bytes) -> bytes:
    """The profile with its first certificate placeholder replaced by ``certificate_der``.

    A :class:`ProfileTemplateError` if there is no placeholder (the device would encrypt its
    recovery key to a certificate we hold no key for) or the result is no plist.
    """
    encoded = base64.b64encode(certificate_der)
    profile, replaced = _PLACEHOLDER_DATA.subn(b"<data>" + encoded + b"</data>", template, 1)
    if not replaced:
        raise ProfileTemplateError(
            f"the profile has no <data>{PLACEHOLDER}</data> placeholder for the escrow "
            "certificate (an XML plist is needed; see GET /v1/fvenable/profiletemplate)"
        )
    try:
        load_dict(profile)
    except PlistError as exc:
        raise ProfileTemplateError(f"the profile is not a valid plist: {exc}") from None
    return profile
