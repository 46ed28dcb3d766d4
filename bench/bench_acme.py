"""ACME issuance on pebble (Let's Encrypt's test CA), excluding DNS waits, beside `accert import`
of the same chain.

Run: .venv/bin/python bench/bench_acme.py [--rounds N]
Needs Debian's `pebble` package (scripts/install-test-deps.sh). Each round orders a wildcard and
its bare domain (RSA 2048 CSR made beforehand) with the account already registered, through a
DNS hook into pebble-challtestsrv. The hook calls (present and cleanup, each a process) and the
DNS checks are timed apart and subtracted: that part belongs to the DNS provider. What is left
is accert + the acme library + pebble: order, JWS round trips, validation, finalisation,
download and the import checks. The reference is `accert import` of the chain that came
back, in the same process.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import Row, print_rows, rounds_and_home


def main() -> None:
    rounds, tmp = rounds_and_home(__doc__, "accert-bench-acme-")

    from app.acme.issue import issue
    from app.acme.settings import AcmeSettings
    from app.ca_response import Source
    from app.request import KeyType, RequestSpec, Subject
    from app.workspace import Workspace
    from tests.fakes.pebble import ChallTestSrv, Pebble, hook_command

    dns = ChallTestSrv(tmp).start()
    # No authorization reuse: every round answers both DNS-01 challenges, as a renewal after
    # the CA's reuse period does.
    ca = Pebble(tmp / "pebble", dns.dns, authz_reuse=0).start()
    try:
        settings = AcmeSettings(
            directory=ca.directory,
            dns_method="hook",
            dns_hook=hook_command(dns),
            resolvers=(dns.dns,),
            ca_bundle=str(ca.ca_bundle),
        )

        def renewal(n: int) -> Workspace:
            spec = RequestSpec(Subject(f"*.b{n}.example.test"), (), KeyType.RSA2048)
            ws = Workspace.create(spec, tmp / f"ws{n}")
            ws.generate()
            return ws

        first = renewal(0)
        start = time.perf_counter()
        issue(first, settings)
        account_run = time.perf_counter() - start

        totals, dns_parts, imports = [], [], []
        for n in range(1, rounds + 1):
            ws = renewal(n)
            marks: dict[str, float] = {}

            def progress(message: str, marks: dict[str, float] = marks) -> None:
                now = time.perf_counter()
                if message.startswith("Publishing TXT") and "publish" not in marks:
                    marks["publish"] = now
                elif message.startswith("TXT records visible"):
                    marks["visible"] = now
                elif message.startswith("Removing"):
                    marks["cleanup"] = now
                elif message.startswith("Finalising"):
                    marks["cleaned"] = now

            start = time.perf_counter()
            issue(ws, settings, progress=progress)
            totals.append(time.perf_counter() - start)
            dns_parts.append(
                marks["visible"] - marks["publish"] + marks["cleaned"] - marks["cleanup"]
            )
            chain = next((ws.path / "response").iterdir()).read_bytes()
            again = Workspace.open(ws.path)
            start = time.perf_counter()
            again.import_response([Source("fullchain.pem", chain)])
            imports.append(time.perf_counter() - start)
    finally:
        ca.stop()
        dns.stop()

    total = statistics.median(totals)
    dns_s = statistics.median(dns_parts)
    net = statistics.median(t - d for t, d in zip(totals, dns_parts, strict=True))
    imp = statistics.median(imports)
    rows: list[Row] = [
        ("ACME wildcard+bare, excl. DNS", net, imp, "accert import of the same chain"),
        ("ACME wildcard+bare, with DNS hook", total, None, ""),
        ("  of which DNS hook calls + checks", dns_s, None, ""),
        ("first order incl. new account", account_run, None, ""),
    ]
    print_rows(rows)


if __name__ == "__main__":
    main()
