"""Whatever a CA (or a confused colleague) sends, the importer answers with our own clear error
or a correct result: never another exception, never a hang, bounded memory.

Valid PEM, DER, PKCS#7, PKCS#12 and ZIP responses are mutated by hypothesis (truncation, bit
flips, spliced and repeated slices, nested ZIPs, wrong passwords); hand-made monsters cover huge
sizes, ZIP bombs and thousands of certificates. Example counts stay small so CI stays fast.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ca_response import MAX_CERTIFICATES, MAX_INPUT_BYTES, PasswordNeeded, Source, parse
from app.errors import AccertError, ImportProblem
from app.response_check import ImportOutcome
from app.workspace import Workspace
from tests.conftest import TEST_PASSPHRASE
from tests.helpers import wildcard_spec
from tests.pki import TestCA

PFX_PASSWORD = "Fuzz-Pfx-Pass-2026"

FUZZ = settings(
    max_examples=int(os.environ.get("ACCERT_FUZZ_EXAMPLES", "200")),
    deadline=dt.timedelta(seconds=3),  # one input taking longer is a hang in the making
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,  # CI machines start fresh; a local run still shrinks what it finds
)


class Corpus:
    """A renewal with its CSR signed, and valid responses in every form a CA uses.

    A plain class, not a dataclass: hypothesis prints dataclass fields (kilobytes of seeds)
    in every failure report; this keeps the report to the input that failed.
    """

    def __init__(self, ws: Workspace, leaf: x509.Certificate, seeds: dict[str, Source]) -> None:
        self.ws, self.leaf, self.seeds = ws, leaf, seeds

    def __repr__(self) -> str:
        return "Corpus(...)"

    def answer(self, sources: list[Source]) -> ImportOutcome | AccertError:
        """What the import screen gets: an outcome, or one of our errors (anything else fails)."""
        try:
            outcome = self.ws.analyse_response(sources)
        except AccertError as exc:
            assert exc.message.strip(), f"{type(exc).__name__} without a message"
            return exc
        if outcome.acceptable:
            # A correct result: what would be saved is the certificate the CA signed, unchanged.
            assert outcome.report is not None
            assert outcome.report.leaf.tbs_certificate_bytes == self.leaf.tbs_certificate_bytes
        return outcome


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP with fixed timestamps: the same members always give the same bytes, which
    hypothesis needs to replay and shrink a failing example."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 2, 3, 4, 6))
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> Iterator[Corpus]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCERT_HOME", str(tmp / "home"))
        mp.setenv("ACCERT_PASSPHRASE", TEST_PASSPHRASE)
        mp.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        ws = Workspace.create(wildcard_spec(), tmp / "ws")
        ws.generate()
        leaf_pem = test_ca.sign(ws.csr_pem, tmp / "star_example_com.crt").read_bytes()
        leaf = x509.load_pem_x509_certificate(leaf_pem)
        inter = x509.load_pem_x509_certificate(test_ca.inter_pem)
        root = x509.load_pem_x509_certificate(test_ca.root_pem)
        der = serialization.Encoding.DER
        p7b = pkcs7.serialize_certificates([leaf, inter, root], der)
        pfx = pkcs12.serialize_key_and_certificates(
            b"star", ws.private_key(), leaf, [inter, root],
            serialization.BestAvailableEncryption(PFX_PASSWORD.encode()),
        )  # fmt: skip
        bundle = test_ca.inter_pem + test_ca.root_pem
        zipped = _zip({"star_example_com.crt": leaf_pem, "DigiCertCA.crt": bundle,
                       "readme.txt": b"Thank you for your order"})  # fmt: skip
        seeds = {
            "pem": Source("star_example_com.pem", b"Subject: x\r\n" + leaf_pem + bundle),
            "der": Source("star_example_com.cer", leaf.public_bytes(der)),
            "p7b": Source("star_example_com.p7b", p7b),
            "p7b-pem": Source(
                "bundle.p7b",
                b"-----BEGIN PKCS7-----\n" + _b64_lines(p7b) + b"-----END PKCS7-----\n",
            ),
            "pfx": Source("star_example_com.pfx", pfx, PFX_PASSWORD),
            "zip": Source("star_example_com.zip", zipped),
            "nested-zip": Source("order.zip", _zip({"inner/cert.zip": zipped})),
        }
        yield Corpus(ws, leaf, seeds)


def _b64_lines(der: bytes) -> bytes:
    import base64

    text = base64.b64encode(der)
    return b"".join(text[i : i + 64] + b"\n" for i in range(0, len(text), 64))


# --- the seeds themselves are understood ---------------------------------------------------


def test_every_seed_form_is_accepted(corpus: Corpus) -> None:
    for kind, source in corpus.seeds.items():
        # A DER or PKCS#7 without the intermediate is a clear "missing intermediate"; the rest
        # carry the whole chain.
        sources = [source] if kind != "der" else [source, Source("ca.crt", _inter_pem(corpus))]
        outcome = corpus.answer(sources)
        assert isinstance(outcome, ImportOutcome), (kind, outcome)
        assert outcome.acceptable and outcome.complete, (kind, outcome.problems)


def _inter_pem(corpus: Corpus) -> bytes:
    assert corpus.seeds["pem"].data
    return corpus.seeds["pem"].data.split(b"-----END CERTIFICATE-----", 1)[1].lstrip()


# --- mutations ---------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` after one to three edits: cut, bit flips, overwrite, insert, delete, repeat."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        size = len(out)
        kind = draw(st.sampled_from(["cut", "flip", "overwrite", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, max(size - 1, 0)))
        if kind == "cut":
            del out[at:]
        elif kind == "flip" and size:
            for pos in draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=8)):
                out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=32))
            out[at : at + len(chunk)] = chunk
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del out[at : at + draw(st.integers(1, 256))]
        elif kind == "repeat" and size:
            end = min(size, at + draw(st.integers(1, 2048)))
            out[at:at] = out[at:end] * draw(st.integers(2, 200))
    return bytes(out)


SEED_KINDS = ["pem", "der", "p7b", "p7b-pem", "pfx", "zip", "nested-zip"]


@FUZZ
@given(st.data())
def test_mutated_responses_get_our_answer(corpus: Corpus, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(SEED_KINDS), label="seed")
    seed = corpus.seeds[kind]
    blob = data.draw(mutated(seed.data), label="bytes")
    corpus.answer([Source(seed.name, blob, seed.password)])


@FUZZ
@given(st.data())
def test_mutated_file_beside_a_good_one(corpus: Corpus, data: st.DataObject) -> None:
    """A damaged second file must not turn the good first one into a crash."""
    good = corpus.seeds["der"]
    kind = data.draw(st.sampled_from(SEED_KINDS), label="seed")
    seed = corpus.seeds[kind]
    blob = data.draw(mutated(seed.data), label="bytes")
    corpus.answer([good, Source(seed.name, blob, seed.password)])


@st.composite
def archives(draw: st.DrawFn, corpus: Corpus, depth: int = 0) -> bytes:
    """A ZIP of seeds, mutated seeds, noise and ZIPs (nested up to four deep)."""
    members: dict[str, bytes] = {}
    for index in range(draw(st.integers(0, 5))):
        choice = draw(st.sampled_from(["seed", "mutated", "noise", "zip"]))
        kind = draw(st.sampled_from(["pem", "der", "p7b", "p7b-pem", "zip"]))
        if choice == "seed":
            content = corpus.seeds[kind].data
        elif choice == "mutated":
            content = draw(mutated(corpus.seeds[kind].data))
        elif choice == "zip" and depth < 4:
            content = draw(archives(corpus, depth + 1))
        else:
            content = draw(st.binary(max_size=200))
        name = draw(
            st.sampled_from(
                [
                    "a.crt",
                    "b.cer",
                    "c.p7b",
                    "d.pem",
                    "e.zip",
                    "f.txt",
                    "__MACOSX/g",
                    "dir/h.crt",
                    ".hidden",
                    "dir/",
                ]
            )
        )
        members[f"{index}-{name}"] = content
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    blob = _zip(members, compression)
    if draw(st.booleans()):
        blob = draw(mutated(blob))
    return blob


@FUZZ
@given(st.data())
def test_nested_and_damaged_zips_get_our_answer(corpus: Corpus, data: st.DataObject) -> None:
    blob = data.draw(archives(corpus), label="zip")
    corpus.answer([Source("response.zip", blob)])


def test_regression_nul_in_the_pfx_password(corpus: Corpus) -> None:
    """Found by fuzzing: cryptography panics (PanicException, a BaseException) on a NUL."""
    seed = corpus.seeds["pfx"]
    answer = corpus.answer([Source(seed.name, seed.data, PFX_PASSWORD + "\x00")])
    assert isinstance(answer, PasswordNeeded) and "NUL" in answer.message


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 40))
@given(password=st.text(max_size=40))
def test_wrong_pfx_passwords_are_refused_clearly(corpus: Corpus, password: str) -> None:
    seed = corpus.seeds["pfx"]
    answer = corpus.answer([Source(seed.name, seed.data, password)])
    if password == PFX_PASSWORD:
        assert isinstance(answer, ImportOutcome) and answer.acceptable
        return
    assert isinstance(answer, PasswordNeeded), answer
    assert seed.name in answer.message


@FUZZ
@given(blob=st.binary(max_size=4096), name=st.sampled_from(["x.crt", "x.pfx", "x.zip", "pasted"]))
def test_random_bytes_get_our_answer(corpus: Corpus, blob: bytes, name: str) -> None:
    corpus.answer([Source(name, blob)])


@FUZZ
@given(
    text=st.lists(
        st.sampled_from(
            [
                "-----BEGIN CERTIFICATE-----",
                "-----END CERTIFICATE-----",
                "-----BEGIN PKCS7-----",
                "-----END PKCS7-----",
                "-----BEGIN PRIVATE KEY-----",
                "-----END PRIVATE KEY-----",
                "-----BEGIN ENCRYPTED PRIVATE KEY-----",
                "MIIB",
                "AAAA",
                "\n",
                "\r\n",
                " ",
                ":",
                "=",
            ]
        ),
        max_size=300,
    ).map("".join)
)
def test_pem_marker_soup_gets_our_answer(corpus: Corpus, text: str) -> None:
    corpus.answer([Source("pasted text", text.encode())])


# --- monsters: huge inputs, bombs, thousands of certificates ----------------------------------


def _bounded(
    run: Callable[[], object], *, seconds: float, megabytes: float
) -> tuple[object, float, float]:
    """Run `run`, returning (its answer or our error, seconds, peak MB) and checking both."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        answer: object = run()
    except AccertError as exc:
        answer = exc
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes, f"peak {peak:.0f} MB"
    return answer, elapsed, peak


