"""Commands: `walkway provision ...` (fleet CA, node and broker credentials) and
`walkway fleet register|list|env|tag` (balena). Cheap to import: cryptography and balena
are imported inside the handlers. Output names files, serials and dates, never key material.
"""

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path

from walkway.errors import UsageError

ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


def _ca_dir(args: argparse.Namespace) -> Path:
    from provisioning.ca import default_ca_dir

    return Path(args.ca_dir) if args.ca_dir else default_ca_dir()


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ca_init(args: argparse.Namespace) -> int:
    from provisioning.ca import init_ca

    ca = init_ca(_ca_dir(args), name=args.name, days=args.days)
    print(f"fleet CA created in {ca.dir} (valid until {_stamp(ca.cert.not_valid_after_utc)})")
    return 0


def _id(value: str, flag: str) -> str:
    from walkway.records import NODE_ID_PATTERN

    if not re.fullmatch(NODE_ID_PATTERN, value):
        raise UsageError(
            f"{flag}: expected an id matching {NODE_ID_PATTERN}, got {value!r}"
        )
    return value


def _node(args: argparse.Namespace) -> int:
    from provisioning.ca import load_ca
    from provisioning.node_dir import provision_node

    issued = provision_node(
        load_ca(_ca_dir(args)), site=_id(args.site, "--site"), node=_id(args.node, "--node"),
        out=Path(args.out), broker_url=args.broker_url, store_path=args.store, days=args.days,
    )
    tags = ""
    if args.tag:
        from provisioning.tags import set_tags

        tags = f"; tags {', '.join(set_tags(_ca_dir(args), issued.cn, add=args.tag))}"
    print(
        f"node {issued.cn} (site {args.site}): certificate {issued.serial} valid until "
        f"{_stamp(issued.not_after)}; config {issued.dir / 'node.toml'}{tags}"
    )
    return 0


def _tag(args: argparse.Namespace) -> int:
    from provisioning.ca import load_registry
    from provisioning.tags import check_tag, load_tags, set_tags

    ca_dir = _ca_dir(args)
    if args.node is None:
        for node, tags in sorted(load_tags(ca_dir).items()):
            print(f"{node:<24} {', '.join(tags)}")
        return 0
    known = {e["cn"] for e in load_registry(ca_dir) if e.get("kind") == "node"}
    if args.node not in known:
        raise UsageError(f"--node: {args.node!r} is not a node in the CA registry")
    for t in args.add or []:
        check_tag(t)
    tags = set_tags(ca_dir, args.node, add=args.add or [], remove=args.remove or [])
    print(f"{args.node}: tags {', '.join(tags) or '-'}")
    return 0


def _collector(args: argparse.Namespace) -> int:
    from provisioning.ca import load_ca
    from provisioning.node_dir import provision_collector

    issued = provision_collector(load_ca(_ca_dir(args)), out=Path(args.out), cn=args.name,
                                 days=args.days)
    print(f"collector {issued.cn}: certificate {issued.serial} valid until "
          f"{_stamp(issued.not_after)} in {issued.dir}")
    return 0


def _renew(args: argparse.Namespace) -> int:
    from provisioning.ca import load_ca
    from provisioning.node_dir import renew

    issued = renew(load_ca(_ca_dir(args)), out=Path(args.out), days=args.days,
                   before_days=args.before, force=args.force)
    if issued is None:
        print(f"{args.out}: not due (more than {args.before} days left); nothing written")
    else:
        print(f"{issued.cn}: new key and certificate {issued.serial} valid until "
              f"{_stamp(issued.not_after)}")
    return 0


