"""Engine benchmarks: key+CSR against `openssl req -newkey`, import and export of a full chain.

Run: .venv/bin/python bench/bench_engine.py [--rounds N]
Ratios are measured in the same run, so a noisy machine does not mislead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import Row, print_rows, rounds_and_home, timed


def main() -> None:
    rounds, tmp = rounds_and_home(__doc__, "accert-bench-")

    from app.ca_response import Source
    from app.export import PRESETS, ExportOptions
    from app.request import KeyType, RequestSpec, Subject
    from app.workspace import Workspace
    from tests.pki import TestCA

    counter = iter(range(10_000))
    rows: list[Row] = []
    for key_type, openssl_arg in [(KeyType.RSA2048, "rsa:2048"), (KeyType.RSA4096, "rsa:4096"),
                                  (KeyType.EC256, "ec")]:  # fmt: skip
        spec = RequestSpec(Subject("*.example.com", "Example", country="GB"), (), key_type)

        def ours(spec: RequestSpec = spec) -> None:
            Workspace.create(spec, tmp / f"ws{next(counter)}").generate()

        extra = ["-pkeyopt", "ec_paramgen_curve:P-256"] if openssl_arg == "ec" else []

        def theirs(arg: str = openssl_arg, extra: list[str] = extra) -> None:
            n = next(counter)
            subprocess.run(
                ["openssl", "req", "-new", "-newkey", arg, *extra, "-subj", "/CN=*.example.com",
                 "-addext", "subjectAltName=DNS:*.example.com,DNS:example.com",
                 "-keyout", str(tmp / f"k{n}"), "-out", str(tmp / f"c{n}"),
                 "-passout", "pass:benchmark passphrase"],
                check=True, capture_output=True,
            )  # fmt: skip

        key_rounds = rounds if key_type is not KeyType.RSA4096 else max(3, rounds // 2)
        a, b = timed(ours, key_rounds), timed(theirs, key_rounds)
        rows.append((f"key+CSR {key_type.label}", a, b, "openssl req -newkey (encrypted key)"))

    ca = TestCA(tmp / "ca")
    ws = Workspace.create(RequestSpec(Subject("*.example.com")), tmp / "import")
    ws.generate()
    leaf = ca.sign(ws.csr_pem, tmp / "leaf.crt").read_bytes()
    sources = [Source("leaf.crt", leaf), Source("ca.crt", ca.inter_pem + ca.root_pem)]
    rows.append(("analyse full chain", timed(lambda: ws.analyse_response(sources), 20), None, ""))
    ws.import_response(sources)

    def export_all() -> None:
        ws.export(tmp / f"out{next(counter)}",
                  ExportOptions(PRESETS["everything"].artifacts, "bench-password"))  # fmt: skip

    rows.append(("export everything (8 files, checked)", timed(export_all, rounds), None, ""))
    print_rows(rows)


if __name__ == "__main__":
    main()
