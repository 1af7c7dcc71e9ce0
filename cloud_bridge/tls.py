"""TLS for mqtts:// links: the node's client certificate from its [tls] section."""

import ssl
from pathlib import Path

from edge.config import Config


def tls_context_for(config: Config) -> ssl.SSLContext | None:
    if not config.mqtt.tls:
        return None
    section = config.section("tls")
    if section is None:
        return ssl.create_default_context()
    from provisioning.node_tls import client_tls_context

    return client_tls_context(section)


def tls_context_from_files(
    ca: Path | None, cert: Path | None, key: Path | None
) -> ssl.SSLContext:
    """A client context for the collector or fleet tools (`--tls-ca/--tls-cert/--tls-key`)."""
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return context
