"""Windows' ROOT store completes a chain: an internal AD CS root that Group Policy pushed is
there and not in certifi. `ssl.enum_certificates` answers as on Windows (it does not exist
elsewhere); everything else is real, down to openssl reading the PFX."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from app import chain
from app.ca_response import Source
from app.export import Artifact, ExportOptions
from tests.helpers import issued
from tests.pki import TestCA, openssl

CODE_SIGNING = "1.3.6.1.5.5.7.3.3"


@pytest.fixture
def fresh_trust_store() -> Iterator[None]:
    chain._trust_store.cache_clear()
    yield
    chain._trust_store.cache_clear()
    chain._from_system.clear()


def _windows_root_store(
    monkeypatch: pytest.MonkeyPatch, entries: list[tuple[bytes, str, Any]]
) -> list[str]:
    asked: list[str] = []

    def enum_certificates(store_name: str) -> list[tuple[bytes, str, Any]]:
        asked.append(store_name)
        return entries if store_name == "ROOT" else []

    monkeypatch.setattr(ssl, "enum_certificates", enum_certificates, raising=False)
    return asked


def test_the_windows_root_store_completes_the_chain_and_the_pfx(
    tmp_path: Path, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch, fresh_trust_store: None
) -> None:
    root_der = x509.load_pem_x509_certificate(test_ca.root_pem).public_bytes(Encoding.DER)
    asked = _windows_root_store(
        monkeypatch,
        [
            (b"\x30\x03\x02\x01\x01", "x509_asn", True),  # an entry nobody can read: skipped
            (b"not a CRL", "pkcs_7_asn", True),
            (root_der, "x509_asn", {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"}),
        ],
    )
    ws, leaf = issued(tmp_path, test_ca)
    # The CA sent the certificate and its intermediate, not its root (as AD CS web enrolment does).
    outcome = ws.import_response([Source("leaf.cer", leaf.read_bytes()),
                                  Source("issuing-ca.cer", test_ca.inter_pem)])  # fmt: skip
    assert asked == ["ROOT"]
    assert outcome.acceptable and len(outcome.chain) == 3
    assert outcome.chain[-1].source == "Windows root store"
    assert any("completed from the Windows root store" in n for n in outcome.notes)
    assert not outcome.warnings or all("root" not in w.lower() for w in outcome.warnings)
    result = ws.export(tmp_path / "out", ExportOptions(frozenset({Artifact.PFX}), "Pfx-Pass-1"))
    [pfx] = [f.path for f in result.files]
    certs = openssl("pkcs12", "-in", pfx, "-nokeys", "-passin", "pass:Pfx-Pass-1")
    assert certs.count(b"-----BEGIN CERTIFICATE-----") == 3  # leaf, intermediate and root


def test_roots_not_trusted_for_tls_servers_are_not_used(
    tmp_path: Path, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch, fresh_trust_store: None
) -> None:
    root_der = x509.load_pem_x509_certificate(test_ca.root_pem).public_bytes(Encoding.DER)
    _windows_root_store(monkeypatch, [(root_der, "x509_asn", {CODE_SIGNING})])
    ws, leaf = issued(tmp_path, test_ca)
    outcome = ws.analyse_response([Source("leaf.cer", leaf.read_bytes()),
                                   Source("issuing-ca.cer", test_ca.inter_pem)])  # fmt: skip
    assert len(outcome.chain) == 2  # the root stays missing, and is said to be
    assert any("is not in the response" in w for w in outcome.warnings)


def test_a_store_that_cannot_be_opened_leaves_certifi(
    monkeypatch: pytest.MonkeyPatch, fresh_trust_store: None
) -> None:
    def refused(store_name: str) -> list[tuple[bytes, str, Any]]:
        raise PermissionError(5, "Access is denied")

    monkeypatch.setattr(ssl, "enum_certificates", refused, raising=False)
    assert chain.system_roots() == []
    assert chain._trust_store()  # certifi's roots are still there
