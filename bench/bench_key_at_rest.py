"""Opening the key at rest: scrypt (since issue 12) against the PBKDF2-2048 files before it.

Run: .venv/bin/python bench/bench_key_at_rest.py [--rounds N]

Rows: what the wizard pays each time it opens private.key (export, deployment, CSR again),
for a passphrase a person chose (scrypt N=2**14, r=8, p=5) and for the credential store's
random one (p=1), against the old PBKDF2 file and `openssl pkey` reading the same scrypt file.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import Row, print_rows, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from cryptography.hazmat.primitives import serialization

    from app import keys
    from app.request import KeyType

    passphrase = "a passphrase a person chose"
    key = keys.generate(KeyType.RSA2048)
    old = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )
    person = keys.encrypt_at_rest(key, passphrase, person_chosen=True)
    store = keys.encrypt_at_rest(key, passphrase, person_chosen=False)
    folder = Path(tempfile.mkdtemp(prefix="accert-bench-"))
    (folder / "person.key").write_bytes(person)

    def openssl_reads() -> None:
        subprocess.run(
            ["openssl", "pkey", "-in", str(folder / "person.key"), "-passin", f"pass:{passphrase}",
             "-noout"], check=True)  # fmt: skip

    base = timed(lambda: keys.load_at_rest(old, passphrase, "old"), args.rounds)
    reference = timed(openssl_reads, args.rounds)
    rows: list[Row] = [
        ("open, PBKDF2-2048 (before)", base, reference, "openssl pkey (scrypt p=5)"),
        ("open, scrypt p=5 (person)", timed(lambda: keys.load_at_rest(person, passphrase, "p"),
                                            args.rounds), reference, "openssl pkey (scrypt p=5)"),
        ("open, scrypt p=1 (keyring)", timed(lambda: keys.load_at_rest(store, passphrase, "s"),
                                             args.rounds), reference, "openssl pkey (scrypt p=5)"),
        ("encrypt, scrypt p=5", timed(lambda: keys.encrypt_at_rest(key, passphrase),
                                      args.rounds), reference, "openssl pkey (scrypt p=5)"),
    ]  # fmt: skip
    print_rows(rows)


if __name__ == "__main__":
    main()
