"""POST /api/checkin: the phone's app redeems a sign's check-in code (city/checkin.py).

Public (no staff login): form fields `token` (or the QR's whole URL), `node` (the sign the app
scanned, from the URL), `account` (the app's pseudonymous id) and optionally `route` (the
route token, or the whole hand-off URL, of a route another sign handed off to this one).
200 with the points, or 400 with {"error", "reason"}. Turned on by `walkway city serve
--checkin-keys DIR` (one `NODE.pub.pem` Ed25519 public key per sign that offers check-ins,
and `signs.toml`, a `[signs]` table of node id = the place id it stands at, for route points).
"""

import argparse
import time
from pathlib import Path

from city.web import App, Request, Response, json_response


def configure_checkin(app: App, args: argparse.Namespace, clock: object = time.time) -> None:
    from city.checkin import CheckinBook
    from walkway.errors import ConfigError

    directory = getattr(args, "checkin_keys", None)
    if not directory:
        return
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys = {}
    try:
        files = sorted(Path(directory).glob("*.pub.pem"))
        for f in files:
            keys[f.name.removesuffix(".pub.pem")] = load_pem_public_key(f.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError([f"{directory}: --checkin-keys: NODE.pub.pem Ed25519 public keys"
                           f" expected: {exc}"]) from exc
    places = _sign_places(Path(directory) / SIGNS_FILE)
    app.checkin = (CheckinBook(app.storage, keys, app.model.timezone, places), clock)


SIGNS_FILE = "signs.toml"


def _sign_places(path: Path) -> dict[str, str]:
    """node id -> place id from `[signs]` (absent file: no route points anywhere)."""
    from walkway import safetoml
    from walkway.checkin import NODE_ID, PLACE_ID
    from walkway.errors import ConfigError

    try:
        data = safetoml.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, safetoml.BadToml) as exc:
        raise ConfigError([f"{path}: expected a TOML file with a [signs] table: {exc}"]) from exc
    signs = data.get("signs", {})
    problems = [f"{path}: signs: expected a table of node id = place id"] if not isinstance(
        signs, dict) else []
    for node, place in (signs.items() if not problems else ()):
        if not NODE_ID.fullmatch(node) or not isinstance(place, str) or \
                not PLACE_ID.fullmatch(place):
            problems.append(f"{path}: signs.{node}: expected a place id ({PLACE_ID.pattern}),"
                            f" got {place!r}")
    if problems:
        raise ConfigError(problems)
    return dict(signs)


def checkin(request: Request) -> Response:
    from walkway.checkin import CheckinRefused

    book = getattr(request.app, "checkin", None)
    if book is None:
        return json_response({"error": "check-ins are not offered here", "reason": "off"}, 404)
    book, clock = book
    f = request.form
    try:
        return json_response(book.redeem(f.get("token"), f.get("node"), f.get("account"),
                                         clock(), f.get("route")))
    except CheckinRefused as exc:
        return json_response({"error": str(exc), "reason": exc.reason}, 400)


def register(app: App) -> None:
    app.route("POST", "/api/checkin", checkin, role=None)
