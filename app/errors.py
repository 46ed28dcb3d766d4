"""Our own exceptions: every one carries a message and a fix written for the engineer."""

from __future__ import annotations


class AccertError(Exception):
    """Base of every error the user may see. `hint` says what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class InputError(AccertError):
    """A value typed or passed by the user is not acceptable."""


class WorkspaceError(AccertError):
    """The renewal folder is missing, damaged or in the wrong step."""


class PassphraseError(AccertError):
    """The key's passphrase cannot be found or is wrong."""


class ImportProblem(AccertError):
    """A CA response, certificate or PFX cannot be read."""


class KeyMismatch(ImportProblem):
    """The certificate does not belong to this renewal's key."""


class ChainProblem(ImportProblem):
    """The chain cannot be built or verified."""


class ExportError(AccertError):
    """An export could not be written or failed its own check."""


class DeployError(AccertError):
    """A device or OVOC deployment step failed."""


class ProtectionError(AccertError):
    """A secret file or folder could not be made private to the current account."""
