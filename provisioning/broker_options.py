"""The choices a broker directory was generated with, kept in it (issue 18).

`walkway provision broker --out DIR` is re-run monthly to refresh the CRL. Run without the
original flags it used to rewrite the broker to the defaults (acl_file, port 8883 on all
interfaces). Now the choices are saved in DIR/broker.json and an explicit flag > the saved
choice > the default. A directory from before broker.json is read back from its
mosquitto.conf and server certificate.
"""

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

OPTIONS_FILE = "broker.json"


@dataclass(frozen=True)
class BrokerOptions:
    hosts: tuple[str, ...] = ("localhost",)
    port: int = 8883
    bind: str | None = None
    conf_dir: str | None = None
    acl: str = "file"
    plugin: str | None = None
    share_group: str = "walkway-collectors"


def resolve(out: Path, given: dict[str, Any]) -> tuple[BrokerOptions, list[str]]:
    """Options for this run and the names reused from DIR (flags left unset are None)."""
    saved = load(out)
    chosen, reused = {}, []
    for f in fields(BrokerOptions):
        value = given.get(f.name)
        if value is None and saved is not None and f.name in saved:
            value = saved[f.name]
            reused.append(f.name)
        if value is None:
            value = f.default
        chosen[f.name] = tuple(value) if f.name == "hosts" else value
    return BrokerOptions(**chosen), reused


def save(out: Path, options: BrokerOptions) -> None:
    from walkway.files import write_atomic

    body = {**asdict(options), "hosts": list(options.hosts)}
    write_atomic(out / OPTIONS_FILE, (json.dumps(body, indent=2) + "\n").encode())


def load(out: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out / OPTIONS_FILE).read_text())
    except (OSError, ValueError):
        return _from_conf(out)
    return data if isinstance(data, dict) else None


def _from_conf(out: Path) -> dict[str, Any] | None:
    """Choices of a directory generated before broker.json existed."""
    try:
        conf = (out / "mosquitto.conf").read_text()
    except OSError:
        return None
    found: dict[str, Any] = {}
    listener = re.search(r"^listener (\d+)(?: (\S+))?$", conf, re.M)
    if listener:
        found["port"], found["bind"] = int(listener.group(1)), listener.group(2)
    plugin = re.search(r"^plugin (\S+)$", conf, re.M)
    found["acl"] = "dynsec" if plugin else "file"
    if plugin:
        found["plugin"] = plugin.group(1)
    cafile = re.search(r"^cafile (\S+)/[^/]+$", conf, re.M)
    if cafile and Path(cafile.group(1)).resolve() != out.resolve():
        found["conf_dir"] = cafile.group(1)
    hosts = _server_hosts(out)
    if hosts:
        found["hosts"] = hosts
    return found


def _server_hosts(out: Path) -> list[str]:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return []
    return [str(n.value) for n in names]
