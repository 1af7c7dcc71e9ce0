"""TLS for the cloud side's mqtts:// links (collector, fleet tools); a node's own context
from its [tls] section is provisioning.node_tls.tls_context_for."""

import ssl
from pathlib import Path


def tls_context_from_files(
    ca: Path | None, cert: Path | None, key: Path | None
) -> ssl.SSLContext:
    """A client context for the collector or fleet tools (`--tls-ca/--tls-cert/--tls-key`)."""
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return context
