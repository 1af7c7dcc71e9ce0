"""UTC time helpers shared by the store, the wire format and the CLI."""

from datetime import UTC, datetime


def iso_z(epoch_seconds: float) -> str:
    """Epoch seconds -> ISO 8601 UTC with a trailing Z (whole seconds)."""
    return datetime.fromtimestamp(int(epoch_seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """ISO 8601 -> epoch seconds. A time without a zone is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def bin_start(epoch_seconds: float, bin_seconds: int) -> int:
    """Start of the UTC-aligned bin holding this instant."""
    return int(epoch_seconds // bin_seconds) * bin_seconds


# The city's own time zone: dashboards and city-day rollups use it; exports carry UTC too.
CITY_TIMEZONE = "Asia/Tokyo"


def local_iso(epoch_seconds: float, timezone: str = CITY_TIMEZONE) -> str:
    """Epoch seconds -> ISO 8601 in a local zone with its offset (e.g. ...T09:00:00+09:00)."""
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(int(epoch_seconds), ZoneInfo(timezone)).isoformat()
