"""Which TLS contexts a device has, so the engineer picks by name rather than by number."""

from __future__ import annotations

from app.errors import DeployError
from app.mediant.client import DeviceIdentity, Timing
from app.mediant.deploy import DeviceTarget, client_for
from app.mediant.errors import NoRestApi
from app.mediant.ini import TlsContextRow, looks_like_ini, parse_tls_contexts


def read_tls_contexts(
    target: DeviceTarget, *, timing: Timing | None = None
) -> tuple[DeviceIdentity, list[TlsContextRow]]:
    """Identify the device and read its TLS Contexts table (from the INI; nothing changes)."""
    client = client_for(target, timing)
    try:
        identity = client.identify()
        if not identity.has_rest_api:
            raise NoRestApi(
                f"{target.label} runs firmware {identity.firmware}, which has no usable REST API.",
                "Look up the context on its web page: SETUP > IP NETWORK > SECURITY > TLS "
                "Contexts.",
            )
        data = client.get_ini()
    finally:
        client.close()
    if not looks_like_ini(data):
        raise DeployError(
            f"{target.label} sent a configuration that does not look like an INI file.",
            "Look up the context on its web page: SETUP > IP NETWORK > SECURITY > TLS Contexts.",
        )
    return identity, parse_tls_contexts(data.decode("utf-8", errors="replace"))