def test_regression_unclosed_begin_lines_are_linear(corpus: Corpus) -> None:
    """Found by fuzzing: 16 000 BEGIN lines without END took 35 s (quadratic regex)."""
    blob = b"-----BEGIN CERTIFICATE-----\nAAAA\n" * 200_000  # 6.6 MB
    answer, _, _ = _bounded(lambda: parse([Source("pasted text", blob)]), seconds=5, megabytes=80)
    assert isinstance(answer, ImportProblem) and "cut off" in answer.message


def _damaged_extension(leaf_der: bytes) -> bytes:
    # authorityKeyIdentifier's SEQUENCE tag turned into a SET: cryptography reads it lazily.
    marker = b"\x06\x03U\x1d#\x04\x18\x30"
    assert marker in leaf_der
    return leaf_der.replace(marker, marker[:-1] + b"\x31")


def _bad_deflate_zip(content: bytes) -> bytes:
    blob = bytearray(_zip({"cert.crt": content}))
    info = zipfile.ZipFile(io.BytesIO(bytes(blob))).infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    blob[start] = 0xFF  # block type 3 does not exist: zlib.error, not an OSError
    return bytes(blob)


@pytest.mark.parametrize(
    "case", ["extension", "subject", "deflate", "pkcs7-data", "x509-version", "zip-version"]
)
def test_regressions_found_by_fuzzing(corpus: Corpus, case: str) -> None:
    leaf_der = corpus.seeds["der"].data
    source = {
        "extension": Source("leaf.cer", _damaged_extension(leaf_der)),
        # A subject attribute whose string tag became 0: the name is read lazily too.
        "subject": Source(
            "leaf.cer", leaf_der.replace(b"\x0c\x0eGreater London", b"\x00\x0eGreater London")
        ),
        "deflate": Source("order.zip", _bad_deflate_zip(leaf_der)),
        # X.509 version field 3 (v4, which does not exist): InvalidVersion, not ValueError.
        "x509-version": Source(
            "leaf.cer", leaf_der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03", 1)
        ),
        # A ZIP whose directory asks for "zip file version 6.4": NotImplementedError.
        "zip-version": Source("order.zip", _zip_needing_version(64)),
        # A PKCS#7 ContentInfo of type "data" rather than signedData.
        "pkcs7-data": Source(
            "bundle.p7b",
            b"-----BEGIN PKCS7-----\n"
            + _b64_lines(bytes.fromhex("300b06092a864886f70d010701"))
            + b"-----END PKCS7-----\n",
        ),
    }[case]
    answer = corpus.answer([source])
    assert isinstance(answer, ImportProblem), answer
    assert source.name in answer.message


