"""POST /api/checkin: the phone's app redeems a sign's check-in code (city/checkin.py).

Public (no staff login): form fields `token` (or the QR's whole URL), `node` (the sign the app
scanned, from the URL) and `account` (the app's pseudonymous id). 200 with the points, or 400
with {"error", "reason"}. Turned on by `walkway city serve --checkin-keys DIR` (one
`NODE.pub.pem` Ed25519 public key per sign that offers check-ins).
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
    app.checkin = (CheckinBook(app.storage, keys, app.model.timezone), clock)


def checkin(request: Request) -> Response:
    from walkway.checkin import CheckinRefused

    book = getattr(request.app, "checkin", None)
    if book is None:
        return json_response({"error": "check-ins are not offered here", "reason": "off"}, 404)
    book, clock = book
    f = request.form
    try:
        return json_response(book.redeem(f.get("token"), f.get("node"), f.get("account"),
                                         clock()))
    except CheckinRefused as exc:
        return json_response({"error": str(exc), "reason": exc.reason}, 400)


def register(app: App) -> None:
    app.route("POST", "/api/checkin", checkin, role=None)
