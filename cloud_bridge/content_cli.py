"""Commands: `walkway fleet publish-content|fetch-content|content-status` (docs/content.md).

paho and cryptography are imported by the handlers' modules only when a command runs.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from walkway.errors import UsageError


def _tls(args: argparse.Namespace) -> Any:
    if not (args.tls_ca or args.tls_cert):
        return None
    from cloud_bridge.tls import tls_context_from_files

    return tls_context_from_files(args.tls_ca, args.tls_cert, args.tls_key)


def _canary(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.rstrip("%"))
    except ValueError as exc:
        raise UsageError(f"--canary: expected a percentage like 10%, got {text!r}") from exc
    if not 0 < value <= 100:
        raise UsageError(f"--canary: expected a percentage in (0, 100], got {text!r}")
    return value


def _publish(args: argparse.Namespace) -> int:
    from cloud_bridge.content_dist import canary_split, publish, resolve_targets
    from provisioning.signing import load_private_key

    pkg = Path(args.package)
    try:
        manifest = json.loads((pkg / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{pkg / 'manifest.json'}: expected a built package folder") from exc
    if not (pkg / "manifest.sig").is_file():
        raise UsageError(f"{pkg}: expected a signed package (walkway content build --key)")
    registry = []
    if any("/" not in t and not t.startswith("tag:") for t in args.to):
        from provisioning.ca import default_ca_dir, load_registry

        registry = load_registry(Path(args.ca_dir) if args.ca_dir else default_ca_dir())
    targets = resolve_targets(args.to, registry)
    chosen = canary_split(targets, _canary(args.canary))
    ptr = publish(args.broker, pkg, manifest, chosen, load_private_key(args.key),
                  now=time.time(), tls_context=_tls(args))
    rest = len(targets) - len(chosen)
    print(f"published {ptr['id']} {ptr['version']} ({ptr['size']} bytes, {ptr['chunks']} "
          f"chunks) to {len(chosen)} sign(s): {', '.join(f'{s}/{n}' for s, n in chosen)}"
          + (f"; {rest} left for after the canary" if rest else ""))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from cloud_bridge.content_dist import fetch
    from provisioning.signing import load_public_key

    result = fetch(args.broker, args.site, args.node, Path(args.inbox),
                   load_public_key(args.public_key), timeout=args.timeout, now=time.time(),
                   tls_context=_tls(args))
    if result.state == "fetched":
        print(f"fetched {result.path}")
        return 0
    print(f"{args.site}/{args.node}: {result.reason}", file=sys.stderr)
    return 2 if result.state == "refused" else 3


def _status(args: argparse.Namespace) -> int:
    from cloud_bridge.content_dist import content_status

    rows = content_status(args.broker, wait_s=args.wait, tls_context=_tls(args))
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(f"{'sign':24} {'published':28} {'fetcher':10} since / reason")
    for r in rows:
        pub, st = r.get("published") or {}, r.get("state") or {}
        published = f"{pub.get('id', '-')} {pub.get('version', '')}".strip()
        line = f"{r['site'] + '/' + r['node']:24} {published:28} {st.get('state', '-'):10} "
        print(line + (st.get("reason") or st.get("at") or ""))
    return 0


def _broker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", default=os.environ.get("WALKWAY_BROKER", "mqtts://localhost:8883"),
                   help="broker URL (default $WALKWAY_BROKER or mqtts://localhost:8883)")
    p.add_argument("--tls-ca", type=Path, help="CA certificate for mqtts://")
    p.add_argument("--tls-cert", type=Path, help="client certificate")
    p.add_argument("--tls-key", type=Path, help="client private key")


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    fleet = groups["fleet"]
    pub = fleet.add_parser("publish-content", help="send a signed package to signs over MQTT")
    pub.add_argument("package", help="package folder from walkway content build --key")
    pub.add_argument("--to", action="append", required=True,
                     help="SITE or SITE/NODE (repeat); SITE = its nodes in the CA registry")
    pub.add_argument("--canary", help="only the first N%% of the signs (sorted), e.g. 10%%")
    pub.add_argument("--key", required=True, help="content signing key (signs the pointer)")
    pub.add_argument("--ca-dir", help="fleet CA directory, for SITE targets")
    _broker_args(pub)
    pub.set_defaults(handler=_publish)

    fetch = fleet.add_parser("fetch-content", help="on a sign: fetch its pointed-at package")
    fetch.add_argument("--site", required=True, help="this sign's site")
    fetch.add_argument("--node", required=True, help="this sign's node id")
    fetch.add_argument("--inbox", required=True, help="folder to write the .tar.gz into")
    fetch.add_argument("--public-key", required=True, help="content public key (PEM)")
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    _broker_args(fetch)
    fetch.set_defaults(handler=_fetch)

    status = fleet.add_parser("content-status", help="per sign: published package, fetch state")
    status.add_argument("--wait", type=float, default=1.0, help="seconds to collect (default 1)")
    status.add_argument("--json", action="store_true", help="one JSON object per sign")
    _broker_args(status)
    status.set_defaults(handler=_status)
