"""The node config's optional [tls] section and the TLS context the MQTT bridge uses.

    [tls]
    ca_file = "ca.pem"       # fleet CA: verifies the broker's certificate
    cert_file = "node.pem"   # this node's certificate (CN = node id)
    key_file = "node.key"    # its private key: must be mode 0600 (no group/other access)

Relative paths resolve against the config file's folder. The bridge, for an mqtts:// URL:

    tls = config.section("tls")            # NodeTls, or None when the section is absent
    client.tls_set_context(client_tls_context(tls))
"""

import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.errors import TlsSetupError
from walkway.config_table import ConfigTable
from walkway.keys import REQUIRED, Key, KeySpec


@dataclass(frozen=True)
class NodeTls:
    ca_file: Path
    cert_file: Path
    key_file: Path


TLS_KEYS = KeySpec("tls", [
    Key("ca_file", "path", REQUIRED, "fleet CA: verifies the broker's certificate",
        must_exist=True),
    Key("cert_file", "path", REQUIRED, "this node's certificate (CN = node id)",
        must_exist=True),
    Key("key_file", "path", REQUIRED, "its private key: must be mode 0600 (no group/other "
        "access)", must_exist=True),
])


def parse_section(table: ConfigTable) -> NodeTls:
    """Validate [tls]: three existing files, the key unreadable by group and others."""
    tls = NodeTls(**{key.name: table.read(key) for key in TLS_KEYS})
    table.finish()
    key = tls.key_file
    if key is not None and key.exists() and stat.S_IMODE(key.stat().st_mode) & 0o077:
        # Like ssh: a key others can read is treated as already leaked.
        table.problem(
            "key_file", "a file only its owner can read (chmod 600)",
            oct(stat.S_IMODE(key.stat().st_mode)),
        )
    return tls


def client_tls_context(tls: NodeTls) -> ssl.SSLContext:
    """A client context: TLS >= 1.2, broker verified against the fleet CA (and its hostname),
    this node's certificate presented. Raises TlsSetupError naming the file at fault."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise TlsSetupError(f"{tls.ca_file}: tls.ca_file: expected a PEM CA certificate") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    except (OSError, ssl.SSLError) as exc:
        # The SSL error text is not echoed: keep key material details out of logs.
        raise TlsSetupError(
            f"{tls.cert_file}: tls.cert_file/tls.key_file: expected a PEM certificate and "
            "the matching unencrypted private key"
        ) from exc
    return context


def tls_context_for(config: Any) -> ssl.SSLContext | None:
    """The context for a node config's MQTT link (edge.config.Config): None for mqtt://,
    the [tls] client certificate for mqtts://, else the system's CAs."""
    if not config.mqtt.tls:
        return None
    section = config.section("tls")
    if section is None:
        return ssl.create_default_context()
    return client_tls_context(section)
