"""A DNS hook as a user writes one: `hook present FQDN. VALUE` / `hook cleanup FQDN. VALUE`.

It publishes TXT records through pebble-challtestsrv's management API, as a real hook would
through a DNS provider's API. Each call is appended to $HOOK_LOG (when set) so tests can see
what was done and when. `--publish-nothing` exits 0 without publishing (a broken hook).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request


def main() -> int:
    # The last three arguments are positional, always: a TXT value may begin with '-'
    # (base64url), which an option parser would take for an option.
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--publish-nothing", action="store_true")
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--fail-cleanup", action="store_true")
    # A DNS provider's API token, as real hooks take one (this one needs none).
    parser.add_argument("--token")
    args = parser.parse_args(sys.argv[1:-3])
    args.action, args.fqdn, args.value = sys.argv[-3:]
    log = os.environ.get("HOOK_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps([args.action, args.fqdn, args.value]) + "\n")
    if args.fail or (args.fail_cleanup and args.action == "cleanup"):
        print("zone example.test: permission denied for this API token", file=sys.stderr)
        return 3
    if args.publish_nothing:
        return 0
    path = "/set-txt" if args.action == "present" else "/clear-txt"
    body = {"host": args.fqdn}
    if args.action == "present":
        body["value"] = args.value
    request = urllib.request.Request(args.api + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