def _zip_needing_version(version: int) -> bytes:
    blob = bytearray(_zip({"cert.crt": b"x"}))
    central = blob.rfind(b"PK\x01\x02")
    blob[central + 6] = version  # "version needed to extract" of the central directory entry
    return bytes(blob)


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("huge.crt", lambda: b"\x30" + b"\x00" * (MAX_INPUT_BYTES + 1), "far larger"),
        (
            "huge.pem",
            lambda: b"-----BEGIN CERTIFICATE-----\n" + b"A" * (MAX_INPUT_BYTES - 100),
            "cut off",
        ),
        ("b64.txt", lambda: b"QUFB" * (MAX_INPUT_BYTES // 4 - 10), "neither PEM"),
        (
            "blocks.pem",
            lambda: b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" * 100_000,
            "damaged",
        ),
    ],
)
def test_huge_inputs_are_refused_fast_and_small(
    name: str, make: Callable[[], bytes], expected: str
) -> None:
    blob = make()
    answer, _, _ = _bounded(
        lambda: parse([Source(name, blob)]), seconds=10, megabytes=6 * len(blob) / 1e6 + 20
    )
    assert isinstance(answer, ImportProblem), answer
    assert expected in answer.message and name in answer.message


def _lying_zip_bomb() -> bytes:
    """256 MB of zeros that claims to unpack to 1 KB (header sizes patched)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("cert.crt", "w", force_zip64=True) as member,
    ):
        chunk = b"\x00" * (1 << 20)
        for _ in range(256):
            member.write(chunk)
    data = buffer.getvalue()
    return data


def test_zip_bombs_are_refused_without_unpacking(corpus: Corpus) -> None:
    honest = _zip({"cert.crt": b"\x30" * (MAX_INPUT_BYTES + 1)})
    answer, _, _ = _bounded(lambda: parse([Source("bomb.zip", honest)]), seconds=5, megabytes=40)
    assert isinstance(answer, ImportProblem) and "unpacks to more than" in answer.message
    many = _zip({f"{i}.crt": b"x" for i in range(1000)})
    answer, _, _ = _bounded(lambda: parse([Source("many.zip", many)]), seconds=5, megabytes=40)
    assert isinstance(answer, ImportProblem) and "holds 1000 files" in answer.message


def test_zip_bomb_lying_about_its_size(corpus: Corpus) -> None:
    """A member whose header says 1 KB but inflates to 256 MB: stopped at the declared size."""
    bomb = _lying_zip_bomb()
    archive = zipfile.ZipFile(io.BytesIO(bomb))
    info = archive.infolist()[0]
    patched = bytearray(bomb)
    # Zip64 puts the real sizes in extra fields; overwrite both copies of the size with 1024.
    real = info.file_size.to_bytes(8, "little")
    count = 0
    index = patched.find(real)
    while index != -1:
        patched[index : index + 8] = (1024).to_bytes(8, "little")
        count += 1
        index = patched.find(real, index + 8)
    assert count >= 1
    answer, _, _ = _bounded(
        lambda: parse([Source("bomb.zip", bytes(patched))]), seconds=10, megabytes=60
    )
    assert isinstance(answer, ImportProblem), answer


def _many_certificates(count: int) -> list[x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Spam CA")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .issuer_name(name)
        .public_key(key.public_key())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
    )
    return [
        builder.subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"spam {i}")]))
        .serial_number(i + 1)
        .sign(key, hashes.SHA256())
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def spam() -> list[x509.Certificate]:
    return _many_certificates(MAX_CERTIFICATES + 1)


def test_thousands_of_certificates_are_refused(spam: list[x509.Certificate]) -> None:
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in spam)
    answer, _, _ = _bounded(lambda: parse([Source("spam.pem", pem)]), seconds=20, megabytes=200)
    assert isinstance(answer, ImportProblem) and "more than 5000" in answer.message
    p7b = pkcs7.serialize_certificates(spam, serialization.Encoding.DER)
    answer, _, _ = _bounded(lambda: parse([Source("spam.p7b", p7b)]), seconds=20, megabytes=200)
    assert isinstance(answer, ImportProblem) and "more than 5000" in answer.message


def test_our_chain_among_thousands_is_still_found(
    corpus: Corpus, spam: list[x509.Certificate]
) -> None:
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in spam[:2000])
    source = Source("everything.pem", pem + corpus.seeds["pem"].data)
    answer, _, _ = _bounded(lambda: corpus.answer([source]), seconds=30, megabytes=250)
    assert isinstance(answer, ImportOutcome), answer
    assert answer.acceptable and answer.complete
    assert len(answer.others) == 2000


def test_same_certificate_five_thousand_times_counts_once(corpus: Corpus) -> None:
    leaf_der = corpus.seeds["der"].data
    pem = corpus.leaf.public_bytes(serialization.Encoding.PEM)
    blob = pem * 5_000 + _inter_pem(corpus)
    answer, _, _ = _bounded(
        lambda: corpus.answer([Source("again.pem", blob)]), seconds=20, megabytes=150
    )
    assert isinstance(answer, ImportOutcome) and answer.acceptable, answer
    assert answer.report is not None and len(answer.report.chain) == 3
    assert answer.report.leaf.public_bytes(serialization.Encoding.DER) == leaf_der
