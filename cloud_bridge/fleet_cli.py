"""`walkway fleet send NODE COMMAND`: publish one command to a node and print its result(s).

The command goes to walkway/v1/{site}/{node}/cmd with an id and an expiry (signed with the
fleet's Ed25519 key when --sign-key is given); the node answers on .../cmd/result. A command
that finishes later (set-config, move-line, recalibrate, screenshot) first answers
`accepted`, then with its final status. Exit status: 0 ok, 1 failed/rejected/rolled-back,
3 no final result before --timeout.
"""

import argparse
import base64
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from walkway.errors import UsageError
from walkway.timeutil import iso_z

FINAL = ("ok", "failed", "rejected", "rolled-back")


def parse_args_list(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs: VALUE as JSON when it parses (numbers, lists, objects), else a
    string; `KEY=@FILE` reads the file's text (e.g. toml=@node.toml)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--arg: expected KEY=VALUE, got {item!r}")
        if value.startswith("@"):
            try:
                out[key] = Path(value[1:]).read_text("utf-8")
            except OSError as exc:
                raise UsageError(f"--arg {key}: cannot read {value[1:]}: {exc.strerror}") from exc
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def build_command(site: str, node: str, command: str, args: dict[str, Any], *, now: float,
                  expires_in: float, sign_key: Path | None = None,
                  command_id: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"v": 1, "type": "cmd", "id": command_id or uuid.uuid4().hex,
                               "site": site, "node": node, "command": command,
                               "issued_at": iso_z(now), "expires_at": iso_z(now + expires_in)}
    if args:
        message["args"] = args
    if sign_key is not None:
        from provisioning.signing import load_private_key, sign_command

        message = sign_command(message, load_private_key(sign_key))
    return message


def send(broker_url: str, message: dict[str, Any], *, timeout: float,
         tls_context: Any = None, payload: bytes | None = None,
         monotonic: Callable[[], float] = time.monotonic) -> Iterator[dict[str, Any]]:
    """Publish `message` and yield its results until a final one or the timeout.

    `payload` replaces the encoded message on the wire (tests send malformed ones); results
    are matched on `message["id"]`, None for a command too malformed to have one."""
    from cloud_bridge import topics
    from cloud_bridge.collector import parse_broker_url
    from cloud_bridge.mqtt_link import MqttLink

    host, port, tls = parse_broker_url(broker_url)
    if tls and tls_context is None:
        import ssl

        tls_context = ssl.create_default_context()
    site, node = message["site"], message["node"]
    inbox: list[dict[str, Any]] = []

    def on_connected(link: MqttLink) -> None:
        # Subscribe first: the broker handles both in order, so no result can be missed.
        link.subscribe(topics.node_topic(site, node, topics.CMD_RESULT), qos=1)
        body = payload if payload is not None else json.dumps(message).encode()
        link.publish(topics.node_topic(site, node, topics.CMD), body, qos=1)

    def on_message(_topic: str, payload: bytes) -> None:
        try:
            result = json.loads(payload)
        except ValueError:
            return
        if isinstance(result, dict) and result.get("id") == message.get("id"):
            inbox.append(result)

    link = MqttLink(host=host, port=port, client_id=f"walkway-fleet-{uuid.uuid4().hex[:8]}",
                    on_connected=on_connected, on_message=on_message, tls_context=tls_context,
                    clock=monotonic, backoff_max_s=2.0)
    deadline = monotonic() + timeout
    try:
        while monotonic() < deadline:
            link.poll(0.05)
            while inbox:
                result = inbox.pop(0)
                yield result
                if result.get("status") in FINAL:
                    return
    finally:
        link.close()


def _print(result: dict[str, Any], as_json: bool, out_file: Path | None) -> None:
    data = dict(result.get("data") or {})
    if out_file is not None and "png_base64" in data:
        out_file.write_bytes(base64.b64decode(data.pop("png_base64")))
        data["saved_to"] = str(out_file)
        result = {**result, "data": data}
    if as_json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return
    replayed = " (replayed)" if result.get("replayed") else ""
    print(f"{result.get('node')}: {result.get('command')} {result.get('status')}{replayed}"
          f"  id={result.get('id')}", flush=True)
    if result.get("reason"):
        print(f"  reason: {result['reason']}")
    for key, value in data.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if "\n" in text:
            print(f"  {key}:")
            print("    " + text.rstrip("\n").replace("\n", "\n    "))
        else:
            print(f"  {key}: {text}")


def _send(args: argparse.Namespace) -> int:
    site = args.site or os.environ.get("WALKWAY_SITE")
    if not site:
        raise UsageError("--site: expected the node's site (or set WALKWAY_SITE)")
    tls = None
    if args.tls_ca or args.tls_cert:
        from cloud_bridge.tls import tls_context_from_files

        tls = tls_context_from_files(args.tls_ca, args.tls_cert, args.tls_key)
    message = build_command(site, args.node, args.name, parse_args_list(args.arg or []),
                            now=time.time(), expires_in=args.expires_in,
                            sign_key=args.sign_key, command_id=args.id)
    status = None
    for result in send(args.broker, message, timeout=args.timeout, tls_context=tls):
        _print(result, args.json, args.out)
        status = result.get("status")
    if status not in FINAL:
        print(f"{args.node}: no final result for {message['id']} within {args.timeout:g} s",
              file=sys.stderr)
        return 3
    return 0 if status == "ok" else 1


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    send_p = groups["fleet"].add_parser(
        "send", help="send a command to a node over MQTT and print its result")
    send_p.add_argument("node", help="node id")
    send_p.add_argument("name", metavar="COMMAND",
                        help="ping, show-config, set-config, move-line, recalibrate, restart, "
                             "resend, screenshot, emergency-on, emergency-off")
    send_p.add_argument("--arg", action="append", metavar="KEY=VALUE",
                        help="a command argument (JSON or text; KEY=@FILE reads a file)")
    send_p.add_argument("--site", help="the node's site (default: $WALKWAY_SITE)")
    send_p.add_argument("--broker", default=os.environ.get("WALKWAY_BROKER",
                                                           "mqtt://127.0.0.1:1883"),
                        help="mqtt://HOST:PORT or mqtts://HOST:PORT (default: $WALKWAY_BROKER)")
    send_p.add_argument("--sign-key", type=Path, help="Ed25519 command-signing key (PEM)")
    send_p.add_argument("--expires-in", type=float, default=300.0,
                        help="seconds the command stays valid (default 300)")
    send_p.add_argument("--timeout", type=float, default=90.0,
                        help="seconds to wait for the final result (default 90)")
    send_p.add_argument("--id", help="command id (default: random); re-use it to re-send")
    send_p.add_argument("--out", type=Path, help="screenshot: write the PNG here")
    send_p.add_argument("--tls-ca", type=Path, help="CA certificate for mqtts://")
    send_p.add_argument("--tls-cert", type=Path, help="client certificate")
    send_p.add_argument("--tls-key", type=Path, help="client private key")
    send_p.add_argument("--json", action="store_true", help="one JSON result per line")
    send_p.set_defaults(handler=_send)
