"""Commands: `walkway fleet publish-content|content-status` (docs/content.md).

paho and cryptography are imported by the handlers' modules only when a command runs.
"""

import argparse
import json
import os
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


def _chunk(text: str) -> int:
    from cloud_bridge.content_dist import MAX_CHUNK

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1024 <= value <= MAX_CHUNK:
        raise UsageError(f"--chunk: expected bytes from 1024 to {MAX_CHUNK}, got {text!r}")
    return value


def _publish(args: argparse.Namespace) -> int:
    from cloud_bridge.content_dist import Publisher, pack, package_ref, resolve_targets
    from cloud_bridge.content_rollout import Rollout
    from provisioning.signing import load_private_key

    pkg = Path(args.package)
    try:
        manifest = json.loads((pkg / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{pkg / 'manifest.json'}: expected a built package folder") from exc
    if not (pkg / "manifest.sig").is_file():
        raise UsageError(f"{pkg}: expected a signed package (walkway content build --key)")
    canary, chunk = _canary(args.canary), _chunk(args.chunk)
    registry, tags = [], {}
    if any("/" not in t for t in args.to):
        from provisioning.ca import default_ca_dir, load_registry
        from provisioning.tags import load_tags

        ca_dir = Path(args.ca_dir) if args.ca_dir else default_ca_dir()
        registry, tags = load_registry(ca_dir), load_tags(ca_dir)
    targets = resolve_targets(args.to, registry, tags)
    key = load_private_key(args.key)
    archive = pack(pkg)
    pub = Publisher(args.broker, f"walkway-publish-{os.getpid()}", _tls(args))
    try:
        rollout = Rollout(pub, key, say=lambda line: print(line, flush=True))
        return rollout.run(package_ref(manifest, archive, chunk), archive, targets,
                           canary=canary, wait_s=args.wait, watch_s=args.watch,
                           rollback=args.rollback)
    finally:
        pub.close()


def _status(args: argparse.Namespace) -> int:
    from cloud_bridge.content_dist import Publisher, content_status

    pub = Publisher(args.broker, f"walkway-content-status-{os.getpid()}", _tls(args),
                    timeout=args.wait)
    try:
        rows = content_status(pub)
    finally:
        pub.close()
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(f"{'sign':20} {'plays':28} {'since':21} {'published':24} {'state':10} failure")
    for r in rows:
        pub_, st = r.get("published") or {}, r.get("state") or {}
        plays, since = _plays(st)
        failure = st.get("failure") or {}
        fail = (f"{failure.get('at', '')} {failure.get('state', '')}: {failure.get('reason', '')}"
                if failure else "-")
        published = f"{pub_.get('id', '-')} {pub_.get('version', '')}".strip()
        if pub_.get("rollback"):
            published += " (rollback)"
        print(f"{r['site'] + '/' + r['node']:20} {plays:28} {since:21} {published:24} "
              f"{st.get('state', '-'):10} {fail}")
    return 0


def _plays(state: dict[str, Any]) -> tuple[str, str]:
    """What the sign shows and since when: the player's own word when its heartbeat is
    fresh, else what the bridge installed (marked: not confirmed on screen)."""
    playing, installed = state.get("playing"), state.get("installed")
    if isinstance(playing, dict):
        return f"{playing.get('id')} {playing.get('version')}", str(playing.get("since") or "-")
    if isinstance(installed, dict):
        return (f"{installed.get('id')} {installed.get('version')} (unconfirmed)",
                str(installed.get("at") or "-"))
    return "-", "-"


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
                     help="SITE, SITE/NODE or tag:NAME (repeat); SITE = its nodes in the CA "
                     "registry, tag:NAME = nodes with that tag (walkway provision tag)")
    pub.add_argument("--canary", help="first only N%% of the signs (sorted), e.g. 10%%; the "
                     "rest after their reports, or a rollback")
    pub.add_argument("--wait", type=float, default=600.0,
                     help="seconds to wait for the canary's reports (default 600)")
    pub.add_argument("--watch", type=float, default=0.0,
                     help="seconds to wait for the rest's reports, rolling the group back on a "
                     "failure (default 0: do not wait)")
    pub.add_argument("--rollback", action="store_true",
                     help="allow the signs to install an older package than they play")
    pub.add_argument("--chunk", default="49152", help="chunk size in bytes (default 49152)")
    pub.add_argument("--key", required=True, help="content signing key (signs the pointer)")
    pub.add_argument("--ca-dir", help="fleet CA directory, for SITE and tag: targets")
    _broker_args(pub)
    pub.set_defaults(handler=_publish)

    status = fleet.add_parser("content-status",
                              help="per sign: package it plays, since when, any failure")
    status.add_argument("--wait", type=float, default=10.0,
                        help="seconds to wait for the broker (default 10)")
    status.add_argument("--json", action="store_true", help="one JSON object per sign")
    _broker_args(status)
    status.set_defaults(handler=_status)
