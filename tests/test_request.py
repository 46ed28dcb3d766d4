"""Names, subject and key choices: what an engineer may type, and what is refused and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import InputError
from app.request import KeyType, RequestSpec, Subject, parse_key_type, validate
from app.workspace import Workspace
from tests.helpers import requested, wildcard_spec
from tests.owner_only import assert_owner_only
from tests.pki import openssl


def errors_for(**subject: str) -> dict[str, str]:
    base = {"common_name": "sbc.example.com"}
    base.update(subject)
    sans = tuple(base.pop("sans", "").split()) if "sans" in base else ()
    return {e.field: e.message for e in validate(RequestSpec(Subject(**base), sans))}


def test_a_good_wildcard_request_has_no_errors() -> None:
    assert validate(wildcard_spec()) == []


@pytest.mark.parametrize(
    ("cn", "expected"),
    [
        ("", "common name (CN) is empty"),
        ("a.*.example.com", "only allowed as the whole left-most label"),
        ("sbc*.example.com", "must be the whole left-most label"),
        ("*.com", "needs a domain under it"),
        ("https://sbc.example.com", "looks like a URL"),
        ("sbc_1.example.com", "may contain only letters, digits and hyphens"),
        ("-sbc.example.com", "may not start or end with a hyphen"),
        ("sbc..example.com", "empty label"),
        ("sbc", "not fully qualified"),
        ("10.0.0.1", "is an IP address"),
        ("sbc example.com", "contains spaces"),
    ],
)
def test_bad_common_names_are_explained(cn: str, expected: str) -> None:
    assert expected in errors_for(common_name=cn)["common_name"]


@pytest.mark.parametrize(
    ("country", "expected"),
    [("UK", "use GB"), ("GBR", "two-letter"), ("XX", "not an ISO 3166"), ("1A", "two-letter")],
)
def test_countries_must_be_iso_3166(country: str, expected: str) -> None:
    assert expected in errors_for(country=country)["country"]


def test_lower_case_country_is_accepted_and_upper_cased(tmp_path: Path) -> None:
    spec = RequestSpec(Subject("sbc.example.com", country="gb"))
    ws = Workspace.create(spec, tmp_path / "ws")
    assert ws.state.request.subject.country == "GB"


def test_bad_sans_and_email_are_reported_on_their_fields() -> None:
    errs = errors_for(sans="ok.example.com bad_name.example.com", email="not-an-address")
    assert "bad_name.example.com" in errs["sans"]
    assert "not an e-mail address" in errs["email"]


def test_ip_addresses_are_valid_sans() -> None:
    assert errors_for(sans="10.1.2.3 2001:db8::1") == {}


@pytest.mark.parametrize("text", ["rsa1024", "1024", "RSA:1024"])
def test_rsa_below_2048_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InputError, match="refused") as info:
        parse_key_type(text)
    assert "2048" in info.value.hint


def test_key_type_aliases() -> None:
    assert parse_key_type("RSA-4096") is KeyType.RSA4096
    assert parse_key_type("p-384") is KeyType.EC384
    with pytest.raises(InputError, match="Unknown key type"):
        parse_key_type("dsa")


def test_every_key_type_has_an_audiocodes_note() -> None:
    for key_type in KeyType:
        assert key_type.label
        assert "Mediant" in key_type.note or "peer" in key_type.note


def test_wildcard_gets_bare_domain_and_cn_is_a_san(tmp_path: Path) -> None:
    ws = requested(tmp_path)
    text = openssl("req", "-in", ws.path / "request.csr", "-noout", "-text", "-verify").decode()
    assert "DNS:*.example.com, DNS:example.com, DNS:sbc1.example.com" in text
    assert "C = GB, ST = Greater London, L = London, O = Example Ltd, OU = Voice" in text
    assert "sha256WithRSAEncryption" in text
    assert "Public-Key: (2048 bit)" in text


def test_bare_domain_can_be_left_out() -> None:
    spec = RequestSpec(Subject("*.example.com"), (), KeyType.RSA2048, include_bare_domain=False)
    assert spec.all_sans() == ("*.example.com",)


def test_duplicate_sans_are_listed_once() -> None:
    spec = RequestSpec(Subject("*.example.com"), ("EXAMPLE.com", "*.example.com", "a.example.com"))
    assert spec.all_sans() == ("*.example.com", "example.com", "a.example.com")


@pytest.mark.parametrize(
    ("key_type", "expect_key", "expect_sig"),
    [
        (KeyType.RSA3072, "Public-Key: (3072 bit)", "sha256WithRSAEncryption"),
        (KeyType.EC256, "Public-Key: (256 bit)", "ecdsa-with-SHA256"),
        (KeyType.EC384, "Public-Key: (384 bit)", "ecdsa-with-SHA384"),
    ],
)
def test_key_types_and_signatures(
    tmp_path: Path, key_type: KeyType, expect_key: str, expect_sig: str
) -> None:
    ws = requested(tmp_path, key_type)
    text = openssl("req", "-in", ws.path / "request.csr", "-noout", "-text", "-verify").decode()
    assert expect_key in text
    assert expect_sig in text


def test_key_is_encrypted_at_rest_and_owner_only(tmp_path: Path) -> None:
    ws = requested(tmp_path)
    key_file = ws.path / "private.key"
    pem = key_file.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert_owner_only(key_file, 0o600)
    assert_owner_only(ws.path, 0o700)
    # openssl opens it only with the passphrase.
    with pytest.raises(RuntimeError):
        openssl("pkey", "-in", key_file, "-passin", "pass:wrong", "-noout")
    text = openssl("pkey", "-in", key_file, "-passin", "env:ACCERT_PASSPHRASE", "-noout", "-text")
    assert b"Private-Key: (2048 bit" in text


# --- international names (IDNA) ----------------------------------------------------------------


def test_international_names_go_into_the_csr_as_idna_and_organisation_as_unicode(
    tmp_path: Path,
) -> None:
    spec = RequestSpec(
        Subject("Bücher.example.com", "Müller & Söhne GmbH", "Tëst", "Zürich", "", "CH"),
        ("straße.de", "xn--bcher-kva.example.com", "10.0.0.1"),
    )
    ws = Workspace.create(spec, tmp_path / "ws")
    ws.generate()
    (tmp_path / "r.csr").write_bytes(ws.csr_pem)
    text = openssl(
        "req", "-in", tmp_path / "r.csr", "-noout", "-text", "-verify", "-nameopt", "utf8"
    ).decode()
    assert "CN=xn--bcher-kva.example.com" in text.replace(" = ", "=")
    assert "O=Müller & Söhne GmbH" in text.replace(" = ", "=")
    # one name, not two: the Unicode SAN and its A-label are the same name
    assert "DNS:xn--bcher-kva.example.com, DNS:xn--strae-oqa.de, IP Address:10.0.0.1" in text
    assert ws.state.request.subject.common_name == "xn--bcher-kva.example.com"


def test_names_are_shown_in_both_forms() -> None:
    from app.names import shown

    assert shown("xn--bcher-kva.example.com") == "xn--bcher-kva.example.com (bücher.example.com)"
    assert shown("*.xn--mnchen-3ya.de") == "*.xn--mnchen-3ya.de (*.münchen.de)"
    assert shown("sbc.example.com") == "sbc.example.com"
    assert shown("xn--zz.example.com") == "xn--zz.example.com"  # not decodable: as it is


@pytest.mark.parametrize(
    ("cn", "expected"),
    [
        ("x\u202ey.example.com", "'x\\u202ey.example.com' is not a valid international domain"),
        ("xn--zz.example.com", "the part 'xn--zz' cannot be one (Invalid A-label)"),
        ("\u0661.example.com", "is not a valid international domain name"),
    ],
)
def test_names_that_cannot_be_idna_are_refused_clearly(cn: str, expected: str) -> None:
    errors = validate(RequestSpec(Subject(cn)))
    assert len(errors) == 1 and errors[0].field == "common_name"
    assert expected in errors[0].message
    assert "\u202e" not in errors[0].message  # never echoed raw: it would reorder the line


def test_several_problems_are_numbered_not_glued(tmp_path: Path) -> None:
    spec = RequestSpec(Subject("sbc.example.com"), ("x y", "a..b.com"))
    with pytest.raises(InputError) as raised:
        Workspace.create(spec, tmp_path / "ws")
    message = raised.value.message
    assert message == (
        "The request has 2 problems: (1) 'x y' contains spaces; a host name cannot. "
        "(2) 'a..b.com' has an empty label (two dots in a row)."
    )
    assert ".;" not in message
    assert not (tmp_path / "ws").exists()
