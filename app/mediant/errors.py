"""Errors specific to Mediant devices, so the CLI and the wizard can react to each kind."""

from __future__ import annotations

from app.errors import DeployError
from app.peer_text import escape_peer


class DeviceUntrusted(DeployError):
    """First contact: the device's HTTPS certificate is not pinned nor trusted by the system.

    Carries what the user must see to decide: the presented subject and SHA-256 fingerprint.
    """

    def __init__(self, host: str, port: int, subject: str, fingerprint: str, *, changed: bool):
        what = (
            "presents a different certificate than the one trusted before"
            if changed
            else ("presents a certificate that is not trusted yet")
        )
        super().__init__(
            f"{host}:{port} {what}: SHA-256 {fingerprint}, subject {escape_peer(subject)}.",
            "Compare the fingerprint with the device's web page (or console) and, if it is the "
            f"same, trust it: --fingerprint SHA256:{fingerprint}"
            + (" --replace-fingerprint" if changed else ""),
        )
        self.host, self.port = host, port
        self.subject, self.fingerprint, self.changed = subject, fingerprint, changed


class PinMismatch(DeployError):
    """A fingerprint the user gave is not what decides: the device or the stored pin differs."""


class DeviceBusy(DeployError):
    """409 after every retry: e.g. an HA pair synchronizing."""


class NoRestApi(DeployError):
    """Firmware without the REST API (6.x, 7.0): manual steps instead."""


class DeviceAuthError(DeployError):
    """Wrong credentials (401) or a user below Administrator level (403/405)."""
