"""Errors raised by provisioning; each is a WalkwayError so `walkway` prints one line, exit 2."""

from walkway.errors import WalkwayError


class ProvisionError(WalkwayError):
    """The fleet CA, a node directory or a broker directory is missing or inconsistent."""


class TlsSetupError(WalkwayError):
    """A node's [tls] files cannot be loaded into a TLS context."""


class FleetError(WalkwayError):
    """The balena API refused a request or BALENA_API_KEY is missing."""