def _content_key(args: argparse.Namespace) -> int:
    from provisioning.content_key import create_content_key

    key = create_content_key(Path(args.out), force=args.force)
    print(f"content key {key.private} (keep with the content editors); public key "
          f"{key.public} (set [signage] content_public_key on every sign)")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from provisioning.ca import load_ca, revoke

    ca = load_ca(_ca_dir(args))
    serials = revoke(ca, cn=args.node or args.name, serial=args.serial)
    print(f"revoked {', '.join(serials)}; CRL {ca.dir / 'crl.pem'}")
    if args.broker_dir:
        from provisioning.broker import refresh_acl_and_crl

        acl = refresh_acl_and_crl(ca, Path(args.broker_dir))
        print(f"refreshed {acl.name}, dynamic-security.json and crl.pem in {args.broker_dir}")
    print("reload mosquitto (SIGHUP; restart it if it uses --acl dynsec) to apply the CRL/ACL")
    return 0


def _broker(args: argparse.Namespace) -> int:
    from provisioning import broker_options
    from provisioning.broker import write_broker
    from provisioning.ca import load_ca

    out = Path(args.out)
    options, reused = broker_options.resolve(out, {
        "hosts": args.host, "port": args.port, "bind": args.bind, "conf_dir": args.conf_dir,
        "acl": args.acl, "plugin": args.dynsec_plugin, "share_group": args.share_group})
    files = write_broker(
        load_ca(_ca_dir(args)), out=out, hosts=options.hosts, port=options.port,
        bind=options.bind, conf_dir=options.conf_dir, acl=options.acl,
        plugin=options.plugin, share_group=options.share_group,
    )
    broker_options.save(out, options)
    if reused:
        print(f"kept this directory's {', '.join(reused)} (from {out}/broker.json);"
              " pass a flag to change one")
    fresh = "new" if files.server_issued else "kept"
    print(f"broker config {files.conf}, ACL {files.acl} ({files.nodes} nodes), "
          f"server certificate {fresh}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from provisioning.ca import entry_state, load_registry, utcnow

    now = utcnow()
    for e in load_registry(_ca_dir(args)):
        state = entry_state(e, now)
        print(f"{e['serial']}  {e['kind']:<9} {e['cn']:<24} {e.get('site') or '-':<12} "
              f"{e['not_after'][:19]}Z  {state}")
    return 0


def _pairs(items: list[str] | None, what: str, pattern: str | None = None) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or (pattern and not re.fullmatch(pattern, name)):
            # Echo the name only: the value may be a secret.
            raise UsageError(f"{what}: expected NAME=VALUE, got {name!r}{sep and '=…'}")
        out[name] = value
    return out


def _fleet_register(args: argparse.Namespace) -> int:
    from provisioning import fleet
    from walkway.files import write_private

    client = fleet.sdk()
    tags = fleet.location_tags(None, args.location, args.lat, args.lon)
    env = _pairs(args.env, "--env", ENV_NAME)
    result = fleet.register(
        client, fleet=args.fleet, site=_id(args.site, "--site"), node=_id(args.node, "--node"),
        device_type=args.device_type, uuid=args.uuid, tags=tags, env=env,
    )
    if args.device_key_out and result.get("api_key"):
        write_private(Path(args.device_key_out), str(result["api_key"]).encode())
    print(f"registered {args.node} in fleet {args.fleet}: uuid {result['uuid']} "
          f"id {result['id']}")
    return 0


def _fleet_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from provisioning import fleet

    rows = fleet.list_devices(fleet.sdk(), args.fleet)
    if args.json:
        json.dump([asdict(r) for r in rows], sys.stdout, ensure_ascii=False)
        print()
        return 0
    for r in rows:
        online = "online" if r.online else "offline"
        print(f"{r.uuid[:7]}  {r.name:<20} {online:<8} {r.status:<12} {r.site:<12} {r.location}")
    return 0


def _fleet_env(args: argparse.Namespace) -> int:
    from provisioning import fleet

    env = _pairs(args.assignments, "NAME=VALUE", ENV_NAME)
    if not env and not args.unset:
        raise UsageError("walkway fleet env: expected NAME=VALUE arguments or --unset NAME")
    client = fleet.sdk()
    fleet.set_env(client, fleet.device_id(client, args.device), env, args.unset or [])
    # Names only: environment values often carry secrets.
    unset = ", ".join(args.unset or []) or "-"
    print(f"{args.device[:7]}: set {', '.join(env) or '-'}; unset {unset}")
    return 0


def _fleet_tag(args: argparse.Namespace) -> int:
    from provisioning import fleet

    tags = {**fleet.location_tags(args.site, args.location, args.lat, args.lon),
            **_pairs(args.assignments, "KEY=VALUE")}
    if not tags:
        raise UsageError("walkway fleet tag: expected --site/--location/--lat/--lon or KEY=VALUE")
    client = fleet.sdk()
    fleet.set_tags(client, fleet.device_id(client, args.device), tags)
    print(f"{args.device[:7]}: tagged {', '.join(f'{k}={v}' for k, v in tags.items())}")
    return 0


def _add_ca_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ca-dir", help="fleet CA directory (default: $WALKWAY_CA_DIR or ./fleet-ca)")


def _register_provision(subparsers: argparse._SubParsersAction) -> None:
    prov = subparsers.add_parser("provision", help="fleet CA, node and broker credentials")
    sub = prov.add_subparsers(dest="provision_command", metavar="COMMAND")
    ca = sub.add_parser("ca", help="the fleet certificate authority")
    ca_sub = ca.add_subparsers(dest="ca_command", metavar="COMMAND")
    init = ca_sub.add_parser("init", help="create the fleet CA and the command-signing key")
    _add_ca_dir(init)
    init.add_argument("--name", default="Walkway fleet CA", help="CA certificate CN")
    init.add_argument("--days", type=int, default=3650, help="CA validity in days")
    init.set_defaults(handler=_ca_init)

    node = sub.add_parser("node", help="make a node's key, certificate and config in DIR")
    _add_ca_dir(node)
    node.add_argument("--site", required=True, help="site id, e.g. chikaho")
    node.add_argument("--node", required=True, help="node id = certificate CN = broker user")
    node.add_argument("--out", required=True, help="directory to create (mode 0700)")
    node.add_argument("--broker-url", default="mqtts://localhost:8883", help="mqtts:// URL")
    node.add_argument("--store", default="/data/walkway/store.sqlite", help="store path")
    node.add_argument("--days", type=float, default=30, help="certificate validity in days")
    node.add_argument("--tag", action="append", help="a group tag for content targets "
                      "(`publish-content --to tag:NAME`; repeat)")
    node.set_defaults(handler=_node)

    tag = sub.add_parser("tag", help="add or remove a node's group tags (or list them all)")
    _add_ca_dir(tag)
    tag.add_argument("--node", help="node id (without it: list every node's tags)")
    tag.add_argument("--add", action="append", metavar="TAG", help="tag to add (repeat)")
    tag.add_argument("--remove", action="append", metavar="TAG", help="tag to remove (repeat)")
    tag.set_defaults(handler=_tag)

    col = sub.add_parser("collector", help="make the collector principal's key and certificate")
    _add_ca_dir(col)
    col.add_argument("--out", required=True, help="directory to create (mode 0700)")
    col.add_argument("--name", default="walkway.collector", help="CN (broker username)")
    col.add_argument("--days", type=float, default=90, help="certificate validity in days")
    col.set_defaults(handler=_collector)

    ckey = sub.add_parser("content-key", help="make the Ed25519 key that signs content packages")
    ckey.add_argument("--out", required=True, help="directory to create (mode 0700)")
    ckey.add_argument("--force", action="store_true", help="replace an existing content key")
    ckey.set_defaults(handler=_content_key)

    renew = sub.add_parser("renew", help="re-key and re-certify a node or collector DIR")
    _add_ca_dir(renew)
    renew.add_argument("--out", required=True, help="the node or collector directory")
    renew.add_argument("--days", type=float, default=30, help="new validity in days")
    renew.add_argument("--before", type=float, default=10, help="renew if fewer days left")
    renew.add_argument("--force", action="store_true", help="renew even if not due")
    renew.set_defaults(handler=_renew)

    revoke = sub.add_parser("revoke", help="revoke certificates and rewrite the CRL")
    _add_ca_dir(revoke)
    who = revoke.add_mutually_exclusive_group(required=True)
    who.add_argument("--node", help="revoke every certificate of this node id")
    who.add_argument("--name", help="revoke every certificate with this CN (e.g. a collector)")
    who.add_argument("--serial", help="revoke one certificate by hex serial")
    revoke.add_argument("--broker-dir", help="also refresh crl.pem and acl in this broker dir")
    revoke.set_defaults(handler=_revoke)

    broker = sub.add_parser("broker", help="write mosquitto TLS config, ACL, CRL, server cert")
    _add_ca_dir(broker)
    broker.add_argument("--out", required=True, help="broker directory (mode 0700)")
    broker.add_argument("--host", action="append",
                        help="broker DNS name or IP in its certificate (repeat; default localhost)")
    broker.add_argument("--port", type=int, help="TLS listener port (default 8883, or the"
                        " one DIR was generated with)")
    broker.add_argument("--bind", help="listener address (default: all, or DIR's)")
    broker.add_argument("--conf-dir", help="where DIR will live on the broker host "
                        "(paths in mosquitto.conf; default: DIR's absolute path)")
    broker.add_argument("--acl", choices=("file", "dynsec"),
                        help="acl_file (default, or DIR's) or the dynamic-security plugin,"
                        " which also checks SUBSCRIBE")
    broker.add_argument("--dynsec-plugin", help="plugin path on the broker host "
                        "(default: found here, else Debian's amd64 path)")
    broker.add_argument("--share-group",
                        help="the collectors' $share group (dynsec rules; default"
                        " walkway-collectors, or DIR's)")
    broker.set_defaults(handler=_broker)

    lst = sub.add_parser("list", help="list issued certificates and their state")
    _add_ca_dir(lst)
    lst.set_defaults(handler=_list)


def _register_fleet(fleet: argparse._SubParsersAction) -> None:
    reg = fleet.add_parser("register", help="register a node as a balena device, tag it")
    reg.add_argument("--fleet", required=True, help="balena fleet slug, e.g. sapporo/walkway")
    reg.add_argument("--site", required=True, help="site id (tag walkway-site)")
    reg.add_argument("--node", required=True, help="node id (device name, tag walkway-node)")
    reg.add_argument("--device-type", help="balena device type slug (default: the fleet's)")
    reg.add_argument("--uuid", help="device uuid (default: generated)")
    reg.add_argument("--location", help="human-readable place (tag location)")
    reg.add_argument("--lat", type=float, help="latitude (tag lat)")
    reg.add_argument("--lon", type=float, help="longitude (tag lon)")
    reg.add_argument("--env", action="append", metavar="NAME=VALUE", help="device env var")
    reg.add_argument("--device-key-out", help="write the device API key to this file (0600)")
    reg.set_defaults(handler=_fleet_register)

    lst = fleet.add_parser("list", help="list the fleet's devices with online status")
    lst.add_argument("--fleet", required=True, help="balena fleet slug")
    lst.add_argument("--json", action="store_true", help="JSON output")
    lst.set_defaults(handler=_fleet_list)

    env = fleet.add_parser("env", help="set or unset a device's environment variables")
    env.add_argument("--device", required=True, help="device uuid")
    env.add_argument("assignments", nargs="*", metavar="NAME=VALUE", help="variables to set")
    env.add_argument("--unset", action="append", metavar="NAME", help="variable to remove")
    env.set_defaults(handler=_fleet_env)

    tag = fleet.add_parser("tag", help="set a device's tags (site, location, lat/lon, ...)")
    tag.add_argument("--device", required=True, help="device uuid")
    tag.add_argument("--site", help="tag walkway-site")
    tag.add_argument("--location", help="tag location")
    tag.add_argument("--lat", type=float, help="tag lat")
    tag.add_argument("--lon", type=float, help="tag lon")
    tag.add_argument("assignments", nargs="*", metavar="KEY=VALUE", help="other tags")
    tag.set_defaults(handler=_fleet_tag)


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    _register_provision(subparsers)
    _register_fleet(groups["fleet"])


