"""balena fleet operations behind `walkway fleet register|list|env|tag`.

The SDK is configured the SDK's own way: settings in $HOME/.balena/balena.cfg (or
$BALENA_SETTINGS_HOME_DIRECTORY/.balena/balena.cfg), e.g. `api_endpoint` for a self-hosted
openBalena. Authentication is BALENA_API_KEY, which the SDK reads from the environment
itself, so the key is never passed around, stored or printed by Walkway. (A `token` saved in
balena.cfg by `balena login` takes precedence inside the SDK.)
"""

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from provisioning.errors import FleetError

API_KEY_ENV = "BALENA_API_KEY"
TAG_SITE, TAG_NODE, TAG_LOCATION, TAG_LAT, TAG_LON = (
    "walkway-site", "walkway-node", "location", "lat", "lon",
)
T = TypeVar("T")


@dataclass(frozen=True)
class DeviceRow:
    uuid: str
    name: str
    online: bool
    status: str
    site: str
    location: str


def sdk() -> Any:
    """A Balena client reading its own settings file; FleetError without an API key."""
    if not os.environ.get(API_KEY_ENV):
        raise FleetError(
            f"{API_KEY_ENV}: expected a balena API key in the environment "
            "(balenaCloud dashboard > Preferences > Access tokens)"
        )
    from balena import Balena

    return Balena()


def call(what: str, fn: Callable[[], T]) -> T:
    """Run one SDK call; turn its failures into a one-line FleetError naming `what`."""
    import requests
    from balena import exceptions

    try:
        return fn()
    except exceptions.BalenaException as exc:
        # SDK messages name resources and HTTP status, never the credentials.
        detail = getattr(exc, "message", "") or exc.code
        raise FleetError(f"balena: {what}: {detail}") from exc
    except requests.RequestException as exc:
        raise FleetError(f"balena: {what}: cannot reach the API ({type(exc).__name__})") from exc


def location_tags(
    site: str | None = None, location: str | None = None,
    lat: float | None = None, lon: float | None = None,
) -> dict[str, str]:
    if lat is not None and not (math.isfinite(lat) and -90 <= lat <= 90):
        raise FleetError(f"--lat: expected a latitude from -90 to 90, got {lat}")
    if lon is not None and not (math.isfinite(lon) and -180 <= lon <= 180):
        raise FleetError(f"--lon: expected a longitude from -180 to 180, got {lon}")
    tags = {TAG_SITE: site, TAG_LOCATION: location, TAG_LAT: lat, TAG_LON: lon}
    return {k: str(v) for k, v in tags.items() if v is not None}


def device_id(client: Any, uuid: str) -> int:
    """Resolve a uuid once, so each tag or variable that follows costs one request."""
    if not re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{62}", uuid):
        raise FleetError(f"--device: expected a full uuid (32 or 62 hex digits), got {uuid!r}")
    found = call(f"device {uuid[:7]}", lambda: client.models.device.get(uuid, {"$select": "id"}))
    return int(found["id"])


def set_tags(client: Any, device: str | int, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        call(f"tag {key}", lambda k=key, v=value: client.models.device.tags.set(device, k, v))


def set_env(client: Any, device: str | int, env: dict[str, str], unset: Iterable[str] = ()) -> None:
    for name, value in env.items():
        call(f"env {name}", lambda n=name, v=value: client.models.device.env_var.set(device, n, v))
    for name in unset:
        call(f"env {name}", lambda n=name: client.models.device.env_var.remove(device, n))


def register(
    client: Any, *, fleet: str, site: str, node: str, device_type: str | None,
    uuid: str | None, tags: dict[str, str], env: dict[str, str],
) -> dict[str, Any]:
    """Register a device in `fleet`, name it after the node, tag it and set its env.

    Returns {"uuid", "id", "api_key"}; the device API key is for the image's config.json and
    must only be written to a private file, never printed.
    """
    models = client.models.device
    uuid = uuid or models.generate_uuid()
    device = call(f"register in fleet {fleet}", lambda: models.register(fleet, uuid, device_type))
    device_id = int(device["id"])
    # Using the numeric id avoids one uuid -> id lookup per tag and variable.
    call("rename", lambda: models.rename(device_id, node))
    set_tags(client, device_id, {TAG_SITE: site, TAG_NODE: node, **tags})
    set_env(client, device_id, {"WALKWAY_SITE": site, "WALKWAY_NODE": node, **env})
    return {"uuid": device["uuid"], "id": device_id, "api_key": device.get("api_key")}


def list_devices(client: Any, fleet: str) -> list[DeviceRow]:
    options = {
        "$select": ["uuid", "device_name", "is_online", "overall_status"],
        "$expand": {"device_tag": {"$select": ["tag_key", "value"]}},
    }
    devices = call(
        f"list fleet {fleet}",
        lambda: client.models.device.get_all_by_application(fleet, options),
    )
    rows = []
    for d in devices:
        tags = {t["tag_key"]: t["value"] for t in d.get("device_tag") or []}
        rows.append(
            DeviceRow(
                uuid=d["uuid"], name=d.get("device_name") or "", online=bool(d.get("is_online")),
                status=d.get("overall_status") or "", site=tags.get(TAG_SITE, ""),
                location=tags.get(TAG_LOCATION, ""),
            )
        )
    return rows
