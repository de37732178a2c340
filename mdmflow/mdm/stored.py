"""Parts of a command that stay in the app database until the command is enqueued.

Profile bytes can be megabytes and a lock PIN or a FileVault recovery key is a secret; neither
belongs in workflow history, not even encrypted (anyone with codec access reads decoded
history). A workflow names them with a :class:`StoredValue`; the enqueue activity reads the
value and puts it into the command plist it sends.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MissingStoredValueError(LookupError):
    """A command was serialized without the stored values it names."""


class TextReplacement(BaseModel):
    """Replace ``old`` in a profile's text by ``new``, or by a sealed secret of the enrollment
    (``new_secret`` names it), as NanoCMD's certprof ``text_replacements``."""

    model_config = ConfigDict(frozen=True)
    old: str = Field(min_length=1)
    new: str = ""
    new_secret: str = ""


class StoredValue(BaseModel):
    """One value of a command's plist, read from the app database at enqueue."""

    model_config = ConfigDict(frozen=True)
    key: tuple[str, ...] = Field(min_length=1)
    """Where in the ``Command`` dictionary, e.g. ``("FileVaultUnlock", "Password")``."""
    profile: str = ""
    """The bytes of this stored profile (``PUT /v1/profile/{name}``)."""
    secret: str = ""
    """This enrollment's sealed secret of this name (see ``/v1/inventory?secrets=1``)."""
    replacements: tuple[TextReplacement, ...] = ()
    """Applied to the profile's text before it is sent."""

    @model_validator(mode="after")
    def _one_source(self) -> StoredValue:
        if bool(self.profile) == bool(self.secret):
            raise ValueError("a stored value names exactly one of profile or secret")
        if self.replacements and not self.profile:
            raise ValueError("text replacements apply to a profile")
        return self

    def describe(self) -> str:
        """Names the value without revealing it, for errors and logs."""
        source = f"profile {self.profile!r}" if self.profile else f"secret {self.secret!r}"
        return f"{'.'.join(self.key)} from {source}"
