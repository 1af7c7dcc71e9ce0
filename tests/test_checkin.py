"""Health-point check-ins end to end: a real sign scene rendered offscreen with the rotating QR,
decoded from its pixels with cv2, redeemed through the city app's API on a free port."""

import argparse
import contextlib
import json
import os
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from support.qr import decode_qr

from city.checkin import CheckinBook
from city.pages_checkin import configure_checkin
from city.web import build_app, serve
from cloud_bridge.collector_store import open_storage
from walkway.checkin import CHECKIN_URL_PREFIX, CheckinRefused, make_token
from walkway.places import PlaceModel

CONTENT = Path(__file__).resolve().parents[1] / "signage_player" / "example_content" / "sapporo"
T0 = 1_769_300_000.0  # 2026-01-25 09:13:20 JST
ACCOUNT = "app-4f9c2a7e1b3d5c6a"


def keypair(name: str = "sign"):
    """A key fixed by `name`: Ed25519 signatures are deterministic, so every run's codes and
    QR images are the same (a random key gave another picture each run)."""
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, pem


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def checkin_city(tmp_path: Path, nodes: tuple[str, ...], signs_toml: str = ""):
    """The city app with the check-in API on a free port, trusting `nodes`' keys (and the
    sign places in `signs_toml`, if any); yields (url, private keys by node, clock, storage)."""
    keys = {}
    (tmp_path / "keys").mkdir()
    for node in nodes:
        keys[node], pem = keypair(node)
        (tmp_path / "keys" / f"{node}.pub.pem").write_bytes(pem)
    if signs_toml:
        (tmp_path / "keys" / "signs.toml").write_text(signs_toml)
    storage = open_storage(str(tmp_path / "cloud.db"))
    app = build_app(storage, PlaceModel(), tmp_path / "users.json")
    clock = Clock(T0)
    configure_checkin(app, argparse.Namespace(checkin_keys=tmp_path / "keys"), clock)
    server = serve(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", keys, clock, storage
    finally:
        server.shutdown()
        server.server_close()
        storage.close()


@pytest.fixture()
def city(tmp_path):
    with checkin_city(tmp_path, ("hakken-suburb", "chikaho-north")) as running:
        yield running


def redeem(url: str, token: str, node: str, account: str = ACCOUNT, route: str = ""
           ) -> tuple[int, dict]:
    fields = {"token": token, "node": node, "account": account}
    if route:
        fields["route"] = route
    form = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(f"{url}/api/checkin", form, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def sign_frame_qr(token: str) -> str:
    """Render the sign's health scene offscreen with the QR, decode it back from pixels."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import cv2
    import numpy as np
    import pygame

    from signage_player.checkin_qr import overlay_checkin
    from signage_player.offscreen import render_scene

    pygame.init()
    frame, _ = render_scene(CONTENT, "health", "ja", (1080, 1920))
    x, y, w, h = overlay_checkin(frame, token)
    pixels = np.ascontiguousarray(pygame.surfarray.array3d(frame).transpose(1, 0, 2))
    # as a phone frames it: the QR with some of the sign around it
    m = w // 4
    view = pixels[max(y - m, 0):y + h + m, max(x - m, 0):x + w + m]
    return decode_qr(cv2.cvtColor(view, cv2.COLOR_RGB2GRAY))


def test_qr_on_the_sign_is_redeemed_once_and_every_bad_case_refused(city) -> None:
    url, keys, clock, _ = city
    token = make_token("hakken-suburb", keys["hakken-suburb"], clock.now)
    scanned = sign_frame_qr(token)
    assert scanned == CHECKIN_URL_PREFIX + token
    status, body = redeem(url, scanned, "hakken-suburb")
    assert status == 200 and body["points"] == 10 and body["total"] == 10
    assert body["day"] == "2026-01-25"
    assert redeem(url, scanned, "hakken-suburb", "another-account-123456")[1]["reason"] == \
        "replayed"
    clock.now += 30  # the next window's code, same day, same sign: once per sign per day
    fresh = make_token("hakken-suburb", keys["hakken-suburb"], clock.now)
    assert redeem(url, fresh, "hakken-suburb")[1]["reason"] == "already-today"
    other = make_token("chikaho-north", keys["chikaho-north"], clock.now)
    status, body = redeem(url, other, "chikaho-north")
    assert status == 200 and body["total"] == 20  # another sign the same day counts
    # forged: signed with another node's key but naming this sign
    forged = make_token("hakken-suburb", keys["chikaho-north"], clock.now)
    assert redeem(url, forged, "hakken-suburb", "forger-account-123456")[1]["reason"] == "forged"
    # wrong node: a real code of one sign presented as another sign's
    wrong = make_token("chikaho-north", keys["chikaho-north"], clock.now)
    assert redeem(url, wrong, "hakken-suburb", "wrong-account-1234567")[1]["reason"] == \
        "wrong-node"
    old = make_token("hakken-suburb", keys["hakken-suburb"], clock.now - 120)
    assert redeem(url, old, "hakken-suburb", "late-account-12345678")[1]["reason"] == "expired"
    early = make_token("hakken-suburb", keys["hakken-suburb"], clock.now + 300)
    assert redeem(url, early, "hakken-suburb", "early-account-1234567")[1]["reason"] == "early"
    status, body = redeem(url, fresh, "hakken-suburb", "bad account!")
    assert status == 400 and body["reason"] == "malformed"
    clock.now += 86400  # the next day: the same sign counts again
    tomorrow = make_token("hakken-suburb", keys["hakken-suburb"], clock.now)
    assert redeem(url, tomorrow, "hakken-suburb")[1]["total"] == 30


def test_ten_thousand_random_tokens_are_refused_without_a_crash(city) -> None:
    _, keys, clock, storage = city
    from cryptography.hazmat.primitives import serialization

    pubs = {n: k.public_key() for n, k in keys.items()}
    assert all(p.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
               for p in pubs.values())
    book = CheckinBook(storage, pubs)
    rng = random.Random(16)
    good = make_token("hakken-suburb", keys["hakken-suburb"], clock.now)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u00e9\x00"
    reasons: dict[str, int] = {}
    for i in range(10_000):
        kind = i % 3
        if kind == 0:
            token = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        elif kind == 1:  # a well-shaped token with random signature bytes
            sig = bytes(rng.getrandbits(8) for _ in range(64)).hex()
            token = f"{int(clock.now // 30)}.hakken-suburb.{sig[:86]}"
        else:  # the real token with one character changed
            j = rng.randrange(len(good))
            token = good[:j] + rng.choice(alphabet.replace(good[j], "")) + good[j + 1:]
        try:
            book.redeem(token, "hakken-suburb", "fuzz-account-1234567", clock.now)
        except CheckinRefused as exc:
            reasons[exc.reason] = reasons.get(exc.reason, 0) + 1
        else:
            pytest.fail(f"random token {token!r} was accepted")
    assert sum(reasons.values()) == 10_000
    assert reasons.get("malformed", 0) > 3000 and reasons.get("forged", 0) > 0
    assert storage._rows("SELECT count(*) FROM checkins")[0][0] == 0
